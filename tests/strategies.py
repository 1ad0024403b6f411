"""Hypothesis strategies for the Ticket API: request bodies, list queries and time steps.

Values come from small alphabets on purpose: a handful of tags, categories, agents and
contacts, and a short vocabulary for subjects and descriptions, so that random filters
and searches hit real tickets instead of matching nothing.

Bodies are dictionaries exactly as a caller sends them. Date-times may be ``datetime``
objects (the Python API takes them) or ISO 8601 strings in several spellings; use
:func:`jsonable` before sending a body over the wire.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

START = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
"""Where the manual clocks of the tests start (the same instant as ``tests.conftest``)."""

STATUSES = (
    "new",
    "open",
    "in_progress",
    "waiting_on_customer",
    "waiting_on_third_party",
    "resolved",
    "closed",
    "reopened",
)
CREATE_STATUSES = ("new", "open", "in_progress")
TAGS = ("billing", "refund", "urgent", "vip", "bug", "login")
CATEGORIES = ("technical", "billing", "account", "product", "bug", "feature_request")
AGENTS = ("agent_ann", "agent_bob", "agent_cy")
AGENT_NAMES = {"agent_ann": "Ann Lee", "agent_cy": "Cy Young"}
"""The agent directory the tests install; ``agent_bob`` is deliberately unknown."""
CONTACTS = ("contact_1", "contact_2", "contact_3")
ROOT_CAUSES = ("system_error", "user_error", "billing_error")
WORDS = (
    "printer",
    "fire",
    "smoke",
    "tray",
    "paper",
    "invoice",
    "refund",
    "order",
    "login",
    "password",
    "reset",
    "network",
    "near",
    "nearby",
    "android",
    "notice",
)
"""Subject and description vocabulary; some words share prefixes, some look like FTS
operators (``order``/OR, ``near``/NEAR, ``android``/AND, ``notice``/NOT)."""

SORT_FIELDS = ("created_at", "updated_at", "due_date", "priority")

# -- text -----------------------------------------------------------------------------


def _cased(word: str) -> st.SearchStrategy[str]:
    return st.sampled_from([word, word.capitalize(), word.upper()])


words = st.sampled_from(WORDS).flatmap(_cased)


def texts(min_words: int = 1, max_words: int = 6) -> st.SearchStrategy[str]:
    """A few vocabulary words in mixed case, joined by spaces or light punctuation."""
    separators = st.sampled_from([" ", " ", ", ", ". ", " - ", "\n"])
    return st.lists(st.tuples(words, separators), min_size=min_words, max_size=max_words).map(
        lambda pairs: "".join(w + s for w, s in pairs).strip(" ,.-\n") or "printer"
    )


subjects = texts(1, 5)
descriptions = texts(1, 8)
notes = texts(1, 4)

# -- field values ---------------------------------------------------------------------

priorities = st.integers(1, 4)
categories = st.sampled_from(CATEGORIES)
agents = st.sampled_from(AGENTS)
contacts = st.sampled_from(CONTACTS)
tag_lists = st.lists(st.sampled_from(TAGS), max_size=4, unique=True)

_json_leaves = st.one_of(
    st.integers(-1000, 1000),
    st.sampled_from(["gold", "silver", "", "x y"]),
    st.booleans(),
)
_json_values = st.one_of(_json_leaves, st.lists(st.integers(0, 9), max_size=3))
_field_names = st.sampled_from(["plan", "region", "seats", "sku", "vip"])
custom_fields = st.dictionaries(_field_names, _json_values, max_size=3)
"""A create's ``custom_fields``: no nulls (a null in an update patch removes a key)."""
custom_field_patches = st.dictionaries(_field_names, st.one_of(st.none(), _json_values), max_size=3)
metadata = st.dictionaries(st.sampled_from(["source", "channel"]), _json_leaves, max_size=2)

instants = st.integers(-10 * 86400, 40 * 86400).map(lambda s: START + timedelta(seconds=s))
"""Whole-second UTC instants around ``START``."""

_ZONES = (UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8)))


@st.composite
def spelled_time(draw: st.DrawFn, instant: datetime, *, python_ok: bool = True) -> Any:
    """``instant`` as a caller might send it: a ``datetime`` or an ISO 8601 string in
    another zone, with or without an offset, with a ``T`` or a space."""
    zone = draw(st.sampled_from(_ZONES))
    local = instant.astimezone(zone)
    forms = ["z", "offset", "naive_utc", "space"] + (["datetime", "naive_datetime"] * python_ok)
    form = draw(st.sampled_from(forms))
    if form == "z":
        return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if form == "offset":
        return local.isoformat()
    if form == "naive_utc":
        return instant.astimezone(UTC).replace(tzinfo=None).isoformat()
    if form == "space":
        return local.isoformat(sep=" ")
    if form == "datetime":
        return local
    return instant.astimezone(UTC).replace(tzinfo=None)


due_dates = instants.flatmap(spelled_time)


def jsonable(body: Any) -> Any:
    """``body`` with every ``datetime`` spelled as ISO 8601 text, ready for the wire."""
    if isinstance(body, datetime):
        return body.isoformat()
    if isinstance(body, dict):
        return {key: jsonable(value) for key, value in body.items()}
    if isinstance(body, list | tuple):
        return [jsonable(value) for value in body]
    return body


def parse_sent_time(value: Any) -> datetime:
    """What a sent date-time means: UTC, whole seconds (a value without offset is UTC)."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).replace(microsecond=0)


# -- bodies ---------------------------------------------------------------------------


def _optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


@st.composite
def create_bodies(draw: st.DrawFn, statuses: tuple[str, ...] = CREATE_STATUSES) -> dict[str, Any]:
    """A valid create body."""
    body = {"subject": draw(subjects), "description": draw(descriptions)}
    body.update(
        draw(
            _optional(
                priority=priorities,
                status=st.sampled_from(statuses),
                category=categories,
                contact_id=contacts,
                conversation_id=st.sampled_from(["conv_1", "conv_2"]),
                assigned_to=agents,
                due_date=due_dates,
                tags=tag_lists,
                custom_fields=custom_fields,
                metadata=metadata,
            )
        )
    )
    return body


update_bodies = _optional(
    subject=subjects,
    description=descriptions,
    priority=priorities,
    status=st.sampled_from(STATUSES),
    category=st.one_of(st.none(), categories),
    assigned_to=st.one_of(st.none(), agents),
    due_date=st.one_of(st.none(), due_dates),
    tags=tag_lists,
    custom_fields=custom_field_patches,
    internal_note=notes,
)
"""A valid update body (its status move may still be forbidden where the ticket is)."""

field_updates = update_bodies.map(lambda body: {k: v for k, v in body.items() if k != "status"})
"""A valid update body that does not touch the status."""

close_bodies = _optional(
    resolution_note=st.one_of(st.none(), texts(1, 6)),
    customer_satisfaction=st.one_of(st.none(), st.integers(1, 10)),
    resolution_time=st.one_of(st.none(), st.integers(0, 10_000)),
    root_cause=st.one_of(st.none(), st.sampled_from(ROOT_CAUSES)),
)
"""Valid close details (``null`` is the same as leaving a field out)."""

# -- invalid bodies: one defect each ------------------------------------------------------

INVALID, TOO_LONG = "parameter_invalid", "parameter_too_long"
MISSING, UNKNOWN = "parameter_missing", "parameter_unknown"

_MISSING = object()
"""Marks a defect that removes the parameter instead of setting it."""


class _Built:
    """A large defect value, built only when drawn (its repr stays short)."""

    def __init__(self, text: str, build: Any) -> None:
        self.text = text
        self.build = build

    def __repr__(self) -> str:
        return self.text


def _long(char: str, length: int) -> _Built:
    return _Built(f"{char!r} * {length}", lambda: char * length)


_BAD_TEXT: list[Any] = ["", "   ", 42, ["printer"]]
_BAD_LINE = [*_BAD_TEXT, "two\nlines"]
_BAD_PRIORITY: list[Any] = [0, 5, "2", True, 2.5]
_BAD_TAGS: list[Any] = [
    "billing",
    ["a,b"],
    [" vip"],
    [1],
    [""],
    _Built('["x"] * 51', lambda: ["x"] * 51),
]
_BAD_DUE: list[Any] = ["2025-01-16", "soon", 1737046800, "2025-13-40T25:00:00Z"]
_BAD_OBJECT: list[Any] = [[], "{}", {"": 1}]
_BIG_OBJECT = _Built('{"big": "x" * 17000}', lambda: {"big": "x" * 17_000})


def _invalid(param: str, values: list[Any]) -> list[tuple[str, Any, str]]:
    return [(param, value, INVALID) for value in values]


CREATE_DEFECTS: list[tuple[str, Any, str]] = [
    ("subject", _MISSING, MISSING),
    ("description", _MISSING, MISSING),
    ("subject", None, MISSING),
    *_invalid("subject", _BAD_TEXT),
    ("subject", _long("s", 201), TOO_LONG),
    ("description", _long("d", 10_001), TOO_LONG),
    *_invalid("priority", _BAD_PRIORITY),
    *_invalid("status", ["waiting_on_customer", "resolved", "closed", "reopened", "NEW", "x"]),
    *_invalid("category", _BAD_LINE),
    ("category", _long("c", 101), TOO_LONG),
    *_invalid("assigned_to", _BAD_LINE),
    ("contact_id", _long("c", 256), TOO_LONG),
    *_invalid("tags", _BAD_TAGS),
    *_invalid("due_date", _BAD_DUE),
    *_invalid("custom_fields", _BAD_OBJECT),
    ("custom_fields", _BIG_OBJECT, TOO_LONG),
    *_invalid("metadata", _BAD_OBJECT),
    ("colour", "red", UNKNOWN),
    ("number", 7, UNKNOWN),
]

UPDATE_DEFECTS: list[tuple[str, Any, str]] = [
    *_invalid("subject", [*_BAD_TEXT, None]),
    ("subject", _long("s", 201), TOO_LONG),
    ("description", None, INVALID),
    *_invalid("priority", [*_BAD_PRIORITY, None]),
    *_invalid("status", ["bogus", "Open", None, 3]),
    *_invalid("category", _BAD_LINE),
    *_invalid("assigned_to", _BAD_LINE),
    *_invalid("tags", [*_BAD_TAGS, None]),
    *_invalid("due_date", _BAD_DUE),
    *_invalid("custom_fields", [*_BAD_OBJECT, None]),
    ("custom_fields", _BIG_OBJECT, TOO_LONG),
    *_invalid("internal_note", [*_BAD_TEXT, None]),
    ("internal_note", _long("n", 10_001), TOO_LONG),
    ("resolution_note", "done", UNKNOWN),
    ("contact_id", "contact_1", UNKNOWN),
    ("version", 3, UNKNOWN),
]

CLOSE_DEFECTS: list[tuple[str, Any, str]] = [
    *_invalid("customer_satisfaction", [0, 11, "5", True, 5.5, 11.0]),
    *_invalid("resolution_time", [-1, 1.5, "30"]),
    *_invalid("resolution_note", _BAD_TEXT),
    ("resolution_note", _long("r", 5_001), TOO_LONG),
    *_invalid("root_cause", _BAD_LINE),
    ("status", "closed", UNKNOWN),
    ("closed_at", "2025-01-15T09:00:00Z", UNKNOWN),
]


@st.composite
def _broken(
    draw: st.DrawFn, valid: st.SearchStrategy[dict[str, Any]], defects: list[tuple[str, Any, str]]
) -> tuple[dict[str, Any], str, str]:
    """A valid body with exactly one defect: ``(body, param, code)``."""
    body = dict(draw(valid))
    param, value, code = draw(st.sampled_from(defects))
    if value is _MISSING:
        body.pop(param, None)
    elif isinstance(value, _Built):
        body[param] = value.build()
    else:
        body[param] = value
    return body, param, code


def invalid_create_bodies() -> st.SearchStrategy[tuple[dict[str, Any], str, str]]:
    return _broken(create_bodies(), CREATE_DEFECTS)


def invalid_update_bodies() -> st.SearchStrategy[tuple[dict[str, Any], str, str]]:
    return _broken(update_bodies, UPDATE_DEFECTS)


def invalid_close_bodies() -> st.SearchStrategy[tuple[dict[str, Any], str, str]]:
    return _broken(close_bodies, CLOSE_DEFECTS)


# -- time -----------------------------------------------------------------------------

SLA_SPANS = (
    timedelta(hours=1),
    timedelta(hours=4),
    timedelta(hours=8),
    timedelta(days=2),
    timedelta(days=5),
    timedelta(days=7),
    timedelta(days=14),
)
"""The default SLA targets: stepping by exactly one of these lands on a deadline."""


def time_steps(max_seconds: int = 3 * 86400) -> st.SearchStrategy[timedelta]:
    """How far to move a manual clock: often exactly an SLA target or a second, sometimes
    a fraction of a second (the engine keeps whole seconds)."""
    return st.one_of(
        st.sampled_from((timedelta(0), timedelta(seconds=1), *SLA_SPANS)),
        st.integers(1, max_seconds).map(lambda s: timedelta(seconds=s)),
        st.integers(1, 999_999).map(lambda us: timedelta(microseconds=us)),
    )


# -- list queries ---------------------------------------------------------------------


@st.composite
def boundaries(draw: st.DrawFn, known: list[datetime]) -> datetime:
    """An instant for a ``*_after``/``*_before`` filter: often exactly a known ticket
    time or a second either side of it, so inclusive/exclusive edges are exercised."""
    if known and draw(st.booleans()):
        base = draw(st.sampled_from(known))
        return base + timedelta(seconds=draw(st.sampled_from([-1, 0, 0, 1])))
    return draw(instants)


@st.composite
def list_queries(draw: st.DrawFn, created: list[datetime], due: list[datetime]) -> dict[str, Any]:
    """List parameters as Python values (lists, datetimes, bools): up to three of the
    contract's filters (more would rarely match anything), maybe a sort and a page size.
    ``created`` and ``due`` are the tickets' times, to put boundaries on them."""
    filters: dict[str, st.SearchStrategy[Any]] = {
        "status": st.lists(st.sampled_from(STATUSES), min_size=1, max_size=3, unique=True),
        "priority": st.lists(priorities, min_size=1, max_size=2, unique=True),
        "category": categories,
        "assigned_to": agents,
        "contact_id": contacts,
        "created_after": boundaries(created),
        "created_before": boundaries(created),
        "due_after": boundaries(due),
        "due_before": boundaries(due),
        "sla_breach": st.booleans(),
        "tags": st.lists(st.sampled_from(TAGS), min_size=1, max_size=2, unique=True),
        "search": search_texts(),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(filters)), max_size=3, unique=True))
    query = {name: draw(filters[name], label=name) for name in chosen}
    query.update(
        draw(
            _optional(
                sort_by=st.sampled_from(SORT_FIELDS), sort_order=st.sampled_from(["asc", "desc"])
            )
        )
    )
    # Small pages mostly, so that walking them crosses page boundaries.
    per_page = draw(
        st.one_of(st.none(), st.integers(1, 4), st.integers(1, 4), st.sampled_from([25, 100]))
    )
    if per_page is not None:
        query["per_page"] = per_page
    return query


def search_texts() -> st.SearchStrategy[str]:
    """Search text: one or two words or word prefixes in any case, sometimes wrapped in
    FTS syntax that must be searched as plain words."""
    prefix = st.sampled_from(WORDS).flatmap(lambda w: st.integers(1, len(w)).map(lambda n: w[:n]))
    term = st.one_of(prefix, st.sampled_from(["zebra", "print", "or", "near", "not", "and"]))
    cased = term.flatmap(_cased)
    wrap = st.sampled_from(["{}", '"{}"', "{}*", "({})", "-{}", "^{}", "{}:"])
    piece = st.tuples(cased, wrap).map(lambda p: p[1].format(p[0]))
    joiner = st.sampled_from([" ", " OR ", " NEAR ", " AND ", " NOT ", ", "])
    return st.lists(st.tuples(piece, joiner), min_size=1, max_size=2).map(
        lambda pairs: "".join(p + j for p, j in pairs[:-1]) + pairs[-1][0]
    )


def query_time(instant: datetime) -> st.SearchStrategy[Any]:
    """A list filter's instant as query-string text."""
    return spelled_time(instant, python_ok=False)


# -- business calendars (issue 3) ------------------------------------------------------

CALENDAR_ZONES = (
    "UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata",
    "Australia/Lord_Howe",  # a half-hour DST shift
)  # fmt: skip
DST_DAYS = (
    datetime(2025, 3, 9), datetime(2025, 3, 30), datetime(2025, 4, 6), datetime(2025, 10, 5),
    datetime(2025, 10, 26), datetime(2025, 11, 2), datetime(2025, 12, 24),
)  # fmt: skip
"""Days near clock changes (both hemispheres) and a holiday season, to start near."""


@st.composite
def day_spans(draw: st.DrawFn) -> str:
    """One day's working hours: up to three disjoint spans on whole quarter hours."""
    count = draw(st.integers(0, 3))
    marks = sorted(draw(st.sets(st.integers(0, 96), min_size=2 * count, max_size=2 * count)))

    def hhmm(quarter: int) -> str:
        return f"{quarter // 4:02d}:{quarter % 4 * 15:02d}"

    return ",".join(f"{hhmm(a)}-{hhmm(b)}" for a, b in zip(marks[::2], marks[1::2], strict=True))


@st.composite
def business_calendars(draw: st.DrawFn) -> dict[str, Any]:
    """Arguments for ``BusinessCalendar``: a zone, weekly hours, dated and ruled holidays."""
    week = {day: draw(day_spans()) for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    if not any(week.values()):
        week["wed"] = "09:00-17:00"
    holidays: list[str] = draw(
        st.lists(st.dates(date(2025, 1, 1), date(2025, 12, 31)).map(date.isoformat), max_size=4)
    )
    if draw(st.booleans()):
        month, day = draw(st.sampled_from([(12, 25), (1, 1), (10, 26), (3, 30), (11, 3)]))
        holidays.append(f"RRULE:FREQ=YEARLY;BYMONTH={month};BYMONTHDAY={day}")
    return {
        "timezone": draw(st.sampled_from(CALENDAR_ZONES)),
        "hours": {day: spans for day, spans in week.items() if spans},
        "holidays": holidays,
    }


@st.composite
def instants_near_clock_changes(draw: st.DrawFn) -> datetime:
    """A whole-minute UTC instant within a few days of a DST change or a holiday."""
    base = draw(st.sampled_from(DST_DAYS)).replace(tzinfo=UTC)
    return base + timedelta(minutes=draw(st.integers(-3 * 1440, 3 * 1440)))


# -- SLA policies on business calendars (issue 3, acceptance point 3) ------------------


def weekly_working_minutes(spec: dict[str, Any]) -> int:
    """The working minutes of one ordinary week of a ``business_calendars()`` spec."""
    total = 0
    for spans in spec["hours"].values():
        for span in spans.split(","):
            start, end = (int(h) * 60 + int(m) for h, m in (t.split(":") for t in span.split("-")))
            total += end - start
    return total


@st.composite
def business_sla_policies(draw: st.DrawFn) -> tuple[dict[str, Any], dict[int, tuple[int, int]]]:
    """A business calendar's arguments and whole-minute ``(response, resolution)`` targets
    for each priority: 30 to 600 working minutes, but never more than two ordinary weeks
    of the calendar's working time, so that every deadline lies within a few weeks and a
    minute-by-minute walk to it stays short."""
    spec = draw(business_calendars())
    cap = min(600, max(30, 2 * weekly_working_minutes(spec)))
    minutes = st.one_of(
        st.integers(30, cap), st.sampled_from([m for m in (30, 60, 90, 120, 240, 480) if m <= cap])
    )
    targets = {priority: (draw(minutes), draw(minutes)) for priority in (1, 2, 3, 4)}
    return spec, targets
