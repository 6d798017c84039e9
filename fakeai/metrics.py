"""Metrics for the whole server: declared once here, written by every worker, read whole by any.

Each worker writes its own values into memory-mapped files in the run directory's ``metrics/``
folder, in prometheus_client's multiprocess format (one file per kind and process id); a scrape
on any worker merges every file with prometheus_client's ``MultiProcessCollector``. So with
``--workers N`` both the Prometheus text and the JSON report the whole server, and a counter never
goes backwards (a dead worker's counts stay in its files). Gauges (running/waiting requests, KV
cache) are ``livesum``: a worker removes its gauge files when it stops.

**Adding a metric** is one line in the declarations below (``counter``/``gauge``/``histogram`` with
its labels and buckets) and one call where it happens (``metrics.child(FAMILY, *labels).inc()``).
Counter names are declared without ``_total``; the exposition adds it, as prometheus_client does.

Writes are plain stores into shared memory (one indexed store into a view of doubles, about 0.1
microsecond); a request makes a few dozen. Engine observations are made once per request, never per token.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from bisect import bisect_left
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.utils import floatToGoString

if TYPE_CHECKING:
    from fakeai.modes.engine import Sequence

__all__ = ["Family", "Metrics", "FAMILIES", "PROMETHEUS_CONTENT_TYPE"]

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAX_ENDPOINTS = 128  # distinct endpoint labels per worker; anything past this is counted under "other"
MAX_MODELS = 64  # distinct model_name labels per worker, likewise
QUANTILES = (0.5, 0.9, 0.99)
INF = float("inf")


class Family:
    """One declared metric: name, kind, help, label names, bucket upper bounds (histograms)."""

    __slots__ = ("name", "kind", "help", "labels", "buckets", "mode")

    def __init__(self, name: str, kind: str, help_text: str, labels: tuple[str, ...] = (),
                 buckets: tuple[float, ...] = (), mode: str = "") -> None:
        self.name = name
        self.kind = kind
        self.help = help_text
        self.labels = labels
        self.buckets = tuple(buckets) + ((INF,) if buckets and buckets[-1] != INF else ())
        self.mode = mode  # gauges: how workers' values merge (livesum, min, ...)


FAMILIES: dict[str, Family] = {}


def _declare(family: Family) -> Family:
    FAMILIES[family.name] = family
    return family


def counter(name: str, help_text: str, labels: tuple[str, ...] = ()) -> Family:
    return _declare(Family(name, "counter", help_text, labels))


def gauge(name: str, help_text: str, labels: tuple[str, ...] = (), mode: str = "livesum") -> Family:
    return _declare(Family(name, "gauge", help_text, labels, mode=mode))


def histogram(name: str, help_text: str, labels: tuple[str, ...], buckets: tuple[float, ...]) -> Family:
    return _declare(Family(name, "histogram", help_text, labels, buckets))


def _1_2_5(max_value: int) -> tuple[int, ...]:
    """vLLM's build_1_2_5_buckets: 1, 2, 5, 10, 20, 50, ... up to max_value."""
    out: list[int] = []
    scale = 1
    while True:
        for m in (1, 2, 5):
            if m * scale > max_value:
                return tuple(out)
            out.append(m * scale)
        scale *= 10


# --- declarations: FakeAI's own ----------------------------------------------------------------------------
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2,
                   0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)
RATE_BUCKETS = (1, 5, 10, 20, 30, 40, 50, 75, 100, 150, 200, 300, 500, 1000, 2000, 5000, 10000, 50000, 100000)
EP = ("endpoint",)
REQUESTS = counter("fakeai_requests", "Requests answered, per endpoint.", EP)
ERRORS = counter("fakeai_errors", "Requests answered with a 4xx or 5xx status.", EP)
TOKENS = counter("fakeai_tokens_generated", "Completion tokens generated or replayed.", EP)
RESPONSE_TIME = histogram("fakeai_response_time_seconds", "Time from arrival to the end of the answer.", EP,
                          LATENCY_BUCKETS)
STREAM_TTFT = histogram("fakeai_time_to_first_token_seconds", "Time from arrival to the first streamed event.", EP,
                        LATENCY_BUCKETS)
STREAM_ITL = histogram("fakeai_inter_token_latency_seconds", "Mean gap between a stream's events.", EP,
                       LATENCY_BUCKETS)
STREAM_TPS = histogram("fakeai_tokens_per_second", "Streamed generation speed.", EP, RATE_BUCKETS)
CASSETTE_EVENTS = counter("fakeai_cassette_events", "Record/replay outcomes (hits, misses, recordings, "
                          "upstream_errors).", ("endpoint", "outcome"))
FAULTS = counter("fakeai_faults_injected", "Injected faults, per endpoint and fault type.", ("endpoint", "type"))
RATE_LIMITED = counter("fakeai_rate_limited", "Requests refused with 429 by a rate limit or the quota.",
                       ("endpoint", "limit"))
REJECTED = counter("fakeai_engine_rejected_requests", "Requests answered 429 because the engine's queue was full.",
                   ("model_name",))
STARTED = gauge("fakeai_start_time_seconds", "Unix time the server's first worker started.", mode="min")

# --- declarations: vLLM's, with its names, labels and bucket boundaries (vllm/v1/metrics/loggers.py) -----------
VL = ("model_name", "engine")
FINISHED_REASONS = ("stop", "length", "abort", "error")
MAX_MODEL_LEN = 131072  # the token-count buckets stop here, as vLLM's do at max_model_len
REQUEST_LATENCY_BUCKETS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0,
                           240.0, 480.0, 960.0, 1920.0, 7680.0)
V_RUNNING = gauge("vllm:num_requests_running", "Number of requests in model execution batches.", VL)
V_WAITING = gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", VL)
V_KV_USAGE = gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", VL)
V_PREEMPTIONS = counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.", VL)
V_PROMPT_TOKENS = counter("vllm:prompt_tokens", "Number of prefill tokens processed.", VL)
V_GENERATION_TOKENS = counter("vllm:generation_tokens", "Number of generation tokens processed.", VL)
V_SUCCESS = counter("vllm:request_success", "Count of successfully processed requests.", VL + ("finished_reason",))
V_CACHE_QUERIES = counter("vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.",
                          VL)
V_CACHE_HITS = counter("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", VL)
V_TTFT = histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", VL,
                   (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
                    40.0, 80.0, 160.0, 640.0, 2560.0))
V_ITL = histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", VL,
                  (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
                   80.0))
V_E2E = histogram("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", VL,
                  REQUEST_LATENCY_BUCKETS)
V_QUEUE = histogram("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", VL,
                    REQUEST_LATENCY_BUCKETS)
V_INFERENCE = histogram("vllm:request_inference_time_seconds",
                        "Histogram of time spent in RUNNING phase for request.", VL, REQUEST_LATENCY_BUCKETS)
V_PREFILL = histogram("vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.",
                      VL, REQUEST_LATENCY_BUCKETS)
V_DECODE = histogram("vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.", VL,
                     REQUEST_LATENCY_BUCKETS)
V_PROMPT_HIST = histogram("vllm:request_prompt_tokens", "Number of prefill tokens processed.", VL,
                          _1_2_5(MAX_MODEL_LEN))
V_GENERATION_HIST = histogram("vllm:request_generation_tokens", "Number of generation tokens processed.", VL,
                              _1_2_5(MAX_MODEL_LEN))
V_PARAMS_N = histogram("vllm:request_params_n", "Histogram of the n request parameter.", VL, (1, 2, 5, 10, 20))
V_MAX_TOKENS = histogram("vllm:request_params_max_tokens", "Histogram of the max_tokens request parameter.", VL,
                         _1_2_5(MAX_MODEL_LEN))


# --- writing ---------------------------------------------------------------------------------------------------
def _doubles(file: MmapedDict) -> memoryview:
    """The mapped file as an array of doubles: a value is then one indexed store, about a third of a
    ``struct`` pack plus slice assignment (``MmapedDict.write_value`` costs more still).

    prometheus_client's layout keeps every value 8-byte aligned, and a value never moves. A file that
    grows is mapped again in full, but the old mapping is of the same file (MAP_SHARED), so a view of
    it still writes where the readers look; views are released before the file is closed."""
    return memoryview(file._m).cast("d")


def _index(file: MmapedDict, key: str) -> int:
    """Where a value lives in its file, in doubles (created at zero if new)."""
    file.read_value(key)
    position = file._positions[key]
    assert position % 8 == 0, "prometheus_client's layout changed: values are no longer 8-byte aligned"
    return position >> 3


class _Value:
    """A counter's or gauge's value for one label set; this is the per-request hot path."""

    __slots__ = ("_d", "_i")

    def __init__(self, file: MmapedDict, key: str, doubles: memoryview) -> None:
        self._i = _index(file, key)
        self._d = doubles if self._i < len(doubles) else _doubles(file)  # past the old mapping: a new view

    @property
    def value(self) -> float:
        return self._d[self._i]

    def inc(self, amount: float = 1.0) -> None:
        self._d[self._i] += amount

    def set(self, value: float) -> None:
        self._d[self._i] = value


class _Histogram:
    """One label set of a histogram: per-bucket counts (not cumulative, as the collector expects) and a sum."""

    __slots__ = ("_d", "_bounds", "_at", "_sum_at")

    def __init__(self, file: MmapedDict, family: Family, labels: tuple[str, ...], doubles: memoryview) -> None:
        self._bounds = family.buckets
        names = [*family.labels, "le"]
        keys = [mmap_key(family.name, family.name + "_bucket", names, [*labels, floatToGoString(b)], family.help)
                for b in family.buckets]
        self._at = [_index(file, k) for k in keys]
        self._sum_at = _index(file, mmap_key(family.name, family.name + "_sum", family.labels, labels, family.help))
        self._d = doubles if max(self._sum_at, *self._at) < len(doubles) else _doubles(file)

    def observe(self, value: float, count: int = 1) -> None:
        """``count`` observations of ``value``: two stores."""
        d = self._d
        d[self._at[bisect_left(self._bounds, value)]] += count
        d[self._sum_at] += value * count


class _EndpointSeries:
    """An endpoint's writers, looked up once per request."""

    __slots__ = ("name", "requests", "tokens", "response_time", "ttft", "itl", "tps")

    def __init__(self, metrics: Metrics, name: str) -> None:
        c = metrics.child
        self.name = name
        self.requests, self.tokens, self.response_time = c(REQUESTS, name), c(TOKENS, name), c(RESPONSE_TIME, name)
        self.ttft, self.itl, self.tps = c(STREAM_TTFT, name), c(STREAM_ITL, name), c(STREAM_TPS, name)


class _ModelSeries:
    """A model's vLLM writers, looked up once per request instead of once per metric."""

    __slots__ = ("success", "prompt_tokens", "generation_tokens", "cache_queries", "cache_hits", "e2e", "queue",
                 "inference", "ttft", "prefill", "decode", "itl", "prompt_hist", "generation_hist", "params_n",
                 "max_tokens", "running", "waiting", "kv")

    def __init__(self, metrics: Metrics, labels: tuple[str, str]) -> None:
        c = metrics.child
        self.success = {reason: c(V_SUCCESS, *labels, reason) for reason in FINISHED_REASONS}
        for family in FAMILIES.values():
            if family.labels == VL:
                c(family, *labels)  # every series shows from the model's first request on, at zero, as vLLM's do
        self.prompt_tokens, self.generation_tokens = c(V_PROMPT_TOKENS, *labels), c(V_GENERATION_TOKENS, *labels)
        self.cache_queries, self.cache_hits = c(V_CACHE_QUERIES, *labels), c(V_CACHE_HITS, *labels)
        self.e2e, self.queue, self.inference = c(V_E2E, *labels), c(V_QUEUE, *labels), c(V_INFERENCE, *labels)
        self.ttft, self.prefill, self.decode, self.itl = (c(V_TTFT, *labels), c(V_PREFILL, *labels),
                                                          c(V_DECODE, *labels), c(V_ITL, *labels))
        self.prompt_hist, self.generation_hist = c(V_PROMPT_HIST, *labels), c(V_GENERATION_HIST, *labels)
        self.params_n, self.max_tokens = c(V_PARAMS_N, *labels), c(V_MAX_TOKENS, *labels)
        self.running, self.waiting, self.kv = c(V_RUNNING, *labels), c(V_WAITING, *labels), c(V_KV_USAGE, *labels)


class Metrics:
    """This worker's writer, and a reader of every worker's files in the same directory."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self._owned = directory is None  # unit tests: a directory of our own
        self.directory = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="fakeai-metrics-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self._pid = os.getpid()
        self._files: dict[str, MmapedDict] = {}
        self._views: dict[str, memoryview] = {}  # the newest view of each file (children keep theirs)
        self._children: dict[tuple[Family, tuple[str, ...]], Any] = {}
        self._endpoints: dict[str, _EndpointSeries] = {}
        self._models: dict[str, _ModelSeries] = {}
        self.started = time.time()
        self.child(STARTED).set(self.started)

    # -- children -------------------------------------------------------------------------------------------------
    def _file(self, family: Family) -> tuple[MmapedDict, str]:
        prefix = f"gauge_{family.mode}" if family.kind == "gauge" else family.kind
        file = self._files.get(prefix)
        if file is None:
            file = self._files[prefix] = MmapedDict(str(self.directory / f"{prefix}_{self._pid}.db"))
            self._views[prefix] = _doubles(file)
        return file, prefix

    def child(self, family: Family, *labels: str) -> Any:
        """The writer of one label set (``inc``/``set`` for counters and gauges, ``observe`` for histograms)."""
        key = (family, labels)
        found = self._children.get(key)
        if found is None:
            file, prefix = self._file(family)
            if family.kind == "histogram":
                found = _Histogram(file, family, labels, self._views[prefix])
            else:
                sample = family.name + "_total" if family.kind == "counter" else family.name
                found = _Value(file, mmap_key(family.name, sample, family.labels, labels, family.help),
                               self._views[prefix])
            self._views[prefix] = found._d
            self._children[key] = found
        return found

    def _endpoint(self, path: str) -> _EndpointSeries:
        series = self._endpoints.get(path)
        if series is None:
            name = path if len(self._endpoints) < MAX_ENDPOINTS else "other"
            series = self._endpoints.get(name)
            if series is None:
                series = self._endpoints[name] = _EndpointSeries(self, name)
        return series

    def _model(self, model: str) -> _ModelSeries:
        series = self._models.get(model)
        if series is None:
            name = model if len(self._models) < MAX_MODELS else "other"
            series = self._models.get(name)
            if series is None:
                series = self._models[name] = _ModelSeries(self, (name, "0"))
        return series

    # -- HTTP-level observations ------------------------------------------------------------------------------------
    def observe(self, path: str, seconds: float | None, status: int, tokens: int = 0) -> None:
        e = self._endpoint(path)
        e.requests.inc()
        if status >= 400:
            self.child(ERRORS, e.name).inc()
        if seconds is not None:
            e.response_time.observe(seconds)
        if tokens:
            e.tokens.inc(tokens)

    def observe_stream(self, path: str, ttft: float, duration: float, tokens: int, events: int) -> None:
        """A finished stream: time to first event, total time, tokens and events sent."""
        e = self._endpoint(path)
        e.ttft.observe(ttft)
        if tokens:
            e.tokens.inc(tokens)
        if events > 1:
            e.itl.observe((duration - ttft) / (events - 1))
        generation = duration - ttft
        if tokens and generation > 0:
            e.tps.observe(tokens / generation)

    def count(self, path: str, name: str, n: int = 1) -> None:
        self.child(CASSETTE_EVENTS, self._endpoint(path).name, name).inc(n)

    def count_fault(self, path: str, fault: str) -> None:
        self.child(FAULTS, self._endpoint(path).name, fault).inc()

    def count_rate_limited(self, path: str, limit: str) -> None:
        self.child(RATE_LIMITED, self._endpoint(path).name, limit).inc()

    # -- the engine's observations (fakeai.modes.engine) -------------------------------------------------------------
    def engine_load(self, model: str, running: int, waiting: int, kv_usage: float) -> None:
        series = self._model(model)
        if running:
            series.running.inc(running)
        if waiting:
            series.waiting.inc(waiting)
        if kv_usage:
            series.kv.inc(kv_usage)

    def engine_rejected(self, model: str) -> None:
        self.child(REJECTED, model if model in self._models else "other").inc()

    def engine_finished(self, seq: Sequence) -> None:
        """One finished request, observed from its arrival as vLLM does (once per request, never per token)."""
        m = self._model(seq.model)
        m.success[seq.finish_reason].inc()
        m.prompt_tokens.inc(seq.prompt_tokens)
        m.generation_tokens.inc(seq.completion_tokens)
        m.cache_queries.inc(seq.prompt_tokens)
        if seq.cached_tokens:
            m.cache_hits.inc(seq.cached_tokens)
        m.e2e.observe(seq.finished - seq.arrival)
        if seq.scheduled:
            m.queue.observe(seq.scheduled - seq.arrival)
            m.inference.observe(seq.finished - seq.scheduled)
        if seq.first_token:
            m.ttft.observe(seq.first_token - seq.arrival)
            m.prefill.observe(seq.first_token - seq.scheduled)
            m.decode.observe(seq.finished - seq.first_token)
            if seq.steps:
                m.itl.observe((seq.finished - seq.first_token) / seq.steps, seq.steps * seq.n)
        m.prompt_hist.observe(seq.prompt_tokens)
        m.generation_hist.observe(seq.completion_tokens)
        m.params_n.observe(seq.n)
        if seq.max_tokens:
            m.max_tokens.observe(seq.max_tokens)

    # -- reading -------------------------------------------------------------------------------------------------------
    def collect(self) -> list[Any]:
        """Every worker's values, merged (prometheus_client metric families)."""
        return list(MultiProcessCollector(None, path=str(self.directory)).collect())

    def to_prometheus(self) -> bytes:
        registry = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(registry, path=str(self.directory))
        registry.register(_Uptime(self))
        return generate_latest(registry)

    def to_json(self) -> dict:
        from fakeai.metrics_json import summarize

        return summarize(self.collect(), time.time())

    def close(self) -> None:
        """This worker stops: its gauges leave the sums; its counters stay (they never go backwards)."""
        for child in self._children.values():
            child._d.release()  # a mapping with a view on it cannot be closed
        for view in self._views.values():
            view.release()
        self._children.clear()
        self._views.clear()
        for file in self._files.values():
            file.close()
        self._files.clear()
        mark_process_dead(self._pid, str(self.directory))
        if self._owned:
            shutil.rmtree(self.directory, ignore_errors=True)


class _Uptime:
    """Seconds since the server's first worker started, computed at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self):  # noqa: ANN201
        from prometheus_client.core import GaugeMetricFamily

        started = self._metrics.started
        for family in self._metrics.collect():
            if family.name == STARTED.name and family.samples:
                started = min(s.value for s in family.samples)
        yield GaugeMetricFamily("fakeai_uptime_seconds", "Seconds since the server started.", value=time.time() - started)
