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


def test_every_answer_says_its_source(make_client):
    api = make_client(max_body_bytes=2048)
    no_key = {"Authorization": ""}
    answers = {
        401: api.get("/v1/models", headers=no_key),
        405: api.delete("/v1/models"),
        413: api.post("/v1/chat/completions", content=b"{" + b" " * 4096 + b"}",
                      headers={"content-type": "application/json"}),
        404: api.get("/nowhere"),
        200: api.get("/health"),
    }
    for status, r in answers.items():
        assert r.status_code == status, (status, r.text)
        assert r.headers["x-fakeai-source"] == "synthetic", status
    # An answer a mode labelled keeps its label (one header, not two).
    assert api.get("/v1/models").headers.get_list("x-fakeai-source") == ["synthetic"]


def test_unknown_v1_route_without_a_key_is_404_in_synthetic_mode(make_client):
    """OpenAI answers an unknown URL 404 whether or not a key came; so does synthetic mode. In record
    and replay modes the catch-all forwards or replays any /v1 route, so there a key is needed."""
    no_key = {"Authorization": ""}
    r = make_client().post("/v1/does/not/exist", json={}, headers=no_key)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_url"
    r = make_client(mode="replay").post("/v1/does/not/exist", json={}, headers=no_key)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    # A known route still needs its key in synthetic mode.
    assert make_client().get("/v1/models", headers=no_key).status_code == 401
