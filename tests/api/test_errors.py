def _is_openai_error(body: dict) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) >= {"message", "type", "param", "code"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_unknown_route_is_openai_404(api):
    r = api.post("/v1/does/not/exist", json={})
    assert r.status_code == 404
    _is_openai_error(r.json())
    assert "/v1/does/not/exist" in r.json()["error"]["message"]


def test_wrong_method_is_405(api):
    r = api.delete("/v1/models")
    assert r.status_code == 405
    _is_openai_error(r.json())


def test_health_and_metrics_need_no_key(api):
    r = api.get("/health", headers={"Authorization": ""})
    assert r.status_code == 200
    assert r.json()["status"] == "healthy"
    assert "T" in r.json()["timestamp"]
    api.get("/v1/models")
    r = api.get("/metrics", headers={"Authorization": ""})
    assert r.status_code == 200
    assert r.json()["requests"]["/v1/models"] >= 1


def test_metrics_prometheus_forms(api):
    api.get("/v1/models")
    for r in (
        api.get("/metrics", headers={"accept": "text/plain"}),
        api.get("/metrics?format=prometheus"),
        api.get("/prometheus/metrics"),
        api.get("/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"}),
    ):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain")
        assert 'fakeai_requests_total{endpoint="/v1/models"}' in r.text
    assert api.get("/metrics", headers={"accept": "application/json"}).headers["content-type"].startswith(
        "application/json"
    )


def test_stream_content_type_has_one_charset(api):
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": True, "max_tokens": 5}
    with api.stream("POST", "/v1/chat/completions", json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
