"""The subset of YAML that deploy/k8s/ is written in, read without PyYAML (not a
dependency): block mappings and lists, plain and quoted scalars, ``{}``/``[]``, comments,
``---`` between documents. Anything else is an error, so the manifests stay in the subset;
where PyYAML is installed, tests/test_deploy.py checks that both read the same."""

from __future__ import annotations

import json
import re
from typing import Any

_KEY = re.compile(r"([A-Za-z0-9_.\-/]+):(?: +(.*))?")


def load_all(text: str) -> list[Any]:
    documents = re.split(r"(?m)^---\s*$", text)
    return [_Parser(doc).parse() for doc in documents if _lines(doc)]


def _strip_comment(line: str) -> str:
    out, quote = [], None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] == " "):
            break
        out.append(c)
    return "".join(out).rstrip()


def _lines(text: str) -> list[tuple[int, str]]:
    found = []
    for raw in text.splitlines():
        line = _strip_comment(raw)
        if line.strip():
            if "\t" in line[: len(line) - len(line.lstrip())]:
                raise ValueError(f"a tab in the indentation: {raw!r}")
            found.append((len(line) - len(line.lstrip(" ")), line.strip()))
    return found


def scalar(text: str) -> Any:
    if text in ("{}", "[]"):
        return {} if text == "{}" else []
    if text.startswith('"'):
        if not text.endswith('"') or len(text) < 2:
            raise ValueError(f"unclosed string: {text}")
        return json.loads(text)
    if text.startswith("'"):
        if not text.endswith("'") or len(text) < 2:
            raise ValueError(f"unclosed string: {text}")
        return text[1:-1].replace("''", "'")
    if text[0] in "[{|>&*!%@`":
        raise ValueError(f"outside the subset: {text}")
    if text in ("true", "false"):
        return text == "true"
    if text in ("null", "~"):
        return None
    if re.fullmatch(r"0[0-7]+", text):
        return int(text, 8)  # YAML 1.1, as Kubernetes reads it: 0400 is octal
    if re.fullmatch(r"-?(0|[1-9][0-9]*)", text):
        return int(text)
    if ": " in text or text.endswith(":"):
        raise ValueError(f"a plain scalar with ': ' in it: {text}")
    return text


class _Parser:
    def __init__(self, text: str) -> None:
        self.lines = _lines(text)
        self.i = 0

    def parse(self) -> Any:
        value = self._block(self.lines[0][0])
        if self.i != len(self.lines):
            raise ValueError(f"unexpected indentation at {self.lines[self.i][1]!r}")
        return value

    def _block(self, indent: int) -> Any:
        if self.lines[self.i][1].startswith("- ") or self.lines[self.i][1] == "-":
            return self._list(indent)
        return self._mapping(indent)

    def _mapping(self, indent: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        while self.i < len(self.lines) and self.lines[self.i][0] == indent:
            text = self.lines[self.i][1]
            match = _KEY.fullmatch(text)
            if match is None or text.startswith("- "):
                raise ValueError(f"not a mapping entry: {text!r}")
            key, rest = match[1], match[2]
            if key in out:
                raise ValueError(f"{key} twice")
            self.i += 1
            out[key] = scalar(rest) if rest else self._nested(indent)
        return out

    def _nested(self, indent: int) -> Any:
        if self.i < len(self.lines):
            deeper, text = self.lines[self.i]
            # A list may sit at its key's indentation (the style kubectl writes).
            if deeper > indent or (deeper == indent and text.startswith("- ")):
                return self._block(deeper)
        return None

    def _list(self, indent: int) -> list[Any]:
        out: list[Any] = []
        while self.i < len(self.lines):
            at, text = self.lines[self.i]
            if at != indent or not (text.startswith("- ") or text == "-"):
                break
            item = text[2:].strip()
            if not item:
                self.i += 1
                out.append(self._nested(indent))
            elif _KEY.fullmatch(item) and not item.startswith(('"', "'")):
                # "- key: value" opens a mapping whose other keys sit under the key.
                self.lines[self.i] = (indent + 2, item)
                out.append(self._mapping(indent + 2))
            else:
                self.i += 1
                out.append(scalar(item))
        return out
