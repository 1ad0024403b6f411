"""The error hierarchy: one class per wire code of the API's error table.

Each class carries its HTTP status, error ``type`` and ``code``; instances carry a
message and any context keys (``param``, ``closed_at``, ``from``/``to``, ...). Only the
wire layer turns them into HTTP answers, through :meth:`TicketError.to_dict`.
"""

from __future__ import annotations

from typing import Any, ClassVar


class TicketError(Exception):
    """Base of every error the engine raises on purpose."""

    status: ClassVar[int] = 500
    type: ClassVar[str] = "api_error"
    code: ClassVar[str] = "internal_error"
    default_message: ClassVar[str] = "Internal error"

    def __init__(self, message: str | None = None, **context: Any) -> None:
        self.message = message or self.default_message
        self.context = context
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        """The error body exactly as the API sends it: ``{"error": {...}}``."""
        return {
            "error": {"type": self.type, "message": self.message, "code": self.code, **self.context}
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"


# -- 400 --------------------------------------------------------------------------


class ValidationError(TicketError):
    """A request parameter is missing, malformed, too long or unknown."""

    status = 400
    type = "validation_error"
    code = "parameter_invalid"

    def __init__(self, message: str, *, param: str | None = None, **context: Any) -> None:
        if param is not None:
            context = {"param": param, **context}
        super().__init__(message, **context)
        self.param = param


class ParameterMissing(ValidationError):
    code = "parameter_missing"


class ParameterInvalid(ValidationError):
    code = "parameter_invalid"


class ParameterTooLong(ValidationError):
    code = "parameter_too_long"


class ParameterUnknown(ValidationError):
    code = "parameter_unknown"


class InvalidJson(ValidationError):
    code = "invalid_json"


# -- 401 / 403 --------------------------------------------------------------------


class AuthenticationError(TicketError):
    status = 401
    type = "authentication_error"


class MissingApiKey(AuthenticationError):
    code = "missing_api_key"
    default_message = "No API key provided; send 'Authorization: Bearer <key>'"


class InvalidApiKey(AuthenticationError):
    code = "invalid_api_key"
    default_message = "Invalid API key"


class PermissionDenied(TicketError):
    status = 403
    type = "permission_error"


class InsufficientScope(PermissionDenied):
    code = "insufficient_scope"

    def __init__(self, scope: str) -> None:
        super().__init__(f"This API key lacks the '{scope}' scope", scope=scope)


# -- 404 / 405 --------------------------------------------------------------------


class NotFound(TicketError):
    status = 404
    type = "not_found"


class TicketNotFound(NotFound):
    code = "ticket_not_found"
    default_message = "Ticket not found"


class RouteNotFound(NotFound):
    code = "route_not_found"
    default_message = "No such route"


class MethodNotAllowed(TicketError):
    status = 405
    type = "method_not_allowed"
    code = "method_not_allowed"

    def __init__(self, method: str, path: str, allowed: tuple[str, ...]) -> None:
        super().__init__(
            f"{method} is not allowed on {path}; allowed: {', '.join(allowed)}",
            allowed=list(allowed),
        )
        self.allowed = allowed


# -- 409 / 412 / 413 --------------------------------------------------------------


class Conflict(TicketError):
    status = 409
    type = "conflict"


class TicketAlreadyClosed(Conflict):
    code = "ticket_already_closed"
    default_message = "Ticket is already closed"

    def __init__(self, closed_at: str) -> None:
        super().__init__(None, closed_at=closed_at)


class TicketClosed(Conflict):
    code = "ticket_closed"
    default_message = "Ticket is closed; only reopening it (status 'reopened') is allowed"


class InvalidStatusTransition(Conflict):
    code = "invalid_status_transition"

    def __init__(self, current: str, requested: str) -> None:
        super().__init__(
            f"cannot move from {current} to {requested}", **{"from": current, "to": requested}
        )
        self.current = current
        self.requested = requested


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    default_message = "This idempotency key was already used with a different request"


class PreconditionFailed(TicketError):
    status = 412
    type = "precondition_failed"


class VersionMismatch(PreconditionFailed):
    code = "version_mismatch"

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"Ticket is at version {current}, not {expected}", current_version=current)


class RequestTooLarge(TicketError):
    status = 413
    type = "request_too_large"
    code = "request_too_large"

    def __init__(self, limit: int, what: str = "Request body") -> None:
        super().__init__(f"{what} is larger than {limit} bytes", limit=limit)


ALL_ERRORS: tuple[type[TicketError], ...] = (
    ParameterMissing,
    ParameterInvalid,
    ParameterTooLong,
    ParameterUnknown,
    InvalidJson,
    MissingApiKey,
    InvalidApiKey,
    InsufficientScope,
    TicketNotFound,
    RouteNotFound,
    MethodNotAllowed,
    TicketAlreadyClosed,
    TicketClosed,
    InvalidStatusTransition,
    IdempotencyKeyReused,
    VersionMismatch,
    RequestTooLarge,
)
"""Every concrete error, one per row-and-code of the spec's error table."""
