"""The OpenAPI document and the ``/docs`` page.

Handlers read raw bytes (record and replay need them), so Litestar sees no body type to document.
Each route therefore declares what it takes and answers in its decorator, once::

    @post("/chat/completions", status_code=200, **documented(
        "Chat", "Create a chat completion", body=ChatCompletionRequest, example=..., ok=ChatCompletion,
        stream="chat.completion.chunk objects, then [DONE]"))

``documented`` returns the decorator's ``tags``/``summary``/``operation_class``; the operation class
fills in the request body, parameters, answers and security when Litestar builds the document. The
schemas are generated from the msgspec types in ``fakeai/schemas/`` with
``msgspec.json.schema_components`` for every declared type at once (so names stay unique) and merged
into the document's components. All of it happens when the document is first asked for (then
cached by Litestar): requests pay nothing.

A provider with another error shape or key header passes ``error=`` and ``security=`` (a name in
``SECURITY_SCHEMES``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import msgspec
from litestar import Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin
from litestar.openapi.spec import Components, OpenAPI, Operation, SecurityScheme
from litestar.static_files import create_static_files_router

from fakeai.schemas.errors import ErrorResponse
from fakeai.schemas.events import ServerSentEvent

__all__ = ["ANTHROPIC_SECURITY", "OPENAI_SECURITY", "SECURITY_SCHEMES", "Doc", "SwaggerUI", "documented", "openapi_config"]

REF_TEMPLATE = "#/components/schemas/{name}"

SECURITY_SCHEMES = {
    "bearerAuth": SecurityScheme(
        type="http", scheme="bearer", description="`Authorization: Bearer KEY` (see `--api-keys`)."
    ),
    "azureApiKey": SecurityScheme(
        type="apiKey", name="api-key", security_scheme_in="header", description="Azure-style `api-key: KEY`."
    ),
    "anthropicApiKey": SecurityScheme(
        type="apiKey", name="x-api-key", security_scheme_in="header", description="Anthropic-style `x-api-key: KEY`."
    ),
}
OPENAI_SECURITY = ("bearerAuth", "azureApiKey")  # either header is accepted
ANTHROPIC_SECURITY = ("anthropicApiKey", "bearerAuth")

# What each declared error status means; "default" covers the rest (405, 429, 5xx, an upstream's).
ERROR_DESCRIPTIONS = {
    "400": "Malformed JSON, or a field that fails validation (`param` names it).",
    "401": "Missing or wrong API key.",
    "404": "Unknown model or resource, or (replay mode) no cassette for this request.",
    "413": "Body larger than `--max-body-bytes` (or `--max-file-bytes` for uploads).",
    "415": "Not a multipart/form-data body.",
    "default": "Any other error: 405, 429, 5xx; in record mode the upstream's own answer, 502 or 504.",
}

BINARY = {"type": "string", "format": "binary"}


@dataclass(frozen=True, eq=False)
class Doc:
    """What one operation takes and answers; types are anything msgspec can describe."""

    body: Any = None  # application/json request body
    body_required: bool = True
    form: Any = None  # multipart/form-data request body (a Struct of the form's fields)
    example: Any = None  # the request body's example (a Struct instance or plain data)
    query: Any = None  # a Struct whose fields are the query parameters
    ok: Any = None  # the 200 answer's JSON type
    ok_media: str = "application/json"  # another media type: the 200 answer is bytes of that type
    ok_text: str | None = None  # a text/plain alternative of the 200 answer (metrics)
    stream: str | None = None  # with `stream: true` the answer is text/event-stream of these events
    error: Any = ErrorResponse
    security: tuple[str, ...] = OPENAI_SECURITY  # empty: no key needed
    errors: tuple[str, ...] = ()  # statuses documented besides those implied (see _error_statuses)

    def types(self) -> list[Any]:
        stream = ServerSentEvent if self.stream else None
        return [t for t in (self.body, self.form, self.query, self.ok, stream, self.error) if t is not None]


_DOCS: list[Doc] = []  # every declared operation, filled at import time by the api modules
_generated: tuple[dict[Any, dict], dict[str, dict]] | None = None


def _schemas() -> tuple[dict[Any, dict], dict[str, dict]]:
    """(schema of each declared type, components), for all declared types at once."""
    global _generated  # noqa: PLW0603 - a cache of import-time declarations, the same in every process
    if _generated is None:
        types = list(dict.fromkeys(t for doc in _DOCS for t in doc.types()))
        schemas, components = msgspec.json.schema_components(types, ref_template=REF_TEMPLATE)
        _generated = dict(zip(types, schemas)), components
    return _generated


def _resolve(schema: dict) -> dict:
    ref = schema.get("$ref")
    return _schemas()[1][ref.rsplit("/", 1)[1]] if ref else schema


def _json(schema: dict, example: Any = None) -> dict:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = msgspec.to_builtins(example)
    return media


def _error_statuses(doc: Doc) -> list[str]:
    statuses = set(doc.errors)
    if doc.body is not None or doc.form is not None:
        statuses |= {"400", "413"}
    if doc.query is not None:
        statuses.add("400")
    if doc.security:
        statuses |= {"401", "404"}  # 404: in replay mode any keyed route can miss its cassette
    return sorted(statuses) + ["default"]


def _responses(doc: Doc) -> dict[str, Any]:
    schemas = _schemas()[0]
    if doc.ok_media == "application/json":
        content = {"application/json": _json(schemas[doc.ok] if doc.ok is not None else {})}
    else:
        content = {doc.ok_media: {"schema": BINARY}}
    if doc.ok_text:
        content["text/plain"] = {"schema": {"type": "string", "description": doc.ok_text}}
    if doc.stream:
        # The schema of one event (as schemathesis and OpenAPI 3.2's itemSchema read it).
        event = {**schemas[ServerSentEvent], "description": f"With `stream: true`, server-sent events: {doc.stream}"}
        content["text/event-stream"] = {"schema": event}
    error = {"application/json": _json(schemas[doc.error])}
    answers: dict[str, Any] = {"200": {"description": "Success.", "content": content}}
    for status in _error_statuses(doc):
        answers[status] = {"description": ERROR_DESCRIPTIONS[status], "content": error}
    return answers


def _query_parameters(doc: Doc) -> list[dict[str, Any]]:
    struct = _resolve(_schemas()[0][doc.query])
    required = set(struct.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": _not_null(schema)}
        for name, schema in struct["properties"].items()
    ]


def _not_null(schema: dict) -> dict:
    """A query string has no null: an optional parameter is simply left out."""
    branches = [branch for branch in schema.get("anyOf", ()) if branch != {"type": "null"}]
    if len(branches) == 1 and "anyOf" in schema:
        return {**{k: v for k, v in schema.items() if k not in ("anyOf", "default")}, **branches[0]}
    return schema


@dataclass
class DocumentedOperation(Operation):
    """Base of the per-route operation classes ``documented`` makes: Litestar builds the operation
    (id, tags, summary, path parameters), then ``__post_init__`` adds what the declaration says."""

    doc: ClassVar[Doc] = Doc()

    def __post_init__(self) -> None:
        doc, schemas = self.doc, _schemas()[0]
        if doc.body is not None:
            content = {"application/json": _json(schemas[doc.body], doc.example)}
            self.request_body = {"required": doc.body_required, "content": content}  # type: ignore[assignment]
        elif doc.form is not None:
            self.request_body = {  # type: ignore[assignment]
                "required": True,
                "content": {"multipart/form-data": _json(schemas[doc.form], doc.example)},
            }
        if doc.query is not None:
            self.parameters = [*(self.parameters or []), *_query_parameters(doc)]  # type: ignore[list-item]
        self.responses = _responses(doc)  # type: ignore[assignment]
        self.security = [{name: []} for name in doc.security] or None


def documented(tag: str, summary: str, **declaration: Any) -> dict[str, Any]:
    """The route decorator's OpenAPI keywords for one operation: ``@post(..., **documented(...))``.
    ``declaration`` takes ``Doc``'s fields."""
    global _generated  # noqa: PLW0603
    doc = Doc(**declaration)
    _DOCS.append(doc)
    _generated = None  # a type declared after the first document: generate again, with it
    operation = type(f"{summary.title().replace(' ', '')}Operation", (DocumentedOperation,), {"doc": doc})
    return {"tags": [tag], "summary": summary, "operation_class": operation}


class _FakeAIOpenAPI(OpenAPI):
    def to_schema(self) -> dict[str, Any]:
        document = super().to_schema()
        # Litestar generates components only for types it documented itself (none here): add ours.
        document.setdefault("components", {}).setdefault("schemas", {}).update(_schemas()[1])
        return document


class _FakeAIOpenAPIConfig(OpenAPIConfig):
    def to_openapi_schema(self) -> OpenAPI:
        base = super().to_openapi_schema()
        return _FakeAIOpenAPI(**{name: getattr(base, name) for name in base.__dataclass_fields__})


class SwaggerUI(OpenAPIRenderPlugin):
    """Swagger UI from the installed ``swagger_ui_bundle`` package (swagger-ui-bundle-v2 on PyPI: Swagger
    UI 5, the first to read OpenAPI 3.1), served by this server: no CDN, no web fonts, works offline."""

    def __init__(self) -> None:
        super().__init__(path="/", favicon="", style="")
        self._page = b""

    def receive_router(self, router: Router) -> None:
        from swagger_ui_bundle import swagger_ui_path  # noqa: PLC0415 - only apps with docs need it

        router.register(
            create_static_files_router(
                path="/swagger-ui", directories=[str(swagger_ui_path)], include_in_schema=False, name="swagger-ui"
            )
        )
        assets, spec = f"{router.path}/swagger-ui", f"{router.path}/openapi.json"
        self._page = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>FakeAI API</title>
  <link rel="stylesheet" href="{assets}/swagger-ui.css">
  <link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
  <style>body {{ margin: 0 }}</style>
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{assets}/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: "{spec}", dom_id: "#swagger-ui", deepLinking: true, validatorUrl: null,
      presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout"
    }});
  </script>
</body>
</html>
""".encode()

    def render(self, request: Any, openapi_schema: dict[str, Any]) -> bytes:
        return self._page


def openapi_config(title: str, version: str) -> OpenAPIConfig:
    return _FakeAIOpenAPIConfig(
        title=title,
        version=version,
        description="An OpenAI-compatible fake LLM server: synthetic, record and replay modes.",
        path="/docs",
        render_plugins=[SwaggerUI(), JsonRenderPlugin()],
        components=Components(security_schemes=dict(SECURITY_SCHEMES)),
    )
