"""The Responses API endpoints (in progress)."""

HANDLERS: list = []
