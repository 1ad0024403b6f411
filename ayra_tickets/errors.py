"""The errors the engine raises, one class per wire code (re-exported from the domain)."""

from .domain.errors import *  # noqa: F403
from .domain.errors import ALL_ERRORS, TicketError

__all__ = ["ALL_ERRORS", "TicketError"] + [cls.__name__ for cls in ALL_ERRORS]
