"""The OpenAPI document at /docs/openapi.json and the /docs page that renders it."""

from __future__ import annotations

import re

import jsonschema
import pytest
from openapi_spec_validator import validate

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def document(api) -> dict:
    answer = api.get("/docs/openapi.json")
    assert answer.status_code == 200
    return answer.json()


def operations(document: dict):
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def resolve(document: dict, schema: dict) -> dict:
    """A schema with its components, so jsonschema can follow the document's $refs."""
    return {**schema, "components": document["components"]}


def test_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema
    assert len(list(operations(document))) >= 26


def test_every_post_has_a_request_body_schema(document):
    posts = [(path, op) for method, path, op in operations(document) if method == "post"]
    assert len(posts) >= 12
    for path, op in posts:
        content = op["requestBody"]["content"]
        assert content, path
        for media in content.values():
            ref = media["schema"]["$ref"]
            assert ref.rsplit("/", 1)[1] in document["components"]["schemas"], path
    upload = document["paths"]["/v1/files"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    form = document["components"]["schemas"][upload["$ref"].rsplit("/", 1)[1]]
    assert form["properties"]["file"]["format"] == "binary"
    assert {"file", "purpose"} <= set(form["required"])


def test_every_operation_documents_its_answer_and_openai_shaped_errors(document):
    error = document["components"]["schemas"]["ErrorResponse"]
    detail = document["components"]["schemas"]["ErrorDetail"]
    assert error["required"] == ["error"]
    assert set(detail["required"]) == {"message", "type", "param", "code"}
    for method, path, op in operations(document):
        answers = op["responses"]
        assert answers["200"]["content"], (method, path)
        shape = "/AnthropicError" if path.startswith("/v1/messages") else "/ErrorResponse"  # each provider's own
        assert answers["default"]["content"]["application/json"]["schema"]["$ref"].endswith(shape), path
        if method == "post":
            assert "400" in answers and "413" in answers, (method, path)
        if op.get("security"):
            assert "401" in answers, (method, path)


def test_streaming_answers_are_documented_as_server_sent_events(document):
    for path in ("/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/images/generations", "/v1/messages"):
        content = document["paths"][path]["post"]["responses"]["200"]["content"]
        assert set(content) == {"application/json", "text/event-stream"}, path
        assert content["text/event-stream"]["schema"]["$ref"].endswith("/ServerSentEvent")


def test_examples_satisfy_their_schemas_and_are_accepted(document, api):
    checked = 0
    for method, path, op in operations(document):
        for media_type, media in op.get("requestBody", {}).get("content", {}).items():
            if "example" not in media:
                continue
            jsonschema.validate(media["example"], resolve(document, media["schema"]))
            checked += 1
            if media_type == "application/json" and "{" not in path:
                answer = api.request(method.upper(), path, json=media["example"])
                assert answer.status_code == 200, (path, answer.text)
    assert checked >= 10


def test_answers_satisfy_their_documented_schemas(document, api):
    def check(path: str, method: str, body: object) -> None:
        schema = document["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
        jsonschema.validate(body, resolve(document, schema))

    chat = api.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]})
    check("/v1/chat/completions", "post", chat.json())
    check("/v1/models", "get", api.get("/v1/models").json())
    check("/health", "get", api.get("/health").json())
    missing = api.get("/v1/files/file-nope")
    assert missing.status_code == 404
    error_schema = document["paths"]["/v1/files/{file_id}"]["get"]["responses"]["404"]["content"]["application/json"]
    jsonschema.validate(missing.json(), resolve(document, error_schema["schema"]))


def test_keys_are_documented_as_a_bearer_scheme(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    chat = document["paths"]["/v1/chat/completions"]["post"]
    assert {"bearerAuth": []} in chat["security"]
    assert "security" not in document["paths"]["/health"]["get"]  # no key needed


def test_docs_page_is_swagger_ui_from_this_server(api):
    page = api.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle" in page.text
    assert not re.search(r"https?://", page.text), "the page must not load anything from another host"
    assets = re.findall(r'(?:src|href)="(/docs/[^"]+)"', page.text)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        answer = api.get(asset)
        assert answer.status_code == 200, asset
        assert answer.content, asset
    assert "/docs/openapi.json" in page.text
