"""The control plane of a local server: ``/_local/...``, off unless asked for.

It does over HTTP what a Python test does with the engine directly, so that code under
test in another process or language can be given a known state:

=============================  ==================================================
``POST /_local/reset``         empty the database (``engine.reset()``) and put a
                               manual clock back where it started (``serve
                               --start``), or to ``{"now": ...}`` if given
``POST /_local/keys``          create a key: ``{"scopes": [...], "name": ...,
                               "secret": ...}`` (``engine.keys.create(...)``)
``GET /_local/clock``          the engine's now
``PUT /_local/clock``          ``{"now": "2025-01-15T09:00:00Z"}`` (``clock.set``),
                               then ``engine.run_due()``
``POST /_local/clock/advance``  ``{"seconds": 3600}`` (``clock.advance``), then
                               ``engine.run_due()``
``POST /_local/seed``          JSON Lines of create bodies, each may keep its ``id``
                               (``engine.tickets.import_many(...)``), at most
                               :data:`SEED_MAX_BYTES`
=============================  ==================================================

Answers and errors have the API's shapes (``{"data": ...}``, ``{"error": ...}``), and
their times are RFC 3339 in UTC with a ``Z``, as the API's are; a reset answers with the
clock's now, a move of the clock with its now and what the due work it ran did
(``"due": {"assignments": 0, "escalations": 2, "webhooks": 3}``), so that a test over
HTTP sees at once what the move made due. A
seed is an import in one transaction, read and reported as ``ayra-tickets import`` reads
and reports a file (:mod:`ayra_tickets.lines`): blank lines are skipped, good rows are
created and bad ones reported by line number; a line that is not JSON refuses the whole
seed, and a seed the database cannot take (a full disk, a lock held too long) writes
nothing and answers as the API does (507 ``storage_full``, 503 ``database_busy``). A seed
is read whole: one larger than :data:`SEED_MAX_BYTES` (the other routes take the API's 1
MiB) is refused with 413 ``request_too_large`` and nothing is written; larger sets go
through ``ayra-tickets import``. The clock moves only when the engine runs on a
:class:`ManualClock`, and not past the year 9000.

The plane answers only programs on this machine: a request that names a host other than
a loopback one (DNS rebinding), or that comes from a web page (it carries ``Origin``), is
refused with 403 ``local_only`` before anything is read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .domain.clock import ManualClock
from .domain.errors import (
    InvalidJson,
    MethodNotAllowed,
    ParameterInvalid,
    ParameterMissing,
    ParameterUnknown,
    PermissionDenied,
    RequestTooLarge,
    RouteNotFound,
    TicketError,
)
from .domain.times import format_time, parse_time
from .lines import JsonLines
from .service import ImportStopped
from .storage.errors import StorageUnavailable
from .wire import (
    MAX_BODY_BYTES,
    NO_BODY,
    Response,
    error_response,
    parse_body,
    unavailable_response,
    with_request_id,
)

if TYPE_CHECKING:
    from .engine import Engine

PREFIX = "/_local/"
SEED = "/_local/seed"
SEED_MAX_BYTES = 32 * 1_048_576
"""The largest seed body (32 MiB, some 60,000 tickets of half a kilobyte): a seed is
parsed whole in memory, so that a bad line can refuse all of it."""
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
"""The clock is not moved past this: later instants leave no room for deadlines."""

Handler = Callable[["Engine", Any], tuple[int, Any]]


class LocalOnly(PermissionDenied):
    """A control-plane request that did not come from a program on this machine."""

    code = "local_only"


def _fields(body: Any, allowed: set[str], required: frozenset[str] = frozenset()) -> dict[str, Any]:
    fields = _object(body)
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ParameterUnknown(f"Unknown parameter: {unknown[0]}", param=unknown[0])
    missing = sorted(required - set(fields))
    if missing:
        raise ParameterMissing(f"{missing[0]} is required", param=missing[0])
    return fields


def _reset(engine: Engine, body: Any) -> tuple[int, Any]:
    fields = _fields(body, {"now"})
    clock = engine.clock
    target = None
    if "now" in fields:  # read whole before anything is emptied
        clock = _manual(engine, "now")
        target = _instant(fields["now"], "now")
    engine.reset()
    if isinstance(clock, ManualClock):
        clock.restart(target)
    return 200, {"data": {"reset": True, "now": format_time(engine.clock.now())}}


def _keys(engine: Engine, body: Any) -> tuple[int, Any]:
    fields = _fields(body, {"scopes", "name", "secret"})
    scopes = fields.get("scopes", ["tickets:read", "tickets:write"])
    if not isinstance(scopes, list):
        raise ParameterInvalid("scopes must be a list", param="scopes")
    secret = engine.keys.create(scopes, name=fields.get("name"), secret=fields.get("secret"))
    return 201, {"data": {"key": secret, "scopes": list(dict.fromkeys(scopes))}}


def _manual(engine: Engine, param: str) -> ManualClock:
    clock = engine.clock
    if not isinstance(clock, ManualClock):
        raise ParameterInvalid(
            "this server runs on the system clock, which cannot be moved"
            " (serve --control runs on a manual one)",
            param=param,
        )
    return clock


def _now(engine: Engine) -> dict[str, Any]:
    return {"data": {"now": format_time(engine.clock.now())}}


def _clock(engine: Engine, body: Any) -> tuple[int, Any]:
    if body is NO_BODY:  # GET
        return 200, _now(engine)
    fields = _fields(body, {"now"}, frozenset({"now"}))
    clock = _manual(engine, "now")
    target = _instant(fields["now"], "now")
    try:
        clock.set(target)
    except ValueError as error:
        raise ParameterInvalid(str(error), param="now") from None
    return _moved(engine)


def _moved(engine: Engine) -> tuple[int, Any]:
    """The answer to a move of the clock, after doing what the move made due."""
    done = engine.run_due()
    return 200, {"data": {"now": format_time(engine.clock.now()), "due": done}}


def _instant(value: Any, param: str) -> datetime:
    """A date-time the clock may be put at: RFC 3339, before :data:`LATEST`."""
    target = parse_time(value, param)
    if target > LATEST:
        raise ParameterInvalid(f"{param} must be before {format_time(LATEST)}", param=param)
    return target


def _advance(engine: Engine, body: Any) -> tuple[int, Any]:
    seconds = _fields(body, {"seconds"}, frozenset({"seconds"}))["seconds"]
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds >= 0:
        raise ParameterInvalid("seconds must be a number, 0 or more", param="seconds")
    clock = _manual(engine, "seconds")
    if seconds > (LATEST - clock.now()).total_seconds():
        raise ParameterInvalid(
            f"that would move the clock past {format_time(LATEST)}", param="seconds"
        )
    clock.advance(timedelta(seconds=seconds))
    return _moved(engine)


def _seed(engine: Engine, text: Any) -> tuple[int, Any]:
    lines = JsonLines.from_text(text)
    rows = list(lines)
    not_json = lines.first_not_json()
    if not_json is not None:
        raise not_json
    try:  # one transaction: a seed that fails (a full disk) leaves nothing behind
        done = engine.tickets.import_many(rows, chunk_size=max(1, len(rows)))
    except ImportStopped as stopped:
        if isinstance(stopped.__cause__, StorageUnavailable):
            raise stopped.__cause__ from None
        raise
    return 200, {"data": lines.report(done)}


ROUTES: dict[str, dict[str, Handler]] = {
    "/_local/reset": {"POST": _reset},
    "/_local/keys": {"POST": _keys},
    "/_local/clock": {"GET": _clock, "PUT": _clock},
    "/_local/clock/advance": {"POST": _advance},
    SEED: {"POST": _seed},
}


def _object(body: Any) -> dict[str, Any]:
    if body is NO_BODY:
        return {}
    if not isinstance(body, dict):
        raise InvalidJson("The request body must be a JSON object")
    return body


def body_limit(path: str) -> int:
    """The largest body a request to ``path`` (of the control plane or not) may carry."""
    return SEED_MAX_BYTES if path == SEED else MAX_BODY_BYTES


def is_loopback(host: str) -> bool:
    """Whether a Host header names this machine (``localhost``, 127.x.x.x, ``[::1]``)."""
    name = urlsplit(f"//{host}").hostname or ""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def control(
    engine: Engine, method: str, path: str, headers: Mapping[str, str], body: bytes
) -> Response:
    """Answer one request to the control plane (``path`` without scheme and host)."""
    verb = method.upper()
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        if "origin" in lowered or not is_loopback(lowered.get("host", "")):
            raise LocalOnly("the control plane answers programs on this machine only")
        methods = ROUTES.get(path)
        if methods is None:
            raise RouteNotFound(f"No route for {verb} {path}")
        if verb not in methods:
            raise MethodNotAllowed(verb, path, tuple(methods))
        if len(body) > body_limit(path):
            raise RequestTooLarge(body_limit(path))
        if path == SEED:
            try:
                payload: Any = body.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidJson("The request body is not valid UTF-8") from None
        else:
            payload = parse_body(None, body)
        status, answer = methods[verb](engine, NO_BODY if verb == "GET" else payload)
        return with_request_id(Response(status, answer, {"Content-Type": "application/json"}))
    except TicketError as error:
        return with_request_id(error_response(error))
    except StorageUnavailable as refused:
        return with_request_id(unavailable_response(refused))
