"""Metrics.to_pandas: one DataFrame a table, holding exactly what to_dicts() holds, and a
clear ImportError naming the extra when pandas is not installed. No database: the
figures are written out by hand, gaps (no tickets to measure, None labels) included."""

from __future__ import annotations

import math
import sys
from datetime import UTC, datetime
from typing import Any

import pandas
import pytest

from ayra_tickets.domain.metrics import (
    SCORES,
    AgentRow,
    Bucket,
    Compliance,
    Durations,
    Metrics,
    Satisfaction,
)

MONDAY = datetime(2025, 1, 6, tzinfo=UTC)
TUESDAY = datetime(2025, 1, 7, tzinfo=UTC)


def scores(count: int, mean: float | None, **given: int) -> Satisfaction:
    spread = {score: given.get(f"s{score}", 0) for score in SCORES}
    return Satisfaction(count, mean, spread)


def two_days() -> Metrics:
    """Two days of figures with every kind of gap: nothing resolved in business time, a
    priority with nothing decided, an unassigned agent, tickets with no root cause."""
    return Metrics(
        start=MONDAY, end=datetime(2025, 1, 8, tzinfo=UTC), interval="day",
        volume=[Bucket(MONDAY, 5, 2, 1), Bucket(TUESDAY, 3, 4, 4)],
        first_response=Durations(8, 2812.5, 2400, 6000),
        resolution=Durations(6, 10800.0, 9000, 21600),
        first_response_business=Durations(8, 2700.0, 2400, 5400),
        resolution_business=Durations(0, None, None, None),
        sla={1: Compliance(1, 1, 0, 1), 3: Compliance(0, 0, 0, 0)},
        csat=scores(5, 7.6, s9=2, s8=1, s6=2),
        csat_by_agent={"user_jane_smith": scores(3, 8.0, s9=1, s8=1, s6=1), None: scores(2, 7.0, s9=1, s6=1)},
        csat_by_root_cause={"billing_error": scores(4, 7.75, s9=2, s6=1, s8=1), None: scores(1, 6.0, s6=1)},
        csat_by_category={"billing": scores(5, 7.6, s9=2, s8=1, s6=2)},
        reopen_rate=0.2,
        root_causes={"billing_error": 4, None: 1},
        time_in_status={"new": 7200, "in_progress": 36000, "resolved": 600},
        agents=[
            AgentRow("user_jane_smith", 5, 4, 2400, 9000, 8.0, 1),
            AgentRow(None, 3, 2, None, None, None, 0),
        ],
    )  # fmt: skip


def held(frame: Any) -> list[tuple[Any, dict[str, Any]]]:
    """A frame's rows as plain Python: (label, {column: value}), NaN read as None."""

    def plain(value: Any) -> Any:
        if isinstance(value, pandas.Timestamp):
            return value.to_pydatetime()
        if isinstance(value, float) and math.isnan(value):
            return None
        return value

    return [
        (plain(label), {column: plain(value) for column, value in row.items()})
        for label, row in zip(frame.index, frame.to_dict("records"), strict=True)
    ]


def expected(figures: dict[str, Any]) -> dict[str, list[tuple[Any, dict[str, Any]]]]:
    """The same rows, read from to_dicts()."""

    def flat(satisfaction: dict[str, Any]) -> dict[str, Any]:
        return {"count": satisfaction["count"], "mean": satisfaction["mean"]} | satisfaction[
            "distribution"
        ]

    def without(row: dict[str, Any], key: str) -> dict[str, Any]:
        return {k: v for k, v in row.items() if k != key}

    measures = ("first_response", "resolution", "first_response_business", "resolution_business")
    return {
        "volume": [
            (datetime.fromisoformat(b["start"]), without(b, "start")) for b in figures["volume"]
        ],
        "durations": [(measure, figures[measure]) for measure in measures],
        "sla": [(int(p), c) for p, c in figures["sla"].items()],
        "csat": [("all", flat(figures["csat"]))],
        **{
            by: [(label, flat(s)) for label, s in figures[by].items()]
            for by in ("csat_by_agent", "csat_by_root_cause", "csat_by_category")
        },
        "root_causes": [(cause, {"tickets": n}) for cause, n in figures["root_causes"].items()],
        "time_in_status": [(s, {"seconds": n}) for s, n in figures["time_in_status"].items()],
        "agents": [(row["agent"], without(row, "agent")) for row in figures["agents"]],
    }


def test_every_frame_holds_exactly_what_to_dicts_holds() -> None:
    metrics = two_days()
    frames = metrics.to_pandas()
    assert {name: held(frame) for name, frame in frames.items()} == expected(metrics.to_dicts())


def test_frames_are_indexed_by_what_their_rows_are_about() -> None:
    frames = two_days().to_pandas()
    assert {name: frame.index.name for name, frame in frames.items()} == {
        "volume": "start", "durations": "measure", "sla": "priority", "csat": None,
        "csat_by_agent": "agent", "csat_by_root_cause": "root_cause",
        "csat_by_category": "category", "root_causes": "root_cause",
        "time_in_status": "status", "agents": "agent",
    }  # fmt: skip
    volume = frames["volume"]
    assert str(volume.index.dtype) == "datetime64[ns, UTC]"
    assert volume.loc[pandas.Timestamp("2025-01-07", tz="UTC"), "closed"] == 4
    assert frames["sla"].loc[1, "response_rate"] == 0.5
    assert math.isnan(frames["sla"].loc[3, "response_rate"])  # nothing decided
    assert frames["agents"].loc[None, "assigned"] == 3  # the unassigned keep their None
    assert list(frames["csat"].columns) == ["count", "mean", *(str(s) for s in SCORES)]


def test_counts_stay_integers_and_missing_figures_are_nan() -> None:
    frames = two_days().to_pandas()
    assert set(frames["volume"].dtypes.astype(str)) == {"int64"}
    assert dict(frames["durations"].dtypes.astype(str)) == {
        "count": "int64", "mean": "float64", "median": "float64", "p90": "float64"
    }  # fmt: skip
    assert frames["durations"].loc["resolution_business"].isna().tolist() == [
        False, True, True, True
    ]  # fmt: skip
    assert frames["agents"]["breaches"].dtype == "int64"


def test_an_empty_window_gives_empty_frames_with_their_columns() -> None:
    nothing = Durations(0, None, None, None)
    metrics = Metrics(
        MONDAY, MONDAY, "day", [], nothing, nothing, nothing, nothing, {},
        Satisfaction(0, None, {score: 0 for score in SCORES}), {}, {}, {}, None, {}, {}, [],
    )  # fmt: skip
    frames = metrics.to_pandas()
    assert frames["volume"].empty
    assert list(frames["volume"].columns) == ["created", "resolved", "closed"]
    assert list(frames["agents"].columns)[:2] == ["assigned", "resolved"]
    assert frames["csat"].loc["all", "count"] == 0


def test_without_pandas_to_pandas_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    metrics = two_days()
    extra = r"to_pandas\(\) needs the \[pandas\] extra: .* -m pip install .*\[pandas\]"
    with pytest.raises(ImportError, match=extra):
        metrics.to_pandas()
    assert metrics.to_dicts()["volume"][0]["created"] == 5  # the rest needs no pandas


def test_the_repr_and_the_notebook_view_are_short_summaries() -> None:
    figures = two_days()
    assert repr(figures) == (
        "<Metrics"
        "\n  window: 2025-01-06T00:00:00Z to 2025-01-08T00:00:00Z by day"
        "\n  created / resolved / closed: 8 / 6 / 5"
        "\n  first response (median, p90): 0.7 h, 1.7 h (8)"
        "\n  resolution (median, p90): 2.5 h, 6.0 h (6)"
        "\n  CSAT: 7.60 of 5"
        "\n  reopen rate: 20.0%"
        "\n  agents: 2>"
    )
    page = figures._repr_html_()
    assert page.startswith("<table>")
    assert page.count("<tr>") == 7
    assert "<th style='text-align:left'>created / resolved / closed</th><td>8 / 6 / 5</td>" in page
