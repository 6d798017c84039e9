import base64
import sqlite3
from urllib.parse import urlparse

import numpy as np
import pytest

from litestar.testing import TestClient

from fakeai.app import create_app
from fakeai.modes.synthetic.png import read_png_size
from fakeai.settings import Settings
from tests.conftest import AUTH


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One app for the read-only cases of this module (building an app per case costs ~0.3 s)."""
    db = tmp_path_factory.mktemp("api-shared") / "shared.db"
    with TestClient(create_app(Settings(db=str(db))), raise_server_exceptions=False) as client:
        client.headers.update(AUTH)
        yield client


def assert_400(r, param):
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param and error["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "hi"}, "model"),
        ({"model": "text-embedding-3-small"}, "input"),
        ({"model": "text-embedding-3-small", "input": []}, "input"),
        ({"model": "text-embedding-3-small", "input": ""}, "input"),
        ({"model": "text-embedding-3-small", "input": [1, "a"]}, "input"),
        ({"model": "text-embedding-3-small", "input": {"x": 1}}, "input"),
        ({"model": "text-embedding-3-small", "input": "x", "encoding_format": "hex"}, "encoding_format"),
        ({"model": "text-embedding-3-small", "input": "x", "dimensions": 0}, "dimensions"),
        ({"model": "text-embedding-3-small", "input": "x", "dimensions": 1537}, "dimensions"),
        ({"model": "text-embedding-3-small", "input": "x", "dimensions": "8"}, "dimensions"),
    ],
)
def test_embeddings_bad_inputs(shared, body, param):
    assert_400(shared.post("/v1/embeddings", json=body), param)


def test_embeddings_shapes_and_usage(shared):
    r = shared.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": ["hello world", "hi"]})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["object"] == "list" and body["model"] == "text-embedding-3-small"
    assert body["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    assert [d["index"] for d in body["data"]] == [0, 1]
    assert len(body["data"][0]["embedding"]) == 1536
    r = shared.post("/v1/embeddings", json={"model": "all-mpnet-base-v2", "input": [[1, 2, 3]], "dimensions": 64,
                                         "encoding_format": "base64"})
    vector = np.frombuffer(base64.b64decode(r.json()["data"][0]["embedding"]), dtype="<f4")
    assert vector.shape == (64,) and abs(np.linalg.norm(vector) - 1) < 1e-5
    assert r.json()["usage"]["prompt_tokens"] == 3


def test_embeddings_strict_models(make_client):
    strict = make_client(strict_models=True)
    r = strict.post("/v1/embeddings", json={"model": "no-such-embedder", "input": "x"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/ranking", {"model": "m", "passages": [{"text": "a"}]}, "query"),
        ("/v1/ranking", {"model": "m", "query": {"text": "q"}, "passages": []}, "passages"),
        ("/v1/ranking", {"model": "m", "query": {"text": "q"}}, "passages"),
        ("/v1/ranking", {"model": "m", "query": "q", "passages": [{"text": "a"}]}, "query"),
        ("/v1/ranking", {"query": {"text": "q"}, "passages": [{"text": "a"}], "truncate": "START"}, "truncate"),
        ("/v1/ranking", {"query": {"text": "q"}, "passages": [{"text": "a " * 600}]}, "passages[0]"),
        ("/v2/rerank", {"model": "m", "query": "q", "documents": []}, "documents"),
        ("/v2/rerank", {"model": "m", "documents": ["a"]}, "query"),
        ("/v2/rerank", {"model": "m", "query": "q", "documents": ["a"], "top_n": 0}, "top_n"),
        ("/v1/rerank", {"model": "m", "query": "q", "documents": [1]}, "documents[0]"),
        ("/rerank", {"query": "q", "texts": []}, "texts"),
        ("/rerank", {"texts": ["a"]}, "query"),
    ],
)
def test_ranking_bad_inputs(shared, path, body, param):
    assert_400(shared.post(path, json=body), param)


def test_ranking_dialects_agree_on_order(shared):
    passages = ["bananas are yellow", "gpus accelerate deep learning", "learning the guitar"]
    nim = shared.post("/v1/ranking", json={"model": "nvidia/nv-rerankqa-mistral-4b-v3",
                                           "query": {"text": "deep learning"},
                                           "passages": [{"text": p} for p in passages], "truncate": "END"})
    assert nim.status_code == 200
    order = [r["index"] for r in nim.json()["rankings"]]
    assert order == [1, 2, 0]
    cohere = shared.post("/v2/rerank", json={"model": "rerank-v3.5", "query": "deep learning", "documents": passages})
    assert [r["index"] for r in cohere.json()["results"]] == order
    tei = shared.post("/rerank", json={"query": "deep learning", "texts": passages})
    assert [r["index"] for r in tei.json()] == order


def test_ranking_routes_outside_v1_need_the_key(shared):
    for path, body in (
        ("/v2/rerank", {"model": "m", "query": "q", "documents": ["a"]}),
        ("/rerank", {"query": "q", "texts": ["a"]}),
        ("/v1/rerank", {"model": "m", "query": "q", "documents": ["a"]}),
        ("/v1/ranking", {"query": {"text": "q"}, "passages": [{"text": "a"}]}),
    ):
        r = shared.post(path, json=body, headers={"Authorization": ""})
        assert r.status_code == 401, path
        assert r.json()["error"]["code"] == "invalid_api_key"
        assert shared.post(path, json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert shared.post(path, json=body).status_code == 200


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"n": 1}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "a cat", "n": 0}, "n"),
        ({"prompt": "a cat", "n": 11}, "n"),
        ({"prompt": "a cat", "size": "100x100"}, "size"),
        ({"prompt": "a cat", "size": "huge"}, "size"),
        ({"prompt": "a cat", "quality": "ultra"}, "quality"),
        ({"prompt": "a cat", "style": "cubist"}, "style"),
        ({"prompt": "a cat", "response_format": "jpeg"}, "response_format"),
        ({"prompt": "a cat", "stream": True, "partial_images": 4}, "partial_images"),
    ],
)
def test_images_bad_inputs(shared, body, param):
    assert_400(shared.post("/v1/images/generations", json=body), param)


def test_image_url_served_from_the_database_until_expired_or_deleted(api, tmp_path):
    r = api.post("/v1/images/generations", json={"prompt": "a lighthouse", "size": "256x256", "n": 2})
    assert r.status_code == 200
    body = r.json()
    assert body["size"] == "256x256" and len(body["data"]) == 2
    urls = [d["url"] for d in body["data"]]
    assert all(d["b64_json"] is None for d in body["data"]) and len(set(urls)) == 2
    assert urls[0].startswith("http://testserver.local/v1/images/files/img_") and urls[0].endswith(".png")
    first, second = (urlparse(u).path for u in urls)
    # Public: no key needed to fetch a picture.
    got = api.get(first, headers={"Authorization": ""})
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    assert read_png_size(got.content) == (256, 256)
    # The bytes live in the database, not in memory.
    image_id = first.rsplit("/", 1)[1].removesuffix(".png")
    with sqlite3.connect(tmp_path / "api0.db") as conn:
        stored = conn.execute("SELECT data FROM images WHERE id = ?", (image_id,)).fetchone()[0]
        assert stored == got.content
        conn.execute("UPDATE images SET expires_at = 0 WHERE id = ?", (image_id,))
    expired = api.get(first)
    assert expired.status_code == 404 and expired.json()["error"]["code"] == "not_found"
    # Deleting needs the key; afterwards the picture is gone.
    assert api.delete(second, headers={"Authorization": ""}).status_code == 401
    deleted = api.delete(second)
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert api.get(second).status_code == 404
    assert api.delete(second).status_code == 404
    assert api.get("/v1/images/files/not-an-id.png").status_code == 404


def test_image_b64_json_and_gpt_image_defaults(api):
    r = api.post("/v1/images/generations", json={"prompt": "a fox", "size": "512x512", "response_format": "b64_json",
                                                "model": "dall-e-3", "quality": "hd", "style": "natural"})
    item = r.json()["data"][0]
    assert item["url"] is None and item["revised_prompt"] == "a fox"
    assert read_png_size(base64.b64decode(item["b64_json"])) == (512, 512)
    gpt = api.post("/v1/images/generations", json={"prompt": "a fox", "model": "gpt-image-1", "quality": "low",
                                                  "size": "1536x864", "background": "transparent"}).json()
    assert gpt["data"][0]["b64_json"] and gpt["data"][0]["url"] is None  # GPT image models answer base64
    assert gpt["quality"] == "low" and gpt["background"] == "transparent" and gpt["size"] == "1536x864"
    assert gpt["usage"]["input_tokens"] == 2 and gpt["usage"]["output_tokens"] > 0
    assert read_png_size(base64.b64decode(gpt["data"][0]["b64_json"])) == (1536, 864)
