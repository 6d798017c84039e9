"""uvicorn's httptools protocol, stamping each request's arrival as its headers are parsed (and
telling a stream when its client leaves).

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

__all__ = ["ARRIVAL_KEY", "LEFT_KEY", "ArrivalProtocol"]

ARRIVAL_KEY = "fakeai_arrival"  # scope key: time.perf_counter() when the request's headers were parsed
# Scope key: None, or what to call if the connection is lost before the answer ends. A stream sets it
# (``replies.EventStreamResponse``) instead of running a task per stream that waits for ASGI's
# disconnect message: at hundreds of new streams a second that task was a few percent of the CPU.
LEFT_KEY = "fakeai_left"


class ArrivalProtocol(HttpToolsProtocol):
    def on_headers_complete(self) -> None:
        scope = self.scope
        scope[ARRIVAL_KEY] = time.perf_counter()  # type: ignore[typeddict-unknown-key] # before the task starts
        scope[LEFT_KEY] = None  # type: ignore[typeddict-unknown-key]
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        cycle = self.cycle
        super().connection_lost(exc)
        if cycle is not None and not cycle.response_complete:
            left = cycle.scope.get(LEFT_KEY)
            if left is not None:
                left()
