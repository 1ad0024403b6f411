"""The four priorities and their labels."""

from __future__ import annotations

from enum import IntEnum


class Priority(IntEnum):
    CRITICAL = 1
    HIGH = 2
    NORMAL = 3
    LOW = 4

    @property
    def label(self) -> str:
        return self.name.capitalize()


DEFAULT_PRIORITY = Priority.NORMAL
