"""The three ways an endpoint answers: synthetic, record and replay.

Plain Python over msgspec Structs and async byte iterators; no web framework here.
"""

from fakeai.modes.base import Body, EventStream, Exchange, Reply, StreamStats

__all__ = ["Body", "EventStream", "Exchange", "Reply", "StreamStats"]
