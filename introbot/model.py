"""Domain values shared across introbot: people and the verdict on a reply."""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Person:
    """Someone with an address. ``email`` is compared case-insensitively."""

    name: str | None
    email: str

    @property
    def key(self) -> str:
        return self.email.casefold()

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


class Verdict(enum.StrEnum):
    """What a reply to a consent message says."""

    YES = "yes"
    NO = "no"
    UNCLEAR = "unclear"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
