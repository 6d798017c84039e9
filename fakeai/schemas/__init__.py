"""msgspec Structs of the wire format, one module per resource, and the one decode helper that
turns a request body into a Struct or an OpenAI-shaped 400."""

from fakeai.schemas.decode import decode_json, encode_json

__all__ = ["decode_json", "encode_json"]
