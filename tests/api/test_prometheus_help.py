"""The Prometheus help text names the outcome labels the counter really carries (issue 12, part 6)."""

from __future__ import annotations

import re


def test_cassette_outcome_help_matches_the_labels(make_client):
    api = make_client(mode="replay")
    miss = api.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    assert miss.status_code == 404
    text = api.get("/metrics", headers={"Accept": "text/plain"}).text
    help_line = next(line for line in text.splitlines() if line.startswith("# HELP fakeai_cassette_events_total"))
    named = set(re.search(r"\(([^)]*)\)", help_line).group(1).replace(" ", "").split(","))
    seen = set(re.findall(r'fakeai_cassette_events_total\{[^}]*outcome="([^"]+)"', text))
    assert "misses" in seen and seen <= named, (help_line, seen)
    assert named == {"hits", "misses", "recordings", "upstream_errors"}
