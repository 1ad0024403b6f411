"""Validation of every parameter of create, update, close and list.

Each ``validate_*`` function takes what a caller sent (a JSON body, query-string
values, or Python keyword arguments) and returns clean values, or raises a
:class:`~.errors.ValidationError` naming the first parameter that is wrong. Nothing
here looks at stored tickets.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from .errors import ParameterInvalid, ParameterMissing, ParameterTooLong, ParameterUnknown
from .lifecycle import CREATE_STATUSES, Status
from .paging import Cursor, fingerprint
from .paging import decode as decode_cursor
from .times import parse_time

SUBJECT_MAX = 200
DESCRIPTION_MAX = 10_000
INTERNAL_NOTE_MAX = 10_000
RESOLUTION_NOTE_MAX = 5_000
REFERENCE_MAX = 255  # contact_id, conversation_id, assigned_to
LABEL_MAX = 100  # category, root_cause
TAG_MAX = 64
TAGS_MAX = 50
OBJECT_MAX_BYTES = 16_384  # custom_fields, metadata (as compact UTF-8 JSON)
OBJECT_MAX_DEPTH = 20
"""custom_fields and metadata nest at most this deep (the object itself is level 1):
deeper JSON would exhaust the recursion of the JSON reader and writer."""
RESOLUTION_TIME_MAX = 10_000_000
"""Minutes (19 years): more than any ticket is worked, and far inside SQLite's integers."""
TAGS_FILTER_MAX = TAGS_MAX * (TAG_MAX + 1) - 1
"""A list's ``tags`` filter as text (3,249): at most 50 tags of 64 characters, with their
commas. A ticket carries at most 50 tags, so a filter naming more could match nothing."""
SEARCH_MAX = 500
PER_PAGE_MAX = 100
PAGE_MAX = 10_000_000

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _reject_unknown(given: Iterable[str], allowed: Iterable[str]) -> None:
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        name = unknown[0]
        known = ", ".join(sorted(allowed))
        raise ParameterUnknown(f"Unknown parameter: {name} (known: {known})", param=name)


def _text(value: Any, param: str, limit: int, *, single_line: bool = False) -> str:
    if not isinstance(value, str):
        raise ParameterInvalid(f"{param} must be a string", param=param)
    if not value or value.isspace():
        raise ParameterInvalid(f"{param} must not be blank", param=param)
    if len(value) > limit:
        raise ParameterTooLong(
            f"{param} is {len(value)} characters; at most {limit} are allowed", param=param
        )
    if "\x00" in value or (single_line and _CONTROL.search(value)):
        raise ParameterInvalid(f"{param} must not contain control characters", param=param)
    if not value.isascii():  # ASCII text is valid Unicode; other text may hold surrogates
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ParameterInvalid(f"{param} is not valid Unicode text", param=param) from None
    return value


def _reference(value: Any, param: str) -> str:
    return _text(value, param, REFERENCE_MAX, single_line=True)


def _label(value: Any, param: str) -> str:
    return _text(value, param, LABEL_MAX, single_line=True)


def _integer(value: Any, param: str, low: int, high: int | None, *, text_ok: bool) -> int:
    """An integer in ``[low, high]``; a string of digits too when ``text_ok``. A JSON
    number with a zero fraction (``2.0``) is that integer, as JSON Schema has it."""
    if text_ok and isinstance(value, str) and re.fullmatch(r"[0-9]{1,12}", value):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        bounds = f"from {low} to {high}" if high is not None else f"of {low} or more"
        raise ParameterInvalid(f"{param} must be an integer {bounds}", param=param)
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"of {low} or more"
        raise ParameterInvalid(f"{param} must be an integer {bounds}; got {value}", param=param)
    return value


def _priority(value: Any, param: str = "priority", *, text_ok: bool = False) -> int:
    return _integer(value, param, 1, 4, text_ok=text_ok)


def _status(value: Any, param: str = "status", allowed: Iterable[Status] = Status) -> Status:
    names = [s.value for s in allowed]
    if not isinstance(value, str) or value not in names:
        raise ParameterInvalid(f"{param} must be one of {', '.join(names)}", param=param)
    return Status(value)


def _tag(value: Any, param: str = "tags") -> str:
    tag = _text(value, param, TAG_MAX, single_line=True)
    if "," in tag or tag != tag.strip():
        raise ParameterInvalid(
            f"a tag must not contain commas or surrounding spaces: {tag!r}", param=param
        )
    return tag


def _tags(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise ParameterInvalid("tags must be an array of strings", param="tags")
    if len(value) > TAGS_MAX:
        raise ParameterInvalid(f"at most {TAGS_MAX} tags are allowed", param="tags")
    return tuple(dict.fromkeys(_tag(tag) for tag in value))


def _json_depth(value: Any, limit: int) -> int:
    """How deep ``value`` nests (a scalar is 0, ``{}`` and ``[]`` are 1), level by level
    without recursion, and only up to ``limit + 1``: any depth is measured safely."""
    depth = 0
    level = [value]
    while depth <= limit:
        containers = [item for item in level if isinstance(item, dict | list | tuple)]
        if not containers:
            break
        depth += 1
        level = [
            child
            for container in containers
            for child in (container.values() if isinstance(container, dict) else container)
        ]
    return depth


def _json_object(value: Any, param: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ParameterInvalid(f"{param} must be an object", param=param)
    too_deep = ParameterInvalid(
        f"{param} nests more than {OBJECT_MAX_DEPTH} levels deep", param=param
    )
    try:
        encoded = json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
        size = len(encoded.encode("utf-8"))
    except RecursionError:
        raise too_deep from None
    except (TypeError, ValueError, UnicodeEncodeError):
        raise ParameterInvalid(
            f"{param} must hold only JSON values (no NaN or Infinity, text in valid Unicode)",
            param=param,
        ) from None
    # Only an object with more brackets than the levels allowed can nest too deep: most
    # are let through by this count, and only the others are walked.
    brackets = encoded.count("{") + encoded.count("[")
    if brackets > OBJECT_MAX_DEPTH and _json_depth(value, OBJECT_MAX_DEPTH) > OBJECT_MAX_DEPTH:
        raise too_deep
    if size > OBJECT_MAX_BYTES:
        raise ParameterTooLong(
            f"{param} is {size} bytes as JSON; at most {OBJECT_MAX_BYTES} are allowed",
            param=param,
        )
    for key in value:
        if not isinstance(key, str) or not key.strip() or "\x00" in key:
            raise ParameterInvalid(f"{param} keys must be non-blank strings", param=param)
    result: dict[str, Any] = json.loads(encoded)
    return result


def _due_date(value: Any) -> datetime:
    return parse_time(value, "due_date")


# -- create ---------------------------------------------------------------------------

_CREATE_RULES: dict[str, Callable[[Any], Any]] = {
    "subject": lambda v: _text(v, "subject", SUBJECT_MAX),
    "description": lambda v: _text(v, "description", DESCRIPTION_MAX),
    "priority": _priority,
    "status": lambda v: _status(v, allowed=[s for s in Status if s in CREATE_STATUSES]),
    "category": lambda v: _label(v, "category"),
    "contact_id": lambda v: _reference(v, "contact_id"),
    "conversation_id": lambda v: _reference(v, "conversation_id"),
    "assigned_to": lambda v: _reference(v, "assigned_to"),
    "due_date": _due_date,
    "tags": _tags,
    "custom_fields": lambda v: _json_object(v, "custom_fields"),
    "metadata": lambda v: _json_object(v, "metadata"),
}
CREATE_PARAMS = tuple(_CREATE_RULES)


def validate_create(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Clean create fields. ``subject`` and ``description`` are required; ``null`` for an
    optional field is the same as leaving it out."""
    _reject_unknown(fields, _CREATE_RULES)
    for required in ("subject", "description"):
        if fields.get(required) is None:
            raise ParameterMissing(f"{required} is required", param=required)
    return {
        name: rule(fields[name])
        for name, rule in _CREATE_RULES.items()
        if fields.get(name) is not None
    }


def validate_idempotency_key(value: object, param: str) -> str | None:
    """An idempotency key: 1 to 255 printable ASCII characters without spaces."""
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[\x21-\x7e]{1,255}", value):
        raise ParameterInvalid(
            f"{param} must be 1 to 255 printable ASCII characters, no spaces", param=param
        )
    return value


# -- update ---------------------------------------------------------------------------

_UPDATE_RULES: dict[str, Callable[[Any], Any]] = {
    "subject": _CREATE_RULES["subject"],
    "description": _CREATE_RULES["description"],
    "priority": _priority,
    "status": _status,
    "category": _CREATE_RULES["category"],
    "assigned_to": _CREATE_RULES["assigned_to"],
    "due_date": _due_date,
    "tags": _tags,
    "custom_fields": lambda v: _json_object(v, "custom_fields"),
    "internal_note": lambda v: _text(v, "internal_note", INTERNAL_NOTE_MAX),
}
UPDATE_PARAMS = tuple(_UPDATE_RULES)
_CLEARABLE = frozenset({"category", "assigned_to", "due_date"})


def validate_update(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Clean update fields. ``null`` clears ``category``, ``assigned_to`` and
    ``due_date``; it is refused for the others. ``custom_fields`` is a patch: a ``null``
    value in it removes that key."""
    _reject_unknown(fields, _UPDATE_RULES)
    clean: dict[str, Any] = {}
    for name, rule in _UPDATE_RULES.items():
        if name not in fields:
            continue
        value = fields[name]
        if value is None:
            if name not in _CLEARABLE:
                raise ParameterInvalid(f"{name} cannot be null", param=name)
            clean[name] = None
        elif name == "custom_fields":
            clean[name] = _json_object(value, name)
        else:
            clean[name] = rule(value)
    return clean


# -- close ----------------------------------------------------------------------------

_CLOSE_RULES: dict[str, Callable[[Any], Any]] = {
    "resolution_note": lambda v: _text(v, "resolution_note", RESOLUTION_NOTE_MAX),
    "customer_satisfaction": lambda v: _integer(v, "customer_satisfaction", 1, 10, text_ok=False),
    "resolution_time": lambda v: _integer(
        v, "resolution_time", 0, RESOLUTION_TIME_MAX, text_ok=False
    ),
    "root_cause": lambda v: _label(v, "root_cause"),
}
CLOSE_PARAMS = tuple(_CLOSE_RULES)


def validate_close(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Clean close details; all optional, ``null`` is the same as leaving one out."""
    _reject_unknown(fields, _CLOSE_RULES)
    return {
        name: rule(fields[name])
        for name, rule in _CLOSE_RULES.items()
        if fields.get(name) is not None
    }


# -- list -----------------------------------------------------------------------------

SORT_FIELDS = ("created_at", "updated_at", "due_date", "priority")


@attrs.frozen
class ListQuery:
    """A validated list request: filters, sort and page."""

    page: int = 1
    per_page: int = 25
    status: tuple[Status, ...] = ()
    priority: tuple[int, ...] = ()
    category: str | None = None
    assigned_to: str | None = None
    contact_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    due_after: datetime | None = None
    due_before: datetime | None = None
    sla_breach: bool | None = None
    tags: tuple[str, ...] = ()
    search: str | None = None
    sort_by: str = "created_at"
    sort_order: str = "desc"
    cursor: Cursor | None = None

    def comparisons(self) -> list[tuple[str, str, Any]]:
        """The filters that compare one column of a ticket with one value, as (column,
        operator, value): equal to a category, an assignee or a contact, created or due
        at or after one instant and before another."""
        return [
            (column, op, value)
            for column, op, value in (
                ("category", "=", self.category),
                ("assigned_to", "=", self.assigned_to),
                ("contact_id", "=", self.contact_id),
                ("created_at", ">=", self.created_after),
                ("created_at", "<", self.created_before),
                ("due_date", ">=", self.due_after),
                ("due_date", "<", self.due_before),
            )
            if value is not None
        ]

    def fingerprint(self) -> str:
        """What a cursor for this query is bound to: its filters and its order."""
        fields = attrs.asdict(self, recurse=False)
        for name in ("page", "per_page", "cursor"):
            del fields[name]
        return fingerprint(fields)


def lone_filter(query: ListQuery) -> str | None:
    """``"tags"`` or ``"search"`` when that is the query's only filter (one tag; a
    search may come with a status), and ``"tags+status"`` for one tag and a status: the
    lists an adapter may count from its tag or search index alone."""
    others = (
        query.priority, query.category, query.assigned_to, query.contact_id,
        query.created_after, query.created_before, query.due_after, query.due_before,
    )  # fmt: skip
    if any(value for value in others) or query.sla_breach is not None:
        return None
    if len(query.tags) == 1 and query.search is None:
        return "tags+status" if query.status else "tags"
    if not query.tags and query.search is not None:
        return "search"  # with or without a status: both are in the search index
    return None


def _many(value: Any, param: str) -> list[Any]:
    """A list filter's values: a comma-separated string or a Python sequence."""
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    else:
        items = [value]
    if not items or any(isinstance(item, str) and not item.strip() for item in items):
        raise ParameterInvalid(f"{param} must not be empty", param=param)
    return items


def _boolean(value: Any, param: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    raise ParameterInvalid(f"{param} must be true or false", param=param)


def _choice(value: Any, param: str, choices: Iterable[str]) -> str:
    options = tuple(choices)
    if not isinstance(value, str) or value not in options:
        raise ParameterInvalid(f"{param} must be one of {', '.join(options)}", param=param)
    return value


def _tags_filter(value: Any) -> tuple[str, ...]:
    """The tags a ticket must all carry: at most 50, as many as a ticket may have."""
    if isinstance(value, str) and len(value) > TAGS_FILTER_MAX:
        raise ParameterTooLong(
            f"tags is {len(value)} characters; at most {TAGS_FILTER_MAX} are allowed",
            param="tags",
        )
    items = _many(value, "tags")
    if len(items) > TAGS_MAX:
        raise ParameterInvalid(f"at most {TAGS_MAX} tags are allowed", param="tags")
    return tuple(dict.fromkeys(_tag(tag) for tag in items))


def _search(value: Any) -> str:
    return _text(value, "search", SEARCH_MAX, single_line=True)


_LIST_RULES: dict[str, Callable[[Any], Any]] = {
    "page": lambda v: _integer(v, "page", 1, PAGE_MAX, text_ok=True),
    "per_page": lambda v: _integer(v, "per_page", 1, PER_PAGE_MAX, text_ok=True),
    "status": lambda v: tuple(dict.fromkeys(_status(s) for s in _many(v, "status"))),
    "priority": lambda v: tuple(
        dict.fromkeys(_priority(p, text_ok=True) for p in _many(v, "priority"))
    ),
    "category": lambda v: _label(v, "category"),
    "assigned_to": lambda v: _reference(v, "assigned_to"),
    "contact_id": lambda v: _reference(v, "contact_id"),
    "created_after": lambda v: parse_time(v, "created_after"),
    "created_before": lambda v: parse_time(v, "created_before"),
    "due_after": lambda v: parse_time(v, "due_after"),
    "due_before": lambda v: parse_time(v, "due_before"),
    "sla_breach": lambda v: _boolean(v, "sla_breach"),
    "tags": _tags_filter,
    "search": _search,
    "sort_by": lambda v: _choice(v, "sort_by", SORT_FIELDS),
    "sort_order": lambda v: _choice(v, "sort_order", ("asc", "desc")),
    "cursor": decode_cursor,
}
LIST_PARAMS = tuple(_LIST_RULES)


def validate_list(params: Mapping[str, Any]) -> ListQuery:
    """Clean list parameters; values may be query-string text or Python values.
    ``None`` leaves a parameter at its default."""
    _reject_unknown(params, _LIST_RULES)
    clean = {
        name: rule(params[name])
        for name, rule in _LIST_RULES.items()
        if params.get(name) is not None
    }
    query = ListQuery(**clean)
    if query.cursor is not None:
        if "page" in clean:
            raise ParameterInvalid("page and cursor cannot be used together", param="page")
        if not _key_fits(query.cursor.key, query.sort_by):
            raise ParameterInvalid("cursor is not a cursor this API gave out", param="cursor")
        if query.cursor.fingerprint != query.fingerprint():
            raise ParameterInvalid(
                "cursor was made for other filters or another order; send the same ones",
                param="cursor",
            )
    return query


def _key_fits(key: object, sort_by: str) -> bool:
    """Whether a cursor's sort value is of the kind ``sort_by`` gives (a forged one may
    not be): a priority is a number, a time is text, and only a due date may be none."""
    if sort_by == "priority":
        return isinstance(key, int)
    return isinstance(key, str) or (key is None and sort_by == "due_date")


FILTER_PARAMS = tuple(
    name
    for name in LIST_PARAMS
    if name not in ("page", "per_page", "sort_by", "sort_order", "cursor")
)


def validate_filters(params: Mapping[str, Any]) -> ListQuery:
    """Clean list filters alone (no paging or sorting): what an export takes."""
    _reject_unknown(params, FILTER_PARAMS)
    return validate_list(params)


def validate_agent(agent_id: Any, name: Any) -> tuple[str, str]:
    """An agent directory entry: an id like ``assigned_to`` and a display name."""
    return _reference(agent_id, "id"), _text(name, "name", LABEL_MAX * 2, single_line=True)


def total_pages(total: int, per_page: int) -> int:
    return math.ceil(total / per_page)
