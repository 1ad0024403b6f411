"""The optional extras: a missing one is one sentence naming it and the pip command that
installs it, not a traceback.

``serve`` needs ``[server]`` (waitress), ``report --html`` needs ``[report]`` (Plotly),
``Metrics.to_pandas()`` needs ``[pandas]``, and the interception of ``mock_api`` needs
``[testing]``. The pip command is the one that works for this install: from the
checkout it was installed from (``pip install -e '/path/to/checkout[server]'``, as the
README's commands install it), else by name.
"""

from __future__ import annotations

import importlib
import json
import shlex
import sys
from importlib import metadata
from types import ModuleType
from urllib.parse import unquote, urlsplit

DISTRIBUTION = "ayra-tickets"


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message names the extra and the pip
    command that installs it."""

    def __init__(self, purpose: str, extra: str) -> None:
        self.extra = extra
        super().__init__(f"{purpose} needs the [{extra}] extra: {pip_command(extra)}")


def require(module: str, *, extra: str, purpose: str) -> ModuleType:
    """``module``, imported; :class:`MissingExtra` when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError as missing:
        raise MissingExtra(purpose, extra) from missing


def pip_command(extra: str) -> str:
    """The command that adds ``extra`` to this install, runnable as printed."""
    pip = f"{shlex.quote(sys.executable)} -m pip install"
    source = _installed_from()
    if source is None:
        return f"{pip} '{DISTRIBUTION}[{extra}]'"
    path, editable = source
    return f"{pip} {'-e ' if editable else ''}{shlex.quote(f'{path}[{extra}]')}"


def _installed_from() -> tuple[str, bool] | None:
    """The local directory this package was installed from, and whether the install is
    editable (PEP 610's ``direct_url.json``); ``None`` for an install by name or wheel."""
    try:
        recorded = metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not recorded:
        return None
    try:
        origin = json.loads(recorded)
    except ValueError:
        return None
    url = urlsplit(origin.get("url", ""))
    if url.scheme != "file" or "dir_info" not in origin:
        return None
    return unquote(url.path), bool(origin["dir_info"].get("editable"))
