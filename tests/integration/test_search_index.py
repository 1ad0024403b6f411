"""The search index keeps no word positions, so a quoted word of a search must be one
token to SQLite's tokenizer: two would make a phrase, which such an index refuses. Every
character that can be part of a search word is tried here, against the real index."""

from __future__ import annotations

import re
import sys

from ayra_tickets import Engine, ManualClock
from ayra_tickets.storage.sqlite.query import fts_query
from tests.conftest import START


def word_characters() -> list[str]:
    """Every code point the search reads as part of a word (outside ASCII)."""
    word = re.compile(r"[^\W_]")
    return [
        chr(code)
        for code in range(0x80, sys.maxunicode + 1)
        if not 0xD800 <= code <= 0xDFFF and word.fullmatch(chr(code))
    ]


def test_every_word_character_stays_inside_one_token_of_the_search_index() -> None:
    characters = word_characters()
    assert len(characters) > 100_000  # letters and digits of every script
    with Engine.open(":memory:", clock=ManualClock(START)) as engine:
        conn = engine.db.conn
        conn.executemany(
            "INSERT INTO tickets_fts (rowid, subject, description, facets)"
            " VALUES (?, ?, '', 'snew')",
            [(index, f"x{ch}y") for index, ch in enumerate(characters, start=1)],
        )
        split = []
        for index, ch in enumerate(characters, start=1):
            match = fts_query(f"x{ch}y")
            assert match is not None
            found = conn.execute(
                "SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?", (match,)
            ).fetchall()  # a phrase would raise here
            if (index,) not in found:
                split.append(f"U+{ord(ch):04X}")
        assert split == []


def test_underscores_and_punctuation_part_words() -> None:
    assert fts_query("foo_bar") == '{subject description} : ("foo"* "bar"*)'
    assert fts_query("it's") == '{subject description} : ("it"* "s"*)'
    assert fts_query("_-_") is None


def test_a_search_finds_its_own_ticket_whatever_its_words_hold() -> None:
    """Searches are split and folded by the index's own table (``domain.words``), not by
    Python's idea of a letter: accents typed as combining marks (as macOS may send
    them), private-use characters and emoji newer than SQLite's tables used to cut a
    search's word where the index did not, and the ticket was not found."""
    texts = {
        "re\u0301sume\u0301 attached": ["re\u0301sume\u0301", "résumé", "RESUME", "resu"],
        "Résumé précomposé": ["re\u0301sume\u0301", "pre\u0301compose\u0301"],
        "glyph a\ue000b in the font": ["a\ue000b", "a\ue000"],
        "mood x🥺y today": ["x🥺y", "x🥺"],
    }
    with Engine.open(":memory:", clock=ManualClock(START)) as engine:
        made = {
            text: engine.tickets.create(subject=text, description="Found by itself").number
            for text in texts
        }
        for text, searches in texts.items():
            for search in [text, *searches]:
                found = {t.number for t in engine.tickets.list(search=search).data}
                assert made[text] in found, (text, search)
