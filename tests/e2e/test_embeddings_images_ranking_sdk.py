"""Embeddings, images and ranking against a real uvicorn, with the openai SDK (and httpx for ranking)."""

import base64

import httpx
import numpy as np
import pytest

from fakeai.modes.synthetic.png import read_png_size



def test_embeddings_default_base64_is_decoded_by_the_sdk(client):
    result = client.embeddings.create(model="text-embedding-3-small", input="The quick brown fox")
    vector = result.data[0].embedding
    assert isinstance(vector, list) and len(vector) == 1536
    assert abs(np.linalg.norm(vector) - 1) < 1e-5
    assert result.usage.prompt_tokens == result.usage.total_tokens == 4
    # The same text as floats: identical up to the 8 decimals the float form keeps.
    floats = client.embeddings.create(model="text-embedding-3-small", input="The quick brown fox",
                                      encoding_format="float")
    np.testing.assert_allclose(floats.data[0].embedding, vector, atol=1e-7)


def test_embeddings_dimensions_and_list_input(client):
    result = client.embeddings.create(
        model="text-embedding-3-large", input=["cats purr softly", "cats purr loudly", "tax law"], dimensions=256
    )
    a, b, c = (np.array(d.embedding) for d in result.data)
    assert a.shape == (256,) and [d.index for d in result.data] == [0, 1, 2]
    assert a @ b > a @ c + 0.2
    tokens = client.embeddings.create(model="nvidia/nv-embedqa-e5-v5", input=[[10, 20, 30], [40]])
    assert len(tokens.data) == 2 and len(tokens.data[0].embedding) == 1024
    assert tokens.usage.prompt_tokens == 4


def test_embeddings_batch_of_2048(client):
    texts = [f"chunk {i}: retrieval augmented generation over topic {i % 50}" for i in range(2048)]
    result = client.embeddings.create(model="text-embedding-3-small", input=texts)
    assert len(result.data) == 2048 and result.data[-1].index == 2047
    single = client.embeddings.create(model="text-embedding-3-small", input=texts[1234])
    assert result.data[1234].embedding == single.data[0].embedding


def test_embeddings_error_through_the_sdk(client):
    import openai

    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model="text-embedding-3-small", input=[])
    assert info.value.body["param"] == "input"


def test_image_url_fetched_over_http(client, live_server):
    result = client.images.generate(model="dall-e-2", prompt="a futuristic city", size="512x512", n=2,
                                    response_format="url")
    assert len(result.data) == 2
    url = result.data[0].url
    assert url.startswith(live_server.root_url + "/v1/images/files/img_")  # the host and port the client used
    got = httpx.get(url)  # no key: <img src> must work
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    assert read_png_size(got.content) == (512, 512)
    assert httpx.get(result.data[1].url).content != got.content  # n pictures, each its own


def test_image_b64_json_decodes_to_png_of_requested_size(client):
    result = client.images.generate(model="dall-e-3", prompt="a lighthouse", size="1792x1024",
                                    response_format="b64_json", quality="hd", style="vivid")
    png = base64.b64decode(result.data[0].b64_json)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and read_png_size(png) == (1792, 1024)
    other = client.images.generate(model="dall-e-3", prompt="a desert", size="1792x1024", response_format="b64_json")
    assert other.data[0].b64_json != result.data[0].b64_json


def test_image_stream_partial_then_completed(client):
    stream = client.images.generate(model="gpt-image-1", prompt="a comet", size="256x256", stream=True,
                                    partial_images=2, quality="low")
    events = list(stream)
    assert [e.type for e in events] == ["image_generation.partial_image"] * 2 + ["image_generation.completed"]
    assert [e.partial_image_index for e in events[:2]] == [0, 1]
    final = base64.b64decode(events[-1].b64_json)
    assert read_png_size(final) == (256, 256) and events[-1].usage.output_tokens > 0
    assert len({e.b64_json for e in events}) == 3  # each partial differs from the final picture


def test_ranking_dialects_over_http(live_server):
    headers = {"Authorization": f"Bearer {live_server.api_key}"}
    root = live_server.root_url
    passages = ["TensorFlow is developed by Google", "Bananas are rich in potassium",
                "PyTorch is a machine learning framework"]
    nim = httpx.post(root + "/v1/ranking", headers=headers, json={
        "model": "nvidia/nv-rerankqa-mistral-4b-v3", "query": {"text": "machine learning frameworks"},
        "passages": [{"text": p} for p in passages], "truncate": "END"})
    assert nim.status_code == 200
    rankings = nim.json()["rankings"]
    assert rankings[0]["index"] == 2 and rankings[-1]["index"] in (0, 1)
    assert rankings == sorted(rankings, key=lambda r: -r["logit"])
    cohere = httpx.post(root + "/v2/rerank", headers=headers, json={
        "model": "rerank-v3.5", "query": "machine learning frameworks", "documents": passages, "top_n": 1,
        "return_documents": True})
    assert cohere.json()["results"] == [
        {"index": 2, "relevance_score": cohere.json()["results"][0]["relevance_score"],
         "document": {"text": passages[2]}}]
    tei = httpx.post(root + "/rerank", headers=headers,
                     json={"query": "machine learning frameworks", "texts": passages})
    assert [r["index"] for r in tei.json()] == [r["index"] for r in rankings]
    assert httpx.post(root + "/rerank", json={"query": "q", "texts": ["a"]}).status_code == 401
    assert httpx.post(root + "/v2/rerank", json={"query": "q", "documents": ["a"]}).status_code == 401
