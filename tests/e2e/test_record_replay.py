"""Record every endpoint through a real recording FakeAI in front of a real synthetic FakeAI (with
latency), stop both, then replay from the same database with no upstream: every answer, status and
stream event must be byte-identical, and replay at speed 1 must keep the recorded timing."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

import httpx
import openai
import pytest

from fakeai.store import cassettes as store
from fakeai.cassettes.server_process import ServerProcess
from tests.databases import on_store

TTFT_MS, ITL_MS = 40, 20
EVENT = re.compile(rb".*?(?:\r\n\r\n|\n\n|\r\r)", re.S)
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say something about rivers."}]}


def split_events(data: bytes) -> list[bytes]:
    events = EVENT.findall(data)
    assert b"".join(events) == data, "the stream must end on a whole event"
    return events


def whole(raw) -> tuple[int, bytes]:  # noqa: ANN001 - openai LegacyAPIResponse
    return raw.http_response.status_code, raw.http_response.content


def streamed(ctx) -> tuple[int, list[bytes]]:  # noqa: ANN001 - a with_streaming_response context
    with ctx as response:
        return response.status_code, split_events(b"".join(response.iter_bytes()))


def sleepy_stream(client: openai.OpenAI, state: dict | None = None) -> tuple[int, list[bytes]]:
    """The stream the timing test replays (8 tokens at the upstream's ITL)."""
    return streamed(
        client.chat.completions.with_streaming_response.create(
            **CHAT, max_tokens=8, seed=7, stream=True, stream_options={"include_usage": True}
        )
    )


def file_id(client: openai.OpenAI) -> str:
    return client.files.list().data[0].id


def whole_error(call: Callable[[], object]) -> tuple[int, bytes]:
    with pytest.raises(openai.APIStatusError) as info:
        call()
    return info.value.status_code, info.value.response.content


def plain(response: httpx.Response) -> tuple[int, bytes]:
    return response.status_code, response.read()


def outside_v1(client: openai.OpenAI, path: str, body: dict) -> tuple[int, bytes]:
    """Routes beside /v1 (Cohere and TEI reranking), sent with plain httpx."""
    root = str(client.base_url).rstrip("/").removesuffix("/v1")
    response = httpx.post(root + path, json=body, headers={"Authorization": f"Bearer {client.api_key}"}, timeout=30)
    return response.status_code, response.content


def remember(state: dict, name: str, answer: tuple[int, bytes]) -> tuple[int, bytes]:
    """Keep an id from an answer for later scenarios (in replay the answer, so the id, is the same)."""
    state[name] = json.loads(answer[1])["id"]
    return answer


RANKING = {"model": "nv-rerank-qa-mistral-4b:1", "query": {"text": "rivers"}, "passages": [{"text": "a river"}, {"text": "a desk"}]}

# (name, call(client, state)) in order. Files and responses are stateful sequences: GET /v1/files is
# sent five times (two scenarios, plus file_id() before retrieve, content and delete), which records
# five episodes of one key whose answers change as the file comes and goes.
Scenario = tuple[str, Callable[[openai.OpenAI, dict], tuple[int, object]]]
SCENARIOS: list[Scenario] = [
    ("models.list", lambda c, s: whole(c.models.with_raw_response.list())),
    ("models.retrieve", lambda c, s: whole(c.models.with_raw_response.retrieve("openai/gpt-oss-120b"))),
    ("chat", lambda c, s: whole(c.chat.completions.with_raw_response.create(**CHAT, max_tokens=12, seed=1))),
    (
        "chat.tools",
        lambda c, s: whole(
            c.chat.completions.with_raw_response.create(
                **CHAT,
                seed=2,
                tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
                tool_choice="required",
            )
        ),
    ),
    ("chat.stream", sleepy_stream),
    (
        "chat.stream.n2",
        lambda c, s: streamed(c.chat.completions.with_streaming_response.create(**CHAT, n=2, max_tokens=5, stream=True)),
    ),
    ("chat.bad_request", lambda c, s: whole_error(lambda: c.chat.completions.create(model="gpt-4o", messages="nope"))),
    (
        "completions",
        lambda c, s: whole(c.completions.with_raw_response.create(model="gpt-3.5-turbo-instruct", prompt="Once", max_tokens=6, seed=3)),
    ),
    (
        "completions.stream",
        lambda c, s: streamed(
            c.completions.with_streaming_response.create(model="gpt-3.5-turbo-instruct", prompt=["a", "b"], max_tokens=4, stream=True)
        ),
    ),
    (
        "text.generation",
        lambda c, s: plain(c.post("/text/generation", body={"model": "gpt-4o", "input": "Rivers", "max_output_tokens": 5}, cast_to=httpx.Response)),
    ),
    (
        "embeddings",
        lambda c, s: whole(c.embeddings.with_raw_response.create(model="text-embedding-3-small", input=["a river", "a stream"])),
    ),
    (
        "images",
        lambda c, s: whole(
            c.images.with_raw_response.generate(model="dall-e-2", prompt="a red fox", size="256x256", response_format="b64_json")
        ),
    ),
    ("ranking", lambda c, s: plain(c.post("/ranking", body=RANKING, cast_to=httpx.Response))),
    ("rerank.cohere.v2", lambda c, s: outside_v1(c, "/v2/rerank", {"model": "rerank-v3.5", "query": "rivers", "documents": ["a river", "a desk"]})),
    ("rerank.tei", lambda c, s: outside_v1(c, "/rerank", {"query": "rivers", "texts": ["a river", "a desk"]})),
    ("files.upload", lambda c, s: whole(c.files.with_raw_response.create(file=("notes.jsonl", b'{"a": 1}\n{"a": 2}\n'), purpose="batch"))),
    ("files.list", lambda c, s: whole(c.files.with_raw_response.list())),
    ("files.retrieve", lambda c, s: whole(c.files.with_raw_response.retrieve(file_id(c)))),
    ("files.content", lambda c, s: whole(c.files.with_raw_response.content(file_id(c)))),
    ("files.delete", lambda c, s: whole(c.files.with_raw_response.delete(file_id(c)))),
    ("files.list.after_delete", lambda c, s: whole(c.files.with_raw_response.list())),
    (
        "responses",
        lambda c, s: remember(
            s, "response", whole(c.responses.with_raw_response.create(model="gpt-4o-mini", input="Tell me about rivers.", max_output_tokens=16, store=True))
        ),
    ),
    (
        "responses.stream",
        lambda c, s: streamed(c.responses.with_streaming_response.create(model="gpt-4o-mini", input="Rivers?", max_output_tokens=8, stream=True)),
    ),
    ("responses.retrieve", lambda c, s: whole(c.responses.with_raw_response.retrieve(s["response"]))),
    ("responses.input_items", lambda c, s: whole(c.responses.input_items.with_raw_response.list(s["response"]))),
    ("responses.delete", lambda c, s: plain(c.delete(f"/responses/{s['response']}", cast_to=httpx.Response))),
    ("responses.retrieve.deleted", lambda c, s: whole_error(lambda: c.responses.retrieve(s["response"]))),
]
EXTRA_FILE_LISTS = 3  # the file_id() lookups


def run_all(client: openai.OpenAI, scenarios: list[Scenario]) -> dict[str, tuple[int, object]]:
    state: dict = {}
    return {name: call(client, state) for name, call in scenarios}


@pytest.fixture(scope="module")
def recording(tmp_path_factory, module_db_url):  # noqa: ANN201
    """Record every scenario, then stop both servers; yields (db URL, answers, scenarios). The
    module runs once on SQLite and once on PostgreSQL."""
    tmp = tmp_path_factory.mktemp("record_replay")
    db = module_db_url
    with ServerProcess("--ttft-ms", str(TTFT_MS), "--itl-ms", str(ITL_MS), db=str(tmp / "upstream.db")) as upstream:
        scenarios = SCENARIOS
        with ServerProcess("--mode", "record", "--upstream", upstream.base_url, db=db) as recorder:
            answers = run_all(recorder.client(), scenarios)
            metrics = httpx.get(recorder.root_url + "/metrics").json()
    return db, answers, scenarios, metrics


def test_recording_stores_one_cassette_per_request(recording) -> None:  # noqa: ANN001
    db, answers, scenarios, metrics = recording
    statuses = {name: answer[0] for name, answer in answers.items()}
    assert statuses.pop("chat.bad_request") == 400
    assert statuses.pop("responses.retrieve.deleted") == 404
    assert set(statuses.values()) == {200}, statuses
    infos = on_store(db, store.list_cassettes)
    # GET /v1/files is sent five times (two scenarios, and file_id() before retrieve, content and
    # delete): five episodes of one key, the last one (after the delete) listing nothing.
    list_calls = sorted((i for i in infos if i.path == "/v1/files" and i.method == "GET"), key=lambda i: i.episode)
    assert [i.episode for i in list_calls] == [0, 1, 2, 3, 4]
    assert len({i.key for i in list_calls}) == 1
    first, last = (on_store(db, store.lookup_episodes, list_calls[0].key)[n] for n in (0, 4))
    assert b"notes.jsonl" in first.body and b"notes.jsonl" not in last.body
    assert len(infos) == len(scenarios) + EXTRA_FILE_LISTS
    assert {i.model for i in infos if i.path == "/v1/chat/completions"} == {"gpt-4o-mini", "gpt-4o"}
    assert any(i.stream for i in infos) and any(not i.stream for i in infos)
    assert any(i.status == 400 for i in infos)  # the upstream's 400 was recorded as it came
    recordings = sum(c.get("recordings", 0) for c in metrics["cassettes"].values())
    assert recordings == len(scenarios) + EXTRA_FILE_LISTS
    assert metrics["cassettes"]["/v1/chat/completions"]["upstream_errors"] == 1


@pytest.fixture(scope="module")
def replayer(recording):  # noqa: ANN201
    db = recording[0]
    with ServerProcess("--mode", "replay", db=db) as server:
        yield server


def test_replay_is_byte_identical(recording, replayer) -> None:  # noqa: ANN001
    _, answers, scenarios, _ = recording
    replayed = run_all(replayer.client(), scenarios)
    for name, _ in scenarios:
        assert replayed[name] == answers[name], name
    # Streams really were streams, compared event by event.
    status, events = answers["chat.stream"]
    assert status == 200 and len(events) > 5 and events[-1] == b"data: [DONE]\n\n"


def test_replay_headers_and_metrics(replayer) -> None:  # noqa: ANN001
    raw = replayer.client().models.with_raw_response.list()
    assert raw.headers["x-fakeai-source"] == "replay"
    assert re.fullmatch(r"[0-9a-f]{64}", raw.headers["x-fakeai-request-hash"])
    metrics = httpx.get(replayer.root_url + "/metrics").json()["cassettes"]
    assert metrics["/v1/models"]["hits"] >= 1
    text = httpx.get(replayer.root_url + "/prometheus/metrics").text
    assert 'fakeai_cassette_events_total{endpoint="/v1/models",outcome="hits"}' in text


def test_replay_at_speed_one_keeps_the_recorded_gaps(recording) -> None:  # noqa: ANN001
    db, answers, _, _ = recording
    _, events = answers["chat.stream"]
    with ServerProcess("--mode", "replay", "--replay-speed", "1", db=db) as server:
        recorded = _recorded_offsets(db, events)
        arrivals = _arrivals(server)
        # A whole answer comes after the upstream's recorded duration too.
        client = server.client()
        started = time.perf_counter()
        raw = client.chat.completions.with_raw_response.create(**CHAT, max_tokens=12, seed=1)
        whole_ms = (time.perf_counter() - started) * 1000
        assert raw.http_response.content == answers["chat"][1]
        duration = _duration_of(db, answers["chat"][1])
        assert duration >= TTFT_MS + 5 * ITL_MS
        assert duration - 5 <= whole_ms, (whole_ms, duration)  # floors here; accuracy: bench/timing.py
    assert len(arrivals) == len(recorded)
    # Real time: time to first token and every gap as recorded (the clocks differ by the request's
    # trip to the server, so allow a little either way).
    assert recorded[0] >= TTFT_MS
    for got, want in zip(arrivals, recorded):
        assert want - 5 <= got, (got, want)  # never earlier than recorded
    assert arrivals == sorted(arrivals)
    assert arrivals[-1] - arrivals[0] >= 0.8 * (recorded[-1] - recorded[0])


def _recorded_offsets(db: str, events: list[bytes]) -> list[float]:
    infos = on_store(db, store.list_cassettes)
    for info in infos:
        if info.stream and info.path == "/v1/chat/completions":
            (cassette,) = on_store(db, store.lookup_episodes, info.key)
            if [e for _, e in cassette.events] == events:
                return [offset for offset, _ in cassette.events]
    raise AssertionError("the recorded stream is not in the database")


def _duration_of(db: str, body: bytes) -> float:
    for info in on_store(db, store.list_cassettes):
        for cassette in on_store(db, store.lookup_episodes, info.key):
            if cassette.body == body:
                return cassette.duration_ms
    raise AssertionError("the recorded answer is not in the database")


def _arrivals(server: ServerProcess) -> list[float]:
    """When (ms after sending) each event of the timing stream reached the client."""
    client = server.client()
    started = time.perf_counter()
    out: list[float] = []
    with client.chat.completions.with_streaming_response.create(
        **CHAT, max_tokens=8, seed=7, stream=True, stream_options={"include_usage": True}
    ) as response:
        buffer = b""
        for chunk in response.iter_bytes():
            now = (time.perf_counter() - started) * 1000
            buffer += chunk
            events = EVENT.findall(buffer)
            buffer = buffer[sum(map(len, events)) :]
            out.extend(now for _ in events)
    return out


def test_replay_at_speed_zero_sends_the_recorded_events(replayer, recording) -> None:  # noqa: ANN001
    # How much faster than recorded it is: bench/timing.py (no wall-clock bound in a test).
    _, answers, _, _ = recording
    status, events = sleepy_stream(replayer.client())
    assert status == 200 and events == answers["chat.stream"][1]


def test_hits_are_written_back(recording) -> None:  # noqa: ANN001
    db = recording[0]
    # Its own server, stopped here: the module's shared replayer stays up for whichever test runs next.
    with ServerProcess("--mode", "replay", db=db) as replayer:
        replayer.client().models.list()
    # the server stopped: shutdown flushed the batched hit counts
    infos = on_store(db, store.list_cassettes)
    models = [i for i in infos if i.path == "/v1/models"]
    assert models[0].hits >= 1 and models[0].last_used_at is not None
