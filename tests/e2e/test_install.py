"""`pip install .` gives a working `pixrelay` command: the wheel carries every package, the
migrations and their template, and the installed command migrates a database from a directory
that is not the repository. Offline: the wheel is built without isolation and installed with
--no-deps into a fresh venv that borrows this environment's dependencies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXRELAY_") and k != "PYTHONPATH"}
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


def clean_copy(target: Path) -> Path:
    """The repository's files as a fresh clone has them (no build/ or egg-info to borrow from)."""
    listed = run("git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", cwd=ROOT).stdout
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def test_the_wheel_installs_a_working_pixrelay_command(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    source = clean_copy(tmp_path / "source")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", wheels, source,
        cwd=tmp_path)
    [wheel] = wheels.glob("pixrelay-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    migrations = {p.relative_to(ROOT).as_posix() for p in (ROOT / "adapters/sql/migrations").rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts}
    assert migrations and migrations <= shipped, migrations - shipped
    assert not any(name.startswith(("tests/", "bench/", "features/")) for name in shipped)

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    site = Path(run(venv / "bin/python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # the dependencies, not pixrelay
    run(sys.executable, "-m", "pip", "--python", venv / "bin/python", "install", "--quiet", "--no-deps", "--no-index",
        wheel)

    work = tmp_path / "elsewhere"
    work.mkdir()
    where = run(venv / "bin/python", "-c", "import entrypoints; print(entrypoints.__file__)", cwd=work).stdout
    assert where.startswith(str(site)), where  # the installed copy, not the repository
    assert "serve" in run(venv / "bin/pixrelay", "--help", cwd=work).stdout
    run(venv / "bin/pixrelay", "migrate", cwd=work)
    assert (work / ".pixrelay" / "pixrelay.db").stat().st_size > 0
