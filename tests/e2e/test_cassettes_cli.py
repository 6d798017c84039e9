"""``fakeai cassettes`` end to end: the real command in a subprocess, against a database filled by a
real record run (a synthetic FakeAI upstream, and a tiny HTTP server answering pretty-printed JSON
the way OpenAI and vLLM do), then export → import → ``serve --mode replay --cassettes DIR``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from click.testing import CliRunner

from fakeai.cassettes.cli import cassettes
from fakeai.settings import DEFAULT_API_KEYS
from fakeai.cassettes.server_process import ServerProcess, free_port

AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEYS[0]}"}


def fakeai(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("FAKEAI_")}
    env["COLUMNS"] = "220"
    return subprocess.run(
        [sys.executable, "-m", "fakeai", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def one_line_error(result: subprocess.CompletedProcess, code: int = 2) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("fakeai: error:"), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


# -- a pretty-printing upstream --------------------------------------------------------------------

PRETTY_ANSWER = {
    "id": "chatcmpl-pretty",
    "object": "chat.completion",
    "created": 1764000000,
    "model": "meta/llama-3.1-8b-instruct",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Grüße — pretty JSON from vLLM"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11},
}


class PrettyUpstream(BaseHTTPRequestHandler):
    """Answers chat completions as vLLM does: a pretty-printed body with a trailing newline, and
    a stream whose events are ``json.dumps``-spaced with non-ASCII escaped."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        request = json.loads(self.rfile.read(int(self.headers["content-length"])))
        if request.get("stream"):
            events = [{"id": "c1", "choices": [{"index": 0, "delta": {"content": w}}]} for w in ("Grüße", " from", " vLLM")]
            payload = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"
            content_type = "text/event-stream"
        else:
            payload = (json.dumps(PRETTY_ANSWER, indent=2, ensure_ascii=False) + "\n").encode()
            content_type = "application/json"
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


# -- one real record run shared by the module ------------------------------------------------------

CHAT = "/v1/chat/completions"
REQUESTS = {
    "plain": ("POST", CHAT, {"model": "gpt-4o", "messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 20}),
    "stream": (
        "POST",
        CHAT,
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "Stream it"}], "max_tokens": 12, "stream": True},
    ),
    "models": ("GET", "/v1/models", None),
    "pretty": ("POST", CHAT, {"model": "meta/llama-3.1-8b-instruct", "messages": [{"role": "user", "content": "hi"}]}),
    "pretty_stream": (
        "POST",
        CHAT,
        {"model": "meta/llama-3.1-8b-instruct", "messages": [{"role": "user", "content": "hi"}], "stream": True},
    ),
}


def call(base_url: str, name: str) -> tuple[int, str, bytes, str | None]:
    """(status, content-type, exact body bytes, request hash) of one of ``REQUESTS``."""
    method, path, body = REQUESTS[name]
    with httpx.Client(timeout=30) as http:
        response = http.request(method, base_url.removesuffix("/v1") + path, json=body, headers=AUTH)
        return (
            response.status_code,
            response.headers.get("content-type", ""),
            response.content,
            response.headers.get("x-fakeai-request-hash"),
        )


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, live_server):
    """A database recorded from real upstreams (the session's synthetic FakeAI, and the pretty
    printer), with the bytes each client received. Both recorders share the database file."""
    root = tmp_path_factory.mktemp("cassettes-cli")
    db = root / "recorded.db"
    pretty = ThreadingHTTPServer(("127.0.0.1", free_port()), PrettyUpstream)
    threading.Thread(target=pretty.serve_forever, daemon=True).start()
    pretty_url = f"http://127.0.0.1:{pretty.server_address[1]}/v1"
    recorders = {
        "synthetic": ServerProcess("--mode", "record", "--upstream", live_server.base_url, db=str(db)),
        "pretty": ServerProcess("--mode", "record", "--upstream", pretty_url, db=str(db)),
    }
    received = {}
    try:
        with ThreadPoolExecutor(2) as pool:  # start both at once: a server start is most of the cost
            list(pool.map(ServerProcess.start, recorders.values()))
        for name in ("plain", "stream", "models"):
            received[name] = call(recorders["synthetic"].base_url, name)
        for name in ("pretty", "pretty_stream"):
            received[name] = call(recorders["pretty"].base_url, name)
    finally:
        for recorder in recorders.values():
            recorder.stop()
        pretty.shutdown()
        pretty.server_close()
    for name, (status, _, body, key) in received.items():
        assert status == 200 and key and re.fullmatch(r"[0-9a-f]{64}", key), (name, body[:200])
    return {"db": str(db), "root": root, "received": received}


def keys_of(recorded) -> dict[str, str]:
    return {name: value[3] for name, value in recorded["received"].items()}


def scratch_db(recorded, name: str) -> str:
    """A copy of the recorded database for a test that changes it."""
    target = recorded["root"] / f"{name}.db"
    shutil.copy(recorded["db"], target)
    return str(target)


# -- list / show / stats ---------------------------------------------------------------------------


def test_list_prints_a_table_with_a_total(recorded):
    result = fakeai("cassettes", "list", "--db", recorded["db"], "--wide")
    assert result.returncode == 0, result.stderr
    for key in keys_of(recorded).values():
        assert key[:12] in result.stdout
    header = next(line for line in result.stdout.splitlines() if "hash" in line)
    for column in ("method", "path", "model", "status", "stream", "episodes", "size", "recorded_at", "last_used_at"):
        assert column in header
    stream_line = next(line for line in result.stdout.splitlines() if keys_of(recorded)["stream"][:12] in line)
    assert "stream" in stream_line and "POST" in stream_line and "gpt-4o" in stream_line
    assert "5 cassettes, 5 episodes" in result.stdout


@pytest.mark.parametrize("columns", [80, 100])
def test_list_fits_the_terminal(recorded, columns):
    # 80 columns showed three columns (hash and two dates), 100 cut every column to one character.
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("FAKEAI_")}
    env["COLUMNS"] = str(columns)
    result = subprocess.run([sys.executable, "-m", "fakeai", "cassettes", "list", "--db", recorded["db"]],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= columns for line in lines), "\n".join(lines)
    assert lines[0].split() == ["hash", "endpoint", "model", "status", "eps", "size", "recorded"]
    for key in keys_of(recorded).values():
        line = next(line for line in lines if line.startswith(key[:8]))
        assert "/chat/completions" in line or "GET /models" in line
        assert "200" in line and "20" in line.split()[-2]  # the status and the recorded date are whole
    assert any("gpt-4o" in line for line in lines)
    assert lines[-1].startswith("5 cassettes, 5 episodes")


def test_list_json_and_filters(recorded):
    db = recorded["db"]

    def listed(*args: str) -> list[dict]:
        # The filter matrix runs the same command in-process (a subprocess each would add ~1s apiece).
        result = CliRunner().invoke(cassettes, ["list", "--db", db, "--json", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    from_subprocess = fakeai("cassettes", "list", "--db", db, "--json", "--endpoint", "chat")
    assert from_subprocess.returncode == 0 and len(json.loads(from_subprocess.stdout)) == 4
    everything = listed()
    assert {row["key"] for row in everything} == set(keys_of(recorded).values())
    stream = next(row for row in everything if row["key"] == keys_of(recorded)["stream"])
    assert stream["stream"] is True and stream["status"] == 200 and stream["episodes"] == 1 and stream["size"] > 0
    assert {row["path"] for row in listed("--endpoint", "chat")} == {CHAT}
    assert [row["path"] for row in listed("--endpoint", "/v1/models")] == ["/v1/models"]
    assert {row["model"] for row in listed("--model", "meta/llama-3.1-8b-instruct")} == {"meta/llama-3.1-8b-instruct"}
    assert len(listed("--status", "200", "--since", "2000-01-01")) == 5
    assert listed("--since", "2999-01-01") == []
    assert listed("--status", "500") == []
    by_size = listed("--sort", "size", "--desc")
    assert [r["size"] for r in by_size] == sorted((r["size"] for r in by_size), reverse=True)
    assert by_size[0]["path"] == "/v1/models"  # the model catalogue is the largest answer
    one_line_error(fakeai("cassettes", "list", "--db", db, "--since", "last tuesday"))
    one_line_error(fakeai("cassettes", "list", "--db", str(recorded["root"] / "missing.db")))


def test_show_a_stream_adds_up_the_text(recorded):
    key = keys_of(recorded)["stream"]
    streamed = recorded["received"]["stream"][2].decode()
    expected = "".join(
        json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
        for line in streamed.splitlines()
        if line.startswith("data: {") and json.loads(line[6:])["choices"]
    )
    assert expected
    result = fakeai("cassettes", "show", "--db", recorded["db"], key[:8])
    assert result.returncode == 0, result.stderr
    assert f"cassette {key}" in result.stdout
    assert '"content": "Stream it"' in result.stdout  # the canonical request, pretty
    assert f"text: {expected}" in result.stdout
    assert re.search(r"time to first token: \d+\.\d ms\s+total: \d+\.\d ms", result.stdout)
    assert "offset_ms" in result.stdout and "[DONE]" in result.stdout

    shown = json.loads(fakeai("cassettes", "show", "--db", recorded["db"], key[:10], "--json").stdout)
    summary = shown["episodes"][0]["summary"]
    assert summary["text"] == {"0": expected}
    assert 0 <= summary["ttft_ms"] <= summary["total_ms"]
    assert summary["events"] == len(shown["episodes"][0]["events"]) == streamed.count("\n\n")


def test_show_a_whole_answer_and_bad_hashes(recorded):
    key = keys_of(recorded)["pretty"]
    result = fakeai("cassettes", "show", "--db", recorded["db"], key[:6])
    assert result.returncode == 0, result.stderr
    assert "body (json-indent-2):" in result.stdout and "Grüße — pretty JSON from vLLM" in result.stdout
    assert "no cassette with hash 0000000000" in one_line_error(
        fakeai("cassettes", "show", "--db", recorded["db"], "0000000000")
    )
    assert "not a cassette hash" in one_line_error(fakeai("cassettes", "show", "--db", recorded["db"], "xyz!"))


def test_stats(recorded):
    result = fakeai("cassettes", "stats", "--db", recorded["db"], "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    groups = {(g["path"], g["model"]): g for g in stats["groups"]}
    assert groups[(CHAT, "gpt-4o")]["cassettes"] == 2
    assert groups[(CHAT, "meta/llama-3.1-8b-instruct")]["cassettes"] == 2
    assert groups[("/v1/models", None)]["episodes"] == 1
    assert stats["total"]["cassettes"] == 5 and stats["total"]["bytes"] == sum(g["bytes"] for g in stats["groups"])
    assert stats["total"]["oldest"] <= stats["total"]["newest"]
    table = fakeai("cassettes", "stats", "--db", recorded["db"])
    assert table.returncode == 0 and "total" in table.stdout and "meta/llama-3.1-8b-instruct" in table.stdout


# -- delete / prune --------------------------------------------------------------------------------


def test_delete_by_prefix_and_unknown_hash_deletes_nothing(recorded):
    db = scratch_db(recorded, "delete")
    keys = keys_of(recorded)
    one_line_error(fakeai("cassettes", "delete", "--db", db, keys["plain"][:8], "ffffffff"))
    assert len(json.loads(fakeai("cassettes", "list", "--db", db, "--json").stdout)) == 5
    dry = fakeai("cassettes", "delete", "--db", db, keys["plain"][:8], "--dry-run")
    assert dry.returncode == 0 and "would delete 1 cassette" in dry.stdout
    result = fakeai("cassettes", "delete", "--db", db, keys["plain"][:8], keys["models"])
    assert result.returncode == 0, result.stderr
    assert "deleted 2 cassettes (2 episodes)" in result.stdout
    left = {row["key"] for row in json.loads(fakeai("cassettes", "list", "--db", db, "--json").stdout)}
    assert left == set(keys.values()) - {keys["plain"], keys["models"]}


def test_prune(recorded):
    db = scratch_db(recorded, "prune")
    nothing = json.loads(fakeai("cassettes", "prune", "--db", db, "--older-than", "30d", "--json").stdout)
    assert nothing["cassettes"] == 0
    dry = fakeai("cassettes", "prune", "--db", db, "--unused-since", "2999-01-01", "--dry-run")
    assert dry.returncode == 0 and "would prune 5 cassettes (5 episodes)" in dry.stdout
    assert keys_of(recorded)["stream"][:12] in dry.stdout
    assert len(json.loads(fakeai("cassettes", "list", "--db", db, "--json").stdout)) == 5
    done = fakeai("cassettes", "prune", "--db", db, "--older-than", "2999-01-01T00:00:00+00:00")
    assert done.returncode == 0 and "pruned 5 cassettes" in done.stdout
    assert json.loads(fakeai("cassettes", "list", "--db", db, "--json").stdout) == []
    assert "needs --older-than" in one_line_error(fakeai("cassettes", "prune", "--db", db))
    one_line_error(fakeai("cassettes", "prune", "--db", db, "--older-than", "soon"))


# -- export / import / replay ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(recorded):
    out = recorded["root"] / "exported"
    result = fakeai("cassettes", "export", "--db", recorded["db"], "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["cassettes"] == 5
    return out


def test_export_is_readable_json_with_stable_names(recorded, exported):
    keys = keys_of(recorded)
    files = sorted(p.relative_to(exported).as_posix() for p in exported.rglob("*.json"))
    assert files == sorted(
        [f"chat-completions/{keys[n][:12]}.json" for n in ("plain", "stream", "pretty", "pretty_stream")]
        + [f"models/{keys['models'][:12]}.json"]
    )
    pretty = json.loads((exported / f"chat-completions/{keys['pretty'][:12]}.json").read_text())
    assert list(pretty)[:4] == ["fakeai_cassette", "key", "method", "path"]
    assert pretty["request"]["body"]["messages"] == [{"role": "user", "content": "hi"}]
    episode = pretty["episodes"][0]
    assert episode["body"] == PRETTY_ANSWER  # JSON as JSON, not an escaped string
    assert episode["body_encoding"] == "json-indent-2" and episode["body_suffix"] == "\n"
    stream_text = (exported / f"chat-completions/{keys['stream'][:12]}.json").read_text()
    stream = json.loads(stream_text)["episodes"][0]
    assert stream["stream"] is True and stream["data_encoding"] == "json"
    assert all(isinstance(e["t"], float) for e in stream["events"])
    assert isinstance(stream["events"][1]["data"], dict) and stream["events"][-1] == {
        "t": stream["events"][-1]["t"],
        "text": "[DONE]",
    }
    # One line per event, so a re-recording is a readable diff.
    assert sum(1 for line in stream_text.splitlines() if line.lstrip().startswith('{"t": ')) == len(stream["events"])
    vllm_stream = json.loads((exported / f"chat-completions/{keys['pretty_stream'][:12]}.json").read_text())
    assert vllm_stream["episodes"][0]["data_encoding"] == "json-spaced-ascii"
    again = fakeai("cassettes", "export", "--db", recorded["db"], "--out", str(exported))
    assert again.returncode == 0 and "(0 written, 5 unchanged)" in again.stdout


def test_import_is_idempotent_and_export_again_is_identical(recorded, exported):
    db = str(recorded["root"] / "imported.db")
    first = fakeai("cassettes", "import", "--db", db, str(exported), "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"files": 5, "inserted": 5, "updated": 0, "unchanged": 0}
    second = fakeai("cassettes", "import", "--db", db, *map(str, exported.rglob("*.json")))
    assert second.returncode == 0 and "0 new, 0 updated, 5 unchanged" in second.stdout
    out = recorded["root"] / "reexported"
    assert fakeai("cassettes", "export", "--db", db, "--out", str(out)).returncode == 0
    for path in exported.rglob("*.json"):
        assert (out / path.relative_to(exported)).read_bytes() == path.read_bytes()


def test_replay_from_the_directory_is_byte_for_byte(recorded, exported):
    with ServerProcess("--mode", "replay", "--cassettes", str(exported), db=str(recorded["root"] / "ci.db")) as ci:
        for name, (status, content_type, body, key) in recorded["received"].items():
            replayed = call(ci.base_url, name)
            assert replayed == (status, content_type, body, key), name
        missing = httpx.post(
            ci.base_url + "/chat/completions", json={"model": "gpt-4o", "messages": []}, headers=AUTH, timeout=30
        )
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "cassette_not_found"


def test_bad_imports_are_one_line_errors(recorded, tmp_path):
    db = str(tmp_path / "bad.db")
    corrupt = tmp_path / "corrupt" / "x.json"
    corrupt.parent.mkdir()
    corrupt.write_text('{"fakeai_cassette": 1, "key": ')
    assert "corrupt JSON" in one_line_error(fakeai("cassettes", "import", "--db", db, str(corrupt)))
    assert "no such file" in one_line_error(fakeai("cassettes", "import", "--db", db, str(tmp_path / "nope")))
    alien = tmp_path / "alien.json"
    alien.write_text('{"hello": "world"}')
    assert "not a FakeAI cassette file" in one_line_error(fakeai("cassettes", "import", "--db", db, str(alien)))
    port = str(free_port())
    bad_serve = fakeai("serve", "--port", port, "--db", db, "--mode", "replay", "--cassettes", str(corrupt.parent))
    assert "corrupt JSON" in one_line_error(bad_serve)
    assert "not a directory" in one_line_error(
        fakeai("serve", "--port", port, "--db", db, "--mode", "replay", "--cassettes", str(tmp_path / "none"))
    )


# -- scan ------------------------------------------------------------------------------------------


def test_scan_passes_on_recorded_synthetic_traffic(recorded):
    result = fakeai("cassettes", "scan", "--db", recorded["db"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no secrets found in 5 episodes" in result.stdout


def test_scan_finds_planted_secrets_in_the_database_and_in_files(recorded, exported, tmp_path):
    planted = tmp_path / "planted"
    shutil.copytree(exported, planted)
    target = planted / f"chat-completions/{keys_of(recorded)['pretty'][:12]}.json"
    document = json.loads(target.read_text())
    api_key = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 2
    document["episodes"][0]["body"]["choices"][0]["message"]["content"] = (
        f"use {api_key} and mail jane.doe@corp-mail.io; aws AKIAIOSFODNN7EXAMPLE"
    )
    target.write_text(json.dumps(document, indent=2))
    result = fakeai("cassettes", "scan", str(planted), "--json")
    assert result.returncode == 1, result.stderr
    found = json.loads(result.stdout)["findings"]
    assert {f["kind"] for f in found} == {"openai_key", "email", "aws_access_key"}
    assert {f["field"] for f in found} == {"response.body"} and {f["where"] for f in found} == {str(target)}
    assert all(api_key not in f["preview"] for f in found)  # the report does not repeat the secret

    db = str(tmp_path / "planted.db")
    assert fakeai("cassettes", "import", "--db", db, str(planted)).returncode == 0
    table = fakeai("cassettes", "scan", "--db", db)
    assert table.returncode == 1
    assert keys_of(recorded)["pretty"][:12] in table.stdout and "openai_key" in table.stdout
    assert "found 3 possible secrets in 5 episodes" in table.stdout
