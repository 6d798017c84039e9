"""The JSON form of ``/metrics``: the same merged families as the Prometheus text, summarised per
endpoint (percentiles estimated from histogram buckets by linear interpolation, as Prometheus's
``histogram_quantile`` does) and per model for the engine."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

__all__ = ["summarize", "bucket_quantile"]

QUANTILES = (0.5, 0.9, 0.99)
_STREAMING = {
    "fakeai_time_to_first_token_seconds": "time_to_first_token",
    "fakeai_inter_token_latency_seconds": "inter_token_latency",
    "fakeai_tokens_per_second": "tokens_per_second",
}
_ENGINE_COUNTERS = {
    "vllm:prompt_tokens_total": "prompt_tokens",
    "vllm:generation_tokens_total": "generation_tokens",
    "vllm:prefix_cache_queries_total": "prefix_cache_queries",
    "vllm:prefix_cache_hits_total": "prefix_cache_hits",
    "fakeai_engine_rejected_requests_total": "rejected",
}
_ENGINE_GAUGES = {
    "vllm:num_requests_running": "requests_running",
    "vllm:num_requests_waiting": "requests_waiting",
    "vllm:kv_cache_usage_perc": "kv_cache_usage_perc",
}
_ENGINE_HISTOGRAMS = {
    "vllm:time_to_first_token_seconds": "time_to_first_token",
    "vllm:inter_token_latency_seconds": "inter_token_latency",
    "vllm:e2e_request_latency_seconds": "e2e_request_latency",
    "vllm:request_queue_time_seconds": "queue_time",
}


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """The q-quantile of cumulative ``(upper bound, count)`` pairs sorted by bound."""
    if not buckets or buckets[-1][1] <= 0:
        return 0.0
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower  # past the last finite bound: the best we know
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


class _Hist:
    __slots__ = ("buckets", "sum", "count")

    def __init__(self) -> None:
        self.buckets: dict[float, float] = {}
        self.sum = 0.0
        self.count = 0.0

    def summary(self) -> dict[str, float]:
        pairs = sorted(self.buckets.items())
        out = {f"p{int(q * 100)}": round(bucket_quantile(q, pairs), 6) for q in QUANTILES}
        out["avg"] = round(self.sum / self.count, 6) if self.count else 0.0
        out["count"] = int(self.count)
        return out


def _histograms(family: Any, label: str) -> dict[str, _Hist]:
    by: dict[str, _Hist] = defaultdict(_Hist)
    for s in family.samples:
        h = by[s.labels.get(label, "")]
        if s.name.endswith("_bucket"):
            h.buckets[float(s.labels["le"])] = s.value
        elif s.name.endswith("_sum"):
            h.sum = s.value
        elif s.name.endswith("_count"):
            h.count = s.value
    return by


def _by_label(family: Any, label: str, sample: str | None = None) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for s in family.samples:
        if sample is None or s.name == sample:
            out[s.labels.get(label, "")] += s.value
    return out


def _int(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 6)


def summarize(families: list[Any], now: float) -> dict:
    f = {family.name: family for family in families}
    out: dict[str, Any] = {}

    def counter(name: str) -> dict[str, int | float]:
        family = f.get(name)
        if family is None:
            return {}
        return {k: _int(v) for k, v in sorted(_by_label(family, "endpoint", name + "_total").items())}

    out["requests"] = counter("fakeai_requests")
    out["errors"] = {k: v for k, v in counter("fakeai_errors").items() if v}
    out["tokens_generated"] = {k: v for k, v in counter("fakeai_tokens_generated").items() if v}
    rt = f.get("fakeai_response_time_seconds")
    out["response_times"] = {k: h.summary() for k, h in sorted(_histograms(rt, "endpoint").items())} if rt else {}
    streaming: dict[str, dict[str, Any]] = defaultdict(dict)
    for name, key in _STREAMING.items():
        if name in f:
            for endpoint, h in _histograms(f[name], "endpoint").items():
                streaming[endpoint][key] = h.summary()
    out["streaming"] = dict(sorted(streaming.items()))
    cassettes: dict[str, dict[str, int | float]] = defaultdict(dict)
    if "fakeai_cassette_events" in f:
        for s in f["fakeai_cassette_events"].samples:
            if s.value:
                cassettes[s.labels["endpoint"]][s.labels["outcome"]] = _int(s.value)
    out["cassettes"] = dict(cassettes)
    out["faults_injected"] = _by_endpoint(f, "fakeai_faults_injected", "type")
    out["rate_limited"] = _by_endpoint(f, "fakeai_rate_limited", "limit")
    out["engine"] = _engine(f)
    started = f.get("fakeai_start_time_seconds")
    first = min((s.value for s in started.samples), default=now) if started else now
    out["uptime_seconds"] = round(now - first, 3)
    return out


def _by_endpoint(f: dict[str, Any], name: str, label: str) -> dict[str, dict[str, int | float]]:
    """A two-label counter as ``{endpoint: {label value: count}}``, zero counts left out."""
    out: dict[str, dict[str, int | float]] = defaultdict(dict)
    if name in f:
        for s in f[name].samples:
            if s.value and s.name.endswith("_total"):
                out[s.labels["endpoint"]][s.labels[label]] = _int(s.value)
    return dict(out)


def _engine(f: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per model: vLLM's counters, gauges and the main latency summaries."""
    models: dict[str, dict[str, Any]] = defaultdict(dict)
    for family in f.values():
        for s in family.samples:
            key = _ENGINE_COUNTERS.get(s.name) or _ENGINE_GAUGES.get(s.name)
            if key is not None:
                model = s.labels.get("model_name", "")
                models[model][key] = _int(models[model].get(key, 0) + s.value)
    if "vllm:request_success" in f:
        for s in f["vllm:request_success"].samples:
            if s.name.endswith("_total"):
                success = models[s.labels["model_name"]].setdefault("request_success", {})
                success[s.labels["finished_reason"]] = _int(success.get(s.labels["finished_reason"], 0) + s.value)
    for name, key in _ENGINE_HISTOGRAMS.items():
        if name in f:
            for model, h in _histograms(f[name], "model_name").items():
                models[model][key] = h.summary()
    return dict(sorted(models.items()))
