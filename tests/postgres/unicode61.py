"""What SQLite's ``unicode61`` tokenizer does to each code point, asked of the running
SQLite, and the source of ``ayra_tickets/domain/unicode61.py`` written from it.

Run ``python -m tests.postgres.unicode61`` to write that module again (after a change of
SQLite's tables); ``test_search_rules.py`` checks that the module says what SQLite does.
"""

from __future__ import annotations

import sqlite3
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import attrs

MODULE = Path(__file__).parents[2] / "ayra_tickets" / "domain" / "unicode61.py"
CODE_POINTS = range(1, sys.maxunicode + 1)
"""Every character a ticket's text can hold: NUL is refused, and so are surrogates."""


def characters() -> Iterator[int]:
    return (code for code in CODE_POINTS if not 0xD800 <= code <= 0xDFFF)


@attrs.frozen
class Tokenizer:
    """Which code points part words, and what each of the others becomes in a word
    (``""``: it is dropped; absent: it stays as it is)."""

    separators: frozenset[int]
    folds: dict[int, str]


def probe() -> Tokenizer:
    """Index ``q<c>q`` for every code point ``c`` in an FTS5 table with the tokenizer the
    SQLite adapter uses, and read back its tokens: ``q`` and ``q`` when ``c`` breaks words,
    else one token, ``c`` folded between the two ``q`` (``qq`` when it is dropped).
    A thousand code points to a row, apart by spaces."""
    codes = list(characters())
    rows = [codes[start : start + 1000] for start in range(0, len(codes), 1000)]
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE probe USING fts5(text, tokenize='unicode61')")
    conn.execute("CREATE VIRTUAL TABLE probe_tokens USING fts5vocab(probe, 'instance')")
    conn.executemany(
        "INSERT INTO probe (rowid, text) VALUES (?, ?)",
        ((index, " ".join(f"q{chr(code)}q" for code in row)) for index, row in enumerate(rows)),
    )
    tokens: dict[int, list[tuple[int, str]]] = {}
    for term, index, offset in conn.execute("SELECT term, doc, offset FROM probe_tokens"):
        tokens.setdefault(index, []).append((offset, term))
    conn.close()
    separators: set[int] = set()
    folds: dict[int, str] = {}
    for index, row in enumerate(rows):
        found = iter(term for _, term in sorted(tokens[index]))
        for code in row:
            term = next(found)
            if term == "q":
                assert next(found) == "q", hex(code)
                separators.add(code)
                continue
            assert term[0] == term[-1] == "q", (hex(code), term)
            assert len(term) <= 3, (hex(code), term)
            if term[1:-1] != chr(code):
                folds[code] = term[1:-1]
        assert next(found, None) is None, index
    return Tokenizer(frozenset(separators), folds)


def ranges(codes: frozenset[int]) -> list[tuple[int, int]]:
    """Runs of consecutive code points, as (first, last)."""
    runs: list[list[int]] = []
    for code in sorted(codes):
        if runs and runs[-1][1] == code - 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return [(first, last) for first, last in runs]


def fold_runs(folds: dict[int, str]) -> list[str]:
    """The folds as runs: ``F-L:T`` maps F..L to T, T+1, ...; ``F-L=T`` maps each of
    F..L to T; ``F-L=`` drops them; a run of one is written ``F:T``, ``F=``."""
    runs: list[tuple[int, int, str, int | None]] = []  # first, last, kind, first target
    for code, text in sorted(folds.items()):
        target = ord(text) if text else None
        if runs and runs[-1][1] == code - 1:
            first, last, kind, start = runs[-1]
            if target is None and start is None:
                runs[-1] = (first, code, "=", None)
                continue
            if target is not None and start is not None:
                if kind in (":", "?") and target == start + (code - first):
                    runs[-1] = (first, code, ":", start)
                    continue
                if kind in ("=", "?") and target == start:
                    runs[-1] = (first, code, "=", start)
                    continue
        runs.append((code, code, "?" if target is not None else "=", target))
    written = []
    for first, last, kind, start in runs:
        span = f"{first:04X}" if first == last else f"{first:04X}-{last:04X}"
        written.append(
            span + (":" if kind == "?" else kind) + ("" if start is None else f"{start:04X}")
        )
    return written


def module_source(tokenizer: Tokenizer) -> str:
    separators = " ".join(f"{a:04X}-{b:04X}" for a, b in ranges(tokenizer.separators))
    folds = " ".join(fold_runs(tokenizer.folds))

    def literal(text: str) -> str:
        lines = textwrap.wrap(text, 86, break_on_hyphens=False)
        return "(\n" + "".join(f'    "{line} "\n' for line in lines[:-1]) + f'    "{lines[-1]}"\n)'

    return f'''"""SQLite's ``unicode61`` tokenizer, as the SQLite adapter's search index uses it (FTS5,
``remove_diacritics=1``), written down as data: which characters break words, and what
the others become inside a word (lower case, Latin letters without their accents, some
combining accents dropped).

Written from SQLite {sqlite3.sqlite_version} by ``python -m tests.postgres.unicode61``, and checked
against the running SQLite, every code point, by ``tests/postgres/test_search_rules.py``.
Not to be edited by hand.
"""

SEPARATORS = {literal(separators)}
"""The code points that break words, as inclusive ranges ``FIRST-LAST`` (hex). Every
other character is part of a word: letters and digits, but also private-use characters
and every code point unassigned in SQLite's Unicode tables."""

FOLDS = {literal(folds)}
"""What characters become inside a word: ``F-L:T`` maps F..L to T, T+1, ...; ``F-L=T``
maps each of F..L to T; ``F-L=`` drops them; a single code point is written ``F:T`` or
``F=``. A character not listed stays as it is."""
'''


def main() -> None:
    MODULE.write_text(module_source(probe()))
    print(f"wrote {MODULE}")


if __name__ == "__main__":
    main()
