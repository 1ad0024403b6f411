"""Search on PostgreSQL with the contract's word and prefix rules, exactly as on SQLite.

The SQLite adapter indexes a ticket's subject and description with FTS5's ``unicode61``
tokenizer (``remove_diacritics=1``) and turns a search into one quoted prefix term per
word: every word of the search must start some word of the ticket. Here the same rules
are kept without PostgreSQL's text-search parser and dictionaries, which would not
give the same answers:

- the ``english`` configuration stems (``running`` would find "run") and drops stop
  words (``the``, ``was`` would match nothing, or everything);
- the default parser, under any configuration, reads ``example.com``, ``a-b``, ``1.5``,
  ``foo@bar.io`` and paths as tokens of their own, keeping their punctuation, where
  ``unicode61`` breaks them into words; and what it calls a letter depends on the
  database's locale;
- ``unaccent`` (an extension, not everywhere) spells out ligatures and letters such as
  ``æ``, ``ß`` and ``ø``, which ``unicode61`` keeps; ``lower()`` depends on the
  collation.

So the adapter makes the lexemes itself. A ticket's ``search`` column is a ``tsvector``
of its words (:func:`document`): the text folded as ``unicode61`` folds it (the table in
:mod:`.unicode61`), split where it breaks words, without positions (searches are never
phrases, as on SQLite, whose index keeps none either). A search becomes a ``tsquery``
(:func:`query`) of the search's words, folded the same way, each a prefix (``:*``)
joined by ``&``. Both are written as literals of the two types, whose input functions
take quoted lexemes as they are: no parser, no dictionary, the same answer on any
server, locale or collation. The column carries a GIN index, which answers prefix
queries.

A search is split into words as the SQLite adapter splits it (:data:`WORD`, runs of what
Python calls letters and digits), and its words are folded as SQLite folds them. Where
Python's word characters and SQLite's differ, SQLite's answers have quirks, kept here so
that both backends answer alike: a search for a word holding a character that Python does
not count as a letter but SQLite does (a private-use character, most combining accents:
``re\u0301sume\u0301`` written with combining accents) is cut there into several words,
while the ticket's word is not cut, so the ticket is not found.

A word of a ticket is kept to its first :data:`LEXEME_MAX` characters (PostgreSQL's
lexemes hold at most 2,047 bytes): no word of a search is longer, so whether a search's
word starts it is decided by that much of it.
"""

from __future__ import annotations

import re
from functools import cache

from ...domain.validation import SEARCH_MAX
from .unicode61 import FOLDS, SEPARATORS

WORD = re.compile("[^\\W_\u19b0-\u19c0\u19c8\u19c9\u1cf2\u1cf3]+")
"""A word of a search, as the SQLite adapter reads one: a run of letters and digits (an
underscore parts words), less the few characters Python calls letters that SQLite's
tables (Unicode 6.1) still call combining marks, which part words there."""

LEXEME_MAX = SEARCH_MAX
"""How many characters of a ticket's word are indexed: a search's word is never longer
(a search is at most ``SEARCH_MAX`` characters, and folding never lengthens a word), and
the longest, at 4 bytes a character, fits a PostgreSQL lexeme (2,047 bytes)."""


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
    """The text as ``unicode61`` folds it: lower case, Latin accents off, some combining
    accents dropped. Characters that break words are left as they are."""
    return text.translate(_fold_table())


def words(text: str) -> list[str]:
    """The words ``unicode61`` indexes for a text, folded, in order (with repeats).

    Folding never turns a word's character into one that breaks words, nor the reverse,
    so the text is folded whole and then split (the same as splitting, then folding each
    word; ``test_search_rules`` checks it for every code point)."""
    return [word for word in _breaks().split(fold(text)) if word]


def lexemes(subject: str, description: str) -> list[str]:
    """A ticket's lexemes: the words of its subject and description, each cut to
    :data:`LEXEME_MAX` characters, without repeats, in order of first appearance."""
    found = dict.fromkeys(
        word[:LEXEME_MAX] for text in (subject, description) for word in words(text)
    )
    return list(found)


def _quoted(lexeme: str) -> str:
    # Lexemes never hold a quote or a backslash (both break words); escaped all the same.
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def document(subject: str, description: str) -> str:
    """A ticket's ``search`` column, as a ``tsvector`` literal (``%s::tsvector``, or a
    field of ``COPY``)."""
    return " ".join(_quoted(lexeme) for lexeme in lexemes(subject, description))


def search_words(search: str) -> list[str]:
    """A search's words, folded, without repeats: each must start a word of a ticket."""
    return list(dict.fromkeys(word for word in (fold(w) for w in WORD.findall(search)) if word))


def query(search: str) -> str | None:
    """A search as a ``tsquery`` literal (``search @@ %s::tsquery``): every word, as a
    prefix. ``None`` when the search has no words, which matches no ticket."""
    found = search_words(search)
    if not found:
        return None
    return " & ".join(f"{_quoted(word)}:*" for word in found)


MATCH = "search @@ %s::tsquery"
"""The condition a ticket meets when it matches a :func:`query` (GIN index
``tickets_by_search``)."""
