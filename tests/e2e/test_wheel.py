"""The built wheel carries the Alembic scripts: `fakeai db upgrade` works from a regular install."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_carries_migrations_and_upgrades_from_them(tmp_path):
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = out.glob("fakeai-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    versions = sorted(n for n in names if n.startswith("fakeai/_migrations/versions/0"))
    shipped = sorted(p.name for p in (ROOT / "migrations" / "versions").glob("0*.py"))
    assert [Path(n).name for n in versions] == shipped
    assert "fakeai/_migrations/env.py" in names and "fakeai/_migrations/script.py.mako" in names

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import fakeai; print(fakeai.__file__)"], env=env, cwd=tmp_path,
        capture_output=True, text=True, check=True,
    )
    assert where.stdout.strip().startswith(str(site))  # the wheel's copy, not the source tree
    # Every package of the source tree ships (a regular install once lacked fakeai.edge: the server
    # could not start, while `fakeai db upgrade` still worked), and the whole server imports from the wheel.
    packages = {str(p.parent.relative_to(ROOT)) for p in (ROOT / "fakeai").rglob("__init__.py")}
    assert packages <= {str(Path(n).parent) for n in names if n.endswith("/__init__.py")}
    imported = subprocess.run(
        [sys.executable, "-c", "import fakeai.app, fakeai.cli, fakeai.cassettes.pytest_plugin; print(fakeai.app.__file__)"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip().startswith(str(site))
    db = tmp_path / "fromwheel.db"
    run = subprocess.run(
        [sys.executable, "-m", "fakeai", "db", "upgrade", "--db", str(db)], env=env, cwd=tmp_path,
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "at revision" in run.stdout and db.exists()
