# ruff: noqa: RUF001  (look-alike letters and digits are what these tests are about)
"""The same searches find the same tickets on SQLite and on PostgreSQL.

SQLite's side is the real engine (``Engine.open(":memory:")``, tickets created and
listed through its public surface); PostgreSQL's is the schema's ``search`` column and
GIN index, written and queried by :mod:`ayra_tickets.storage.postgres.search` over raw
psycopg. A corpus of texts chosen to break tokenizers, and generated words, are searched
on both, and the numbers found compared.

The tokenizer's table itself (:mod:`ayra_tickets.domain.unicode61`) is checked
against the running SQLite for every code point; that needs no PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ayra_tickets import Engine, ManualClock
from ayra_tickets.domain import unicode61
from ayra_tickets.domain import words as search
from ayra_tickets.storage.postgres import search as postgres_search
from tests.conftest import START
from tests.postgres import unicode61 as probing
from tests.postgres.conftest import insert_ticket

Document = tuple[str, str]
"""A ticket's subject and description."""


# -- the table, against SQLite ------------------------------------------------------


def test_the_tokenizer_table_says_what_sqlite_does_for_every_code_point() -> None:
    """Folding and word breaks as the module has them, against SQLite's own answers."""
    found = probing.probe()
    written = probing.MODULE.read_text().split('"""', 2)[2]  # after the docstring
    made = probing.module_source(found).split('"""', 2)[2]
    assert made == written, "SQLite's tokenizer changed: run python -m tests.postgres.unicode61"
    codes = list(probing.characters())
    expected = [
        ["q", "q"] if code in found.separators else [f"q{found.folds.get(code, chr(code))}q"]
        for code in codes
    ]
    # Each character between two words, all in one text (one call is quick, a million not).
    got = search.words(" ".join(f"q{chr(code)}q" for code in codes))
    assert got == [word for words in expected for word in words], next(
        hex(code)
        for code, words in zip(codes, expected, strict=True)
        if search.words(f"q{chr(code)}q") != words
    )


def test_folding_never_makes_or_unmakes_a_word_break() -> None:
    """Why a text may be folded whole and then split (``search.words``)."""
    separators = set()
    for span in unicode61.SEPARATORS.split():
        first, _, last = span.partition("-")
        separators.update(range(int(first, 16), int(last, 16) + 1))
    for code in probing.characters():
        folded = search.fold(chr(code))
        if code in separators:
            assert folded == chr(code), hex(code)
        else:
            assert all(ord(c) not in separators for c in folded), hex(code)


def test_a_search_becomes_prefix_terms_and_a_ticket_its_words() -> None:
    assert postgres_search.query("Printer ON fire") == "'printer':* & 'on':* & 'fire':*"
    assert postgres_search.query('"NEAR" (x) OR y*') == "'near':* & 'x':* & 'or':* & 'y':*"
    assert postgres_search.query("foo_bar it's") == "'foo':* & 'bar':* & 'it':* & 's':*"
    assert postgres_search.query("_-_ *") is None
    assert postgres_search.query("Café CAFÉ cafe") == "'cafe':*"
    assert postgres_search.document("Printer on fire", "Fire! printer.") == "'printer' 'on' 'fire'"
    assert postgres_search.lexemes("x", "é" * 600) == ["x", "e" * postgres_search.LEXEME_MAX]


# -- both backends --------------------------------------------------------------------

LONG_WORD = "Supercalifragilistic" * 30
CORPUS: list[Document] = [
    ("Printer on fire", "Smoke from tray 2"),
    ("Running late", "The runner ran; runs were run."),
    ("The the THE", "a an of was is not"),
    ("example.com is down", "mail foo@bar.io, see https://x.example.org/a/b?c=d /usr/bin"),
    ("foo_bar baz-qux", "snake_case kebab-case CamelCase __dunder__"),
    ("it's O'Brien's", "rock 'n' roll, don't; l’été"),
    ("v1.2.3 build", "price 1,5 € or $1.50; 3.14159; 10e5; 0x1F; 2025-01-15T09:00:00Z"),
    ("Café crème", "naïve résumé façade Ærøskøbing straße Œuvre"),
    ("re\u0301sume\u0301 decomposed", "cafe\u0301 nai\u0308ve"),
    ("ÉCOLE École école", "İstanbul ıstanbul ǅemal ﬁle ﬂow Ⅸ ㎏"),
    ("東京都の天気", "北京 서울특별시 ひらがな カタカナ"),
    ("emoji 😀 party🎉time", "🥺 newer emoji, 👍🏽 thumbs, 1️⃣ keycap, ❤️love"),
    ("long words", f"{LONG_WORD} {'é' * 700} {'𝒜' * 550} {'ß' * 501}"),
    ("Ελληνικά ΣΊΣΥΦΟΣ", "Привет МИР ёжик Ёлка"),
    ("tab\tnewline", "line1\nline2\r\nline3\u2028after\u00a0nbsp\u200bzwsp"),
    ("private\ue000use", "a\ue000b"),
    ("digits 123 0042", "١٢٣ ٤٥٦ ½ ² Ⅻ ０１２ full-width ＡＢＣ"),
    ("hindi हिन्दी", "தமிழ் ไทย ᦰᦱ new tai lue"),
    ('quotes "NEAR" OR AND NOT', "(parens) * star ^caret col:umn {brace} [bracket]"),
    ("backslash \\ and 'quote'", "C:\\Users\\x  it''s  a'b"),
]
QUERIES: list[str] = [
    *"print|PRINTER fire|smoke tray 2|run|running|ran|runner|the|was|not|a".split("|"),
    *"example|com|example.com|foo|bar.io|https|usr bin|org/a".split("|"),
    *"foo_bar|baz-qux|snake|case|kebab case|camel|dunder|__dunder__".split("|"),
    *"it's|brien|o'brien's|s|n|don't|t|l’été|ete|été".split("|"),
    *"v1|1.2|3|14159|10e5|0x1f|2025-01-15|09:00|z|€|$1".split("|"),
    *"cafe|café|CAFÉ|creme|naive|resume|façade|aerøskøbing|ærø|ÆRØ|strasse|straße".split("|"),
    *"œuvre|oeuvre|OEUVRE|Œ".split("|"),
    "re\u0301sume\u0301",
    "cafe\u0301",
    "nai\u0308ve",
    *"ecole|ÉCOLE|istanbul|İstanbul|ı|ǅ|ǆ|Ǆ|ﬁle|file|fi|flow|ⅸ|ix|kg|㎏".split("|"),
    *"東京|東京都の|天気|北京|서울|ひら|カタ|京".split("|"),
    *"😀|party|🎉|time|party🎉time|🥺|👍|👍🏽|1️⃣|love|❤️love".split("|"),
    LONG_WORD[:500],
    LONG_WORD[:499].upper(),
    "é" * 500,
    "e" * 10,
    "𝒜" * 250,
    "ß" * 500,
    "ss",
    *"σίσυφος|σισυφος|ΣΊΣΥΦΟΣ|ελλην|мир|МИР|ежик|ёжик|ёлка|елка".split("|"),
    *"line2|line3 after|after|nbsp|zwsp|line1 line2 line3|tab newline".split("|"),
    *"private|privateuse|a\ue000b|a b|a|b|\ue000".split("|"),
    *"١٢|٤٥٦|123|0042|42|½|2|ⅻ|０|０１２|012|ａｂｃ|abc|ＡＢＣ".split("|"),
    *"हिन्दी|हि|न्दी|தமிழ்|ไทย|ᦰ|tai lue".split("|"),
    *'NEAR|"near"|OR|AND NOT|*|(parens)|col:umn|^caret|{brace}|[bracket]|"|()'.split("|"),
    *"\\|c:\\users|users x|it''s|quote|'quote'".split("|"),
    *"_|-|--|' '|.|..|x y z|zzz|printer smoke fire 2".split("|"),
]


def sqlite_finds(documents: Sequence[Document], queries: Sequence[str]) -> dict[str, list[int]]:
    """The numbers of the tickets each search lists on SQLite (the real engine)."""
    found: dict[str, list[int]] = {}
    with Engine.open(":memory:", clock=ManualClock(START)) as engine:
        for subject, description in documents:
            engine.tickets.create(subject=subject, description=description)
        for query in queries:
            page = engine.tickets.list(search=query, per_page=100)
            assert page.meta["total"] <= 100
            found[query] = sorted(ticket.number for ticket in page.data)
    return found


def postgres_finds(
    conn: psycopg.Connection[Any], documents: Sequence[Document], queries: Sequence[str]
) -> dict[str, list[int]]:
    """The numbers of the tickets each search matches on PostgreSQL (the schema's
    ``search`` column, read through its GIN index and then without it)."""
    with conn.transaction():
        conn.execute("DELETE FROM tickets")
        for number, (subject, description) in enumerate(documents, start=1):
            insert_ticket(conn, number, subject, description)
    found: dict[str, list[int]] = {}
    for scan in ("off", "on"):  # the GIN index, then the rows themselves
        with conn.transaction():
            conn.execute(f"SET LOCAL enable_seqscan = {scan}")
            conn.execute(f"SET LOCAL enable_bitmapscan = {'on' if scan == 'off' else 'off'}")
            for query in queries:
                tsquery = postgres_search.query(query)
                numbers = (
                    []
                    if tsquery is None
                    else [
                        number
                        for (number,) in conn.execute(
                            f"SELECT number FROM tickets WHERE {postgres_search.MATCH} ORDER BY number",
                            (tsquery,),
                        )
                    ]
                )
                assert found.setdefault(query, numbers) == numbers, (query, scan)
    return found


def test_the_corpus_finds_the_same_tickets_on_both(tickets_db: psycopg.Connection[Any]) -> None:
    expected = sqlite_finds(CORPUS, QUERIES)
    found = postgres_finds(tickets_db, CORPUS, QUERIES)
    differ = {query: (expected[query], found[query]) for query in QUERIES}
    differ = {query: both for query, both in differ.items() if both[0] != both[1]}
    assert differ == {}
    # The corpus is worth its salt: searches that find something, and some that do not.
    assert sum(bool(numbers) for numbers in expected.values()) > len(QUERIES) // 2
    assert sum(not numbers for numbers in expected.values()) > 20


def test_a_search_is_answered_from_the_gin_index(tickets_db: psycopg.Connection[Any]) -> None:
    with tickets_db.transaction():
        insert_ticket(tickets_db, 1, "Ticket w1", "printer 1")
        # Many more like it, their search words made by the server as postgres_search.document
        # makes them (checked on one).
        tickets_db.execute(
            "INSERT INTO tickets (number, id, subject, description, priority, status,"
            " created_at, updated_at, sla_policy, sla_response_target, sla_resolution_target,"
            " sla_response_due_at, sla_resolution_due_at, search)"
            " SELECT n, 'ticket_' || n, 'Ticket w' || n, 'printer ' || n % 7, priority,"
            " status, created_at, updated_at, sla_policy, sla_response_target,"
            " sla_resolution_target, sla_response_due_at, sla_resolution_due_at,"
            " array_to_tsvector(ARRAY['ticket', 'w' || n, 'printer', (n % 7)::text])"
            " FROM tickets, generate_series(2, 30000) AS n"
        )
    row = tickets_db.execute("SELECT search FROM tickets WHERE number = 1234").fetchone()
    assert row is not None
    written = tickets_db.execute(
        "SELECT %s::tsvector", (postgres_search.document("Ticket w1234", "printer 2"),)
    ).fetchone()
    assert written is not None
    assert row[0] == written[0]
    tickets_db.execute("ANALYZE tickets")
    plan = "\n".join(
        step
        for (step,) in tickets_db.execute(
            f"EXPLAIN SELECT number FROM tickets WHERE {postgres_search.MATCH}",
            (postgres_search.query("W1999 printe"),),
        )
    )
    assert "Bitmap Index Scan on tickets_by_search" in plan, plan


PIECES = [
    "a", "B", "z", "é", "É", "e\u0301", "ß", "æ", "Ø", "ı", "İ", "ǅ", "ﬁ", "Σ", "ς", "ё",
    "東", "京", "😀", "🥺", "\ue000", "\u0300", "\u0345", "\u19b0", "1", "٣", "½", "０",
    "_", "-", "'", ".", "’", " ", "\u00a0",
]  # fmt: skip
"""Letters with and without accents, in both cases, precomposed and not; letters that
fold to two or to none; scripts without spaces; emoji old and new; characters that part
words on one side of the search only; digits of several kinds; punctuation."""

words = st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map("".join)
texts = st.lists(words, min_size=1, max_size=5).map(" ".join)


def searchable(text: str) -> bool:
    return bool(text.strip())


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    documents=st.lists(
        st.tuples(texts.filter(searchable), texts.filter(searchable)), min_size=1, max_size=6
    ),
    data=st.data(),
)
def test_generated_words_find_the_same_tickets_on_both(
    tickets_db: psycopg.Connection[Any], documents: list[Document], data: st.DataObject
) -> None:
    """Searches made of the tickets' own words (their starts, their middles, their case
    changed) and of words of their own."""
    own = [word for subject, text in documents for word in f"{subject} {text}".split()]

    def from_tickets(draw: st.DrawFn) -> str:
        word = draw(st.sampled_from(own))
        start = draw(st.integers(0, len(word) - 1))
        end = draw(st.integers(start + 1, len(word)))
        piece = word[start:end]
        return draw(st.sampled_from([piece, piece.upper(), piece.lower(), piece.casefold()]))

    queries = data.draw(
        st.lists(
            st.one_of(st.composite(from_tickets)(), texts).filter(searchable),
            min_size=1,
            max_size=8,
        )
    )
    assert postgres_finds(tickets_db, documents, queries) == sqlite_finds(documents, queries)
