"""Per-endpoint request metrics with bounded memory, rendered as JSON or Prometheus text.

Counters are plain ints; every sample series is a fixed-size ring, so memory stays flat however
long the server runs. Figures are per worker process.
"""

from __future__ import annotations

import time
from collections import deque

__all__ = ["Metrics", "EndpointStats"]

SAMPLES = 1000  # newest samples kept per series
MAX_ENDPOINTS = 128  # distinct endpoint keys; anything past this is counted under "other"
QUANTILES = (0.5, 0.9, 0.99)


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, int(q * len(sorted_values)))
    return sorted_values[index]


class EndpointStats:
    __slots__ = ("requests", "errors", "tokens", "response_times", "ttft", "itl", "tokens_per_second", "counters")

    def __init__(self) -> None:
        self.requests = 0
        self.errors = 0
        self.tokens = 0
        self.response_times: deque[float] = deque(maxlen=SAMPLES)
        self.ttft: deque[float] = deque(maxlen=SAMPLES)
        self.itl: deque[float] = deque(maxlen=SAMPLES)
        self.tokens_per_second: deque[float] = deque(maxlen=SAMPLES)
        # Record/replay outcomes: hits, misses, recordings, upstream_errors.
        self.counters: dict[str, int] = {}


class Metrics:
    def __init__(self) -> None:
        self.started = time.time()
        self._endpoints: dict[str, EndpointStats] = {}

    def endpoint(self, path: str) -> EndpointStats:
        stats = self._endpoints.get(path)
        if stats is None:
            if len(self._endpoints) >= MAX_ENDPOINTS:
                path = "other"
                stats = self._endpoints.get(path)
            if stats is None:
                stats = self._endpoints[path] = EndpointStats()
        return stats

    def observe(self, path: str, seconds: float | None, status: int, tokens: int = 0) -> None:
        stats = self.endpoint(path)
        stats.requests += 1
        if status >= 400:
            stats.errors += 1
        if seconds is not None:
            stats.response_times.append(seconds)
        stats.tokens += tokens

    def observe_stream(self, path: str, ttft: float, duration: float, tokens: int, events: int) -> None:
        """A finished stream: time to first event, total time, tokens and events sent."""
        stats = self.endpoint(path)
        stats.ttft.append(ttft)
        stats.tokens += tokens
        if events > 1:
            stats.itl.append((duration - ttft) / (events - 1))
        generation = duration - ttft
        if tokens and generation > 0:
            stats.tokens_per_second.append(tokens / generation)

    def count(self, path: str, name: str, n: int = 1) -> None:
        counters = self.endpoint(path).counters
        counters[name] = counters.get(name, 0) + n

    # -- rendering -----------------------------------------------------------------------------

    def to_json(self) -> dict:
        items = self._endpoints.items()

        def summary(series: deque[float]) -> dict[str, float]:
            values = sorted(series)
            out = {f"p{int(q * 100)}": round(_quantile(values, q), 6) for q in QUANTILES}
            out["avg"] = round(sum(values) / len(values), 6) if values else 0.0
            out["count"] = len(values)
            return out

        return {
            "requests": {p: s.requests for p, s in items},
            "response_times": {p: [round(t, 6) for t in s.response_times] for p, s in items if s.response_times},
            "errors": {p: s.errors for p, s in items if s.errors},
            "tokens_generated": {p: s.tokens for p, s in items if s.tokens},
            "streaming": {
                p: {
                    "time_to_first_token": summary(s.ttft),
                    "inter_token_latency": summary(s.itl),
                    "tokens_per_second": summary(s.tokens_per_second),
                }
                for p, s in items
                if s.ttft
            },
            "cassettes": {p: dict(s.counters) for p, s in items if s.counters},
            "uptime_seconds": round(time.time() - self.started, 3),
        }

    def to_prometheus(self) -> str:
        lines: list[str] = []

        def family(name: str, kind: str, help_text: str) -> None:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")

        items = sorted(self._endpoints.items())
        family("fakeai_requests_total", "counter", "Requests answered, per endpoint.")
        for p, s in items:
            lines.append(f'fakeai_requests_total{{endpoint="{_esc(p)}"}} {s.requests}')
        family("fakeai_errors_total", "counter", "Requests answered with a 4xx or 5xx status.")
        for p, s in items:
            lines.append(f'fakeai_errors_total{{endpoint="{_esc(p)}"}} {s.errors}')
        family("fakeai_tokens_generated_total", "counter", "Completion tokens generated or replayed.")
        for p, s in items:
            lines.append(f'fakeai_tokens_generated_total{{endpoint="{_esc(p)}"}} {s.tokens}')
        for metric, attr, help_text in (
            ("fakeai_response_time_seconds", "response_times", "Response time of whole answers."),
            ("fakeai_time_to_first_token_seconds", "ttft", "Time to the first streamed event."),
            ("fakeai_inter_token_latency_seconds", "itl", "Mean gap between streamed events."),
            ("fakeai_tokens_per_second", "tokens_per_second", "Streamed generation speed."),
        ):
            family(metric, "summary", help_text)
            for p, s in items:
                series = getattr(s, attr)
                if not series:
                    continue
                values = sorted(series)
                label = f'endpoint="{_esc(p)}"'
                for q in QUANTILES:
                    lines.append(f'{metric}{{{label},quantile="{q}"}} {_quantile(values, q):.6f}')
                lines.append(f"{metric}_sum{{{label}}} {sum(values):.6f}")
                lines.append(f"{metric}_count{{{label}}} {len(values)}")
        family("fakeai_cassette_events_total", "counter", "Record/replay outcomes (hits, misses, recordings, upstream_errors).")
        for p, s in items:
            for name, n in sorted(s.counters.items()):
                lines.append(f'fakeai_cassette_events_total{{endpoint="{_esc(p)}",outcome="{_esc(name)}"}} {n}')
        family("fakeai_uptime_seconds", "gauge", "Seconds since this worker started.")
        lines.append(f"fakeai_uptime_seconds {time.time() - self.started:.3f}")
        return "\n".join(lines) + "\n"


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
