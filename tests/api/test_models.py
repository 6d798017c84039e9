from tests.conftest import AUTH


def test_list_models_has_catalogue(api):
    r = api.get("/v1/models")
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "list"
    ids = {m["id"] for m in body["data"]}
    assert {"openai/gpt-oss-120b", "gpt-4o", "text-embedding-3-small", "nvidia/nv-rerankqa-mistral-4b-v3"} <= ids
    model = body["data"][0]
    assert set(model) >= {"id", "object", "created", "owned_by", "permission", "root", "parent"}
    assert r.headers["x-fakeai-source"] == "synthetic"
    assert r.headers["x-request-id"].startswith("req_")


def test_retrieve_model_with_slash_raw_and_encoded(api):
    for path in ("/v1/models/openai/gpt-oss-120b", "/v1/models/openai%2Fgpt-oss-120b"):
        r = api.get(path)
        assert r.status_code == 200, path
        assert r.json()["id"] == "openai/gpt-oss-120b"
        assert r.json()["owned_by"] == "openai"


def test_unknown_model_retrieve_is_404(api):
    r = api.get("/v1/models/no-such/model")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "model_not_found"


def test_auth_required_and_wrong_key(api):
    r = api.get("/v1/models", headers={"Authorization": ""})
    assert r.status_code == 401
    assert r.json() == {"error": {"message": r.json()["error"]["message"], "type": "invalid_request_error",
                                  "param": None, "code": "invalid_api_key"}}
    r = api.get("/v1/models", headers={"Authorization": "Bearer sk-wrong"})
    assert r.status_code == 401
    assert "sk-wrong" not in r.text  # never echo a key back


def test_extra_keys_and_auth_off(make_client):
    c = make_client(api_keys=("k-extra",))
    assert c.get("/v1/models", headers={"Authorization": "Bearer k-extra"}).status_code == 200
    assert c.get("/v1/models", headers=AUTH).status_code == 200  # defaults still accepted
    open_client = make_client(require_api_key=False)
    assert open_client.get("/v1/models", headers={"Authorization": ""}).status_code == 200
