"""The recorder's asyncio transport against small real HTTP servers on 127.0.0.1, each answering
in one of the ways an upstream may (lengths, chunks, read-until-close, gzip, 1xx, closes)."""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import Awaitable, Callable

import httpx
import pytest

from fakeai.modes.upstream_transport import AsyncioTransport

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head, await reader.readexactly(length)


class Server:
    """``handler(reader, writer, connection_number)`` per connection; counts connections."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[tuple[bytes, bytes]] = []

    async def __aenter__(self) -> Server:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self.handler(reader, writer, self.connections)
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(serve, "127.0.0.1", 0)
        self.url = "http://127.0.0.1:%d" % self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()


def run(test: Callable[[httpx.AsyncClient], Awaitable[None]]) -> None:
    async def main() -> None:
        async with httpx.AsyncClient(transport=AsyncioTransport(), timeout=5, trust_env=False) as client:
            await test(client)

    asyncio.run(main())


def keep_answering(*responses: bytes, record: list | None = None, then_close: bool = False) -> Handler:
    """Each request on a connection gets the next of ``responses``; then the connection stays open
    until the client closes it, or with ``then_close`` the server closes it at once."""

    async def handler(reader, writer, _n) -> None:  # noqa: ANN001
        for response in responses:
            request = await read_request(reader)
            if record is not None:
                record.append(request)
            writer.write(response)
            await writer.drain()
        if not then_close:
            await reader.read()  # until the client closes

    return handler


def test_bodies_by_length_and_by_chunks_on_one_kept_alive_connection() -> None:
    seen: list = []
    handler = keep_answering(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 7\r\n\r\n{\"a\":1}",
        b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\nx-request-id: r2\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
        record=seen,
    )

    async def test(client: httpx.AsyncClient) -> None:
        async with Server(handler) as server:
            first = await client.post(server.url + "/v1/x?q=1", content=b'{"in": 1}', headers={"authorization": "Bearer k"})
            assert first.status_code == 200 and first.json() == {"a": 1}
            second = await client.get(server.url + "/v1/y")
            assert (second.status_code, second.content, second.headers["x-request-id"]) == (201, b"abcdefg", "r2")
            assert server.connections == 1  # the second request reused the first connection
            head, body = seen[0]
            assert head.startswith(b"POST /v1/x?q=1 HTTP/1.1\r\n") and b"authorization: bearer k" in head.lower()
            assert body == b'{"in": 1}'

    run(test)


def test_a_body_without_length_ends_with_the_connection_and_gzip_is_decoded() -> None:
    packed = gzip.compress(b"hello " * 1000)
    handler = keep_answering(b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\nconnection: close\r\n\r\n" + packed,
                             then_close=True)

    async def test(client: httpx.AsyncClient) -> None:
        async with Server(handler) as server:
            response = await client.get(server.url + "/")
            assert response.text == "hello " * 1000
            again = await client.get(server.url + "/")  # the closed connection is not reused
            assert again.status_code == 200 and server.connections == 2

    run(test)


def test_a_stream_arrives_as_it_is_sent() -> None:
    go_on = asyncio.Event()

    async def handler(reader, writer, _n) -> None:  # noqa: ANN001
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        writer.write(b"6\r\ndata 1\r\n")
        await writer.drain()
        await go_on.wait()
        writer.write(b"6\r\ndata 2\r\n0\r\n\r\n")
        await writer.drain()
        await reader.read()

    async def test(client: httpx.AsyncClient) -> None:
        async with Server(handler) as server:
            async with client.stream("POST", server.url + "/s", content=b"{}") as response:
                chunks = response.aiter_bytes()
                assert await anext(chunks) == b"data 1"  # before the server sends the rest
                go_on.set()
                assert [c async for c in chunks] == [b"data 2"]

    run(test)


def test_informational_answers_are_skipped_and_head_has_no_body() -> None:
    handler = keep_answering(
        b"HTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    )

    async def test(client: httpx.AsyncClient) -> None:
        async with Server(handler) as server:
            response = await client.get(server.url + "/")
            assert response.status_code == 200 and response.content == b"ok" and "link" not in response.headers
            empty = await client.delete(server.url + "/")
            assert empty.status_code == 204 and empty.content == b""
            assert server.connections == 1

    run(test)

    async def answer_head_then_get(reader, writer, n) -> None:  # noqa: ANN001
        await read_request(reader)
        # A HEAD answer carries the length the GET's body would have, and no body.
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n" if n == 1 else b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nx")
        await writer.drain()
        await reader.read()

    async def head_test(client: httpx.AsyncClient) -> None:
        async with Server(answer_head_then_get) as server:
            head = await client.head(server.url + "/")
            assert head.status_code == 200 and head.content == b""
            assert (await client.get(server.url + "/")).content == b"x"

    run(head_test)


def test_a_body_cut_short_is_a_protocol_error() -> None:
    handler = keep_answering(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this", then_close=True)

    async def test(client: httpx.AsyncClient) -> None:
        async with Server(handler) as server:
            with pytest.raises(httpx.RemoteProtocolError, match="before the whole response"):
                await client.get(server.url + "/")

    run(test)


def test_garbage_is_a_protocol_error_and_silence_then_close_too() -> None:
    garbage = keep_answering(b"SSH-2.0-OpenSSH\r\n\r\n")

    async def hang_up(reader, writer, _n) -> None:  # noqa: ANN001
        await read_request(reader)

    async def test(client: httpx.AsyncClient) -> None:
        async with Server(garbage) as server:
            with pytest.raises(httpx.RemoteProtocolError, match="invalid HTTP response"):
                await client.get(server.url + "/")
        async with Server(hang_up) as server:
            with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
                await client.post(server.url + "/", content=b"x")
            assert server.connections == 1  # a fresh connection's request is never sent twice

    run(test)


def test_a_kept_alive_connection_closed_by_the_upstream_is_replaced() -> None:
    async def handler(reader, writer, n) -> None:  # noqa: ANN001
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n%d" % n)
        await writer.drain()
        if n == 1:  # keeps the connection open, then drops it without a word once the next request is in
            await read_request(reader)
            return
        await reader.read()

    async def test(client: httpx.AsyncClient) -> None:
        async with Server(handler) as server:
            assert (await client.get(server.url + "/")).content == b"1"
            assert (await client.get(server.url + "/")).content == b"2"
            assert server.connections == 2

    run(test)


def test_refused_connections_are_connect_errors() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def test(client: httpx.AsyncClient) -> None:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")

    run(test)


def test_a_large_body_read_slowly_arrives_whole() -> None:
    payload = bytes(range(256)) * 20_000  # 5 MB: past the buffer at which reading pauses

    handler = keep_answering(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(payload) + payload)

    async def test(client: httpx.AsyncClient) -> None:
        async with Server(handler) as server:
            got = bytearray()
            async with client.stream("GET", server.url + "/") as response:
                async for chunk in response.aiter_raw():
                    got += chunk
                    await asyncio.sleep(0)
            assert bytes(got) == payload

    run(test)


def test_https_is_verified(tmp_path) -> None:  # noqa: ANN001
    import ssl
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))

    async def main() -> None:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await keep_answering(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecret")(reader, writer, 1)
            except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_side)
        url = "https://127.0.0.1:%d/" % server.sockets[0].getsockname()[1]
        async with httpx.AsyncClient(transport=AsyncioTransport(ssl_context=trusting), trust_env=False) as client:
            assert (await client.get(url)).content == b"secret"
        async with httpx.AsyncClient(transport=AsyncioTransport(), trust_env=False) as client:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.get(url)  # a certificate no public CA signed
        server.close()

    asyncio.run(main())
