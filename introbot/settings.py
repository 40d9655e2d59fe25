"""Settings: who the connector is, label names, where things live. Validated (pydantic)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from introbot.model import Person

LOGICAL_LABELS = (
    "awaiting-consent",
    "ready",
    "introduced",
    "declined",
    "needs-attention",
    "cancelled",
    "expired",
    "yes",
    "no",
)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    connector_name: str | None = None
    me: tuple[
        str, ...
    ] = ()  # the connector's other addresses (aliases); the signed-in one is added
    request_label: str = Field(default="intro-request", min_length=1, max_length=200)
    label_prefix: str = Field(default="introbot/", max_length=100)
    poll_interval_seconds: int = Field(default=60, ge=10, le=86_400)
    rules_dir: Path | None = None

    @field_validator("me")
    @classmethod
    def _addresses(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if "@" not in value or any(c.isspace() for c in value):
                raise ValueError(f"not an email address: {value!r}")
        return tuple(v.strip().lower() for v in values)

    def label(self, logical: str) -> str:
        """The Gmail label name for a logical label ("needs-attention")."""
        return f"{self.label_prefix}{logical}"

    def all_labels(self) -> dict[str, str]:
        names = {logical: self.label(logical) for logical in LOGICAL_LABELS}
        return {"request": self.request_label, **names}

    def connector(self, address: str) -> Person:
        name = self.connector_name or address.partition("@")[0].replace(".", " ").title()
        return Person(name, address)
