"""Issue 14, point 8: ``ayra-tickets import`` and ``POST /_local/seed`` read files as
people write them. Blank lines (a final newline, a gap between blocks, Windows line
endings) are skipped, not refused and not counted; errors name the line of the file;
both report in one form, with numbers as ``TICK-N``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from ayra_tickets import Engine, ManualClock
from ayra_tickets.cli import main
from ayra_tickets.lines import JsonLines, NotJson
from ayra_tickets.local import control
from tests.conftest import START

LOCAL = {"Host": "127.0.0.1"}


def body(n: int, **extra: Any) -> str:
    return json.dumps({"subject": f"Ticket {n}", "description": "From a file", **extra})


# A file as an editor leaves it: a blank line between two blocks, a line of spaces,
# Windows line endings in the second block, and blank lines at the end.
AS_WRITTEN = f"{body(1)}\n{body(2)}\n\n{body(3)}\r\n   \r\n{body(4)}\r\n\n\n"


def imported(db: Path, text: str, *args: str) -> tuple[int, dict[str, Any], str]:
    source = db.parent / "tickets.jsonl"
    source.write_bytes(text.encode("utf-8"))
    result = CliRunner().invoke(main, ["--db", str(db), "import", *args, str(source)])
    return result.exit_code, json.loads(result.stdout), result.stderr


def seeded(db: Path, text: str) -> tuple[int, dict[str, Any]]:
    with Engine.open(db, clock=ManualClock(START)) as engine:
        answer = control(engine, "POST", "/_local/seed", LOCAL, text.encode("utf-8"))
    return answer.status, answer.json


def subjects(db: Path) -> list[str]:
    with Engine.open(db, clock=ManualClock(START)) as engine:
        return [t.subject for t in engine.tickets.list(sort_order="asc", per_page=100)]


def test_blank_lines_and_a_final_newline_are_skipped_by_import_not_refused(
    tmp_path: Path,
) -> None:
    code, report, stderr = imported(tmp_path / "t.db", AS_WRITTEN)
    assert code == 0, (report, stderr)
    assert report["imported"] == 4
    assert report["rejected"] == []
    assert (report["first_number"], report["last_number"]) == ("TICK-1", "TICK-4")
    assert subjects(tmp_path / "t.db") == [f"Ticket {n}" for n in range(1, 5)]


def test_the_seed_skips_the_same_blank_lines_and_reports_the_same_numbers(
    tmp_path: Path,
) -> None:
    status, answer = seeded(tmp_path / "s.db", AS_WRITTEN)
    assert status == 200, answer
    assert answer["data"]["imported"] == 4
    assert answer["data"]["rejected"] == []
    assert (answer["data"]["first_number"], answer["data"]["last_number"]) == ("TICK-1", "TICK-4")


def test_import_and_seed_report_one_file_in_one_form(tmp_path: Path) -> None:
    text = (
        f"{body(1)}\n"
        "\n"
        f'{{"subject": "No description"}}\n'  # line 3: refused by validation
        f"{body(4, priority=9)}\n"  # line 4: refused by validation
        "\n"
        f"{body(6)}\n"
        "\n"
    )
    code, report, _ = imported(tmp_path / "cli.db", text)
    status, answer = seeded(tmp_path / "seed.db", text)
    assert (code, status) == (1, 200)
    assert answer == {"data": report}
    assert [(r["line"], r["error"]["param"]) for r in report["rejected"]] == [
        (3, "description"),
        (4, "priority"),
    ]
    assert report == {
        "imported": 2,
        "rejected": report["rejected"],
        "skipped_lines": [],
        "first_number": "TICK-1",
        "last_number": "TICK-2",
    }


def test_a_line_that_is_not_json_is_named_by_its_line_in_the_file(tmp_path: Path) -> None:
    text = f"{body(1)}\n\n\n{{broken\n{body(5)}\n"
    code, report, _ = imported(tmp_path / "cli.db", text)
    assert code == 1
    [refused] = report["rejected"]
    assert refused["line"] == 4
    assert refused["error"]["code"] == "invalid_json"
    assert refused["error"]["message"].startswith("line 4 is not valid JSON")
    assert report["imported"] == 2
    # The seed refuses the whole body on a line that is not JSON, naming the same line.
    status, answer = seeded(tmp_path / "seed.db", text)
    assert status == 400
    assert answer["error"]["code"] == "invalid_json"
    assert answer["error"]["message"].startswith("line 4 is not valid JSON")
    assert subjects(tmp_path / "seed.db") == []


def test_a_line_separator_inside_a_json_string_does_not_break_the_line(tmp_path: Path) -> None:
    # JSON lets U+2028 and U+2029 stand unescaped in a string, and editors write them so;
    # only a newline ends a line of JSON Lines.
    subject = "Line\u2028separator and\u2029paragraph"
    text = json.dumps({"subject": subject, "description": "Pasted"}, ensure_ascii=False) + "\n"
    text += body(2) + "\n"
    code, report, _ = imported(tmp_path / "cli.db", text)
    status, answer = seeded(tmp_path / "seed.db", text)
    assert (code, status) == (0, 200), (report, answer)
    assert answer == {"data": report}
    assert subjects(tmp_path / "cli.db") == [subject, "Ticket 2"]
    assert subjects(tmp_path / "seed.db") == [subject, "Ticket 2"]


def test_a_byte_order_mark_at_the_start_is_not_part_of_the_first_line(tmp_path: Path) -> None:
    text = "\ufeff" + body(1) + "\n" + body(2) + "\n"
    code, report, _ = imported(tmp_path / "cli.db", text)
    status, answer = seeded(tmp_path / "seed.db", text)
    assert (code, status) == (0, 200), (report, answer)
    assert answer == {"data": report}
    assert report["imported"] == 2


def test_resuming_a_file_with_blank_lines_names_the_lines_it_found_imported(
    tmp_path: Path,
) -> None:
    db = tmp_path / "t.db"
    code, first, _ = imported(db, AS_WRITTEN, "--resume")
    assert (code, first["imported"]) == (0, 4)
    code, again, _ = imported(db, AS_WRITTEN, "--resume")
    assert code == 0, again
    assert again["imported"] == 0
    assert again["skipped_lines"] == [1, 2, 4, 6]  # the lines that hold rows
    assert len(subjects(db)) == 4


# -- the reader on its own ------------------------------------------------------------

BLANKS = st.sampled_from(["", " ", "\t", "\r", "  \r", " \t "])
ROWS = st.one_of(
    st.builds(lambda n: json.dumps({"n": n}), st.integers(0, 999)),
    st.sampled_from(["{broken", "NaN", "[1, 2", '"unterminated']),
)


@given(st.lists(st.one_of(BLANKS.map(lambda b: (False, b)), ROWS.map(lambda r: (True, r)))))
def test_every_row_keeps_the_number_of_its_line_whatever_the_blank_lines(
    entries: list[tuple[bool, str]],
) -> None:
    text = "\n".join(line for _, line in entries)
    holding = [number for number, (row, _) in enumerate(entries, start=1) if row]
    for source in (text, text.encode("utf-8")):
        reader = JsonLines.from_text(source)
        rows = list(reader)
        assert len(rows) == len(holding)
        assert [reader.line_of(i) for i in range(len(rows))] == holding
        for i, row in enumerate(rows):
            if isinstance(row, NotJson):
                assert row.line == holding[i]
                assert reader.not_json[i] == row
        assert reader.lines_through(0) == 0
        if rows:
            assert reader.lines_through(len(rows)) == holding[-1]
