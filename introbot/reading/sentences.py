"""Text -> paragraphs -> sentences -> clauses, keeping each piece's own words.

The consent reader judges a reply clause by clause, so a negation or a condition is scoped
to the clause it is in ("Sure - but only after our launch" is two clauses, and the second
one stops the yes). Splitting is on line breaks, sentence ends, and the punctuation and
conjunctions that join clauses. Pure and linear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_SENTENCES = 200  # a person's answer is never longer; the rest is not an answer

_PARAGRAPH = re.compile(r"\n[ \t]*\n+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+|\n+")
# Commas, semicolons, colons, dashes between words, and the conjunctions that turn a clause
# around. Brackets stay inside their clause: "(jamie@x.io, who keeps my calendar)".
_CLAUSE = re.compile(
    r"[,;:]+\s|\s[-–—]+\s|[-–—]{2,}|\s(?=(?:but|though|although|however|except|unless"
    r"|mais|aber|pero|sauf|außer|ausser|salvo)\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str
    clauses: tuple[str, ...]
    paragraph: int  # 0-based index of the paragraph it is in


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in _PARAGRAPH.split(text.replace("\r\n", "\n")) if p.strip()]


def sentences(text: str) -> list[Sentence]:
    """The sentences of ``text`` with their clauses, in order; at most MAX_SENTENCES."""
    found: list[Sentence] = []
    for index, paragraph in enumerate(paragraphs(text)):
        for piece in _SENTENCE_END.split(paragraph):
            piece = piece.strip()
            if not piece:
                continue
            clauses = tuple(c.strip() for c in _CLAUSE.split(piece) if c and c.strip())
            found.append(Sentence(piece, clauses or (piece,), index))
            if len(found) >= MAX_SENTENCES:
                return found
    return found
