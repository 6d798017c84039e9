"""The edge: rate limits and injected faults, between the HTTP layer and the modes.

``Edge.handle`` stands in for ``Dispatcher.handle`` when any limit or random fault is configured,
or a request forces a fault with ``x-fakeai-fault`` (the API layer calls the dispatcher directly
otherwise, so a server without them pays one dict lookup). It charges
the rate limits, decides the request's fault, and either answers the fault itself or lets the
dispatcher answer; no mode knows about either. Plain Python like the modes: no Litestar here.
"""

from fakeai.edge.gate import FAULT_HEADER, Edge

__all__ = ["Edge", "FAULT_HEADER"]
