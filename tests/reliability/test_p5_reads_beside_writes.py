"""Point 5: reads never wait for a write that waits for another process's lock.

A write of this engine that waits for the database's write lock (held by another
process: an import, a backup, a CLI call) must not hold up this engine's reads, which
WAL lets run beside any writer. Each test holds the lock from outside, starts a write
that waits for it, and reads meanwhile: every read must be answered while the write is
still waiting. (The figures, GET p99 over a 10 s hold, come from the reliability run in
``benchmarks/reliability.py``; no test here asserts a duration.)
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

from ayra_tickets import Engine, ManualClock
from ayra_tickets.server import LocalServer
from tests.conftest import START

HOLD = 30.0
"""Longer than any read here may take: a read that waited for the write would still be
waiting when the test looks."""


def wait_until_waiting(writer: threading.Thread) -> None:
    """Give the writer time to start waiting for the lock."""
    time.sleep(0.3)
    assert writer.is_alive(), "the write did not wait for the lock"


def test_p5_reads_through_python_go_on_while_a_write_waits_for_another_connection(
    tmp_path: Path,
) -> None:
    path = tmp_path / "held.db"
    with Engine.open(path, clock=ManualClock(START)) as engine:
        first = engine.tickets.create(subject="Readable", description="while a write waits")
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process, mid-write
        made: list[Any] = []
        writer = threading.Thread(
            target=lambda: made.append(
                engine.tickets.create(subject="Waits", description="for the lock")
            )
        )
        read: list[Any] = []

        def reads() -> None:
            for _ in range(20):
                read.append(engine.tickets.get(first.id))
                read.append(engine.tickets.list(per_page=5))

        reader = threading.Thread(target=reads)
        try:
            writer.start()
            wait_until_waiting(writer)
            reader.start()
            reader.join(timeout=HOLD / 3)
            assert not reader.is_alive(), "reads waited for the waiting write"
            assert len(read) == 40
            assert writer.is_alive(), "the write finished although the lock was held"
        finally:
            holder.execute("ROLLBACK")
            holder.close()
            writer.join(timeout=HOLD)
            reader.join(timeout=HOLD)
        assert [ticket.number for ticket in made] == [2]
        assert engine.tickets.count() == 2


HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("held", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


def test_p5_gets_through_the_server_are_answered_while_a_post_waits_for_another_process(
    tmp_path: Path,
) -> None:
    path = tmp_path / "served.db"
    with Engine.open(path, clock=ManualClock(START)) as engine:
        key = engine.keys.create()
        ticket = engine.tickets.create(subject="Served", description="while a post waits")
        auth = {"Authorization": f"Bearer {key}"}
        with LocalServer(engine, port=0) as server:
            with subprocess.Popen(
                [sys.executable, "-c", HOLDER, str(path)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            ) as holder:  # fmt: skip
                assert holder.stdout is not None
                assert holder.stdin is not None
                assert holder.stdout.readline().strip() == "held"
                posted: list[int] = []
                poster = threading.Thread(
                    target=lambda: posted.append(
                        requests.post(
                            f"{server.url}/v1/tickets",
                            headers=auth,
                            timeout=HOLD,
                            json={"subject": "Posted", "description": "behind the lock"},
                        ).status_code
                    )
                )
                poster.start()
                wait_until_waiting(poster)
                took = []
                with requests.Session() as session:
                    for _ in range(50):
                        began = time.perf_counter()
                        answer = session.get(
                            f"{server.url}/v1/tickets/{ticket.id}", headers=auth, timeout=HOLD / 3
                        )
                        took.append(time.perf_counter() - began)
                        assert answer.status_code == 200
                assert poster.is_alive(), "the post finished although the lock was held"
                took.sort()
                print(f"GET p50 {took[24] * 1000:.1f} ms, max {took[-1] * 1000:.1f} ms")
                holder.stdin.write("done\n")  # the lock goes; the post goes through
            poster.join(timeout=HOLD)
        assert posted == [201]
        assert engine.tickets.count() == 2
