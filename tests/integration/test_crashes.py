"""A writer killed with SIGKILL at random moments, fifty times over one file: each time
the file passes SQLite's integrity check, every call acknowledged before the kill is
there, and nothing is half-written (numbers gapless, every ticket's history replays to
its row, its tag rows and its search entry match it)."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ayra_tickets import Engine, ManualClock
from ayra_tickets.domain.ticket import PERSISTENT_FIELDS, replay
from ayra_tickets.storage.sqlite.rows import states_from_log
from tests.conftest import START

KILLS = 50

WRITER = """
import random, sys
from datetime import timedelta
from ayra_tickets import Engine, ManualClock, TicketError
from tests.conftest import START

path, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
engine = Engine.open(path, clock=ManualClock(START + timedelta(hours=seed)))
tickets = engine.tickets

def ack(*parts):
    print(*parts, flush=True)  # only after the call returned: it is acknowledged

ack("ready")
while True:
    kind = rng.random()
    try:
        if kind < 0.3 or tickets.count() == 0:
            made = tickets.create(subject=f"crash {seed}", description="written under fire",
                                  tags=[f"s{seed % 3}", "crash"], priority=rng.randint(1, 4))
            ack("write", made.id, made.version)
        elif kind < 0.4:
            report = tickets.import_many(
                [{"subject": f"bulk {seed}-{n}", "description": "chunked", "tags": ["bulk"]}
                 for n in range(30)], chunk_size=10)
            ack("import", report.first_number, report.last_number)
        else:
            number = rng.randint(1, tickets.count())
            target = tickets.list(sort_order="asc", per_page=1, page=number).data[0]
            move = rng.choice(["open", "in_progress", "resolved", "close", "reopened", "tags"])
            if move == "close":
                after = tickets.close(target.id, customer_satisfaction=7)
            elif move == "tags":
                after = tickets.update(target.id, tags=[f"t{rng.randint(0, 5)}"])
            else:
                after = tickets.update(target.id, status=move, internal_note="moved")
            ack("write", after.id, after.version)
    except TicketError:
        pass
"""


HALF_WRITTEN = {
    "a ticket without its created event": """
        SELECT COUNT(*) FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM ticket_events e
        WHERE e.ticket_number = t.number AND e.type = 'created')""",
    "a version without its events": """
        SELECT COUNT(*) FROM tickets t WHERE t.version != (SELECT MAX(version)
        FROM ticket_events e WHERE e.ticket_number = t.number)""",
    "events of no ticket": """
        SELECT COUNT(*) FROM ticket_events e WHERE NOT EXISTS (SELECT 1 FROM tickets t
        WHERE t.number = e.ticket_number)""",
    "tag rows that are not the ticket's tags": """
        SELECT COUNT(*) FROM tickets t WHERE (SELECT COUNT(*) FROM ticket_tags g
        WHERE g.ticket_number = t.number AND g.status = t.status
        AND g.tag IN (SELECT value FROM json_each(t.tags))) != json_array_length(t.tags)
        OR (SELECT COUNT(*) FROM ticket_tags g WHERE g.ticket_number = t.number)
        != json_array_length(t.tags)""",
    "search entries that are not the tickets": """
        SELECT (SELECT COUNT(*) FROM tickets) != (SELECT COUNT(*) FROM tickets_fts)
        OR (SELECT MAX(rowid) FROM tickets_fts) != (SELECT MAX(number) FROM tickets)""",
    "indexes left out by an import": "SELECT COUNT(*) FROM settings WHERE key = 'deferred_indexes'",
}


def check(path: Path, acked: list[list[str]]) -> None:
    with Engine.open(path, clock=ManualClock(START)) as engine:
        conn = engine.db.conn
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        numbers = [n for (n,) in conn.execute("SELECT number FROM tickets ORDER BY number")]
        assert numbers == list(range(1, len(numbers) + 1))
        for flaw, sql in HALF_WRITTEN.items():
            assert conn.execute(sql).fetchone() == (0,), flaw
        states = conn.execute("SELECT * FROM ticket_states ORDER BY ticket_number, version")
        assert states.fetchall() == states_from_log(conn), "states that are not the log's"
        touched = set()
        for line in acked:
            if line[0] == "write":
                ticket_id, version = line[1], int(line[2])
                assert version in {e.version for e in engine.tickets.events(ticket_id)}, line
                touched.add(ticket_id)
            elif line[0] == "import" and line[1] != "None":
                assert int(line[2]) <= len(numbers), line
        latest = engine.tickets.list(sort_by="updated_at", per_page=20).data
        for ticket_id in touched | {ticket.id for ticket in latest}:
            shown = engine.tickets.get(ticket_id).to_dict()
            persistent = {name: shown[name] for name in PERSISTENT_FIELDS}
            persistent.update(version=shown["version"], updated_at=shown["updated_at"])
            assert replay(engine.tickets.events(ticket_id)) == persistent


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_writer_killed_at_random_moments_leaves_every_acknowledged_call_and_no_half(
    tmp_path: Path,
) -> None:
    path = tmp_path / "crashes.db"
    Engine.open(path).close()
    rng = random.Random(2025)
    root = Path(__file__).parents[2]
    total_acked = 0
    for kill in range(KILLS):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(kill)],
            stdout=subprocess.PIPE, text=True, cwd=root,
        )  # fmt: skip
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.005, 0.15))
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        # Only whole lines were acknowledged: a kill can cut the last one short.
        *whole, _cut = writer.stdout.read().split("\n")
        acked = [line.split() for line in whole]
        writer.stdout.close()
        total_acked += len(acked)
        check(path, acked)
    assert total_acked > KILLS  # the writers did get work done between the kills
