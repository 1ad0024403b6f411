"""Routing's rules, as pure functions: agents, routing rules, and who gets a ticket.

An :class:`Agent` belongs to groups, has skills, may hold at most ``capacity`` open
tickets, works the hours of its ``calendar`` (if it has one) and may be away. A
:class:`RoutingRule` sends the tickets it matches to a group; its strategy picks the
agent (:func:`choose`) among the group's *qualified* agents: available, inside their
hours, below capacity. Everything here is decided from values handed in (the agents,
their open tickets, the last agent a rule's turn went to, the instant): the services
read them and write what is decided.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from .calendar import BusinessCalendar
from .errors import ParameterInvalid
from .lifecycle import Status
from .ticket import Ticket
from .validation import (
    LABEL_MAX,
    _boolean,
    _integer,
    _priority,
    _reference,
    _reject_unknown,
    _tag,
    _text,
)

STRATEGIES = ("round_robin", "least_loaded", "skills")
"""How a rule picks the agent of its group."""
DEFAULT_STRATEGY = "least_loaded"
"""The strategy of a group that no rule names (a ticket sent there by escalation)."""
MATCH_KEYS = ("priority", "category", "tags", "contact_id")
"""What a rule's ``match`` may test."""
CLOSED_STATUSES = frozenset({Status.RESOLVED, Status.CLOSED})
"""A ticket in any other status is open: it counts toward its agent's load."""
CAPACITY_MAX = 1_000_000
LIST_MAX = 100
"""The most groups or skills an agent (or a rule) may name."""
AGENT_FIELDS = ("name", "groups", "skills", "capacity", "calendar", "available")
"""What ``engine.agents.update`` may change."""


def is_open(ticket: Ticket) -> bool:
    """Whether the ticket counts toward its assignee's load."""
    return ticket.status not in CLOSED_STATUSES


def in_hours(calendar: BusinessCalendar, at: datetime) -> bool:
    """Whether ``at`` falls inside the calendar's working time (a working span includes
    its start and excludes its end)."""
    day = at.date()
    return any(
        start <= at < end
        for offset in (-1, 0, 1)  # the local day may be the UTC day's neighbour
        for start, end in calendar.working_pieces(day + timedelta(days=offset))
    )


@attrs.frozen
class Agent:
    """One agent of the directory: ``capacity`` ``None`` has no limit; ``calendar``
    ``None`` works around the clock; ``available=False`` is away."""

    id: str
    name: str
    groups: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    capacity: int | None = None
    calendar: BusinessCalendar | None = None
    available: bool = True

    def on_duty(self, at: datetime) -> bool:
        """Available and inside their hours at ``at``."""
        return self.available and (self.calendar is None or in_hours(self.calendar, at))

    def qualifies(self, group: str, load: int, at: datetime) -> bool:
        """Whether the agent may be given one more ticket of ``group`` at ``at``, holding
        ``load`` open tickets."""
        return (
            group in self.groups
            and self.on_duty(at)
            and (self.capacity is None or load < self.capacity)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "groups": list(self.groups),
            "skills": list(self.skills),
            "capacity": self.capacity,
            "calendar": None if self.calendar is None else self.calendar.to_dict(),
            "available": self.available,
        }


def _as_tuple(value: Any) -> Any:
    """A list of skills as a tuple; a string stays one, for validation to refuse (it is
    not read as its letters)."""
    return value if isinstance(value, str) or not isinstance(value, Iterable) else tuple(value)


@attrs.frozen
class RoutingRule:
    """Tickets created without ``assigned_to`` that ``match`` (every key given must
    hold: ``priority`` an int or a list of them, ``category``, ``tags``: the ticket
    carries all of them, ``contact_id``) go to ``group``, to the agent ``strategy``
    picks (``round_robin``, ``least_loaded``, or ``skills``: the least loaded of those
    with every skill of ``skills``). The first matching rule wins."""

    name: str
    match: Mapping[str, Any] = attrs.field(factory=dict)
    group: str = ""
    strategy: str = DEFAULT_STRATEGY
    skills: tuple[str, ...] = attrs.field(default=(), converter=_as_tuple)

    def matches(self, ticket: Ticket) -> bool:
        match = self.match
        if "priority" in match and ticket.priority not in match["priority"]:
            return False
        if "category" in match and ticket.category != match["category"]:
            return False
        if "contact_id" in match and ticket.contact_id != match["contact_id"]:
            return False
        return "tags" not in match or set(match["tags"]) <= set(ticket.tags)

    def to_dict(self) -> dict[str, Any]:
        match = {key: list(v) if isinstance(v, tuple) else v for key, v in self.match.items()}
        return {
            "name": self.name,
            "match": match,
            "group": self.group,
            "strategy": self.strategy,
            "skills": list(self.skills),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], param: str = "rules") -> RoutingRule:
        """A rule from its JSON object (as :meth:`to_dict` writes it), validated; errors
        name ``param``."""
        if not isinstance(data, Mapping):
            raise ParameterInvalid(f"{param} must be an object", param=param)
        unknown = sorted(set(data) - {"name", "match", "group", "strategy", "skills"})
        if unknown:
            raise ParameterInvalid(f"{param} has an unknown field {unknown[0]!r}", param=param)
        rule = cls(
            name=data.get("name"),  # type: ignore[arg-type]
            match=data.get("match", {}),
            group=data.get("group"),  # type: ignore[arg-type]
            strategy=data.get("strategy", DEFAULT_STRATEGY),
            skills=_listed(data.get("skills", ()), f"{param}.skills"),
        )
        return validate_rule(rule, param)


def _listed(value: Any, param: str) -> tuple[Any, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ParameterInvalid(f"{param} must be a list of strings", param=param)
    return tuple(value)


def _names(value: Any, param: str) -> tuple[str, ...]:
    """A list of group or skill names, each like a tag, duplicates dropped."""
    listed = _listed(value, param)
    if len(listed) > LIST_MAX:
        raise ParameterInvalid(f"{param} may name at most {LIST_MAX}", param=param)
    return tuple(dict.fromkeys(_tag(name, param) for name in listed))


def validate_agent_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """An agent's fields (any of :data:`AGENT_FIELDS`), validated: each error names its
    field."""
    _reject_unknown(fields, AGENT_FIELDS)
    clean: dict[str, Any] = {}
    if "name" in fields:
        clean["name"] = _text(fields["name"], "name", LABEL_MAX * 2, single_line=True)
    for name in ("groups", "skills"):
        if name in fields:
            clean[name] = _names(fields[name], name)
    if "capacity" in fields:
        capacity = fields["capacity"]
        clean["capacity"] = (
            None
            if capacity is None
            else _integer(capacity, "capacity", 0, CAPACITY_MAX, text_ok=False)
        )
    if "calendar" in fields:
        calendar = fields["calendar"]
        if calendar is not None and not isinstance(calendar, BusinessCalendar):
            raise ParameterInvalid("calendar must be a BusinessCalendar or None", param="calendar")
        clean["calendar"] = calendar
    if "available" in fields:
        if not isinstance(fields["available"], bool):
            raise ParameterInvalid("available must be true or false", param="available")
        clean["available"] = _boolean(fields["available"], "available")
    return clean


def _match(match: Any, param: str) -> dict[str, Any]:
    """A rule's ``match``, validated: priorities as a tuple, tags as a tuple."""
    if not isinstance(match, Mapping):
        raise ParameterInvalid(f"{param} must be an object", param=param)
    unknown = sorted(set(match) - set(MATCH_KEYS))
    if unknown:
        raise ParameterInvalid(
            f"{param} may not test {unknown[0]!r} (it may test {', '.join(MATCH_KEYS)})",
            param=param,
        )
    clean: dict[str, Any] = {}
    if "priority" in match:
        value = match["priority"]
        listed = value if isinstance(value, list | tuple) else [value]
        if not listed:
            raise ParameterInvalid(f"{param}.priority must not be empty", param=param)
        clean["priority"] = tuple(
            dict.fromkeys(_priority(each, f"{param}.priority") for each in listed)
        )
    for key in ("category", "contact_id"):
        if key in match:
            clean[key] = _reference(match[key], f"{param}.{key}")
    if "tags" in match:
        clean["tags"] = _names(match["tags"], f"{param}.tags")
    return clean


def validate_rule(rule: Any, param: str) -> RoutingRule:
    """One rule, validated (its match normalized); errors name ``param`` and the field."""
    if not isinstance(rule, RoutingRule):
        raise ParameterInvalid(f"{param} must be a RoutingRule", param=param)
    name = _reference(rule.name, f"{param}.name")
    group = _reference(rule.group, f"{param}.group")
    if rule.strategy not in STRATEGIES:
        raise ParameterInvalid(
            f"{param}.strategy must be one of {', '.join(STRATEGIES)}; got {rule.strategy!r}",
            param=f"{param}.strategy",
        )
    skills = _names(rule.skills, f"{param}.skills")
    if rule.strategy == "skills" and not skills:
        raise ParameterInvalid(
            f"{param}.skills must name at least one skill for the skills strategy",
            param=f"{param}.skills",
        )
    if rule.strategy != "skills" and skills:
        raise ParameterInvalid(
            f"{param}.skills is only for the skills strategy", param=f"{param}.skills"
        )
    return RoutingRule(name, _match(rule.match, f"{param}.match"), group, rule.strategy, skills)


MAX_RULES = 200
"""The most routing rules a database holds: every new ticket is tested against them in
turn."""


def validate_rules(rules: Any) -> tuple[RoutingRule, ...]:
    """A whole list of rules, validated: each rule, and no two with one name."""
    if isinstance(rules, str | Mapping) or not isinstance(rules, Iterable):
        raise ParameterInvalid("rules must be a list of RoutingRule", param="rules")
    listed = list(itertools.islice(rules, MAX_RULES + 1))
    if len(listed) > MAX_RULES:
        raise ParameterInvalid(f"rules may be at most {MAX_RULES}", param="rules")
    clean = tuple(validate_rule(rule, f"rules[{n}]") for n, rule in enumerate(listed))
    seen: set[str] = set()
    for n, rule in enumerate(clean):
        if rule.name in seen:
            raise ParameterInvalid(
                f"rules[{n}].name {rule.name!r} is the name of an earlier rule",
                param=f"rules[{n}].name",
            )
        seen.add(rule.name)
    return clean


def first_match(rules: Iterable[RoutingRule], ticket: Ticket) -> RoutingRule | None:
    """The rule a new ticket goes by: the first that matches it."""
    return next((rule for rule in rules if rule.matches(ticket)), None)


def group_rule(rules: Iterable[RoutingRule], group: str) -> RoutingRule | None:
    """The rule whose strategy a group's tickets go by when no other says: the first
    that names the group."""
    return next((rule for rule in rules if rule.group == group), None)


@attrs.frozen
class Choice:
    """The agent a strategy picked, and why (the ``assigned`` event's ``reason``)."""

    agent: str
    reason: str


def _held(load: int, capacity: int | None) -> str:
    return f"{load} open" if capacity is None else f"{load} open of {capacity}"


def choose(
    strategy: str,
    group: str,
    agents: Sequence[Agent],
    loads: Mapping[str, int],
    at: datetime,
    *,
    skills: Sequence[str] = (),
    last: str | None = None,
) -> Choice | None:
    """The agent of ``group`` that ``strategy`` picks at ``at`` among the qualified
    (``loads``: open tickets by agent id; ``last``: the agent the rule's turn went to
    last), or ``None`` when nobody qualifies.

    - ``round_robin``: the first qualified agent after ``last`` in id order, wrapping.
    - ``least_loaded``: the fewest open tickets; ties by id.
    - ``skills``: among those with every one of ``skills``, the least loaded; ties by id.
    """
    qualified = sorted(
        (agent for agent in agents if agent.qualifies(group, loads.get(agent.id, 0), at)),
        key=lambda agent: agent.id,
    )
    if strategy == "skills":
        qualified = [agent for agent in qualified if set(skills) <= set(agent.skills)]
    if not qualified:
        return None
    if strategy == "round_robin":
        after = [agent for agent in qualified if last is not None and agent.id > last]
        picked = (after or qualified)[0]
        return Choice(
            picked.id, "round_robin: first" if last is None else f"round_robin: after {last}"
        )
    picked = min(qualified, key=lambda agent: (loads.get(agent.id, 0), agent.id))
    held = _held(loads.get(picked.id, 0), picked.capacity)
    if strategy == "skills":
        return Choice(picked.id, f"skills: {','.join(skills)}; {held}")
    return Choice(picked.id, f"least_loaded: {held}")


def assignment(rule: RoutingRule | None, strategy: str, group: str, reason: str) -> dict[str, Any]:
    """The ``data`` of an ``assigned`` event."""
    return {
        "rule": None if rule is None else rule.name,
        "strategy": strategy,
        "group": group,
        "reason": reason,
    }
