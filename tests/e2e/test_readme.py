"""README.md's code blocks, run as written, so the README cannot drift from the product.

How each fenced block is treated (this is the whole mechanism; follow it when adding a section):

    ```python   executed, in README order, in ONE namespace shared by every python block (as a reader
                pastes them one after another into one interpreter), with the scratch directory as
                the working directory.
    ```bash     every command runs in bash in the scratch directory, the venv's bin first on PATH,
                and must exit 0. A command is a line (a trailing backslash continues it); comment
                lines are skipped. A command starting with `curl` gets `--fail-with-body` (an HTTP
                error fails it). `fakeai serve ...` (a trailing `&` is allowed) is started in the
                background, waited for (/health) and stopped at the end of its block.
    ```json     must parse as JSON.

Any other language, or none, must carry a marker. A marker is an HTML comment on the line right
before the opening fence (invisible on GitHub):

    <!-- readme-test: skip REASON -->    not run; REASON (required) says why it cannot run here,
                                         e.g. "needs a real upstream key", "a diagram"
    <!-- readme-test: file PATH -->      not run: written to PATH in the scratch directory, for the
                                         blocks after it (an example project's files)

A block this module cannot handle without a marker fails the test, naming its line.

The one substitution: the README talks to http://127.0.0.1:8000 (or localhost:8000), and a block's
`fakeai serve --port P` to P. Several test runs may share a machine, so each such port becomes a free
one: 8000 is a FakeAI this module starts (synthetic mode, as the quick start's `fakeai serve`, its
database in the scratch directory), any other port the server its block starts. `FAKEAI_*`
variables of the test run are not passed on.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from fakeai.cassettes.server_process import ServerProcess, free_port

README = Path(__file__).resolve().parents[2] / "README.md"
BIN = Path(sys.executable).parent
_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)\s*$")
_MARKER = re.compile(r"^\s*<!--\s*readme-test:\s*(?P<kind>skip|file)\b\s*(?P<arg>.*?)\s*-->\s*$")
_ADDRESS = re.compile(r"\b(127\.0\.0\.1|localhost):(\d{2,5})\b")
RUNNABLE = ("python", "bash", "json")


@dataclass
class Block:
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    marker: tuple[str, str] | None  # (kind, argument)

    @property
    def name(self) -> str:
        return f"README.md:{self.line} ({self.lang or 'no language'})"


def read_blocks(text: str) -> list[Block]:
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent = opening.group("indent")
        body: list[str] = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j])
            j += 1
        assert j < len(lines), f"README.md:{i + 1}: a code block is never closed"
        previous = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        marker = _MARKER.match(previous)
        blocks.append(Block(i + 1, opening.group("lang"), "\n".join(body) + "\n",
                            (marker.group("kind"), marker.group("arg")) if marker else None))
        i = j + 1
    return blocks


def commands(script: str) -> list[str]:
    """The script's commands: a line, continued by a trailing backslash or an open quote."""
    out: list[str] = []
    pending = ""
    for raw in script.splitlines():
        line = raw.rstrip()
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        pending += line
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # a quoted string goes on to the next line
            pending += "\n"
            continue
        out.append(pending)
        pending = ""
    assert not pending, f"a command is never finished: {pending!r}"
    return out


BLOCKS = read_blocks(README.read_text(encoding="utf-8"))


def test_every_block_is_runnable_or_marked():
    problems = []
    for block in BLOCKS:
        if block.marker is None:
            if block.lang not in RUNNABLE:
                problems.append(f"{block.name}: not runnable here; mark it <!-- readme-test: skip REASON -->")
        elif block.marker[0] == "skip" and not block.marker[1]:
            problems.append(f"{block.name}: a skip marker needs a reason")
        elif block.marker[0] == "file" and not block.marker[1]:
            problems.append(f"{block.name}: a file marker needs a path")
    assert not problems, "\n".join(problems)
    assert any(b.marker is None and b.lang == "python" for b in BLOCKS)  # the test really runs something


class Runner:
    """Runs the blocks in order in one scratch directory against one live FakeAI."""

    def __init__(self, scratch: Path, server: ServerProcess) -> None:
        self.scratch = scratch
        self.server = server
        self.namespace: dict = {"__name__": "__readme__"}
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FAKEAI_")}
        self.env["PATH"] = f"{BIN}{os.pathsep}{self.env.get('PATH', '')}"
        self.env["COLUMNS"] = "120"

    def ports(self, extra: dict[int, int] | None = None):  # noqa: ANN201
        mapping = {8000: self.server.port, **(extra or {})}

        def swap(match: re.Match) -> str:
            port = int(match.group(2))
            assert port in mapping, f"address {match.group(0)} is neither 8000 nor a server of this block"
            return f"127.0.0.1:{mapping[port]}"

        return lambda text: _ADDRESS.sub(swap, text)

    def run(self, block: Block) -> None:
        if block.marker is not None:
            kind, arg = block.marker
            if kind == "file":
                path = self.scratch / arg
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(block.text, encoding="utf-8")
            return
        if block.lang == "python":
            self.python(block)
        elif block.lang == "bash":
            self.bash(block)
        elif block.lang == "json":
            json.loads(block.text)

    def python(self, block: Block) -> None:
        code = compile(self.ports()(block.text), block.name, "exec")
        cwd = os.getcwd()
        os.chdir(self.scratch)
        try:
            exec(code, self.namespace)  # noqa: S102 - the README's own example code
        finally:
            os.chdir(cwd)

    def bash(self, block: Block) -> None:
        servers: list[ServerProcess] = []
        extra: dict[int, int] = {}
        try:
            for command in commands(block.text):
                words = shlex.split(command, comments=True)
                if words[:2] == ["fakeai", "serve"]:
                    servers.append(self.serve(words[2:], extra, block))
                    continue
                if command.startswith("curl "):  # an HTTP error is a failed example, not just output
                    command = "curl --fail-with-body " + command[len("curl "):]
                result = subprocess.run(["bash", "-o", "pipefail", "-c", self.ports(extra)(command)],
                                        cwd=self.scratch, env=self.env, capture_output=True, text=True, timeout=300)
                assert result.returncode == 0, (
                    f"{block.name}: `{command}` exited {result.returncode}\n{result.stdout[-3000:]}"
                    f"\n{result.stderr[-3000:]}"
                )
                assert "Traceback" not in result.stderr, f"{block.name}: `{command}`\n{result.stderr[-3000:]}"
        finally:
            for server in servers:
                server.stop()

    def serve(self, args: list[str], extra: dict[int, int], block: Block) -> ServerProcess:
        args = [a for a in args if a != "&"]
        port = 8000
        if "--port" in args:
            at = args.index("--port")
            port = int(args[at + 1])
            del args[at : at + 2]
        db = str(self.scratch / ".fakeai" / "fakeai.db")
        if "--db" in args:
            at = args.index("--db")
            db = str(self.scratch / args[at + 1])
            del args[at : at + 2]
        Path(db).parent.mkdir(parents=True, exist_ok=True)
        args = [self.ports(extra)(a) for a in args]
        server = ServerProcess(*args, db=db, port=free_port(), env={"PATH": self.env["PATH"]}, cwd=str(self.scratch))
        try:
            server.start()
        except RuntimeError as exc:
            pytest.fail(f"{block.name}: fakeai serve {' '.join(args)} did not start: {exc}")
        extra[port] = server.port
        return server


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("readme")
    (scratch / ".fakeai").mkdir()
    with ServerProcess(db=str(scratch / ".fakeai" / "fakeai.db")) as server:
        yield Runner(scratch, server)


# Skip-marked blocks are not tests (nothing would be asserted); the marker check above covers them.
RUN = [b for b in BLOCKS if b.marker is None or b.marker[0] != "skip"]


@pytest.mark.parametrize("block", RUN, ids=lambda b: f"line{b.line}-{b.lang or 'plain'}")
def test_readme_block(runner, block):
    if block.marker is None and block.lang not in RUNNABLE:
        pytest.fail(f"{block.name}: cannot run this block; mark it <!-- readme-test: skip REASON -->")
    runner.run(block)


def test_readme_server_is_healthy_after_the_examples(runner):
    assert httpx.get(runner.server.root_url + "/health", timeout=10).status_code == 200
