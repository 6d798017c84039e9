"""Schemathesis against a live server, driven by the server's own OpenAPI document: bounded (a few
examples per operation), it must find no server error, every answer must match what the document
says (status, content type, schema), and every POST must have been sent request bodies."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,response_headers_conformance"
)


def _schemathesis() -> str:
    beside = Path(sys.executable).with_name("schemathesis")
    found = str(beside) if beside.exists() else shutil.which("schemathesis")
    if not found:
        pytest.fail("schemathesis is a test dependency: pip install -e '.[test]'")
    return found


def _template(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")


def test_schemathesis_finds_no_server_error_and_exercises_every_post_body(start_server, tmp_path):
    server = start_server()
    document = httpx.get(f"{server.root_url}/docs/openapi.json").json()
    har = tmp_path / "run.har"
    run = subprocess.run(
        [
            _schemathesis(), "run", f"{server.root_url}/docs/openapi.json",
            "--header", f"Authorization: Bearer {server.api_key}",
            "--checks", CHECKS,
            "--phases", "examples,fuzzing",
            "--max-examples", "12",
            "--seed", "20261203",
            "--workers", "2",
            "--generation-database", "none",
            "--no-color",
            "--report", "har", "--report-har-path", str(har),
        ],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "Tested: " in run.stdout

    entries = json.loads(har.read_text())["log"]["entries"]
    posts = [path for path, item in document["paths"].items() if "post" in item]
    assert len(posts) >= 12
    for path in posts:
        pattern = _template(path)
        sent = [
            e for e in entries
            if e["request"]["method"] == "POST" and pattern.match(httpx.URL(e["request"]["url"]).path)
        ]  # fmt: skip
        with_body = [e for e in sent if (e["request"].get("postData") or {}).get("text")]
        assert with_body, f"no request body was sent to POST {path}"
        assert all(e["response"]["status"] < 500 for e in sent), path
        if "{" not in path:  # an id in the path is random: its 404 is the right answer
            assert any(e["response"]["status"] == 200 for e in with_body), f"POST {path} never succeeded"
    assert not [e for e in entries if e["response"]["status"] >= 500]
