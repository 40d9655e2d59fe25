"""The Gmail discovery document that ships with google-api-python-client, as the sandbox's
contract: routing, query-parameter checks and request-body checks, answered the way Gmail
answers (400 for an unknown parameter, a wrong type or an unknown JSON field).

The document is read as a data file; googleapiclient itself is never imported here.
"""

from __future__ import annotations

import base64
import binascii
import functools
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from introbot.gmail.quota import short_method_name
from introbot.sandbox.errors import ApiError


def discovery_path() -> Path:
    spec = importlib.util.find_spec("googleapiclient")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("google-api-python-client is not installed")
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    return package_dir / "discovery_cache" / "documents" / "gmail.v1.json"


@functools.cache
def document() -> dict[str, Any]:
    with discovery_path().open(encoding="utf-8") as f:
        doc: dict[str, Any] = json.load(f)
    return doc


@dataclass(frozen=True)
class Method:
    """One REST method of the discovery document."""

    name: str  # short name: "messages.get"
    http_method: str
    pattern: re.Pattern[str]
    parameters: dict[str, dict[str, Any]]
    request_schema: str | None

    def match(self, http_method: str, path: str) -> dict[str, str] | None:
        if http_method != self.http_method:
            return None
        m = self.pattern.fullmatch(path)
        return m.groupdict() if m else None


def _compile_path(template: str) -> re.Pattern[str]:
    out = ""
    for piece in re.split(r"(\{[^}]+\})", template):
        if piece.startswith("{"):
            name = piece.strip("{}+")
            out += f"(?P<{name}>[^/]+)"
        else:
            out += re.escape(piece)
    return re.compile("/" + out)


def _walk(resource: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(resource.get("methods", {}).values())
    for child in resource.get("resources", {}).values():
        found += _walk(child)
    return found


@functools.cache
def methods() -> tuple[Method, ...]:
    doc = document()
    result = []
    for spec in _walk(doc):
        request = spec.get("request", {}).get("$ref")
        result.append(
            Method(
                name=short_method_name(spec["id"]),
                http_method=spec["httpMethod"],
                pattern=_compile_path(spec["path"]),
                parameters=spec.get("parameters", {}),
                request_schema=request,
            )
        )
    # Literal segments must win over {id}: ".../drafts/send" before ".../drafts/{id}".
    result.sort(key=lambda m: m.pattern.pattern.count("(?P<"))
    return tuple(result)


def route(http_method: str, path: str) -> tuple[Method, dict[str, str]] | None:
    for method in methods():
        params = method.match(http_method, path)
        if params is not None:
            return method, params
    return None


def path_exists(path: str) -> bool:
    return any(m.pattern.fullmatch(path) for m in methods())


def _bad_request(message: str) -> ApiError:
    return ApiError(400, message, reason="invalidArgument")


def _unknown_query(name: str) -> ApiError:
    return ApiError(
        400,
        f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query parameter. '
        f"Field '{name}' could not be found in request message.",
        reason="invalidArgument",
    )


def _check_scalar(name: str, spec: dict[str, Any], raw: str) -> Any:
    kind = spec.get("type", "string")
    if kind == "boolean":
        if raw not in ("true", "false"):
            raise _bad_request(f"Invalid value at '{name}' (TYPE_BOOL), \"{raw}\"")
        return raw == "true"
    if kind == "integer":
        try:
            value = int(raw)
        except ValueError:
            raise _bad_request(f"Invalid value at '{name}' (TYPE_UINT32), \"{raw}\"") from None
        low = spec.get("minimum")
        high = spec.get("maximum")
        if (low is not None and value < int(low)) or (high is not None and value > int(high)):
            raise _bad_request(f"Invalid value at '{name}': {raw} is out of range")
        return value
    if spec.get("format") in ("uint64", "int64") and not re.fullmatch(r"-?\d{1,20}", raw):
        raise _bad_request(f"Invalid value at '{name}' (TYPE_UINT64), \"{raw}\"")
    if "enum" in spec and raw not in spec["enum"]:
        raise _bad_request(f"Invalid value at '{name}' (TYPE_ENUM), \"{raw}\"")
    return raw


def check_query(method: Method, query: dict[str, list[str]]) -> dict[str, Any]:
    """Validate query parameters against the method and the API-wide parameters.

    Returns the typed values; repeated parameters as lists, others as scalars.
    """
    global_params: dict[str, dict[str, Any]] = document()["parameters"]
    typed: dict[str, Any] = {}
    for name, values in query.items():
        spec = method.parameters.get(name) or global_params.get(name)
        if spec is None or spec.get("location") == "path":
            raise _unknown_query(name)
        if len(values) > 1 and not spec.get("repeated"):
            raise _bad_request(f"Parameter '{name}' may be given only once")
        checked = [_check_scalar(name, spec, v) for v in values]
        typed[name] = checked if spec.get("repeated") else checked[0]
    for name, spec in method.parameters.items():
        if spec.get("required") and spec.get("location") == "query" and name not in typed:
            raise _bad_request(f"Missing required parameter: {name}")
    return typed


def _b64_ok(value: str) -> bool:
    padded = value + "=" * (-len(value) % 4)
    try:
        base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def check_body(schema_name: str, body: Any) -> None:
    """Validate a JSON request body against a discovery schema, rejecting unknown fields."""
    _check_value(document()["schemas"][schema_name], body, "")


def _check_value(spec: dict[str, Any], value: Any, where: str) -> None:
    schemas: dict[str, Any] = document()["schemas"]
    if "$ref" in spec:
        spec = schemas[spec["$ref"]]
    kind = spec.get("type")
    at = f" at '{where}'" if where else ""
    if kind == "object":
        if not isinstance(value, dict):
            raise _bad_request(f"Invalid JSON payload received. Expected an object{at}.")
        properties: dict[str, Any] = spec.get("properties", {})
        extra = spec.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                _check_value(properties[key], item, f"{where}.{key}".lstrip("."))
            elif extra is not None:
                _check_value(extra, item, f"{where}.{key}".lstrip("."))
            else:
                raise _bad_request(
                    f'Invalid JSON payload received. Unknown name "{key}"{at}: Cannot find field.'
                )
    elif kind == "array":
        if not isinstance(value, list):
            raise _bad_request(f"Invalid JSON payload received. Expected a list{at}.")
        for i, item in enumerate(value):
            _check_value(spec.get("items", {}), item, f"{where}[{i}]")
    elif kind == "string":
        ok = isinstance(value, str) or (
            spec.get("format") in ("int64", "uint64") and isinstance(value, int)
        )
        if not ok:
            raise _bad_request(f"Invalid JSON payload received. Expected a string{at}.")
        if spec.get("format") == "byte" and not _b64_ok(str(value)):
            raise _bad_request(f"Invalid value{at}: not valid base64")
        if "enum" in spec and value not in spec["enum"]:
            raise _bad_request(f'Invalid value{at}, "{value}"')
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise _bad_request(f"Invalid JSON payload received. Expected an integer{at}.")
        if isinstance(value, str) and not re.fullmatch(r"-?\d+", value):
            raise _bad_request(f'Invalid value{at}, "{value}"')
    elif kind == "boolean" and not isinstance(value, bool):
        raise _bad_request(f"Invalid JSON payload received. Expected a boolean{at}.")
