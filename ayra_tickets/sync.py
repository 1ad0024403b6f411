"""Sync with the remote Ticket API, first step: ``engine.sync`` (configuration, the
transactional outbox of commands, and push).

Once configured, every ticket write of the API (a create, an update, a close, and the
changes routing and escalation make) is reacted to in its own transaction (see
``UnitOfWork.reactions``): it becomes commands in the outbox
(:func:`~ayra_tickets.domain.sync.commands_of`), committed with the change or not at
all. Not configured, a write costs nothing more: no row, no query.

:meth:`Sync.push` sends them: it claims the tickets whose next command is due in one
transaction, sends each ticket's commands in order on a pool of threads (tickets side by
side, a ticket's commands one after another), and records each outcome in a transaction
of its own. A create carries its ``Idempotency-Key``; an update or close carries
``If-Match`` with the remote version the local knows, so that a retry never applies a
change twice: when the answer to an earlier attempt was lost after the remote committed
it, the retry's 412 is recognised by reading the remote ticket
(:func:`~ayra_tickets.domain.sync.already_applied`).

Pull and the three-way merge of conflicts are not built yet: a conflict is recorded,
with the remote's answer, and holds its ticket's queue.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from .domain.errors import ParameterInvalid
from .domain.ids import number_in_label, random_token
from .domain.sync import (
    ACKNOWLEDGED,
    CONFLICT,
    DEAD,
    REFUSED,
    RETRY,
    SENDABLE_APIS,
    STATUSES,
    Command,
    Conflict,
    Link,
    SyncConfig,
    SyncReport,
    SyncStatus,
    SyncUnavailable,
    already_applied,
    commands_of,
    etag_version,
    retry_after,
    retry_delay,
    validate_key_env,
    validate_remote,
    verdict,
)
from .sender import Reply, exchange
from .service import UnitOfWork, Written
from .storage.port import ClaimedTicket, CommandResult

__all__ = ["Sync", "SyncReport", "SyncStatus", "SyncUnavailable"]

Exchange = Callable[..., Reply]
"""How a request is made: method, url, body, headers, timeout (see
:func:`~ayra_tickets.sender.exchange`)."""

TIMEOUT = 10.0
"""Seconds the remote has to answer one request (``engine.sync.timeout``)."""
WORKERS = 4
"""Tickets pushed side by side (``engine.sync.workers``)."""
LEASE = timedelta(minutes=5)
"""How long, by the engine's clock, a claimed ticket's commands are held for the process
that claimed them: if it dies mid-push, another pushes them once the hold lapses."""
BATCH = 50
"""The most tickets one claim takes."""
IN_LINE = 100
"""The most commands of one ticket one claim takes."""
MAX_ANSWER = 1024 * 1024
"""The most of a remote's answer that is read."""
MAX_LISTED = 1_000
API_KEY = re.compile(r"[\x21-\x7e]{1,1000}")
"""What an API key read from the environment may be (it goes into a header)."""


class Sync:
    """``engine.sync``: where the remote is (stored in the database, so that every engine
    on it queues and pushes alike), the outbox of commands, and pushing them."""

    def __init__(self, uow: UnitOfWork, send: Exchange = exchange) -> None:
        self._uow = uow
        self._store = uow.storage.sync
        self._send = send
        self._config: SyncConfig | None = None
        self.timeout = TIMEOUT
        """Seconds the remote has to answer one request."""
        self.workers = WORKERS
        """How many tickets are pushed side by side."""
        uow.reactions.append(self._react)
        uow.loaders.append(self._load)

    # -- configuration --------------------------------------------------------------------

    def configure(self, remote: str, key_env: str) -> SyncConfig:
        """Sync with the Ticket API at ``remote`` (its base URL, such as
        ``https://api.ayra.ai``), authenticating with the API key held by the
        environment variable named ``key_env`` (only the name is stored). From the
        commit on, every create, update and close made through the API is queued as a
        command. Configured again, the key's variable may change; the remote may change
        only while no command was ever queued."""
        url = validate_remote(remote)
        if url.endswith("/v1"):
            url = url[: -len("/v1")]
        name = validate_key_env(key_env)
        uow = self._uow

        def configure() -> SyncConfig:
            current = self._store.config()
            if (
                current is not None
                and current.remote != url
                and self._store.commands(None, None, 1)
            ):
                raise ParameterInvalid(
                    f"sync already has commands for {current.remote}; the remote cannot change"
                    " under them",
                    param="remote",
                )
            self._store.configure(SyncConfig(url, name, uow.now()))
            self._load()
            assert self._config is not None
            return self._config

        return uow.write(configure)

    @property
    def config(self) -> SyncConfig | None:
        """The configuration (``None``: sync is not configured)."""
        return self._uow.read(lambda: self._config)

    def _load(self) -> None:
        """Read the configuration again (in a transaction: another engine may have
        changed it)."""
        self._config = self._store.config()

    # -- the outbox -----------------------------------------------------------------------

    def _react(self, written: Written) -> None:
        """A ticket write, to the outbox as commands; nothing at all when sync is not
        configured. A ticket created before sync was configured is not synced (nor its
        later changes)."""
        if self._config is None:
            return
        after = written.after
        if written.before is None:
            self._store.track(after.id, after.number)
        made = commands_of(written.before, after, written.events)
        if made:  # one statement tells whether the ticket is synced, and numbers them
            self._store.enqueue(after.number, made, written.now)

    # -- pushing --------------------------------------------------------------------------

    def run(self) -> SyncReport:
        """One round of sync: a push of every command due (pull is not built yet)."""
        return self.push()

    def push(self) -> SyncReport:
        """Send every command due by the engine's clock, each ticket's in order, tickets
        side by side (:attr:`workers`); what the remote does not answer is kept and
        tried again later (exponential backoff with jitter, never before a
        ``Retry-After``). Several processes may push at once: each ticket's commands are
        claimed by one. Raises :class:`SyncUnavailable` when sync is not configured or
        its key's variable is not set (nothing is sent, nothing changes)."""
        uow = self._uow
        config = uow.read(lambda: self._config)
        if config is None:
            raise SyncUnavailable(
                "sync is not configured: call engine.sync.configure(remote=..., key_env=...)"
            )
        key = os.environ.get(config.key_env)
        if not key:
            raise SyncUnavailable(
                f"the environment variable {config.key_env} that holds the remote's API key"
                " is not set"
            )
        if not API_KEY.fullmatch(key):
            raise SyncUnavailable(
                f"the environment variable {config.key_env} does not hold an API key (it must"
                " be printable ASCII without spaces)"
            )
        report = SyncReport(started_at=uow.now())
        moment = report.started_at
        assert moment is not None
        counted = threading.Lock()
        while report.refused is None:
            token = random_token(24)

            def claim(token: str = token) -> builtins.list[ClaimedTicket]:
                until = max(moment, uow.now()) + LEASE
                return self._store.claim(moment, until, token, BATCH, IN_LINE)

            claimed = uow.write(claim)
            if not claimed:
                break
            report.tickets += len(claimed)
            pushing = _Pushing(self, config, key, report, counted)
            attempted = report.attempted
            with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(claimed)))) as pool:
                for done in [pool.submit(pushing.ticket, each) for each in claimed]:
                    done.result()
            if report.attempted == attempted:
                break  # nothing claimed could be sent: the next claim would find the same
        report.finished_at = uow.now()

        def finish() -> int:
            figures = self._store.figures()
            self._store.rounds(uow.now(), report.succeeded(figures.retrying))
            self._load()
            return figures.pending

        report.pending = uow.write(finish)
        return report

    # -- where sync stands ----------------------------------------------------------------

    def status(self) -> SyncStatus:
        """Pending commands (and those waiting for another attempt) and the age of the
        oldest, dead letters, open conflicts (and the tickets they hold), the last round
        and the last successful one (see :meth:`SyncReport.succeeded`)."""
        uow = self._uow

        def status() -> SyncStatus:
            now = uow.now()
            config = self._store.config()  # its rounds as any process recorded them
            figures = self._store.figures()
            oldest = figures.oldest_pending_at
            return SyncStatus(
                configured=config is not None,
                remote=None if config is None else config.remote,
                pending=figures.pending,
                retrying=figures.retrying,
                oldest_pending_age=None if oldest is None else max(timedelta(0), now - oldest),
                dead=figures.dead,
                conflicts=figures.conflicts,
                blocked=figures.blocked,
                last_round_at=None if config is None else config.last_round_at,
                last_success_at=None if config is None else config.last_success_at,
            )

        return uow.read(status)

    def link(self, ticket: str) -> Link | None:
        """How a local ticket (its id, or ``TICK-N``) stands with the remote: its remote
        id, number and version once its create is answered (``None``: not synced)."""
        number = number_in_label(ticket)
        store = self._store
        if number is not None:
            return self._uow.read(lambda: store.link(number))
        if not isinstance(ticket, str):
            raise ParameterInvalid("ticket must be a ticket's id or number", param="ticket")
        return self._uow.read(lambda: store.link_of(ticket_id=ticket))

    def remote_id(self, ticket: str) -> str | None:
        """The remote's id of a local ticket (its id, or ``TICK-N``), once the remote
        has answered its create."""
        link = self.link(ticket)
        return None if link is None else link.remote_id

    def local_id(self, remote_id: str) -> str | None:
        """The local id of the ticket the remote knows by ``remote_id``."""
        if not isinstance(remote_id, str):
            raise ParameterInvalid("remote_id must be a ticket's id", param="remote_id")
        link = self._uow.read(lambda: self._store.link_of(remote_id=remote_id))
        return None if link is None else link.ticket_id

    def commands(
        self, status: str | None = None, ticket: str | None = None, limit: int = 100
    ) -> builtins.list[Command]:
        """Commands in the order queued: in one ``status`` (``pending``, ``done``,
        ``dead``, ``conflict``), of one ``ticket`` (its local id or ``TICK-N``), up to
        ``limit`` (1 to 1,000)."""
        if status is not None and status not in STATUSES:
            raise ParameterInvalid(f"status must be one of {', '.join(STATUSES)}", param="status")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LISTED:
            raise ParameterInvalid(f"limit must be 1 to {MAX_LISTED}", param="limit")
        number = None
        if ticket is not None:
            link = self.link(ticket)
            if link is None:
                return []
            number = link.ticket_number
        return self._uow.read(lambda: self._store.commands(status, number, limit))

    def dead_letters(self, limit: int = 100) -> builtins.list[Command]:
        """The commands the remote refused for good (a 4xx no retry mends), oldest
        first."""
        return self.commands(status="dead", limit=limit)

    def conflicts(self) -> builtins.list[Conflict]:
        """The open conflicts, oldest first: each command the remote refused with 409 or
        412, and its answer. Each holds its ticket's later commands."""
        return self._uow.read(self._store.conflicts)


class _Pushing:
    """One claim's push: each ticket's commands in order, on a worker thread."""

    def __init__(
        self,
        sync: Sync,
        config: SyncConfig,
        key: str,
        report: SyncReport,
        counted: threading.Lock,
    ) -> None:
        self._sync = sync
        self._uow = sync._uow
        self._store = sync._store
        self._config = config
        self._auth = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
        self._report = report
        self._counted = counted

    def _count(self, **by: int) -> None:
        with self._counted:
            for name, more in by.items():
                setattr(self._report, name, getattr(self._report, name) + more)

    def ticket(self, claimed: ClaimedTicket) -> None:
        """Send a ticket's claimed commands in order, until one is not acknowledged (a
        dead letter lets the next go); let go of the rest."""
        link = claimed.link
        try:
            for command in claimed.commands:
                if self._report.refused is not None:
                    return
                if command.api_version not in SENDABLE_APIS:
                    with self._counted:
                        self._report.refused = (
                            f"command {command.id} was written for API {command.api_version},"
                            " which this release cannot send"
                        )
                    return
                if command.kind != "create" and link.remote_id is None:
                    return  # its create is dead: the rest wait for it
                if self._uow.now() + timedelta(seconds=self._sync.timeout) >= claimed.until:
                    return  # the hold may lapse before an answer: the rest, claimed anew
                result = self._attempt(command, link)
                if result is None:
                    return
                self._record(command, claimed.token, result)
                if result.status == "done":
                    link = _moved(link, result)
                elif result.status != "dead":
                    return
        finally:
            self._uow.write(lambda: self._store.release(claimed.token))

    def _record(self, command: Command, token: str, result: CommandResult) -> None:
        self._uow.write(lambda: self._store.record(command, token, result))

    def _request(
        self, method: str, path: str, body: Mapping[str, Any] | None, headers: dict[str, str]
    ) -> Reply:
        sent = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        if sent is not None:
            headers = {**headers, "Content-Type": "application/json"}
        url = self._config.remote + path
        try:
            return self._sync._send(
                method, url, sent, {**self._auth, **headers}, self._sync.timeout, limit=MAX_ANSWER
            )
        except Exception as error:  # a sender's failure is one attempt's, not the round's
            return Reply(None, error=f"{type(error).__name__}: {error}"[:500])

    def _attempt(self, command: Command, link: Link) -> CommandResult | None:
        """Send one command and judge the answer; ``None`` when the remote refused the
        key (the round stops, and the command is kept as it was)."""
        at = self._uow.now()
        attempt = command.attempts + 1
        self._count(attempted=1)
        if command.kind == "create":
            reply = self._request(
                "POST", "/v1/tickets", command.patch, {"Idempotency-Key": command.idempotency_key}
            )
        else:
            path = f"/v1/tickets/{link.remote_id}" + ("/close" if command.kind == "close" else "")
            reply = self._request(
                "PUT", path, command.patch, {"If-Match": f'"v{link.remote_version}"'}
            )
        judged = verdict(reply.status)
        answer = _json(reply.body)
        if judged == ACKNOWLEDGED:
            data = answer.get("data") if isinstance(answer, dict) else None
            if isinstance(data, dict) and isinstance(data.get("id"), str):
                self._count(acknowledged=1)
                return _done(at, reply, data)
            reply = Reply(reply.status, reply.headers, reply.body, "an answer without a ticket")
        elif judged == CONFLICT:
            if command.kind != "create":
                # An earlier attempt (or this request, delivered twice) may have been
                # applied, and its answer lost.
                applied, seen = self._applied(command, link)
                if applied is None:
                    judged = RETRY  # the check itself went unanswered: later
                elif applied:
                    self._count(recovered=1, acknowledged=1)
                    return _done(at, Reply(200), seen)
            if judged == CONFLICT:
                self._count(conflicts=1)
                return CommandResult(
                    at, "conflict", None, reply.status, _error(reply, answer), answer=answer
                )
        elif judged == DEAD:
            self._count(dead=1)
            return CommandResult(at, "dead", None, reply.status, _error(reply, answer))
        elif judged == REFUSED:
            with self._counted:
                self._report.refused = (
                    f"the remote answered {reply.status}: check the remote's address and the"
                    f" key in {self._config.key_env}"
                )
            return None
        self._count(retried=1)
        asked = retry_after(reply.headers.get("retry-after"), at)
        next_at = at + retry_delay(command.idempotency_key, attempt, asked)
        return CommandResult(at, "pending", next_at, reply.status, _error(reply, answer))

    def _applied(self, command: Command, link: Link) -> tuple[bool | None, dict[str, Any]]:
        """Whether the remote ticket shows ``command`` applied on top of the version it
        was sent against (``None``: it could not be read), and the ticket."""
        path = f"/v1/tickets/{link.remote_id}"
        reply = self._request("GET", path, None, {})
        data = _json(reply.body).get("data") if reply.status == 200 else None
        if not isinstance(data, dict):
            return None, {}
        notes: builtins.list[dict[str, Any]] = []
        if "internal_note" in command.patch:
            events = self._request("GET", path + "/events", None, {})
            listed = _json(events.body).get("data") if events.status == 200 else None
            if not isinstance(listed, list):
                return None, {}
            notes = [e for e in listed if isinstance(e, dict) and e.get("type") == "note_added"]
        assert link.remote_version is not None
        return already_applied(command, link.remote_version, data, notes), data


def _json(body: bytes) -> Any:
    """A JSON answer's value (``{}`` when it is none)."""
    try:
        value = json.loads(body) if body else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _error(reply: Reply, answer: Any) -> str | None:
    """What went wrong, as the remote's error says it, else as the sender saw it."""
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, dict) and error.get("code"):
        return f"{reply.status} {error.get('code')}: {error.get('message', '')}"[:500]
    return reply.error


def _done(at: datetime, reply: Reply, data: Mapping[str, Any]) -> CommandResult:
    """An acknowledged command's result: the remote ticket's id, number and version."""
    version = data.get("version")
    if not isinstance(version, int):
        version = etag_version(reply.headers.get("etag"))
    number = data.get("number")
    return CommandResult(
        at,
        "done",
        None,
        reply.status,
        None,
        remote_id=str(data["id"]),
        remote_number=number if isinstance(number, str) else None,
        remote_version=version,
    )


def _moved(link: Link, result: CommandResult) -> Link:
    """A link after an acknowledged command."""
    return Link(
        link.ticket_id,
        link.ticket_number,
        result.remote_id or link.remote_id,
        result.remote_number or link.remote_number,
        result.remote_version if result.remote_version is not None else link.remote_version,
        link.blocked_by,
    )
