"""Google's ``fields=`` partial responses: ``messages(id,threadId),nextPageToken``,
``payload/headers``, ``*``."""

from __future__ import annotations

from typing import Any

from introbot.sandbox.errors import bad_request

# A selection maps a key to its sub-selection; None keeps the whole value.
Selection = dict[str, "Selection | None"]


def parse(spec: str) -> Selection:
    selection, rest = _parse_list(spec.replace(" ", ""), 0)
    if rest != len(spec.replace(" ", "")):
        raise bad_request(f"Invalid field selection {spec}")
    return selection


def _merge(into: Selection, key: str, sub: Selection | None) -> None:
    if key in into and into[key] is None:
        return
    if sub is None or key not in into:
        into[key] = sub
        return
    existing = into[key]
    assert existing is not None
    for k, v in sub.items():
        _merge(existing, k, v)


def _parse_list(spec: str, i: int) -> tuple[Selection, int]:
    selection: Selection = {}
    while i < len(spec):
        start = i
        while i < len(spec) and spec[i] not in ",()":
            i += 1
        path = spec[start:i].split("/")
        if not all(path):
            raise bad_request(f"Invalid field selection {spec}")
        sub: Selection | None = None
        if i < len(spec) and spec[i] == "(":
            sub, i = _parse_list(spec, i + 1)
            if i >= len(spec) or spec[i] != ")":
                raise bad_request(f"Invalid field selection {spec}")
            i += 1
        for name in reversed(path[1:]):
            sub = {name: sub}
        _merge(selection, path[0], sub)
        if i < len(spec) and spec[i] == ",":
            i += 1
            continue
        break
    return selection, i


def apply(value: Any, selection: Selection | None) -> Any:
    if selection is None:
        return value
    if isinstance(value, list):
        return [apply(item, selection) for item in value]
    if not isinstance(value, dict):
        return value
    if "*" in selection:
        return {k: apply(v, selection["*"]) for k, v in value.items()}
    return {k: apply(value[k], sub) for k, sub in selection.items() if k in value}
