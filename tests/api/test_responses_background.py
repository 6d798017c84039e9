"""Background responses end in a final state whatever happens: cancelled stays cancelled, a generation
that raises ends `failed` with a stored error, and a shutdown leaves none `in_progress`. Real SQLite
files and real apps (the cross-worker cancel is in tests/e2e/test_background_cancel.py)."""

from __future__ import annotations

import asyncio
import logging
import time

import msgspec

from fakeai.modes.synthetic import responses as synthetic_responses
from fakeai.runtime import Runtime
from fakeai.schemas.responses import ResponseCreateRequest
from fakeai.settings import Settings
from fakeai.store import Database
from fakeai.store import responses as store

RUNNING = ("queued", "in_progress")


def create(api, **body) -> dict:  # noqa: ANN001
    r = api.post("/v1/responses", json={"model": "gpt-4o", **body})
    assert r.status_code == 200, r.text
    return r.json()


def wait_for(api, response_id: str, done) -> dict:  # noqa: ANN001
    """Poll until ``done(response)``; the deadline only turns a hang into a clear failure."""
    deadline = time.monotonic() + 30
    while True:
        got = api.get(f"/v1/responses/{response_id}")
        assert got.status_code == 200, got.text  # an error is reported as itself, not as a hang
        if done(got.json()):
            return got.json()
        assert time.monotonic() < deadline, f"{response_id} stayed {got.json()['status']}"
        time.sleep(0.01)


def test_cancel_on_the_same_worker_stops_the_generation(make_client, tmp_path) -> None:  # noqa: ANN001
    db = str(tmp_path / "shared.db")
    worker = make_client(db=db, itl_ms=20)  # ~1 s of simulated tokens
    resp = create(worker, input="A very long report", background=True, max_output_tokens=50)
    wait_for(worker, resp["id"], lambda r: r["status"] == "in_progress")  # generation under way
    assert worker.post(f"/v1/responses/{resp['id']}/cancel").json()["status"] == "cancelled"
    worker.__exit__(None, None, None)  # shutdown waits for every background task to end
    reader = make_client(db=db)
    assert reader.get(f"/v1/responses/{resp['id']}").json()["status"] == "cancelled"


def test_a_generation_that_raises_ends_failed_with_a_stored_error(make_client, monkeypatch, caplog) -> None:  # noqa: ANN001
    async def broken(*args: object) -> None:
        raise RuntimeError("the generator has a bug")

    monkeypatch.setattr(synthetic_responses, "_generate", broken)
    api = make_client()
    with caplog.at_level(logging.INFO, logger="fakeai"):
        resp = create(api, input="Summarise the report", background=True)
        failed = wait_for(api, resp["id"], lambda r: r["status"] not in RUNNING)
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "server_error" and failed["error"]["message"]
    assert failed["id"] == resp["id"] and failed["background"] is True
    logged = [r.getMessage() for r in caplog.records if resp["id"] in r.getMessage()]
    assert logged == [f"background response {resp['id']} was lost: RuntimeError: the generator has a bug"]


def test_shutdown_leaves_no_response_in_progress(tmp_path, caplog) -> None:  # noqa: ANN001
    db = str(tmp_path / "shutdown.db")

    async def main() -> str:
        runtime = Runtime(Settings(db=db, ttft_ms=600_000))  # would take ten minutes
        runtime.shutdown_grace = 0.05
        await runtime.start()
        request = msgspec.convert({"model": "gpt-4o", "input": "x", "background": True}, ResponseCreateRequest)
        reply = await synthetic_responses.create_response(runtime.synthetic, request)
        response_id = msgspec.json.decode(reply.content)["id"]
        while await store.get_status(runtime.db, response_id) != "in_progress":
            await asyncio.sleep(0)
        await runtime.stop()  # cancels the generation, stores its end, then closes the database
        return response_id

    with caplog.at_level(logging.WARNING, logger="fakeai"):
        response_id = asyncio.run(main())

    async def read() -> dict:
        database = Database(Settings(db=db).db_url)
        try:
            return msgspec.json.decode(await store.get_response_body(database, response_id))
        finally:
            await database.dispose()

    stored = asyncio.run(read())
    assert stored["status"] == "failed" and "shut down" in stored["error"]["message"]
    assert any(response_id in r.getMessage() and "cancelled" in r.getMessage() for r in caplog.records)
