"""Issue 13, point 4: the OpenAPI document states every bound the validator enforces,
and the validator enforces every bound the document states.

Every bounded field and parameter is read from the shipped document (its ``maximum``,
``minimum``, ``maxLength``, ``minLength``, ``maxItems``, ``pattern``, ``enum``,
``propertyNames`` and the ``x-maxDepth`` and ``x-maxJsonBytes`` extensions): a value just
inside each bound must be accepted (any answer but a 400) and one just outside must be a
400 naming that parameter. Then Hypothesis draws values the document calls valid, for
every field, and none may be refused: a bound the validator keeps and the document does
not state fails here, as one the document states and the validator does not.

The table below says only how to send a value for each place (body, query, header);
the bounds all come from the document."""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import attrs
import pytest
from dateutil.parser import isoparse
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from ayra_tickets import Engine, ManualClock, Response
from ayra_tickets.domain.validation import validate_list
from ayra_tickets.wire import openapi_document
from tests.conftest import START

DOCUMENT = openapi_document()
MISSING = "ticket_00000000000000000000"
"""No ticket has this id: an update or close that passes validation answers 404."""
WINDOW = ("2025-01-01T00:00:00Z", "2025-01-08T00:00:00Z")
"""A metrics window for the parameters other than its own ends."""
BOUND_KEYWORDS = (
    "maximum", "minimum", "maxLength", "minLength", "maxItems", "pattern", "enum",
    "propertyNames", "x-maxDepth", "x-maxJsonBytes",
)  # fmt: skip


@attrs.frozen
class Place:
    """Where a field or parameter goes: ``operation`` (create, update, close, list,
    metrics), ``kind`` (body, query, header), its name and its schema."""

    operation: str
    kind: str
    name: str
    schema: dict[str, Any] = attrs.field(eq=False, repr=False)

    def __str__(self) -> str:
        return f"{self.operation}.{self.name}"

    def refuses(self, answer: Response) -> bool:
        """Whether ``answer`` refuses this place's value: a 400 naming it. Any other 400
        is a fault of the test's request, except the other end of a metrics window (a
        day from this one, it may fall outside the years taken)."""
        assert answer.status < 500, answer.json
        if answer.status != 400:
            return False
        param = answer.json["error"].get("param")
        if self.operation == "metrics" and param in ("start", "end") and param != self.name:
            return False
        assert param == self.name, answer.json
        return True

    def send(self, engine: Engine, key: str, value: Any, ticket: str = MISSING) -> Response:
        """Send ``value`` here; an update or close goes to ``ticket``."""
        headers = {"Authorization": f"Bearer {key}"}
        if self.kind == "header":
            headers[self.name] = value
            if self.operation == "create":
                body = {"subject": "Printer", "description": "On fire"}
                return engine.request("POST", "/v1/tickets", headers=headers, json=body)
            path = f"/v1/tickets/{ticket}" + ("/close" if self.operation == "close" else "")
            return engine.request("PUT", path, headers=headers, json={})
        if self.kind == "body":
            if self.operation == "create":
                body = {"subject": "Printer", "description": "On fire", self.name: value}
                return engine.request("POST", "/v1/tickets", headers=headers, json=body)
            path = f"/v1/tickets/{ticket}" + ("/close" if self.operation == "close" else "")
            return engine.request("PUT", path, headers=headers, json={self.name: value})
        query = {self.name: value}
        path = "/v1/tickets"
        if self.operation == "metrics":
            path = "/v1/tickets/metrics"
            query = {**_window_around(self.name, value), **query}
        text = "&".join(f"{name}={quote(_query_text(v), safe='')}" for name, v in query.items())
        return engine.request("GET", f"{path}?{text}", headers=headers)


def _query_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _window_around(name: str, value: Any) -> dict[str, str]:
    """The other end of a metrics window, a day from ``value`` (a parameter's own check
    must not be hidden by the window's rule that end comes after start)."""
    if name not in ("start", "end"):
        return dict(zip(("start", "end"), WINDOW, strict=True))
    other = "end" if name == "start" else "start"
    try:
        moment = isoparse(value).astimezone(UTC) + timedelta(days=1 if name == "start" else -1)
    except (ValueError, OverflowError, TypeError):
        return {other: WINDOW[0] if other == "start" else WINDOW[1]}
    first, last = _year_edges(place_schema("metrics", other)["pattern"])
    earliest = datetime(first, 1, 1, tzinfo=UTC)
    latest = datetime(last, 12, 31, 23, 59, 59, tzinfo=UTC)
    return {other: min(max(moment, earliest), latest).isoformat().replace("+00:00", "Z")}


def _window_possible(place: Place, value: Any) -> bool:
    """Whether a metrics window can hold ``value`` at this end: an end at the first
    instant of the years taken has no start before it, a start at the last no end after
    it (refusing those is the window's rule that end comes after start)."""
    if place.operation != "metrics" or place.name not in ("start", "end"):
        return True
    window = _window_around(place.name, value)
    other = "end" if place.name == "start" else "start"
    try:
        # to the second, as the engine takes a date-time (a microsecond past the first
        # instant is that instant)
        moment = isoparse(value).astimezone(UTC).replace(microsecond=0)
        bound = isoparse(window[other])
    except (ValueError, OverflowError, TypeError):
        return True
    return moment < bound if place.name == "start" else bound < moment


def place_schema(operation: str, name: str) -> dict[str, Any]:
    return next(p.schema for p in PLACES if (p.operation, p.name) == (operation, name))


def _places() -> list[Place]:
    found = []
    bodies = {"create": "CreateTicket", "update": "UpdateTicket", "close": "CloseTicket"}
    for operation, schema_name in bodies.items():
        for name, schema in DOCUMENT["components"]["schemas"][schema_name]["properties"].items():
            found.append(Place(operation, "body", name, schema))
    operations = {
        ("/v1/tickets", "post"): "create",
        ("/v1/tickets", "get"): "list",
        ("/v1/tickets/metrics", "get"): "metrics",
        ("/v1/tickets/{id}", "put"): "update",
        ("/v1/tickets/{id}/close", "put"): "close",
    }
    for (path, method), operation in operations.items():
        for parameter in DOCUMENT["paths"][path][method].get("parameters", []):
            kind = parameter["in"]
            found.append(Place(operation, kind, parameter["name"], parameter["schema"]))
    return found


PLACES = _places()


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(_ecma(schema), format_checker=Draft202012Validator.FORMAT_CHECKER)


@functools.cache
def _place_validator(place: Place) -> Draft202012Validator:
    return _validator(place.schema)


def _ecma(schema: Any) -> Any:
    """The schema with each pattern's closing ``$`` read as JSON Schema reads it (the end
    of the text, ECMA-262), not as Python's ``re`` does (also before a final newline)."""
    if isinstance(schema, dict):
        return {
            key: re.sub(r"\$$", r"\\Z", value) if key == "pattern" else _ecma(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_ecma(item) for item in schema]
    return schema


def documented(place: Place, value: Any) -> bool:
    """Whether the document calls ``value`` valid for ``place`` (with its extensions)."""
    if not _place_validator(place).is_valid(value):
        return False
    if isinstance(value, dict):
        depth = place.schema.get("x-maxDepth")
        size = place.schema.get("x-maxJsonBytes")
        if depth is not None and _depth(value) > depth:
            return False
        if size is not None and len(_compact(value)) > size:
            return False
    return True


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def _compact(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def _sized(size: int) -> dict[str, Any]:
    """An object of exactly ``size`` bytes as compact JSON."""
    return {"k": "a" * (size - len(_compact({"k": ""})))}


def _text(place: Place, length: int) -> str:
    """A string of ``length`` characters that the place's pattern allows (a cursor: a
    real one, of the first length from ``length`` on that base64 can spell)."""
    if place.name == "cursor":
        return _cursor(length) if length else ""
    if place.name == "tags" and place.kind == "query":  # tags of 64 characters, by commas
        return ",".join(f"{n:02d}".ljust(64, "t") for n in range(length // 64 + 1))[:length]
    return "a" * length


def _cursor(length: int) -> str:
    """A cursor for the first page of the default list, its JSON padded with spaces."""
    raw = json.dumps([1, "2025-01-15T09:00:00Z", 1, validate_list({}).fingerprint()])
    text = encode_raw(raw)
    while len(text) < length:
        raw += " "
        text = encode_raw(raw)
    return text


def encode_raw(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode("utf-8")).rstrip(b"=").decode("ascii")


@functools.cache
def _year_edges(pattern: str) -> tuple[int, int]:
    """The first and last year whose date-times a date pattern allows."""
    years = [y for y in range(1, 10_000) if re.search(pattern, f"{y:04d}-06-15T12:00:00Z")]
    assert years == list(range(years[0], years[-1] + 1)), "a date pattern allows one span"
    return years[0], years[-1]


def _date(year: int, late: bool) -> str:
    return f"{year:04d}-12-31T12:00:00Z" if late else f"{year:04d}-01-01T12:00:00Z"


PATTERN_POOL = [
    "", " ", "  ", "a\x00b", "\x00", "a\nb", "a\tb", "\x1f", "\x7f", "\x85", " a", "a ",
    "a,b", ",a", "a,", "a,,b", "\u3000", "\ufeff", "0", "5", "1,5", "1,2", "0,1", "xyz",
    "new,open", "new,", "open,shut", '"v0"', '"v1"', '"v01"', "v1", "*", "**", "a b",
    "\x21" * 256, "k y", "\u2028",
]  # fmt: skip
"""Strings tried against every pattern: each one the document refuses must be refused."""


@attrs.frozen
class Case:
    place: Place
    keyword: str
    value: Any
    inside: bool

    def __str__(self) -> str:
        side = "inside" if self.inside else "outside"
        return f"{self.place}-{self.keyword}-{side}-{_short(self.value)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:20] + f"..{len(text)}"


def _cases(place: Place) -> Iterator[Case]:
    schema = place.schema
    if "maximum" in schema:
        yield Case(place, "maximum", schema["maximum"], True)
        yield Case(place, "maximum", schema["maximum"] + 1, False)
    if "minimum" in schema:
        yield Case(place, "minimum", schema["minimum"], True)
        yield Case(place, "minimum", schema["minimum"] - 1, False)
    if "maxLength" in schema:
        yield Case(place, "maxLength", _text(place, schema["maxLength"]), True)
        yield Case(place, "maxLength", _text(place, schema["maxLength"] + 1), False)
    if schema.get("minLength", 0) > 0:
        yield Case(place, "minLength", _text(place, schema["minLength"]), True)
        yield Case(place, "minLength", _text(place, schema["minLength"] - 1), False)
    if "maxItems" in schema:
        items = [f"tag{i}" for i in range(schema["maxItems"] + 1)]
        yield Case(place, "maxItems", items[:-1], True)
        yield Case(place, "maxItems", items, False)
    if "enum" in schema:
        for value in schema["enum"]:
            if value is not None:
                yield Case(place, "enum", value, True)
                yield Case(place, "enum", f"{value}x", False)
    if "pattern" in schema and schema.get("format") == "date-time":
        first, last = _year_edges(schema["pattern"])
        yield Case(place, "pattern", _date(first, late=False), True)
        yield Case(place, "pattern", _date(last, late=True), True)
        yield Case(place, "pattern", _date(first - 1, late=True), False)
        yield Case(place, "pattern", _date(last + 1, late=False), False)
    elif "pattern" in schema:
        for value in PATTERN_POOL:
            if not _validator({"pattern": schema["pattern"]}).is_valid(value):
                yield Case(place, "pattern", value, False)
    if "propertyNames" in schema:
        names = _validator(schema["propertyNames"])
        yield Case(place, "propertyNames", {"a": 1}, True)
        for value in PATTERN_POOL:
            if not names.is_valid(value):
                yield Case(place, "propertyNames", {value: 1}, False)
    if "x-maxDepth" in schema:
        yield Case(place, "x-maxDepth", _nested(schema["x-maxDepth"]), True)
        yield Case(place, "x-maxDepth", _nested(schema["x-maxDepth"] + 1), False)
    if "x-maxJsonBytes" in schema:
        yield Case(place, "x-maxJsonBytes", _sized(schema["x-maxJsonBytes"]), True)
        yield Case(place, "x-maxJsonBytes", _sized(schema["x-maxJsonBytes"] + 1), False)


CASES = [case for place in PLACES for case in _cases(place)]


@pytest.fixture(scope="module")
def wire() -> Iterator[tuple[Engine, str]]:
    with Engine.open(":memory:", clock=ManualClock(START)) as engine:
        yield engine, engine.keys.create()


def test_p4_the_document_bounds_every_integer_and_every_text_it_takes() -> None:
    """An integer with no maximum or a free text with no maxLength is a bound the document
    leaves unsaid: SQLite holds 64 bits, and the validator refuses long text."""
    unbounded = []
    for place in PLACES:
        types = place.schema.get("type", [])
        types = [types] if isinstance(types, str) else types
        if "integer" in types and not {"minimum", "maximum"} <= set(place.schema):
            unbounded.append(str(place))
        free = not {"format", "enum", "maxLength", "pattern"} & set(place.schema)
        if "string" in types and free:
            unbounded.append(str(place))
    assert unbounded == [], f"no bound stated for: {', '.join(unbounded)}"
    keywords = {case.keyword for case in CASES}
    assert keywords == set(BOUND_KEYWORDS), set(BOUND_KEYWORDS) - keywords


@pytest.mark.parametrize("case", CASES, ids=str)
def test_p4_a_value_just_inside_a_documented_bound_is_taken_and_one_just_outside_is_a_400_naming_it(
    wire: tuple[Engine, str], case: Case
) -> None:
    engine, key = wire
    assert documented(case.place, case.value) == case.inside, "the case is not as the document says"
    answer = case.place.send(engine, key, case.value)
    assert case.place.refuses(answer) != case.inside, answer.json


# -- values the document calls valid are never refused --------------------------------

_TEXT = st.characters(exclude_categories=["Cs"])  # JSON text is Unicode: no lone surrogates
_ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=45)), timezone(-timedelta(hours=11))]
)


def _values(place: Place) -> st.SearchStrategy[Any]:
    """Values for ``place``, many the document allows, near its bounds and beyond."""
    schema = place.schema
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if schema.get("format") == "date-time":
        moments = st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30), timezones=_ZONES)
        return moments.map(lambda m: m.isoformat().replace("+00:00", "Z"))
    if "integer" in types:  # beyond 64 bits too, where the document sets no bound
        low, high = schema.get("minimum", -(2**70)), schema.get("maximum", 2**70)
        return st.integers(low, high) | st.sampled_from([low, high])
    if "array" in types:
        items = _values(attrs.evolve(place, schema=schema["items"]))
        return st.lists(items, max_size=schema.get("maxItems", 10) + 1)
    if "object" in types:
        keys = st.text(_TEXT, min_size=1, max_size=8)
        leaves = st.none() | st.booleans() | st.integers() | st.text(_TEXT, max_size=8)
        tree = st.recursive(leaves, lambda inner: st.lists(inner, max_size=2) | st.dictionaries(keys, inner, max_size=2), max_leaves=8)  # fmt: skip
        return st.dictionaries(keys, tree, max_size=4)
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], alphabet=_TEXT, fullmatch=True)
    return st.text(_TEXT, max_size=schema.get("maxLength", 20))


@pytest.mark.parametrize("place", [p for p in PLACES if p.name != "cursor"], ids=str)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.filter_too_much],
)  # fmt: skip
@given(data=st.data())
def test_p4_a_value_the_document_calls_valid_is_never_refused_as_bad_input(
    wire: tuple[Engine, str], place: Place, data: st.DataObject
) -> None:
    """(Not ``cursor``: only a page's ``next_cursor`` is one, as the document says.)"""
    engine, key = wire
    value = data.draw(_values(place).filter(functools.partial(documented, place)), label="value")
    assume(_window_possible(place, value))
    ticket = engine.tickets.create(subject="Printer", description="On fire").id  # its own
    assert not place.refuses(place.send(engine, key, value, ticket))
