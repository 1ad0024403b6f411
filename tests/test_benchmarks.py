"""The benchmark command runs end to end on a tiny dataset and writes every figure.

No timing is asserted here (timings belong to the benchmark's own output); this keeps
the command working and its JSON complete.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.postgres import ENGINE, RAW, WRITES
from benchmarks.workload import LIST_MIX, SEARCHES


def run(module: str, *args: object, timeout: float | None = None) -> str:
    """Run ``python -m module args`` from the project's root; what it printed (it must
    exit 0)."""
    done = subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
        timeout=timeout,
    )
    return done.stdout


def test_the_benchmark_command_writes_every_measurement_and_ratio(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    printed = run("benchmarks", "--tickets", 400, "--repeat", 1, "--json", out)
    assert "of raw throughput" in printed
    assert "PostgreSQL: skipped (no --postgres URL given)" in printed
    figures = json.loads(out.read_text())
    assert "postgres" not in figures
    results, ratios = figures["results"], figures["ratios"]
    for op in ("create", "update", "close"):
        for side in ("Python API", "engine.request", "raw sqlite3", "ORM peer", "minimal raw"):
            assert results[f"{op} ({side})"]["ops_per_s"] > 0
        assert ratios[f"{op} (Python API)"] > 0
        for other in ("ORM peer", "minimal raw"):
            assert ratios[f"{op} (Python API) / {op} ({other})"] > 0
        assert ratios[f"{op} (Python API) p99/p50"] >= 1
    assert set(figures["pages_per_create"]) == {"Python API", "ORM peer", "minimal raw"}
    assert all(pages >= 1 for pages in figures["pages_per_create"].values())
    assert figures["bytes_per_ticket"]["ORM peer"] > 0
    assert ratios["size / ORM peer"] > 0
    assert results["bulk import (ORM peer)"]["ops_per_s"] > 0
    assert results["get (ORM peer)"]["ops_per_s"] > 0
    assert ratios["bulk import (import_many)"] > 0
    lists = [n for n in ratios if n.startswith("list+total") and not n.endswith("ORM peer")]
    assert len(lists) == len(LIST_MIX) + len(SEARCHES)
    for name in lists:
        assert results[name]["p99_us"] > 0
        assert results[f"{name} (raw sqlite3)"]["p99_us"] > 0
        assert results[f"{name} (ORM peer)"]["p99_us"] > 0
    for name in ("metrics, whole window by day", "metrics, whole window, priority 1",
                 "metrics, one day by day", "backlog at a past instant"):  # fmt: skip
        assert results[name]["p50_us"] > 0
        assert results[f"{name} (first call)"]["p50_us"] > 0
    assert figures["export_tickets"] == 400
    assert 0 < figures["export_peak_rss_mb"] < 1_000
    assert figures["db_bytes_per_ticket"] > 0


def test_the_postgres_side_runs_beside_raw_psycopg_and_both_write_the_same_rows(
    tmp_path: Path, postgres_url: str
) -> None:
    """A tiny PostgreSQL run alone: every figure is there, and the benchmark found the
    engine's tables and raw psycopg's holding the same rows after the single writes and
    after the import (else its ratios compare different work)."""
    out = tmp_path / "results.json"
    printed = run("benchmarks", "--backend", "postgres", "--postgres", postgres_url,
                  "--tickets", 30, "--repeat", 1, "--list-calls", 3, "--json", out)  # fmt: skip
    assert "\nbuilding the read dataset" not in f"\n{printed}"  # no SQLite side
    figures = json.loads(out.read_text())
    assert set(figures) == {"postgres"}
    postgres = figures["postgres"]
    assert postgres["same_rows"] == {"single writes": True, "bulk import": True}
    results, ratios = postgres["results"], postgres["ratios"]
    for op in WRITES:
        for side in (ENGINE, RAW):
            assert results[f"{op} ({side})"]["ops_per_s"] > 0
            assert postgres["wal_bytes_per_create"][side] > 0
        assert ratios[op] > 0
    assert results[f"bulk import (import_many, {ENGINE})"]["ops_per_s"] > 0
    assert ratios["bulk import"] > 0
    lists = [name for name in ratios if name.startswith("list+total")]
    assert len(lists) == len(LIST_MIX) + len(SEARCHES)
    for name in lists:
        label = name.removesuffix(" p99")
        assert results[f"{label} ({ENGINE})"]["p99_us"] > 0
        assert results[f"{label} ({RAW})"]["p99_us"] > 0
    assert postgres["bytes_per_ticket"] > 0
    assert postgres["server"].startswith("PostgreSQL ")


def test_the_reliability_run_attacks_a_server_and_writes_every_figure(tmp_path: Path) -> None:
    """A tiny run of ``python -m benchmarks.reliability``: every part runs and reports; the
    checks that hold whatever the timing (nothing acknowledged is lost, no key doubled,
    no traceback, the taken file refused) are asserted, the timings only present."""
    out = tmp_path / "reliability.json"
    run("benchmarks.reliability", "--seconds", 2, "--kills", 2, "--hold", 1.5, "--slow", 20,
        "--import-rows", 200, "--json", out, timeout=300)  # fmt: skip
    figures = json.loads(out.read_text())
    load = figures["load"]
    assert load["requests"] > 0
    assert load["hostile_requests"] > 0
    assert load["server_errors_5xx"] == 0, load["hostile_requests_answered_5xx"]
    assert load["acknowledged_creates_lost"] == 0
    assert load["cli_import_rows"] == 200
    assert figures["kills"]["acknowledged_missing"] == 0
    assert figures["kills"]["keys_with_more_than_one_ticket"] == 0
    assert figures["lock"]["waiting_post_status"] == [201]
    assert figures["lock"]["get"]["count"] > 0
    assert figures["slow_clients"]["get"]["count"] > 0
    assert figures["file_taken"] == {"status": 503, "code": "database_unavailable"}
    assert figures["tracebacks_in_server_log"] == 0


def test_the_copy_benchmark_copies_to_postgres_and_back_identically(
    tmp_path: Path, postgres_url: str
) -> None:
    """A tiny run of ``python -m benchmarks.copy``: both legs identical, every figure
    written, the schema it made dropped."""
    out = tmp_path / "copy.json"
    printed = run("benchmarks.copy", "--tickets", 150, "--postgres", postgres_url, "--json", out)
    assert printed.splitlines()[-1] == "identical"
    figures = json.loads(out.read_text())
    assert figures["identical"] is True
    assert figures["counts"]["tickets"] == 150 + 20
    for name in ("file_to_postgres", "postgres_to_file"):
        assert set(figures[name]) == {"write_s", "check_s", "total_s"}


def test_the_automation_benchmark_measures_every_side_and_drains_the_outbox(
    tmp_path: Path,
) -> None:
    out = tmp_path / "automation.json"
    printed = run("benchmarks.automation", "--tickets", 120, "--repeat", 1, "--json", out,
                  "--before", "HEAD")  # fmt: skip
    assert "/ create (nothing configured)" in printed
    figures = json.loads(out.read_text())
    sides = ("nothing configured", "routing", "routing + outbox",
             "routing + outbox + escalation", "before automation, HEAD", "ORM peer",
             "minimal raw")  # fmt: skip
    assert set(figures["table"]) == {f"create ({side})" for side in sides}
    # The engine of a commit taken from git, imported beside today's, is a side of its own.
    assert set(figures["ratios_to_before"]) == set(figures["table"])
    assert figures["ratios_to_before"]["create (before automation, HEAD)"] == 1.0
    assert figures["pages_per_create"]["before automation, HEAD"] >= 1
    assert all(row["ops_per_s"] > 0 and row["p99_us"] > 0 for row in figures["table"].values())
    pages = figures["pages_per_create"]
    assert pages["routing + outbox"] > pages["nothing configured"] >= 1  # the outbox's rows
    assert figures["deliveries_per_s"] > 0  # the receiver got what run_due sent


def test_the_sync_benchmark_pushes_every_offline_edit_once(tmp_path: Path) -> None:
    out = tmp_path / "sync.json"
    printed = run("benchmarks.sync", "--tickets", 20, "--edits", 3, "--json", out)
    assert "commands/s" in printed
    figures = json.loads(out.read_text())
    assert figures["commands"] == 80
    assert (figures["report"]["acknowledged"], figures["report"]["pending"]) == (80, 0)
    assert (figures["remote_tickets"], figures["remote_versions"]) == (20, [4])
    assert figures["push_commands_per_s"] > 0
    assert all(rate > 0 for rate in figures["writes_per_s"].values())
