"""``python -m benchmarks.reliability [--seconds S] [--kills K] [--json FILE]``: an
adversarial run against ``ayra-tickets serve`` on one file, on loopback only.

Each part attacks the server as a process from outside, then checks the file:

- **load**: threads of clients send a mix of calls (creates with and without
  Idempotency-Key, gets, lists, updates with fresh and stale If-Match, closes) and
  hostile requests (bad JSON, huge integers, forged cursors, far dates, unknown routes,
  oversized bodies), while a CLI import and CLI writers work the same file; every answer
  is counted by status, and every acknowledged create is looked for afterwards;
- **kills**: the server is killed with SIGKILL at random moments while clients retry
  their creates with the same Idempotency-Key until answered; afterwards each key has
  exactly one ticket;
- **lock**: another process holds the write lock for a while, a POST waits behind it,
  and GETs are timed meanwhile;
- **slow clients**: many connections trickle their headers a byte at a time (or send
  nothing), and a normal client's GETs are timed meanwhile;
- **file taken**: the file is deleted under the running server; a write must be refused.

It prints one table and writes the figures as JSON. Nothing here is part of the test
suite: the figures are measurements, not assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

HOST = "127.0.0.1"
CLI = [sys.executable, "-c", "from ayra_tickets.cli import main; main(prog_name='ayra-tickets')"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def cli(db: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--db", str(db), *args],
        capture_output=True, text=True, check=check,
    )  # fmt: skip


@contextmanager
def served(db: Path, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``ayra-tickets serve`` on ``db`` as a process of its own, until the block ends."""
    with log.open("ab") as sink:
        server = subprocess.Popen(
            [*CLI, "--db", str(db), "serve",
             "--host", HOST, "--port", str(port), "--threads", "8"],
            stdout=sink, stderr=sink,
        )  # fmt: skip
    try:
        wait_for(port)
        yield server
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def wait_for(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the server did not listen on port {port}")


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    if not ordered:
        return {"p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "count": 0}

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50_ms": rank(0.5), "p99_ms": rank(0.99), "max_ms": ordered[-1] * 1000,
            "count": len(ordered)}  # fmt: skip


HOSTILE: list[tuple[str, str, Any]] = [
    ("POST", "/v1/tickets", b"{not json"),
    ("POST", "/v1/tickets", b'{"subject": "x", "description": "y", "priority": 1e400}'),
    ("POST", "/v1/tickets", {"subject": "x", "description": "y", "priority": 10**30}),
    ("POST", "/v1/tickets", {"subject": "x", "description": "y", "due_date": "9999-12-31T23:59:59Z"}),
    ("POST", "/v1/tickets", {"subject": "x", "description": "y", "custom_fields": {"a": [[[[[[[[[[1]]]]]]]]]]}}),
    ("POST", "/v1/tickets", {"subject": "x" * 100_000, "description": "y"}),
    ("POST", "/v1/tickets", b'{"subject": "x", "description": "y", "status": NaN}'),
    ("GET", "/v1/tickets?per_page=" + "9" * 40, None),
    ("GET", "/v1/tickets?page=-1", None),
    ("GET", "/v1/tickets?cursor=" + "A" * 300, None),
    ("GET", "/v1/tickets?cursor=eyJrIjogMTAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMH0", None),
    ("GET", "/v1/tickets?created_after=0001-01-01T00:00:00Z", None),
    ("GET", "/v1/tickets/metrics?start=9999-12-25T00:00:00Z&end=9999-12-31T00:00:00Z&interval=week", None),
    ("GET", "/v1/tickets/%FF%FE", None),
    ("DELETE", "/v1/tickets", None),
    ("PUT", "/v1/tickets/ticket_nope/close", {"resolution_time": 2**70}),
    ("POST", "/v1/tickets", b"x" * 2_000_000),
]  # fmt: skip


def load(
    db: Path, port: int, key: str, seconds: float, threads: int, import_rows: int
) -> dict[str, Any]:
    """Mixed and hostile calls from ``threads`` clients for ``seconds``, beside a CLI
    import and CLI writers; then every acknowledged create is looked for."""
    base = f"http://{HOST}:{port}"
    auth = {"Authorization": f"Bearer {key}"}
    statuses: Counter[int] = Counter()
    hostile: Counter[int] = Counter()
    made: list[str] = []
    errors: list[str] = []
    failing: set[str] = set()
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        mine: list[tuple[str, int]] = []
        with requests.Session() as session:
            while time.monotonic() < stop:
                roll = rng.random()
                try:
                    if roll < 0.3 or not mine:
                        headers = dict(auth)
                        if rng.random() < 0.5:
                            headers["Idempotency-Key"] = f"load-{seed}-{len(mine)}"
                        body = {"subject": f"Load {seed}", "description": "under load",
                                "priority": rng.randint(1, 4), "tags": ["load"]}  # fmt: skip
                        answer = session.post(
                            f"{base}/v1/tickets", json=body, headers=headers, timeout=60
                        )
                        if answer.status_code == 201:
                            data = answer.json()["data"]
                            mine.append((data["id"], data["version"]))
                            with lock:
                                made.append(data["id"])
                    elif roll < 0.5:
                        ticket, _ = rng.choice(mine)
                        answer = session.get(
                            f"{base}/v1/tickets/{ticket}", headers=auth, timeout=60
                        )
                    elif roll < 0.6:
                        answer = session.get(
                            f"{base}/v1/tickets?status=new&per_page=10", headers=auth, timeout=60
                        )
                    elif roll < 0.75:
                        at = rng.randrange(len(mine))
                        ticket, version = mine[at]
                        stale = rng.random() < 0.2
                        headers = {**auth, "If-Match": f'"{version - 1 if stale else version}"'}
                        answer = session.put(
                            f"{base}/v1/tickets/{ticket}", json={"status": "open", "tags": ["x"]},
                            headers=headers, timeout=60,
                        )  # fmt: skip
                        if answer.status_code == 200:
                            mine[at] = (ticket, answer.json()["data"]["version"])
                    elif roll < 0.8:
                        ticket, _ = mine.pop(rng.randrange(len(mine)))
                        answer = session.put(
                            f"{base}/v1/tickets/{ticket}/close",
                            json={"resolution_note": "done"}, headers=auth, timeout=60,
                        )  # fmt: skip
                    else:
                        method, path, body = rng.choice(HOSTILE)
                        sent = {**auth, "Content-Type": "application/json"}
                        raw = (
                            body
                            if isinstance(body, bytes) or body is None
                            else json.dumps(body).encode()
                        )
                        answer = session.request(
                            method, base + path, data=raw, headers=sent, timeout=60
                        )
                        with lock:
                            hostile[answer.status_code] += 1
                            if answer.status_code >= 500:
                                failing.add(f"{method} {path[:70]} {str(body)[:70]}")
                    with lock:
                        statuses[answer.status_code] += 1
                except requests.RequestException as error:
                    with lock:
                        errors.append(repr(error))

    source = db.parent / "import.jsonl"
    source.write_text("".join(
        json.dumps({"subject": f"Imported {i}", "description": "bulk"}) + "\n"
        for i in range(import_rows)
    ))  # fmt: skip
    importer = subprocess.Popen(
        [*CLI, "--db", str(db), "import", "--resume", str(source)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    cli_writes = {"ok": 0, "failed": 0}

    def cli_writer() -> None:
        while time.monotonic() < stop:
            done = cli(
                db, "create", "--subject", "From the CLI", "--description", "beside", check=False
            )
            cli_writes["ok" if done.returncode == 0 else "failed"] += 1

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    workers.append(threading.Thread(target=cli_writer))
    began = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out, err = importer.communicate(timeout=600)
    took = time.monotonic() - began
    imported = json.loads(out)["imported"] if importer.returncode == 0 else f"failed: {err[-300:]}"
    conn = sqlite3.connect(db)
    found = {row[0] for row in conn.execute("SELECT id FROM tickets")}
    conn.close()
    lost = [ticket for ticket in made if ticket not in found]
    return {
        "seconds": round(took, 1),
        "requests": sum(statuses.values()),
        "by_status": dict(sorted(statuses.items())),
        "hostile_requests": sum(hostile.values()),
        "hostile_by_status": dict(sorted(hostile.items())),
        "server_errors_5xx": sum(n for s, n in statuses.items() if s >= 500),
        "hostile_requests_answered_5xx": sorted(failing),
        "connection_errors": len(errors),
        "acknowledged_creates": len(made),
        "acknowledged_creates_lost": len(lost),
        "cli_import_rows": imported,
        "cli_writes": cli_writes,
    }


def kills(db: Path, key: str, rounds: int, log: Path) -> dict[str, Any]:
    """Kill the server at random moments while clients retry with one Idempotency-Key a
    ticket until answered; then each key must have exactly one ticket."""
    acked: dict[str, str] = {}
    retries = 0
    rng = random.Random(7)
    auth = {"Authorization": f"Bearer {key}"}
    next_key = 0
    for _ in range(rounds):
        port = free_port()
        with served(db, port, log) as server:
            killer = threading.Timer(rng.uniform(0.05, 0.6), server.send_signal, [signal.SIGKILL])
            killer.start()
            while server.poll() is None:
                name = f"kill-{next_key}"
                try:
                    answer = requests.post(
                        f"http://{HOST}:{port}/v1/tickets",
                        json={"subject": name, "description": "retried"},
                        headers={**auth, "Idempotency-Key": name}, timeout=10,
                    )  # fmt: skip
                except requests.RequestException:
                    retries += 1  # the answer was lost: retried after the restart
                    break
                if answer.status_code == 201:
                    acked[name] = answer.json()["data"]["id"]
                    next_key += 1
            killer.join()
        # Restarted: the pending key is retried until answered.
        port = free_port()
        with served(db, port, log):
            name = f"kill-{next_key}"
            answer = requests.post(
                f"http://{HOST}:{port}/v1/tickets",
                json={"subject": name, "description": "retried"},
                headers={**auth, "Idempotency-Key": name}, timeout=10,
            )  # fmt: skip
            if answer.status_code == 201:
                if name in acked and acked[name] != answer.json()["data"]["id"]:
                    acked[name + "-doubled"] = answer.json()["data"]["id"]
                acked[name] = answer.json()["data"]["id"]
                next_key += 1
    conn = sqlite3.connect(db)
    by_subject = Counter(
        row[0] for row in conn.execute("SELECT subject FROM tickets WHERE subject LIKE 'kill-%'")
    )
    ids = {row[0] for row in conn.execute("SELECT id FROM tickets WHERE subject LIKE 'kill-%'")}
    conn.close()
    return {
        "server_kills": rounds,
        "keys_acknowledged": len([k for k in acked if not k.endswith("-doubled")]),
        "answers_lost_and_retried": retries,
        "acknowledged_missing": sum(1 for k, v in acked.items() if v not in ids),
        "keys_with_more_than_one_ticket": sum(1 for n in by_subject.values() if n > 1),
    }


HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""


def lock_held(db: Path, port: int, key: str, hold: float) -> dict[str, Any]:
    """GET latency while another process holds the write lock and a POST waits."""
    base = f"http://{HOST}:{port}"
    auth = {"Authorization": f"Bearer {key}"}
    ticket = requests.post(f"{base}/v1/tickets", json={"subject": "Read", "description": "me"},
                           headers=auth, timeout=10).json()["data"]["id"]  # fmt: skip
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db), str(hold)],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert holder.stdout is not None
    holder.stdout.readline()
    began = time.monotonic()
    posted: list[int] = []
    poster = threading.Thread(target=lambda: posted.append(requests.post(
        f"{base}/v1/tickets", json={"subject": "Waits", "description": "for the lock"},
        headers=auth, timeout=120).status_code))  # fmt: skip
    poster.start()
    took = []
    with requests.Session() as session:
        while not took or time.monotonic() - began < hold - 0.5:  # one GET at least
            started = time.perf_counter()
            session.get(f"{base}/v1/tickets/{ticket}", headers=auth, timeout=60)
            took.append(time.perf_counter() - started)
    holder.wait()
    poster.join()
    return {"hold_s": hold, "get": percentiles(took), "waiting_post_status": posted}


def slow_clients(port: int, key: str, connections: int, seconds: float) -> dict[str, Any]:
    """A normal client's GETs while ``connections`` sockets trickle or idle."""
    base = f"http://{HOST}:{port}"
    auth = {"Authorization": f"Bearer {key}"}
    opened: list[socket.socket] = []
    for _ in range(connections):
        try:
            opened.append(socket.create_connection((HOST, port), timeout=5))
        except OSError:
            break
    request = b"GET /v1/tickets HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    stop = time.monotonic() + seconds
    sent = [0] * len(opened)

    def trickle() -> None:
        while time.monotonic() < stop:
            for n, conn in enumerate(opened):
                if n % 2 == 0 and sent[n] < len(request):  # half trickle, half idle
                    try:
                        conn.send(request[sent[n] : sent[n] + 1])
                        sent[n] += 1
                    except OSError:
                        pass
            time.sleep(0.5)

    trickler = threading.Thread(target=trickle)
    trickler.start()
    took: list[float] = []
    failed = 0
    with requests.Session() as session:
        while not (took or failed) or time.monotonic() < stop:  # one GET at least
            started = time.perf_counter()
            try:
                session.get(f"{base}/v1/tickets?per_page=5", headers=auth, timeout=10)
                took.append(time.perf_counter() - started)
            except requests.RequestException:
                failed += 1
            time.sleep(0.02)
    trickler.join()
    for conn in opened:
        conn.close()
    return {"slow_connections": len(opened), "get": percentiles(took), "get_failures": failed}


def file_taken(db: Path, port: int, key: str) -> dict[str, Any]:
    """Delete the file under the running server; a write must be refused."""
    auth = {"Authorization": f"Bearer {key}"}
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    answer = requests.post(f"http://{HOST}:{port}/v1/tickets",
                           json={"subject": "Into", "description": "nowhere"},
                           headers=auth, timeout=10)  # fmt: skip
    return {"status": answer.status_code, "code": answer.json()["error"]["code"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load part")
    parser.add_argument("--threads", type=int, default=4, help="load clients")
    parser.add_argument("--kills", type=int, default=40, help="server SIGKILLs")
    parser.add_argument("--hold", type=float, default=10.0, help="seconds the lock is held")
    parser.add_argument("--slow", type=int, default=200, help="slow connections")
    parser.add_argument("--import-rows", type=int, default=20_000, help="lines the CLI imports")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "attacked.db"
        log = Path(folder) / "server.log"
        key = json.loads(cli(db, "keys", "create", "--name", "attack").stdout)["key"]
        port = free_port()
        figures: dict[str, Any] = {}
        with served(db, port, log):
            figures["load"] = load(db, port, key, args.seconds, args.threads, args.import_rows)
            figures["lock"] = lock_held(db, port, key, args.hold)
            figures["slow_clients"] = slow_clients(port, key, args.slow, min(10.0, args.seconds))
        figures["kills"] = kills(db, key, args.kills, log)
        with served(db, port, log):
            figures["file_taken"] = file_taken(db, port, key)
        tracebacks = log.read_text(errors="replace").count("Traceback")
        figures["tracebacks_in_server_log"] = tracebacks
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
