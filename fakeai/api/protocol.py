"""uvicorn's httptools protocol, stamping each request's arrival as its headers are parsed.

The engine clock counts time to first token from a request's arrival, as vLLM does, so that a
client sees the configured TTFT whatever the server did first. "Arrival" has to be when the request
came off the socket, not when its task first ran: when hundreds of requests land at once, uvicorn
parses them all and queues one task each, and the last task starts only after every handler in front
of it has run (about 0.1 s for 800 chat requests on two cores). Stamped at the task's start, that
wait was added to the configured TTFT instead of being part of it.

``fakeai serve`` runs uvicorn with this class (``http="fakeai.api.protocol:ArrivalProtocol"``); outside
uvicorn (an in-process test client) the app stamps the request when it first sees it.
"""

from __future__ import annotations

import time

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["ARRIVAL_KEY", "ArrivalProtocol"]

ARRIVAL_KEY = "fakeai_arrival"  # scope key: time.perf_counter() when the request's headers were parsed


class ArrivalProtocol(HttpToolsProtocol):
    def on_headers_complete(self) -> None:
        self.scope[ARRIVAL_KEY] = time.perf_counter()  # type: ignore[typeddict-unknown-key] # before the task starts
        super().on_headers_complete()
