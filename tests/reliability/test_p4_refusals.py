"""Issue 13, point 4: every refusal is a 4xx from the error table, never a 500 or a
traceback. One test for each class of input that used to raise instead: integers beyond
SQLite's 64 bits, forged cursors, date-times near the years 1 and 9999 (metrics windows,
weekly buckets, a server's clock), and JSON nested deeper than a reader recurses. Each
goes through the wire (``engine.request``), the Python API or the command line, and must
be a 400 naming the parameter that changes nothing."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ayra_tickets import Engine, ManualClock, cli
from ayra_tickets.domain.errors import ValidationError, VersionMismatch
from ayra_tickets.domain.validation import validate_list
from tests.conftest import START, table_counts

HUGE = [2**63, 2**64, 10**30, -(2**63) - 1]
"""Integers SQLite cannot hold (it stores at most 2**63 - 1)."""


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Engine.open(":memory:", clock=ManualClock(START)) as opened:
        yield opened


@pytest.fixture
def key(engine: Engine) -> str:
    return engine.keys.create()


def send(engine: Engine, key: str, method: str, path: str, body: Any = None) -> Any:
    """The request's answer, which must be a 400 that changed nothing; its error."""
    before = table_counts(engine), engine.db.execute("SELECT * FROM tickets").fetchall()
    answer = engine.request(method, path, headers={"Authorization": f"Bearer {key}"}, json=body)
    assert answer.status == 400, answer.json
    assert (table_counts(engine), engine.db.execute("SELECT * FROM tickets").fetchall()) == before
    return answer.json["error"]


def refused(call: Any, param: str) -> None:
    """A Python call must raise the API's 400 naming ``param``."""
    with pytest.raises(ValidationError) as raised:
        call()
    assert raised.value.param == param, raised.value
    assert raised.value.status == 400


# -- integers beyond 64 bits ----------------------------------------------------------


def test_p4_an_integer_beyond_64_bits_in_any_field_or_parameter_is_a_400_naming_it(
    engine: Engine, key: str
) -> None:
    """Before, ``resolution_time`` reached SQLite: OverflowError, a 500."""
    ticket = engine.tickets.create(subject="Printer", description="On fire")
    for value in HUGE:
        for field in ("resolution_time", "customer_satisfaction"):
            error = send(engine, key, "PUT", f"/v1/tickets/{ticket.id}/close", {field: value})
            assert error["param"] == field
            refused(lambda: engine.tickets.close(ticket.id, **{field: value}), field)  # noqa: B023
            refused(lambda: engine.tickets.close(ticket.id, **{field: float(value)}), field)  # noqa: B023
        body = {"subject": "a", "description": "b", "priority": value}
        assert send(engine, key, "POST", "/v1/tickets", body)["param"] == "priority"
        error = send(engine, key, "PUT", f"/v1/tickets/{ticket.id}", {"priority": value})
        assert error["param"] == "priority"
        for name in ("page", "per_page", "priority"):
            assert send(engine, key, "GET", f"/v1/tickets?{name}={value}")["param"] == name
            refused(lambda: engine.tickets.list(**{name: value}), name)  # noqa: B023
        refused(
            lambda: engine.tickets.update(ticket.id, expected_version=-abs(value)),  # noqa: B023
            "expected_version",
        )
        with pytest.raises(VersionMismatch):  # a version no ticket reaches: 412, not a crash
            engine.tickets.update(ticket.id, subject="x", expected_version=abs(value))
    assert engine.tickets.get(ticket.id).status == "new"


def test_p4_resolution_time_is_bounded_at_ten_million_minutes(engine: Engine) -> None:
    ticket = engine.tickets.create(subject="Printer", description="On fire")
    refused(lambda: engine.tickets.close(ticket.id, resolution_time=10_000_001), "resolution_time")
    closed = engine.tickets.close(ticket.id, resolution_time=10_000_000)
    assert closed.resolution_time == 10_000_000


# -- forged cursors -------------------------------------------------------------------


def forged(*items: Any, raw: bytes | None = None) -> str:
    text = raw if raw is not None else json.dumps(list(items)).encode("utf-8")
    return base64.urlsafe_b64encode(text).rstrip(b"=").decode("ascii")


@pytest.mark.parametrize("sort_by", ["created_at", "updated_at", "due_date", "priority"])
def test_p4_a_forged_cursor_holding_huge_numbers_or_the_wrong_shape_is_a_400_naming_it(
    engine: Engine, key: str, sort_by: str
) -> None:
    for n in range(3):
        engine.tickets.create(subject=f"Ticket {n}", description="For paging", priority=2)
    digest = validate_list({"sort_by": sort_by}).fingerprint()
    cursors = [
        *(forged(1, "2025-01-15T09:00:00Z", number, digest) for number in HUGE),
        *(forged(1, number, 1, digest) for number in HUGE),
        forged(1, None, 2**64, digest),
        forged(1, "2025-01-15T09:00:00Z", 0, digest),  # numbers start at 1
        forged(True, 2, 1, digest),  # version true is not version 1
        forged(1, 2, 1, digest, "extra"),
        forged(raw=b"\xff\xfe\xfd"),  # not UTF-8
        forged(raw=b"[" * 300 + b"]" * 300),
        forged(raw=b"[1, " + b"9" * 300 + b", 1, " + json.dumps(digest).encode() + b"]"),
        "A" * 513,  # longer than any cursor the API gives out
    ]
    for cursor in cursors:
        error = send(engine, key, "GET", f"/v1/tickets?sort_by={sort_by}&cursor={cursor}")
        assert error["param"] == "cursor", (cursor, error)
        refused(lambda cursor=cursor: engine.tickets.list(sort_by=sort_by, cursor=cursor), "cursor")  # type: ignore[misc]


def test_p4_a_cursor_whose_sort_value_is_of_another_kind_is_refused(
    engine: Engine, key: str
) -> None:
    by_priority = validate_list({"sort_by": "priority"}).fingerprint()
    by_time = validate_list({}).fingerprint()
    for cursor, sort_by in [
        (forged(1, "2025-01-15T09:00:00Z", 1, by_priority), "priority"),
        (forged(1, 2, 1, by_time), "created_at"),
        (forged(1, None, 1, by_time), "created_at"),
    ]:
        error = send(engine, key, "GET", f"/v1/tickets?sort_by={sort_by}&cursor={cursor}")
        assert error["param"] == "cursor"


# -- dates near the years 1 and 9999 --------------------------------------------------

EDGE_DATES = [
    "9999-12-31T23:59:59Z",
    "9999-12-31T00:00:00Z",
    "9999-01-01T00:00:00+05:00",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+05:00",
    "1969-12-31T23:59:59Z",
]


def test_p4_a_metrics_window_or_week_at_the_edges_of_time_is_a_400_naming_its_end(
    engine: Engine, key: str
) -> None:
    """Before, a window ending in 9999 (days or weeks) was an OverflowError, a 500."""
    engine.tickets.create(subject="Printer", description="On fire")
    for moment in EDGE_DATES:
        for interval in ("day", "week"):
            for start, end, param in [
                (moment, "2025-01-16T00:00:00Z", "start"),
                ("2025-01-15T00:00:00Z", moment, "end"),
            ]:
                path = f"/v1/tickets/metrics?start={start}&end={end}&interval={interval}"
                error = send(engine, key, "GET", path.replace("+", "%2B"))
                assert error["param"] == param, (path, error)
                refused(lambda: engine.metrics(start, end, interval=interval), param)  # noqa: B023
        refused(lambda: engine.metrics.backlog(moment), "at")  # noqa: B023
    # The first and last weeks of the years taken have their figures.
    for interval in ("day", "week"):
        late = engine.metrics("9998-12-25T00:00:00Z", "9998-12-31T23:59:59Z", interval=interval)
        assert late.volume[-1].start < datetime(9999, 1, 1, tzinfo=UTC)
        early = engine.metrics("1970-01-01T00:00:00Z", "1970-01-20T00:00:00Z", interval=interval)
        assert early.volume[0].start <= datetime(1970, 1, 1, tzinfo=UTC)
    assert engine.metrics.backlog("9998-12-31T23:59:59Z") == {"new": {3: 1}}


def test_p4_a_date_outside_the_years_taken_is_a_400_naming_it_wherever_it_is_given(
    engine: Engine, key: str
) -> None:
    ticket = engine.tickets.create(subject="Printer", description="On fire")
    for moment in [*EDGE_DATES, datetime.max, datetime.min]:
        for name in ("created_after", "created_before", "due_after", "due_before"):
            refused(lambda: engine.tickets.list(**{name: moment}), name)  # noqa: B023
        refused(
            lambda: engine.tickets.create(subject="a", description="b", due_date=moment),  # noqa: B023
            "due_date",
        )
        refused(lambda: engine.tickets.update(ticket.id, due_date=moment), "due_date")  # noqa: B023
        if isinstance(moment, str):
            text = moment.replace("+", "%2B")
            assert send(engine, key, "GET", f"/v1/tickets?due_after={text}")["param"] == "due_after"
            body = {"subject": "a", "description": "b", "due_date": moment}
            assert send(engine, key, "POST", "/v1/tickets", body)["param"] == "due_date"


# -- deeply nested JSON ---------------------------------------------------------------


def nested(depth: int) -> dict[str, Any]:
    """An object ``depth`` levels deep (``{}`` is one level)."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_p4_custom_fields_nested_deeper_than_twenty_levels_is_a_400_naming_them(
    engine: Engine, key: str
) -> None:
    ticket = engine.tickets.create(subject="Printer", description="On fire")
    for depth in (21, 500, 5_000):
        for name in ("custom_fields", "metadata"):
            fields = {"subject": "a", "description": "b", name: nested(depth)}
            refused(functools.partial(engine.tickets.create, **fields), name)
        refused(
            lambda: engine.tickets.update(ticket.id, custom_fields=nested(depth)),  # noqa: B023
            "custom_fields",
        )
        if depth < 900:  # deeper is no JSON Python writes: the wire's own invalid_json
            body = {"subject": "a", "description": "b", "custom_fields": nested(depth)}
            assert send(engine, key, "POST", "/v1/tickets", body)["param"] == "custom_fields"
    assert engine.tickets.create(subject="a", description="b", custom_fields=nested(20))


def test_p4_deeply_nested_json_on_the_command_line_is_the_apis_400_not_a_traceback(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    db = str(tmp_path / "tickets.db")
    deep = "[" * 100_000 + "]" * 100_000
    for option in ("--custom-field", "--metadata"):
        result = runner.invoke(
            cli.main,
            ["--db", db, "create", "--subject", "a", "--description", "b", option, f"k={deep}"],
        )
        assert result.exit_code == 1, (result.output, result.exception)
        assert not isinstance(result.exception, RecursionError)
        error = json.loads(result.stderr)["error"]
        assert error["code"] == "parameter_invalid"
        assert (
            error["param"] == {"--custom-field": "custom_fields", "--metadata": "metadata"}[option]
        )
    source = tmp_path / "deep.jsonl"
    source.write_text('{"subject": "a", "description": "b", "custom_fields": ' + deep + "}\n")
    result = runner.invoke(cli.main, ["--db", db, "import", str(source)])
    assert result.exit_code == 1, (result.output, result.exception)
    assert json.loads(result.stdout)["rejected"][0]["error"]["code"] == "invalid_json"


def test_p4_a_close_on_the_command_line_with_a_huge_integer_is_the_apis_400(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    db = str(tmp_path / "tickets.db")
    created = runner.invoke(
        cli.main, ["--db", db, "create", "--subject", "a", "--description", "b"]
    )
    ticket = json.loads(created.stdout)["id"]
    result = runner.invoke(cli.main, ["--db", db, "close", ticket, "--resolution-time", str(2**64)])
    assert result.exit_code == 1, (result.output, result.exception)
    assert json.loads(result.stderr)["error"]["param"] == "resolution_time"


# -- a server's clock -----------------------------------------------------------------


class FakeServer:
    """Stands in for the HTTP server: ``run`` sends one create through the wire and
    records the answer's status, then returns (``serve`` then exits)."""

    answers: list[int] = []

    def __init__(self, engine: Engine, **options: Any) -> None:
        self.engine = engine
        self.url = "http://127.0.0.1:0"

    def run(self) -> None:
        secret = self.engine.keys.create()
        body = {"subject": "a", "description": "b", "priority": 4}
        answer = self.engine.request(
            "POST", "/v1/tickets", headers={"Authorization": f"Bearer {secret}"}, json=body
        )
        self.answers.append(answer.status)


def serve(monkeypatch: pytest.MonkeyPatch, start: str) -> tuple[Any, list[int]]:
    monkeypatch.setattr("ayra_tickets.server.LocalServer", FakeServer)
    monkeypatch.setattr(FakeServer, "answers", [])
    result = CliRunner().invoke(
        cli.main, ["--db", ":memory:", "serve", "--port", "0", "--control", "--start", start]
    )
    return result, FakeServer.answers


def test_p4_serve_refuses_a_clock_start_that_leaves_no_room_for_deadlines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before, the server started and its first create was a 500 (OverflowError)."""
    for start in ("9999-12-31T23:00:00Z", "9500-01-01T00:00:00", "0001-01-01T00:00:00"):
        result, answers = serve(monkeypatch, start)
        assert result.exit_code == 2, (result.output, result.exception, answers)
        assert "--start" in result.output
        assert answers == []
    result, answers = serve(monkeypatch, "8999-12-31T00:00:00Z")
    assert result.exit_code == 0, (result.output, result.exception)
    assert answers == [201]
