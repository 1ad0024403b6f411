"""The control plane of a local server: ``/_local/...``, off unless asked for.

It does over HTTP what a Python test does with the engine directly, so that code under
test in another process or language can be given a known state:

=========================  ===================================================
``POST /_local/reset``     empty the database (``engine.reset()``)
``POST /_local/keys``      create a key: ``{"scopes": [...], "name": ..., "secret": ...}``
                           (``engine.keys.create(...)``)
``GET /_local/clock``      the engine's now
``PUT /_local/clock``      ``{"now": "2025-01-15T09:00:00Z"}`` (``clock.set(...)``)
``POST /_local/clock/advance``  ``{"seconds": 3600}`` (``clock.advance(...)``)
``POST /_local/seed``      JSON Lines of create bodies, each may keep its ``id``
                           (``engine.tickets.import_many(...)``)
=========================  ===================================================

Answers and errors have the API's shapes (``{"data": ...}``, ``{"error": ...}``). The
clock can be moved only when the engine runs on a :class:`ManualClock`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .domain.clock import ManualClock
from .domain.errors import (
    InvalidJson,
    MethodNotAllowed,
    ParameterInvalid,
    RouteNotFound,
    TicketError,
)
from .domain.times import format_time, parse_time
from .wire import NO_BODY, Response, error_response, parse_body, with_request_id

if TYPE_CHECKING:
    from .engine import Engine

PREFIX = "/_local/"

Handler = Callable[["Engine", Any], tuple[int, Any]]


def _reset(engine: Engine, body: Any) -> tuple[int, Any]:
    engine.reset()
    return 200, {"data": {"reset": True}}


def _keys(engine: Engine, body: Any) -> tuple[int, Any]:
    fields = _object(body)
    unknown = sorted(set(fields) - {"scopes", "name", "secret"})
    if unknown:
        raise ParameterInvalid(f"Unknown parameter: {unknown[0]}", param=unknown[0])
    scopes = fields.get("scopes", ["tickets:read", "tickets:write"])
    if not isinstance(scopes, list):
        raise ParameterInvalid("scopes must be a list", param="scopes")
    secret = engine.keys.create(scopes, name=fields.get("name"), secret=fields.get("secret"))
    return 201, {"data": {"key": secret, "scopes": list(dict.fromkeys(scopes))}}


def _manual(engine: Engine) -> ManualClock:
    clock = engine.clock
    if not isinstance(clock, ManualClock):
        raise ParameterInvalid("this server's clock is the system clock; it cannot be moved")
    return clock


def _now(engine: Engine) -> dict[str, Any]:
    return {"data": {"now": format_time(engine.clock.now())}}


def _clock(engine: Engine, body: Any) -> tuple[int, Any]:
    if body is NO_BODY:  # GET
        return 200, _now(engine)
    fields = _object(body)
    if set(fields) != {"now"}:
        raise ParameterInvalid('send {"now": <date-time>}', param="now")
    clock = _manual(engine)
    target = parse_time(fields["now"], "now")
    try:
        clock.set(target)
    except ValueError as error:
        raise ParameterInvalid(str(error), param="now") from None
    return 200, _now(engine)


def _advance(engine: Engine, body: Any) -> tuple[int, Any]:
    fields = _object(body)
    seconds = fields.get("seconds")
    if (
        set(fields) != {"seconds"}
        or isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 <= seconds <= 100 * 366 * 86400
    ):
        raise ParameterInvalid('send {"seconds": <0 or more>}', param="seconds")
    _manual(engine).advance(timedelta(seconds=seconds))
    return 200, _now(engine)


def _seed(engine: Engine, body: Any) -> tuple[int, Any]:
    if not isinstance(body, str):
        raise InvalidJson("send the tickets as JSON Lines, one create body a line")
    rows = []
    for line_number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line, parse_constant=_refuse_constant))
        except ValueError as error:
            raise InvalidJson(f"line {line_number} is not valid JSON: {error}") from None
    report = engine.tickets.import_many(rows)
    return 200, {
        "data": {
            "imported": report.imported,
            "first_number": report.first_number,
            "last_number": report.last_number,
            "rejected": [{"index": r.index, "error": r.error} for r in report.rejected],
        }
    }


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


ROUTES: dict[str, dict[str, Handler]] = {
    "/_local/reset": {"POST": _reset},
    "/_local/keys": {"POST": _keys},
    "/_local/clock": {"GET": _clock, "PUT": _clock},
    "/_local/clock/advance": {"POST": _advance},
    "/_local/seed": {"POST": _seed},
}


def _object(body: Any) -> dict[str, Any]:
    if body is NO_BODY:
        return {}
    if not isinstance(body, dict):
        raise InvalidJson("The request body must be a JSON object")
    return body


def control(
    engine: Engine, method: str, path: str, headers: Mapping[str, str], body: bytes
) -> Response:
    """Answer one request to the control plane."""
    verb = method.upper()
    try:
        methods = ROUTES.get(path.split("?", 1)[0])
        if methods is None:
            raise RouteNotFound(f"No route for {verb} {path}")
        if verb not in methods:
            raise MethodNotAllowed(verb, path, tuple(methods))
        if path.endswith("/seed"):
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
