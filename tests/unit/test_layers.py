"""The layering the project promises: api → modes → store, each framework behind one package."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "fakeai"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules():
    for path in PACKAGE.rglob("*.py"):
        yield path.relative_to(PACKAGE).as_posix(), _imports(path)


def _uses(imports: set[str], top: str) -> bool:
    return any(name == top or name.startswith(top + ".") for name in imports)


def test_only_api_imports_litestar():
    # app.py assembles the Litestar app and testing/pytest_plugin start processes; nothing else may.
    allowed = ("api/", "app.py")
    offenders = [m for m, imps in _modules() if _uses(imps, "litestar") and not m.startswith(allowed)]
    assert offenders == []


def test_only_store_imports_sqlalchemy():
    offenders = [m for m, imps in _modules() if _uses(imps, "sqlalchemy") and not m.startswith("store/")]
    assert offenders == []


def test_modes_and_store_do_not_import_upwards():
    for module, imps in _modules():
        if module.startswith("edge/"):  # between api and modes: rate limits and faults
            assert not _uses(imps, "fakeai.api"), module
        if module.startswith("modes/"):
            assert not (_uses(imps, "fakeai.api") or _uses(imps, "fakeai.edge")), module
        if module.startswith("store/"):
            assert not (_uses(imps, "fakeai.api") or _uses(imps, "fakeai.modes")), module


def test_cassette_tooling_sits_beside_the_server():
    # The server's request path never loads the tooling, and the tooling never imports the command
    # line that registers it (cli.py → cassettes.cli, one way).
    for module, imps in _modules():
        if module.startswith(("api/", "modes/", "store/", "schemas/")) or module in ("app.py", "runtime.py"):
            assert not _uses(imps, "fakeai.cassettes"), module
        if module.startswith("cassettes/"):
            assert not _uses(imps, "fakeai.cli"), module
