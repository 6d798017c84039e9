"""The metric writers store straight into prometheus_client's multiprocess files (fakeai/metrics.py)."""

from __future__ import annotations

from fakeai.metrics import ERRORS, REQUESTS, RESPONSE_TIME, Metrics


def _samples(metrics: Metrics, name: str) -> dict[tuple, float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in metrics.collect() if family.name == name for s in family.samples}


def test_values_written_before_and_after_the_file_grows_are_all_read(tmp_path):
    writer = Metrics(tmp_path)
    first = writer.child(REQUESTS, "/first")
    first.inc()
    # Enough label sets to outgrow the file's first mapping (1 MiB): new children land past it.
    for i in range(12_000):
        writer.child(ERRORS, f"/e{i}").inc(i)
    hist = writer.child(RESPONSE_TIME, "/late")
    hist.observe(0.02)
    hist.observe(7.0, count=3)
    first.inc(2)  # through the view it was created with, on the first mapping
    reader = Metrics(tmp_path / "other")  # another worker's reader, reading the writer's files
    reader.directory = writer.directory
    requests = _samples(reader, "fakeai_requests")
    assert requests[("fakeai_requests_total", (("endpoint", "/first"),))] == 3.0
    errors = _samples(reader, "fakeai_errors")
    assert errors[("fakeai_errors_total", (("endpoint", "/e11999"),))] == 11999.0
    assert sum(errors.values()) == sum(range(12_000))
    times = _samples(reader, "fakeai_response_time_seconds")
    assert times[("fakeai_response_time_seconds_count", (("endpoint", "/late"),))] == 4.0
    assert abs(times[("fakeai_response_time_seconds_sum", (("endpoint", "/late"),))] - 21.02) < 1e-9
    le_002 = times[("fakeai_response_time_seconds_bucket", (("endpoint", "/late"), ("le", "0.02")))]
    le_5 = times[("fakeai_response_time_seconds_bucket", (("endpoint", "/late"), ("le", "5.0")))]
    assert (le_002, le_5) == (1.0, 1.0)  # cumulative: 7.0 is past 5.0
    writer.close()  # views are released first: closing a mapping with a view on it would raise
    reader.close()


def test_a_restarted_worker_continues_from_its_stored_values(tmp_path):
    one = Metrics(tmp_path)
    one.child(REQUESTS, "/x").inc(5)
    one.close()  # the worker stops; its counter file stays
    again = Metrics(tmp_path)  # same pid, same file: values are read back, not reset
    child = again.child(REQUESTS, "/x")
    assert child.value == 5.0
    child.inc()
    assert _samples(again, "fakeai_requests")[("fakeai_requests_total", (("endpoint", "/x"),))] == 6.0
