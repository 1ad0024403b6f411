"""Issue 14, point 4: a missing extra is one sentence naming it and the pip command, and
exit 1, not a traceback.

Each extra is taken away the way an install without it would be: its module is made
unimportable (``sys.modules[name] = None``) in a fresh interpreter, or in this one for
the Python API.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ayra_tickets import Engine, ManualClock
from ayra_tickets.extras import MissingExtra, pip_command, require

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)


def cli_without(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command line, in a fresh interpreter where ``module`` cannot be imported."""
    program = (
        f"import sys; sys.modules[{module!r}] = None\n"
        "from ayra_tickets.cli import main\n"
        "main(sys.argv[1:], prog_name='ayra-tickets')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", program, *args],
        capture_output=True, text=True, cwd=cwd, timeout=120, check=False,
    )  # fmt: skip


def one_sentence(result: subprocess.CompletedProcess[str], extra: str) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    (line,) = lines
    assert f"needs the [{extra}] extra:" in line
    assert f"[{extra}]" in line.split(":", 2)[-1]  # the pip command names it too
    assert " -m pip install " in line
    return line


def test_serve_without_the_server_extra(tmp_path: Path) -> None:
    result = cli_without("waitress", "--db", "t.db", "serve", "--port", "0", cwd=tmp_path)
    line = one_sentence(result, "server")
    assert line.startswith("Error: serving the API over HTTP needs the [server] extra")
    assert not (tmp_path / "t.db").exists()  # nothing was opened, let alone written


def test_report_html_without_the_report_extra(tmp_path: Path) -> None:
    result = cli_without("plotly", "--db", "t.db", "report", "--html", "r.html", cwd=tmp_path)
    line = one_sentence(result, "report")
    assert "the HTML report (report --html)" in line
    assert not (tmp_path / "r.html").exists()
    assert not (tmp_path / "t.db").exists()  # said before any file was opened


def test_report_csv_needs_no_extra(tmp_path: Path) -> None:
    result = cli_without("plotly", "--db", "t.db", "report", "--csv", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out").is_dir()


def test_to_pandas_without_the_pandas_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with Engine.open(":memory:", clock=ManualClock(T0)) as engine:
        figures = engine.metrics("2025-01-01T00:00:00Z", "2025-01-15T00:00:00Z")
        with pytest.raises(MissingExtra) as raised:
            figures.to_pandas()
    assert raised.value.extra == "pandas"
    assert str(raised.value).startswith("to_pandas() needs the [pandas] extra: ")


def test_the_pip_command_installs_the_extra_into_this_python() -> None:
    words = shlex.split(pip_command("server"))
    assert words[:4] == [sys.executable, "-m", "pip", "install"]
    assert words[-1].endswith("[server]")
    if "-e" in words:  # installed from this checkout, editable: the README's way
        assert Path(words[-1].removesuffix("[server]")).resolve() == ROOT


def test_require_gives_the_module_when_it_is_there() -> None:
    assert require("json", extra="none", purpose="reading JSON").dumps([]) == "[]"
