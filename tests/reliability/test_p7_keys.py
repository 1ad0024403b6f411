"""Issue 13, point 7: keys. An idempotency key belongs to the API key that sent it (no
other key replays it, so a write-only key cannot read a ticket that way); a listing
shows nothing of a chosen secret; chosen secrets are 16 characters or more; the stored
digest is the file's salted scrypt, found by one indexed query."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ayra_tickets import Engine, ManualClock, TicketError
from ayra_tickets.cli import main
from ayra_tickets.local import control
from tests.conftest import START, Api, table_counts

BODY = {"subject": "Charged twice", "description": "Card 4242, order #12345", "priority": 2}
CHOSEN = ["sk_live_abc123xyz789", "correct_horse_battery_staple"]
SCHEMA_13 = Path(__file__).parents[1] / "fixtures" / "schema-13.db"


def documented_digest(secret: str, salt: str) -> str:
    """The stored digest as domain.keys documents it, written out here."""
    legacy = hashlib.sha256(secret.encode("utf-8")).hexdigest()
    return hashlib.scrypt(
        legacy.encode("ascii"), salt=bytes.fromhex(salt), n=2**13, r=8, p=1, dklen=32
    ).hex()


def file_salt(engine: Engine) -> str:
    row = engine.db.execute("SELECT value FROM settings WHERE key = 'api_key_salt'").fetchone()
    assert row is not None, "the file has no salt for its keys"
    return str(row[0])


def stored_digest(engine: Engine, key_id: str) -> str:
    (digest,) = engine.db.execute(
        "SELECT secret_hash FROM api_keys WHERE id = ?", (key_id,)
    ).fetchone()
    return str(digest)


def key_id(engine: Engine, secret: str) -> str:
    found = engine.keys.authenticate(secret)
    assert found is not None
    return found.id


def substrings(secret: str, longer_than: int = 3) -> set[str]:
    size = longer_than + 1
    return {secret[start : start + size] for start in range(len(secret) - size + 1)}


def post(api: Api, idempotency_key: str, body: dict[str, Any], key: str | None = None) -> Any:
    return api("POST", "/v1/tickets", body, headers={"Idempotency-Key": idempotency_key}, key=key)


# -- idempotency keys are their sender's -------------------------------------------------


def test_p7_another_key_sending_the_same_idempotency_key_gets_its_own_ticket_not_the_firsts(
    api: Api,
) -> None:
    first = post(api, "order-12345", BODY)
    other_key = api.engine.keys.create(scopes=["tickets:read", "tickets:write"])
    other = post(api, "order-12345", BODY, key=other_key)
    assert other.status == 201
    assert other.json["data"]["id"] != first.json["data"]["id"]
    assert other.json["data"]["number"] == "TICK-2"
    # Each key's retry still answers its own first call, and makes nothing.
    counts = table_counts(api.engine)
    assert post(api, "order-12345", BODY).json == first.json
    assert post(api, "order-12345", BODY, key=other_key).json == other.json
    assert table_counts(api.engine) == counts


def test_p7_a_write_only_key_cannot_read_a_ticket_by_replaying_another_keys_idempotency_key(
    api: Api,
) -> None:
    first = post(api, "refund-42", BODY)
    writer = api.engine.keys.create(scopes=["tickets:write"])
    assert api("GET", f"/v1/tickets/{first.json['data']['id']}", key=writer).status == 403
    replayed = post(api, "refund-42", BODY, key=writer)
    assert replayed.status == 201
    assert first.json["data"]["id"] != replayed.json["data"]["id"]
    assert first.json["data"]["number"] not in json.dumps(replayed.json)
    # Nor does another body tell it that the key was used (it was 409 for it).
    guessed = post(api, "refund-43", BODY)
    assert guessed.status == 201
    probe = post(api, "refund-43", {**BODY, "priority": 1}, key=writer)
    assert probe.status == 201


def test_p7_python_calls_have_their_own_idempotency_scope_apart_from_every_api_key(
    api: Api,
) -> None:
    by_python = api.engine.tickets.create(idempotency_key="nightly-1", **BODY)
    by_key = post(api, "nightly-1", BODY)
    assert by_key.status == 201
    assert by_key.json["data"]["id"] != by_python.id
    again = api.engine.tickets.create(idempotency_key="nightly-1", **BODY)
    assert again.id == by_python.id
    assert api.engine.tickets.count() == 2


# -- what a listing shows ----------------------------------------------------------------


def test_p7_keys_list_shows_nothing_of_a_chosen_secret_in_python_or_the_cli(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "keys.db")
    with Engine.open(db) as engine:
        for secret in CHOSEN:
            engine.keys.create(name="chosen", secret=secret)
        shown = repr(engine.keys.list())
        ids = [key.id for key in engine.keys.list()]
    runner = CliRunner()
    listed = runner.invoke(main, ["--db", db, "keys", "list"])
    assert listed.exit_code == 0, listed.output
    revoked = runner.invoke(main, ["--db", db, "keys", "revoke", ids[0]])
    assert revoked.exit_code == 0, revoked.output
    for secret in CHOSEN:
        for text in (shown, listed.output, revoked.output):
            leaked = sorted(part for part in substrings(secret) if part in text)
            assert leaked == [], (secret, leaked, text)


def test_p7_a_made_keys_prefix_shows_four_of_its_32_random_characters_and_revokes_it(
    memory_engine: Engine,
) -> None:
    secret = memory_engine.keys.create()
    (record,) = memory_engine.keys.list()
    assert record.prefix == secret[:12]
    assert secret.startswith("sk_test_")
    assert len(secret) == 40
    chosen = memory_engine.keys.create(secret=CHOSEN[0])
    chosen_record = memory_engine.keys.list()[-1]
    assert chosen_record.prefix == chosen_record.id  # nothing of the secret
    assert memory_engine.keys.revoke(record.prefix)
    assert memory_engine.keys.authenticate(secret) is None
    assert memory_engine.keys.authenticate(chosen) is not None


# -- chosen secrets ----------------------------------------------------------------------


def test_p7_a_chosen_secret_of_15_characters_is_refused_naming_secret_and_16_are_accepted(
    memory_engine: Engine,
) -> None:
    counts = table_counts(memory_engine)
    with pytest.raises(TicketError) as refused:
        memory_engine.keys.create(secret="a" * 15)
    error = refused.value.to_dict()["error"]
    assert (refused.value.status, error["code"], error["param"]) == (
        400,
        "parameter_invalid",
        "secret",
    )
    assert "16" in error["message"]
    loopback = {"Host": "127.0.0.1"}
    answer = control(
        memory_engine, "POST", "/_local/keys", loopback, b'{"secret": "b15_characters_"}'
    )
    assert (answer.status, answer.json["error"]["param"]) == (400, "secret")
    assert table_counts(memory_engine) == counts
    assert memory_engine.keys.create(secret="a" * 16) == "a" * 16
    made = control(
        memory_engine, "POST", "/_local/keys", loopback, b'{"secret": "b16_characters__"}'
    )
    assert made.status == 201
    assert memory_engine.keys.authenticate("b16_characters__") is not None


# -- the stored digest -------------------------------------------------------------------


def test_p7_the_stored_digest_is_the_files_salted_scrypt_and_differs_between_files(
    tmp_path: Path,
) -> None:
    digests = []
    for name in ("one.db", "two.db"):
        with Engine.open(tmp_path / name) as engine:
            made = engine.keys.create(secret=CHOSEN[0])
            digest = stored_digest(engine, key_id(engine, made))
            assert digest != hashlib.sha256(CHOSEN[0].encode()).hexdigest()
            assert digest == documented_digest(CHOSEN[0], file_salt(engine))
            digests.append(digest)
    assert digests[0] != digests[1]
    # The cost is in the parameters, not in a clock: 8 MiB of memory for every guess.
    from ayra_tickets.domain import keys

    assert (keys.KDF_N, keys.KDF_R, keys.KDF_P) == (2**13, 8, 1)
    assert 128 * keys.KDF_N * keys.KDF_R == 8 * 2**20


def test_p7_a_key_is_found_by_one_indexed_query_and_stretched_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keys.db"
    with Engine.open(path) as engine:
        secret = engine.keys.create(scopes=["tickets:read"])
        expected = documented_digest(secret, file_salt(engine))
    stretched: list[bytes] = []
    real_scrypt = hashlib.scrypt

    def counted(password: bytes, **kwargs: Any) -> bytes:
        stretched.append(password)
        return real_scrypt(password, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counted)
    statements: list[str] = []
    with Engine.open(path) as engine:  # a new process's engine: nothing cached
        engine.keys.authenticate(secret)  # stretches once (its read loads the caches)
        engine.db.conn.set_trace_callback(statements.append)
        for _ in range(20):
            answer = engine.request(
                "GET", "/v1/tickets", headers={"Authorization": f"Bearer {secret}"}
            )
            assert answer.status == 200
        engine.db.conn.set_trace_callback(None)
        assert len(stretched) == 1
        lookups = [s for s in statements if "api_keys" in s]
        assert len(lookups) == 1  # then kept: nobody else committed, nor wrote a key here
        begins = [s for s in statements if s.startswith("BEGIN")]
        assert len(begins) == 1 + 20  # the one read, then each request's list: no other
        assert expected in lookups[0]
        (lookup,) = set(lookups)
        plan = engine.db.execute("EXPLAIN QUERY PLAN " + lookup).fetchall()
        assert any("USING INDEX" in row[-1] or "USING COVERING INDEX" in row[-1] for row in plan)
        assert not any(row[-1].startswith("SCAN") for row in plan), plan
        # A wrong secret shaped like none is refused without stretching or a query.
        statements.clear()
        engine.db.conn.set_trace_callback(statements.append)
        assert engine.keys.authenticate("not a key!") is None
        engine.db.conn.set_trace_callback(None)
        assert len(stretched) == 1
        assert not [s for s in statements if "api_keys" in s]


def test_p7_a_kept_key_revoked_by_another_engine_or_this_one_is_refused_at_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys.db"
    with Engine.open(path) as here, Engine.open(path) as there:
        first = here.keys.create(scopes=["tickets:read"], name="first")
        second = here.keys.create(scopes=["tickets:read"], name="second")

        def status(secret: str) -> int:
            sent = {"Authorization": f"Bearer {secret}"}
            return here.request("GET", "/v1/tickets", headers=sent).status

        assert (status(first), status(second)) == (200, 200)  # both found, and kept
        (found,) = [key for key in there.keys.list() if key.name == "first"]
        assert there.keys.revoke(found.id)  # another connection commits
        assert (status(first), status(second)) == (401, 200)
        (found,) = [key for key in here.keys.list() if key.name == "second"]
        assert here.keys.revoke(found.id)  # this engine's own write
        assert status(second) == 401
        made = there.keys.create(scopes=["tickets:read"])  # a refusal is never kept
        assert status(made) == 200
        here.reset()
        assert status(made) == 401


def test_p7_a_secret_is_stretched_outside_the_engines_lock_so_other_calls_go_on(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    went_on: list[bool] = []
    others: list[threading.Thread] = []
    real_scrypt = hashlib.scrypt

    def stretching(password: bytes, **kwargs: Any) -> bytes:
        # Meanwhile, another thread writes a ticket: it must not wait for the stretching.
        done = threading.Event()
        other = threading.Thread(
            target=lambda: (engine.tickets.create(subject="s", description="d"), done.set())
        )
        other.start()
        others.append(other)
        went_on.append(done.wait(timeout=30))
        return real_scrypt(password, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", stretching)
    secret = engine.keys.create(secret=CHOSEN[1])  # stretched before the write lock
    engine.keys.forget_digests()  # as in another process: stretched anew
    assert engine.keys.authenticate(secret) is not None
    for other in others:
        other.join(timeout=30)
    assert went_on == [True, True]
    assert engine.tickets.count() == 2


# -- files from before -------------------------------------------------------------------


def test_p7_a_schema_13_file_keeps_its_chosen_key_working_stretched_and_unlisted(
    tmp_path: Path,
) -> None:
    path = tmp_path / SCHEMA_13.name
    shutil.copy(SCHEMA_13, path)
    raw = sqlite3.connect(path)
    legacy = raw.execute("SELECT secret_hash FROM api_keys WHERE name = 'reference'").fetchone()
    # Chosen secrets were 8 characters and up then: such a key keeps working too.
    raw.execute(
        "INSERT INTO api_keys (id, name, prefix, secret_hash, scopes, created_at)"
        " VALUES ('key_short', 'short', 'shor', ?, 'tickets:read', '2025-01-15T09:00:00Z')",
        (hashlib.sha256(b"short_8c").hexdigest(),),
    )
    raw.commit()
    raw.close()
    assert legacy == (hashlib.sha256(CHOSEN[0].encode()).hexdigest(),)

    clock = ManualClock(START + timedelta(hours=1))  # the refund's key is 30 minutes old
    with Engine.open(path, clock=clock) as engine:
        reference = engine.keys.authenticate(CHOSEN[0])
        assert reference is not None
        assert reference.scopes == ("tickets:write",)
        digest = stored_digest(engine, reference.id)
        assert digest == documented_digest(CHOSEN[0], file_salt(engine))
        short = engine.keys.authenticate("short_8c")
        assert short is not None
        assert stored_digest(engine, "key_short") == documented_digest(
            "short_8c", file_salt(engine)
        )
        assert all(key.prefix == key.id for key in engine.keys.list())
        # The remembered create replays for Python calls, and for no API key.
        refund = {
            "subject": "Refund invoice 42",
            "description": "Charged twice",
            "tags": ["refund"],
        }
        again = engine.tickets.create(idempotency_key="refund-42", **refund)
        assert again.number == 2
        headers = {"Authorization": f"Bearer {CHOSEN[0]}", "Idempotency-Key": "refund-42"}
        sent = engine.request("POST", "/v1/tickets", headers=headers, json=refund)
        assert sent.status == 201
        assert sent.json["data"]["number"] == "TICK-4"


def test_p7_a_reset_forgets_idempotency_keys_and_keeps_the_files_salt(
    engine: Engine, db_path: str
) -> None:
    gone = engine.tickets.create(idempotency_key="seed-1", **BODY)
    salt = engine.db.execute("SELECT value FROM settings WHERE key = 'api_key_salt'").fetchone()
    engine.reset()
    again = engine.tickets.create(idempotency_key="seed-1", **BODY)
    assert again.id != gone.id  # not the answer of a ticket that no longer exists
    assert again.number == 1
    assert (file_salt(engine),) == salt
    secret = engine.keys.create(secret=CHOSEN[1])
    with Engine.open(db_path) as other:  # another process's engine reads the same salt
        assert other.keys.authenticate(secret) is not None
