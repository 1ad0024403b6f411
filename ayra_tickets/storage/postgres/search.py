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
:mod:`ayra_tickets.domain.unicode61`), split where it breaks words, without positions (searches are never
phrases, as on SQLite, whose index keeps none either). A search becomes a ``tsquery``
(:func:`query`) of the search's words, folded the same way, each a prefix (``:*``)
joined by ``&``. Both are written as literals of the two types, whose input functions
take quoted lexemes as they are: no parser, no dictionary, the same answer on any
server, locale or collation. The column carries a GIN index, which answers prefix
queries.

Words, and how they fold, are the contract's (:mod:`ayra_tickets.domain.words`): the
same table splits a ticket's text and a search, on both backends.

A word of a ticket is kept to its first :data:`LEXEME_MAX` characters (PostgreSQL's
lexemes hold at most 2,047 bytes): no word of a search is longer, so whether a search's
word starts it is decided by that much of it.
"""

from __future__ import annotations

from ...domain.validation import SEARCH_MAX
from ...domain.words import search_words, words

LEXEME_MAX = SEARCH_MAX
"""How many characters of a ticket's word are indexed: a search's word is never longer
(a search is at most ``SEARCH_MAX`` characters, and folding never lengthens a word), and
the longest, at 4 bytes a character, fits a PostgreSQL lexeme (2,047 bytes)."""


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
