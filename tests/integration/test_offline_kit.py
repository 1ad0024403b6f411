"""The offline testing kit: the HTTP server and its control plane, ``mock_api`` for
requests and httpx, the pytest plugin, and the reference's own examples (curl, Python
requests, JavaScript axios) run unchanged but for the base URL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import requests

from ayra_tickets import Engine, ManualClock, SystemClock
from ayra_tickets.server import LocalServer
from ayra_tickets.testing import DEFAULT_BASE_URL, DEFAULT_START, mock_api
from tests.conftest import START, table_counts

REFERENCE = Path(__file__).parents[1] / "reference"
SECRET = "sk_live_abc123xyz789"
TICKET_ID = "ticket_abc123xyz789"


def seed_reference_state(engine: Engine) -> None:
    """What the reference's examples take for granted: their key, and their ticket."""
    engine.keys.create(secret=SECRET)
    report = engine.tickets.import_many(
        [
            {
                "id": TICKET_ID,
                "subject": "Duplicate billing charge needs refund",
                "description": "Customer was charged twice for order #12345...",
                "priority": 2,
                "status": "open",
                "category": "billing",
            }
        ]
    )
    assert report.imported == 1, report.rejected


def reference_python(base_url: str = DEFAULT_BASE_URL) -> dict[str, Any]:
    """The reference's Python functions, with only the base URL swapped."""
    source = (REFERENCE / "examples.py").read_text()
    namespace: dict[str, Any] = {}
    exec(compile(source.replace(DEFAULT_BASE_URL, base_url), "examples.py", "exec"), namespace)
    return namespace


def check_reference_outcome(engine: Engine, outcome: dict[str, Any], *, satisfaction: int) -> None:
    created = outcome["created"]["data"]
    assert created["subject"] == "Duplicate billing charge needs refund"
    assert created["tags"] == ["refund", "duplicate_charge", "urgent"]
    assert created["priority_label"] == "High"
    assert outcome["all"]["meta"]["total"] == 2
    # The new ticket is new, not open; the seeded one has moved on by then.
    assert [t["id"] for t in outcome["urgent"]["data"]] == []
    assert outcome["breached"]["meta"]["total"] == 0
    closed = outcome["closed"]["data"]
    assert closed["id"] == TICKET_ID
    assert closed["status"] == "closed"
    assert closed["customer_satisfaction"] == satisfaction
    history = [e.type for e in engine.tickets.events(TICKET_ID) if not e.type.startswith("sla_")]
    assert history == ["created", "field_changed", "status_changed", "note_added",
                       "status_changed", "note_added", "closed"]  # fmt: skip


# -- mock_api -------------------------------------------------------------------------


def test_the_reference_python_examples_run_unchanged_through_mock_api() -> None:
    with mock_api() as api:
        seed_reference_state(api.engine)
        outcome = reference_python()["run_all"]()
        check_reference_outcome(api.engine, outcome, satisfaction=10)


def test_mock_api_answers_requests_and_httpx_sync_and_async_as_the_wire_layer() -> None:
    with mock_api() as api:
        headers = {"Authorization": f"Bearer {api.key}"}
        body = {"subject": "Printer on fire", "description": "Tray 2"}
        made = requests.post(f"{DEFAULT_BASE_URL}/v1/tickets", json=body, headers=headers)
        assert made.status_code == 201
        assert made.headers["Location"] == f"/v1/tickets/{made.json()['data']['id']}"
        assert re.fullmatch(r"req_[0-9A-Za-z]+", made.headers["Request-Id"])
        direct = api.engine.request(
            "GET", f"/v1/tickets/{made.json()['data']['id']}", headers=headers
        )
        via_httpx = httpx.get(DEFAULT_BASE_URL + made.headers["Location"], headers=headers)
        assert (via_httpx.status_code, via_httpx.json()) == (direct.status, direct.json)

        async def listed() -> httpx.Response:
            async with httpx.AsyncClient(base_url=DEFAULT_BASE_URL) as client:
                return await client.get("/v1/tickets", params={"status": "new"}, headers=headers)

        page = asyncio.run(listed())
        assert page.json()["meta"]["total"] == 1
        # Errors are the API's, headers included.
        refused = requests.get(f"{DEFAULT_BASE_URL}/v1/tickets")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "missing_api_key"
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = httpx.delete(f"{DEFAULT_BASE_URL}/v1/tickets", headers=headers)
        assert (wrong.status_code, wrong.headers["Allow"]) == (405, "GET, POST")


def test_mock_api_lets_calls_to_other_hosts_through(http_server: LocalServer) -> None:
    with Engine.open(":memory:") as elsewhere:
        http_server.app.engine = elsewhere
        other_key = elsewhere.keys.create()
        with mock_api() as api:
            assert api.engine is not elsewhere
            # The loopback server is another host: both clients reach it over the network.
            theirs = {"Authorization": f"Bearer {other_key}"}
            assert requests.get(f"{http_server.url}/v1/tickets", headers=theirs).status_code == 200
            assert httpx.get(f"{http_server.url}/v1/tickets", headers=theirs).status_code == 200
            # ... and a key of the mocked engine means nothing there.
            mine = {"Authorization": f"Bearer {api.key}"}
            assert requests.get(f"{http_server.url}/v1/tickets", headers=mine).status_code == 401


def test_a_mock_of_the_callers_own_stays_in_force_for_other_hosts() -> None:
    import responses

    with responses.RequestsMock() as theirs:
        theirs.get("https://hooks.example.invalid/ping", json={"pong": True})
        with mock_api() as api:
            assert requests.get("https://hooks.example.invalid/ping").json() == {"pong": True}
            headers = {"Authorization": f"Bearer {api.key}"}
            listed = requests.get(f"{DEFAULT_BASE_URL}/v1/tickets", headers=headers)
            assert listed.status_code == 200


@pytest.mark.parametrize(
    ("base_url", "called"),
    [
        ("https://API.Ayra.AI", "https://api.ayra.ai/v1/tickets"),
        ("https://api.ayra.ai", "https://API.ayra.ai:443/v1/tickets"),
        ("https://api.ayra.ai:443/", "https://api.ayra.ai/v1/tickets"),
        ("http://localhost:9/api", "http://LOCALHOST:9/api/v1/tickets"),
    ],
)
def test_mock_api_matches_its_host_in_any_case_and_port_spelling(
    base_url: str, called: str
) -> None:
    with mock_api(base_url=base_url) as api:
        headers = {"Authorization": f"Bearer {api.key}"}
        assert requests.get(called, headers=headers).json()["meta"]["total"] == 0
        assert httpx.get(called, headers=headers).json()["meta"]["total"] == 0


def test_mock_api_refuses_to_start_when_a_client_could_not_be_intercepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "respx", None)  # httpx is installed, respx is not
    with pytest.raises(ImportError, match=r"\(respx\) needs the \[testing\] extra"), mock_api():
        pass
    # Nothing was left patched by the half-made start.
    with pytest.raises(requests.ConnectionError):
        requests.get("https://api.ayra.invalid/v1/tickets", timeout=5)


def test_mock_api_takes_a_streamed_body() -> None:
    with mock_api() as api:
        headers = {"Authorization": f"Bearer {api.key}", "Content-Type": "application/json"}
        chunks = iter([b'{"subject": "Streamed", ', b'"description": "in parts"}'])
        made = requests.post(f"{DEFAULT_BASE_URL}/v1/tickets", data=chunks, headers=headers)
        assert made.status_code == 201, made.json()


def test_mock_api_as_a_decorator_gives_each_call_a_fresh_engine() -> None:
    api = mock_api(base_url="https://api.ayra.invalid")
    seen: list[tuple[int, int]] = []

    @api
    def integration() -> None:
        headers = {"Authorization": f"Bearer {api.key}"}
        body = {"subject": "One more", "description": "From the decorated code"}
        requests.post("https://api.ayra.invalid/v1/tickets", json=body, headers=headers)
        listed = requests.get("https://api.ayra.invalid/v1/tickets", headers=headers).json()
        seen.append((id(api.engine), listed["meta"]["total"]))

    integration()
    integration()
    assert [total for _, total in seen] == [1, 1]  # the second call did not see the first's
    assert seen[0][0] != seen[1][0]
    # Outside, nothing is intercepted any more (and .invalid never resolves).
    with pytest.raises(requests.ConnectionError):
        requests.get("https://api.ayra.invalid/v1/tickets", timeout=5)


def test_mock_api_decorates_async_functions_too() -> None:
    api = mock_api(base_url="https://api.ayra.invalid")

    @api
    async def integration() -> int:
        async with httpx.AsyncClient() as client:
            headers = {"Authorization": f"Bearer {api.key}"}
            listed = await client.get("https://api.ayra.invalid/v1/tickets", headers=headers)
            return int(listed.json()["meta"]["total"])

    assert asyncio.run(integration()) == 0


def test_mock_api_on_a_callers_engine_leaves_no_live_key_behind() -> None:
    with Engine.open(":memory:") as engine:
        with mock_api(engine) as api:
            assert engine.keys.authenticate(api.key) is not None
        assert engine.keys.authenticate(api.key) is None


def test_mock_api_on_a_given_engine_and_its_clock_controls_the_sla() -> None:
    clock = ManualClock(START)
    with Engine.open(":memory:", clock=clock) as engine, mock_api(engine) as api:
        assert api.clock is clock
        headers = {"Authorization": f"Bearer {api.key}"}
        body = {"subject": "Down", "description": "All of it", "priority": 1}
        made = requests.post(f"{DEFAULT_BASE_URL}/v1/tickets", json=body, headers=headers).json()
        clock.advance(timedelta(hours=1, seconds=1))
        url = f"{DEFAULT_BASE_URL}/v1/tickets/{made['data']['id']}"
        assert requests.get(url, headers=headers).json()["data"]["sla"]["breached"] is True
        with pytest.raises(RuntimeError, match="already active"):
            api.__enter__()
    # A fresh engine starts at the documented instant.
    with mock_api() as fresh:
        assert fresh.clock.now() == DEFAULT_START


# -- the server and its control plane ----------------------------------------------------


@pytest.fixture
def control_server() -> Iterator[LocalServer]:
    with (
        Engine.open(":memory:", clock=ManualClock(START)) as engine,
        LocalServer(engine, port=0, control=True) as server,
    ):
        yield server


def call(server: LocalServer, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, server.url + path, timeout=10, **kwargs)


def test_the_control_plane_resets_makes_keys_moves_the_clock_and_seeds(
    control_server: LocalServer,
) -> None:
    engine = control_server.app.engine
    made = call(control_server, "POST", "/_local/keys", json={"secret": SECRET, "name": "ref"})
    assert made.status_code == 201
    assert made.json()["data"] == {"key": SECRET, "scopes": ["tickets:read", "tickets:write"]}
    again = call(control_server, "POST", "/_local/keys", json={"secret": SECRET})
    assert (again.status_code, again.json()["error"]["param"]) == (400, "secret")
    lines = "\n".join(
        [
            json.dumps({"id": TICKET_ID, "subject": "Seeded", "description": "From a file"}),
            json.dumps({"subject": "No description"}),
            "",
            json.dumps({"subject": "Second", "description": "Also seeded", "status": "open"}),
        ]
    )
    seeded = call(control_server, "POST", "/_local/seed", data=lines.encode())
    assert seeded.status_code == 200
    report = seeded.json()["data"]
    assert (report["imported"], report["first_number"], report["last_number"]) == (
        2,
        "TICK-1",
        "TICK-2",
    )
    assert [(r["line"], r["error"]["param"]) for r in report["rejected"]] == [(2, "description")]
    assert engine.tickets.get(TICKET_ID).subject == "Seeded"

    assert call(control_server, "GET", "/_local/clock").json() == {
        "data": {"now": "2025-01-15T09:00:00Z"}
    }
    moved = call(control_server, "POST", "/_local/clock/advance", json={"seconds": 7200})
    assert moved.json()["data"]["now"] == "2025-01-15T11:00:00Z"
    jumped = call(control_server, "PUT", "/_local/clock", json={"now": "2025-02-01T00:00:00Z"})
    assert jumped.json()["data"]["now"] == "2025-02-01T00:00:00Z"
    back = call(control_server, "PUT", "/_local/clock", json={"now": "2025-01-01T00:00:00Z"})
    assert (back.status_code, back.json()["error"]["param"]) == (400, "now")
    headers = {"Authorization": f"Bearer {SECRET}"}
    ticket = call(control_server, "GET", f"/v1/tickets/{TICKET_ID}", headers=headers).json()
    assert ticket["data"]["sla"]["breached"] is True  # 17 days later, never answered

    engine.agents.add("user_jane", "Jane")
    reset = call(control_server, "POST", "/_local/reset").json()
    assert reset == {"data": {"reset": True, "now": "2025-01-15T09:00:00Z"}}  # START again
    assert call(control_server, "GET", "/v1/tickets", headers=headers).status_code == 401
    # Every table is empty but those that describe the file: its schema's history, its
    # settings (the creation-order rule, the keys' salt), the planner's statistics and the search index's
    # own bookkeeping (its documents are gone: docsize is empty). A table added later
    # must be reset too.
    left = {name: n for name, n in table_counts(engine).items() if n}
    described = {"_sqlite_migrations", "settings", "sqlite_stat1"}
    assert set(left) <= described | {"tickets_fts_data", "tickets_fts_config"}, left
    settings = engine.db.execute("SELECT key FROM settings ORDER BY key").fetchall()
    assert settings == [("api_key_salt",), ("created_in_number_order",)]
    searched = "SELECT COUNT(*) FROM tickets_fts WHERE tickets_fts MATCH 'seeded'"
    assert engine.db.execute(searched).fetchone() == (0,)
    key = call(control_server, "POST", "/_local/keys", json={}).json()["data"]["key"]
    made_after = call(
        control_server, "POST", "/v1/tickets",
        json={"subject": "After reset", "description": "Numbers start again"},
        headers={"Authorization": f"Bearer {key}"},
    )  # fmt: skip
    assert made_after.json()["data"]["number"] == "TICK-1"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/_local/nothing", None, 404, "route_not_found"),
        ("GET", "/_local/reset", None, 405, "method_not_allowed"),
        ("POST", "/_local/keys", b"[1]", 400, "invalid_json"),
        ("POST", "/_local/keys", b'{"scopes": ["tickets:delete"]}', 400, "parameter_invalid"),
        ("POST", "/_local/keys", b'{"secret": "short"}', 400, "parameter_invalid"),
        ("POST", "/_local/keys", b'{"owner": "me"}', 400, "parameter_unknown"),
        ("POST", "/_local/keys", b'{"scopes": [{}]}', 400, "parameter_invalid"),
        ("POST", "/_local/keys", b'{"scopes": [["tickets:read"]]}', 400, "parameter_invalid"),
        ("POST", "/_local/reset", b'{"everything": true}', 400, "parameter_unknown"),
        ("POST", "/_local/clock/advance", b'{"seconds": 1e300}', 400, "parameter_invalid"),
        ("POST", "/_local/clock/advance", b"{}", 400, "parameter_missing"),
        ("PUT", "/_local/clock", b'{"now": "9999-12-31T00:00:00Z"}', 400, "parameter_invalid"),
        ("POST", "/_local/clock/advance", b'{"seconds": -1}', 400, "parameter_invalid"),
        ("POST", "/_local/clock/advance", b'{"seconds": true}', 400, "parameter_invalid"),
        ("PUT", "/_local/clock", b'{"now": "soon"}', 400, "parameter_invalid"),
        (
            "POST",
            "/_local/seed",
            b'{"subject": "a", "description": "b"}\n{oops',
            400,
            "invalid_json",
        ),
        ("POST", "/_local/seed", b"\xff\xfe", 400, "invalid_json"),
    ],
)
def test_the_control_plane_refuses_bad_requests_in_the_apis_envelope_and_changes_nothing(
    control_server: LocalServer, method: str, path: str, body: bytes | None, status: int, code: str
) -> None:
    engine = control_server.app.engine
    engine.tickets.create(subject="Kept", description="Through every refusal")
    before = (table_counts(engine), engine.clock.now())
    answer = call(control_server, method, path, data=body)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    assert re.fullmatch(r"req_[0-9A-Za-z]+", answer.headers["Request-Id"])
    assert (table_counts(engine), engine.clock.now()) == before


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},  # a web page's request
        {"Origin": "null"},
        {"Host": "evil.example"},  # DNS rebinding: the page's own name for our address
        {"Host": "192.168.1.20:8787"},
    ],
)
def test_the_control_plane_answers_no_web_page_and_no_other_host(
    control_server: LocalServer, headers: dict[str, str]
) -> None:
    engine = control_server.app.engine
    engine.tickets.create(subject="Precious", description="Not to be wiped by a web page")
    before = table_counts(engine)
    sent = {"Content-Type": "text/plain", **headers}
    answer = call(control_server, "POST", "/_local/reset", headers=sent)
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "local_only")
    assert table_counts(engine) == before
    # The API itself answers as usual: it needs a key anyway.
    listed = call(control_server, "GET", "/v1/tickets", headers=headers)
    assert listed.json()["error"]["code"] == "missing_api_key"


def test_a_system_clock_cannot_be_moved_through_the_control_plane() -> None:
    with (
        Engine.open(":memory:", clock=SystemClock()) as engine,
        LocalServer(engine, port=0, control=True) as server,
    ):
        answer = call(server, "POST", "/_local/clock/advance", json={"seconds": 60})
        assert answer.status_code == 400
        assert "system clock" in answer.json()["error"]["message"]


def test_the_control_plane_is_off_unless_asked_for(http_server: LocalServer) -> None:
    with Engine.open(":memory:") as engine:
        http_server.app.engine = engine
        answer = call(http_server, "POST", "/_local/reset")
        assert (answer.status_code, answer.json()["error"]["code"]) == (404, "route_not_found")
        assert call(http_server, "GET", "/openapi.json").json()["openapi"] == "3.1.0"


def test_the_reference_python_examples_run_unchanged_against_the_server(
    control_server: LocalServer,
) -> None:
    seed_reference_state(control_server.app.engine)
    outcome = reference_python(control_server.url)["run_all"]()
    check_reference_outcome(control_server.app.engine, outcome, satisfaction=10)


def test_the_reference_curl_examples_run_against_the_server(control_server: LocalServer) -> None:
    if shutil.which("curl") is None:
        pytest.fail("curl is needed for the reference's curl examples")
    seed_reference_state(control_server.app.engine)
    run = subprocess.run(
        ["bash", str(REFERENCE / "examples.sh")],
        env={**os.environ, "BASE": control_server.url},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    created, updated, listed, closed = (
        json.loads(line) for line in run.stdout.splitlines() if line
    )
    assert created["data"]["number"] == "TICK-2"
    assert updated["data"]["status"] == "in_progress"
    assert updated["data"]["assigned_to"] == "user_jane_smith"
    assert listed["meta"]["total"] == 0  # the new ticket is new, the seeded one in progress
    assert closed["data"]["root_cause"] == "system_error"
    assert closed["data"]["resolution_note"] == "Refund of $99.99 processed successfully..."


def test_the_reference_javascript_examples_run_under_node_against_the_server(
    control_server: LocalServer, tmp_path: Path
) -> None:
    modules = REFERENCE / "node_modules"
    if shutil.which("node") is None or not (modules / "axios").is_dir():
        message = "Node.js and axios (npm install --prefix tests/reference axios) are needed"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs both: missing there is a failure
        pytest.skip(message)
    seed_reference_state(control_server.app.engine)
    script = tmp_path / "examples.js"
    script.write_text(
        (REFERENCE / "examples.js").read_text().replace(DEFAULT_BASE_URL, control_server.url)
    )
    run = subprocess.run(
        ["node", str(script)], env={**os.environ, "NODE_PATH": str(modules)},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    outcome = json.loads(run.stdout.splitlines()[-1])
    check_reference_outcome(control_server.app.engine, outcome, satisfaction=9)
    refused = outcome["refused"]
    assert refused["status"] == 409
    assert refused["body"]["error"]["code"] == "ticket_already_closed"


CLI = [sys.executable, "-c", "from ayra_tickets.cli import main; main()"]


class Lines:
    """A process's stderr a line at a time, waiting at most ``timeout`` for each (a hung
    server fails the test instead of hanging it)."""

    def __init__(self, stream: Any, timeout: float = 15) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.timeout = timeout
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put("")

    def next(self) -> str:
        return self.lines.get(timeout=self.timeout)

    def next_of_ours(self) -> str:
        """The next line but waitress's own notes that its task queue grew (a busy
        machine's, not the server's)."""
        while "Task queue depth" in (line := self.next()):
            pass
        return line

    def rest(self) -> str:
        found = []
        while (line := self.next()) != "":
            found.append(line)
        return "".join(found)


@attrs.frozen
class Served:
    """A ``serve --control`` process: its URL, its banner and the rest of its stderr."""

    process: subprocess.Popen[str]
    url: str
    banner: str
    output: Lines


@contextlib.contextmanager
def serving(db: str) -> Iterator[Served]:
    """``ayra-tickets --db DB serve --control`` in a process of its own, its clock from
    2025-01-15T09:00:00Z, once its banner is out; killed if still running after."""
    command = [*CLI, "--db", db,
               "serve", "--port", "0", "--control", "--start", "2025-01-15T09:00:00Z"]  # fmt: skip
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        output = Lines(server.stderr)
        banner = output.next()
        found = re.search(r"on (http://127\.0\.0\.1:\d+), control plane at /_local/", banner)
        assert found, banner
        yield Served(server, found.group(1), banner, output)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        if server.stderr is not None:
            server.stderr.close()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_starts_logs_a_line_per_request_and_stops_cleanly(
    tmp_path: Path, stop: signal.Signals
) -> None:
    with serving(str(tmp_path / "t.db")) as served:
        url, output = served.url, served.output
        key = requests.post(f"{url}/_local/keys", json={}, timeout=10).json()["data"]["key"]
        auth = {"Authorization": f"Bearer {key}"}
        listed = requests.get(f"{url}/v1/tickets?status=new", headers=auth, timeout=10)
        assert listed.status_code == 200
        logged = [output.next_of_ours() for _ in range(2)]
        assert re.search(r"POST /_local/keys 201 \d+B", logged[0]), logged
        assert re.search(r"GET /v1/tickets\?status=new 200 \d+B", logged[1]), logged
        assert key not in "".join(logged)  # secrets are never logged
        served.process.send_signal(stop)
        assert served.process.wait(timeout=10) == 0
        assert "stopped" in output.rest()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--control"], "name it with --db"),
        (["--db", ":memory:", "serve", "--control", "--host", "0.0.0.0"], "loopback --host"),
        (["--db", ":memory:", "serve", "--start", "2025-01-15T09:00:00Z"], "--start sets"),
    ],
)
def test_serve_refuses_a_control_plane_it_could_not_keep_safe(
    tmp_path: Path, args: list[str], message: str
) -> None:
    run = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert run.returncode == 2
    assert message in run.stderr
    assert not (tmp_path / "tickets.db").exists()


# -- the pytest plugin ------------------------------------------------------------------

PLUGIN_HEADER = """
import requests

from ayra_tickets.testing import DEFAULT_START

URL = "https://api.ayra.ai/v1/tickets"
LEFT = {}


def auth(key):
    return {"Authorization": "Bearer " + key}
"""
PLUGIN_TEST = """
@pytest.mark.parametrize("name", ["first", "second"])
def test_each_sees_only_its_own(name, ayra_api, ayra_engine, ayra_clock, ayra_key):
    # Whatever ran before, in this process or another: a fresh engine, clock and key.
    assert ayra_api.engine is ayra_engine and ayra_api.key == ayra_key
    assert ayra_clock.now() == DEFAULT_START
    assert requests.get(URL, headers=auth(ayra_key)).json()["meta"]["total"] == 0
    for earlier in LEFT.values():  # the keys of tests before, in this process
        assert requests.get(URL, headers=auth(earlier)).status_code == 401
    # The same chosen secret in each test: a leaked key table would refuse the second.
    ayra_engine.keys.create(secret="sk_test_chosen_1")
    made = requests.post(URL, json={"subject": name, "description": "mine"}, headers=auth(ayra_key))
    assert made.status_code == 201
    assert made.json()["data"]["number"] == "TICK-1"
    LEFT[name] = ayra_key
    ayra_clock.advance(hours=5)
"""


@pytest.mark.parametrize("workers", [None, "2"], ids=["one process", "xdist -n 2"])
def test_the_plugins_fixtures_keep_tests_apart(
    pytester: pytest.Pytester, workers: str | None
) -> None:
    pytester.makepyfile("\n".join(["import pytest", PLUGIN_HEADER, PLUGIN_TEST]))
    args = ["-p", "no:cacheprovider"] + (["-n", workers] if workers else [])
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=2)
