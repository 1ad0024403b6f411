"""JSON Lines as people write them, for ``ayra-tickets import`` and ``POST /_local/seed``.

Both read a file of create bodies (or exported tickets), one JSON value a line, and both
report on it in one form, :meth:`JsonLines.report`. A line ends at ``\\n`` (a ``\\r``
before it, as Windows editors write, is only whitespace); a line of nothing but
whitespace, like the empty one after a final newline, holds no row: it is skipped, not
refused and not counted. Every row keeps the number of its line in the file (from 1), and
that number is what a report names; the file's ``TICK-N`` numbers are as the API writes
them.

The lines are read one at a time, as they come, so a file of millions of lines is
imported in flat memory: what is remembered is where blank lines were and which lines
were not JSON, not every line.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import attrs

from .domain.errors import InvalidJson
from .wire import strict_json

if TYPE_CHECKING:
    from .service import ImportReport

_BLANK = " \t\r\n"
"""What JSON counts as whitespace: a line of only these holds no row."""
_BOM = "\ufeff"


@attrs.frozen
class NotJson:
    """The row of a line that is not JSON: what the import is given in its place (it is
    refused as ``invalid_json``), with why."""

    line: int
    reason: str

    def error(self) -> InvalidJson:
        """The refusal, naming the line."""
        return InvalidJson(f"line {self.line} is not valid JSON: {self.reason}")


def _blank(line: str | bytes) -> bool:
    if isinstance(line, bytes):
        return not line.strip(_BLANK.encode())
    return not line.strip(_BLANK)


class JsonLines:
    """The rows of JSON Lines, in order, with the line each came from.

    Iterate it (once) for the rows, each line's JSON value, or a :class:`NotJson` in place
    of a line that is not JSON; then :meth:`report` turns what an import of those rows
    did into the report, by line number.
    """

    def __init__(self, lines: Iterable[str | bytes]) -> None:
        self._lines = lines
        self._rows = 0
        # Where rows and lines part: (the first row after some blank lines, how many
        # lines were skipped before it in all). Rows with no entry before them follow
        # their line numbers with the offset of the last entry before them.
        self._starts: list[int] = []
        self._skipped: list[int] = []
        self.not_json: dict[int, NotJson] = {}
        """The rows that were not JSON, by their position among the rows (from 0)."""

    @classmethod
    def from_text(cls, text: str | bytes) -> JsonLines:
        """The lines of a whole body or file held in memory."""
        return cls(text.split(b"\n") if isinstance(text, bytes) else text.split("\n"))

    def __iter__(self) -> Iterator[Any]:
        skipped = 0
        for number, raw in enumerate(self._lines, start=1):
            line = raw.removeprefix(_BOM) if number == 1 and isinstance(raw, str) else raw
            if _blank(line):
                skipped += 1
                continue
            if skipped != (self._skipped[-1] if self._skipped else 0):
                self._starts.append(self._rows)
                self._skipped.append(skipped)
            self._rows += 1
            try:
                yield strict_json(line)
            except (ValueError, RecursionError) as error:  # UnicodeDecodeError is one
                bad = NotJson(number, str(error) or type(error).__name__)
                self.not_json[self._rows - 1] = bad
                yield bad

    def line_of(self, row: int) -> int:
        """The line (from 1) of the row at this position among the rows (from 0)."""
        at = bisect.bisect_right(self._starts, row) - 1
        return row + 1 + (self._skipped[at] if at >= 0 else 0)

    def lines_through(self, rows: int) -> int:
        """The last line of the first ``rows`` rows (0 for none): an import that stopped
        after committing ``rows`` rows has committed the file up to this line."""
        return self.line_of(rows - 1) if rows else 0

    def first_not_json(self) -> InvalidJson | None:
        """The error naming the first line that is not JSON, if one was read."""
        if not self.not_json:
            return None
        return self.not_json[min(self.not_json)].error()

    def _error(self, row: int, error: dict[str, Any]) -> dict[str, Any]:
        bad = self.not_json.get(row)
        if bad is None:
            return error
        refused: dict[str, Any] = bad.error().to_dict()["error"]
        return refused

    def report(self, done: ImportReport) -> dict[str, Any]:
        """What an import of these rows did, by line: how many tickets it created and
        their first and last numbers (``TICK-N``), each refused line with the API's
        error, and (resuming) the lines found already imported."""
        counted = done.to_dict()  # the numbers as TICK-N, as the report writes them
        return {
            "imported": counted["imported"],
            "rejected": [
                {"line": self.line_of(r.index), "error": self._error(r.index, r.error)}
                for r in done.rejected
            ],
            "skipped_lines": [self.line_of(index) for index in done.skipped],
            "first_number": counted["first_number"],
            "last_number": counted["last_number"],
        }
