"""The ticket lifecycle: its eight statuses and the transitions between them.

Everything that decides whether a status may follow another lives in this file, as
data: :data:`TRANSITIONS` is the whole table of the contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from .errors import InvalidStatusTransition


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    WAITING_ON_THIRD_PARTY = "waiting_on_third_party"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


_S = Status

_WORKING = frozenset({_S.OPEN, _S.IN_PROGRESS, _S.WAITING_ON_CUSTOMER, _S.WAITING_ON_THIRD_PARTY})
_ENDS = frozenset({_S.RESOLVED, _S.CLOSED})

TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    _S.NEW: _WORKING | _ENDS,
    _S.OPEN: (_WORKING - {_S.OPEN}) | _ENDS,
    _S.IN_PROGRESS: (_WORKING - {_S.IN_PROGRESS}) | _ENDS,
    _S.WAITING_ON_CUSTOMER: (_WORKING - {_S.WAITING_ON_CUSTOMER}) | _ENDS,
    _S.WAITING_ON_THIRD_PARTY: (_WORKING - {_S.WAITING_ON_THIRD_PARTY}) | _ENDS,
    _S.RESOLVED: frozenset({_S.REOPENED, _S.CLOSED}),
    _S.CLOSED: frozenset({_S.REOPENED}),
    _S.REOPENED: _WORKING | _ENDS,
}
"""Where each status may move. Staying in the same status is not a move."""

CREATE_STATUSES: frozenset[Status] = frozenset({_S.NEW, _S.OPEN, _S.IN_PROGRESS})
"""The statuses a ticket may be created in."""

PAUSED_STATUSES: frozenset[Status] = frozenset(
    {_S.WAITING_ON_CUSTOMER, _S.WAITING_ON_THIRD_PARTY, _S.RESOLVED, _S.CLOSED}
)
"""Statuses in which the resolution clock stands still."""


def check_transition(current: Status, requested: Status) -> None:
    """Raise :class:`InvalidStatusTransition` unless ``current -> requested`` is allowed."""
    if requested not in TRANSITIONS[current]:
        raise InvalidStatusTransition(current.value, requested.value)


def path_from_new(target: Status) -> tuple[Status, ...]:
    """The fewest moves that take a new ticket to ``target``, by :data:`TRANSITIONS`
    (an imported ticket reaches the status it had this way)."""
    paths: dict[Status, tuple[Status, ...]] = {Status.NEW: ()}
    frontier = [Status.NEW]
    while target not in paths and frontier:
        reached = []
        for before in frontier:
            for after in sorted(TRANSITIONS[before], key=list(Status).index):
                if after not in paths:
                    paths[after] = (*paths[before], after)
                    reached.append(after)
        frontier = reached
    return paths[target]
