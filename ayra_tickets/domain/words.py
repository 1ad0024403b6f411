"""What a word is, for search: the contract's word rules, the same on every backend.

A ticket is found by a search when every word of the search starts a word of its
subject or description, case and Latin accents aside. The words are those of SQLite's
``unicode61`` tokenizer (``remove_diacritics=1``), which indexes tickets on SQLite: the
characters that break words and how the others fold (lower case, accents off, some
combining marks dropped) are written down in :mod:`.unicode61`, checked against the
running SQLite for every code point. Both a ticket's text and a search are read with
that one table, so a search finds its own ticket whatever it holds: accents typed as
combining marks (``re\u0301sume\u0301``), private-use characters, new emoji.
"""

from __future__ import annotations

import re
from functools import cache

from .unicode61 import FOLDS, SEPARATORS


@cache
def _fold_table() -> dict[int, int | None]:
    """:data:`FOLDS` as a ``str.translate`` table (``None``: dropped)."""
    table: dict[int, int | None] = {}
    for run in FOLDS.split():
        span, kind, target = re.split("([:=])", run)
        first, _, last = span.partition("-")
        start, end = int(first, 16), int(last or first, 16)
        for code in range(start, end + 1):
            if not target:
                table[code] = None
            elif kind == "=":
                table[code] = int(target, 16)
            else:
                table[code] = int(target, 16) + code - start
    return table


@cache
def _breaks() -> re.Pattern[str]:
    """A run of characters that break words (:data:`SEPARATORS`)."""
    spans = []
    for span in SEPARATORS.split():
        first, _, last = span.partition("-")
        spans.append(f"{re.escape(chr(int(first, 16)))}-{re.escape(chr(int(last, 16)))}")
    return re.compile(f"[{''.join(spans)}]+")


def fold(text: str) -> str:
    """The text folded as ``unicode61`` folds it: lower case, Latin accents off, some
    combining accents dropped. Characters that break words are left as they are."""
    return text.translate(_fold_table())


def words(text: str) -> list[str]:
    """The words of a text, folded, in order (with repeats).

    Folding never turns a word's character into one that breaks words, nor the reverse,
    so the text is folded whole and then split (the same as splitting, then folding each
    word; ``tests/postgres/test_search_rules.py`` checks it for every code point)."""
    return [word for word in _breaks().split(fold(text)) if word]


def search_words(search: str) -> list[str]:
    """A search's words, folded, without repeats: each must start a word of a ticket."""
    return list(dict.fromkeys(words(search)))
