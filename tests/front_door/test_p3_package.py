"""Issue 14, points 2 and 3: installable as documented, and a long description without a
broken link or image.

The package is not on a package index: every install the README shows is from the
checkout. The long description (what a package index shows) is a page of its own,
``docs/package.md``, with no relative link or image to break away from the checkout.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def project() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pip_installs(text: str) -> list[str]:
    """Every pip install command of a text, from ``pip install`` to the end of its line,
    its code span or its ``&&``."""
    return [m.strip() for m in re.findall(r"pip install ([^`\n&]+)", text)]


def test_every_install_in_the_readme_is_from_the_checkout() -> None:
    installs = pip_installs(README.read_text())
    assert len(installs) >= 4
    extras = set(project()["optional-dependencies"])
    for command in installs:
        targets = [w for w in command.split() if not w.startswith("-")]
        assert targets, command
        for target in targets:
            target = target.strip("'\"")
            assert re.fullmatch(r"\.(\[[a-z,]+\])?", target), f"not from the checkout: {command}"
            named = re.findall(r"[a-z]+", target.removeprefix("."))
            assert set(named) <= extras, command


def test_the_long_description_is_a_page_with_nothing_to_break() -> None:
    readme = project()["readme"]
    assert readme == "docs/package.md"
    text = (ROOT / readme).read_text()
    assert not re.search(r"\]\(|!\[|<img|<a |href=|src=", text), "a link or image"
    assert not re.search(r"\w+://", text)  # no address at all, inside or outside the project
    assert text.startswith("# ayra-tickets\n")


def test_the_long_descriptions_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (block,) = re.findall(r"```python\n(.*?)```", (ROOT / "docs/package.md").read_text(), re.S)
    scope: dict[str, Any] = {}
    exec(block, scope)
    engine = scope["engine"]
    assert engine.tickets.get("TICK-1").status == "closed"
    engine.close()


def test_the_extras_the_long_description_names_exist() -> None:
    text = (ROOT / "docs/package.md").read_text()
    named = re.findall(r"`([a-z]+)` \(", text)
    assert set(named) == set(project()["optional-dependencies"]) - {"test", "dev", "bench"}


def test_the_license_and_the_typed_marker() -> None:
    assert project()["license"] == "MIT"
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License")
    assert "Permission is hereby granted, free of charge" in license_text
    assert (ROOT / "ayra_tickets" / "py.typed").is_file()
