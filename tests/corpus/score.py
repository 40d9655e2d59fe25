"""Score introbot's reading over the corpus: ``python -m tests.corpus.score [--json]``;
``--external`` scores the public corpora in ``../shared/corpora`` against issue 10's targets.

Replies: precision and recall per verdict, and every false yes (the error that matters).
Requests: the share of requests whose (requester, contact) pairs are exactly right, and
whether every unusable request was reported as a problem.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from introbot.reading.mime import read_mail
from introbot.reading.replies import read_reply
from introbot.reading.requests import read_request
from introbot.rules import default_phrases

HERE = Path(__file__).parent
CLASSES = ("yes", "no", "unclear", "auto_reply", "bounce")


@dataclass
class ReplyScore:
    total: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)  # (expected, got)
    mistakes: list[tuple[str, str, str, str]] = field(
        default_factory=list
    )  # file, expected, got, evidence
    failed_mismatch: list[str] = field(default_factory=list)

    def precision(self, cls: str) -> float:
        predicted = sum(n for (_, got), n in self.confusion.items() if got == cls)
        return self.confusion[(cls, cls)] / predicted if predicted else 1.0

    def recall(self, cls: str) -> float:
        actual = sum(n for (exp, _), n in self.confusion.items() if exp == cls)
        return self.confusion[(cls, cls)] / actual if actual else 1.0

    def support(self, cls: str) -> int:
        return sum(n for (exp, _), n in self.confusion.items() if exp == cls)

    @property
    def false_yes(self) -> list[tuple[str, str, str, str]]:
        return [m for m in self.mistakes if m[2] == "yes"]


@dataclass
class RequestScore:
    total: int = 0
    right: int = 0
    usable: int = 0
    usable_right: int = 0
    unusable: int = 0
    unusable_reported: int = 0
    mistakes: list[tuple[str, Any, Any, tuple[str, ...]]] = field(default_factory=list)


def score_replies() -> ReplyScore:
    phrases = default_phrases()
    score = ReplyScore()
    for case in json.loads((HERE / "replies.json").read_text()):
        raw = (HERE / "replies" / case["file"]).read_bytes()
        reading = read_reply(read_mail(raw), phrases, sent_text=case["sent"])
        got = reading.verdict.value
        score.total += 1
        score.confusion[(case["verdict"], got)] += 1
        if got != case["verdict"]:
            score.mistakes.append((case["file"], case["verdict"], got, reading.evidence))
        if case["failed"] and sorted(case["failed"]) != sorted(reading.failed_recipients):
            score.failed_mismatch.append(f"{case['file']}: {reading.failed_recipients}")
    return score


def score_requests() -> RequestScore:
    phrases = default_phrases()
    score = RequestScore()
    for case in json.loads((HERE / "requests.json").read_text()):
        raw = (HERE / "requests" / case["file"]).read_bytes()
        reading = read_request(read_mail(raw), case["me"], phrases, case["in_sent"])
        got = sorted([i.requester.email, i.contact.email] for i in reading.intros)
        expected = sorted(case["pairs"])
        score.total += 1
        pairs_right = got == expected
        reported = bool(reading.problems)
        if case["problem"]:
            score.unusable += 1
            score.unusable_reported += reported
            ok = pairs_right and reported
        else:
            score.usable += 1
            ok = pairs_right
            score.usable_right += ok
        score.right += ok
        if not ok:
            score.mistakes.append((case["file"], expected, got, reading.problems))
    return score


def report(replies: ReplyScore, requests: RequestScore) -> str:
    lines = [
        f"Consent replies: {replies.total} messages",
        "",
        "| verdict | n | precision | recall |",
        "|---|---|---|---|",
    ]
    for cls in CLASSES:
        lines.append(
            f"| {cls} | {replies.support(cls)} | {replies.precision(cls):.1%} | {replies.recall(cls):.1%} |"
        )
    lines += ["", f"False yes: {len(replies.false_yes)}"]
    lines += [f"  FALSE YES {f}: expected {e} ({ev})" for f, e, _, ev in replies.false_yes]
    lines += [
        f"  {f}: expected {e}, got {g} ({ev})" for f, e, g, ev in replies.mistakes if g != "yes"
    ]
    lines += [f"  failed recipients differ: {m}" for m in replies.failed_mismatch]
    lines += [
        "",
        f"Intro requests: {requests.total} messages",
        f"  pairs exactly right: {requests.right}/{requests.total} ({requests.right / requests.total:.1%})",
        f"  usable requests read right: {requests.usable_right}/{requests.usable}",
        f"  unusable requests reported as a problem: {requests.unusable_reported}/{requests.unusable}",
    ]
    lines += [f"  {f}: expected {e}, got {g} {p}" for f, e, g, p in requests.mistakes]
    return "\n".join(lines)


# Issue 10's targets on mail nobody wrote for introbot: (corpus line, pattern, test, target)
EXTERNAL_TARGETS: tuple[tuple[str, str, Any, str], ...] = (
    ("circa", r"false_yes=(\d+)/(\d+)", lambda a, b: int(a) / int(b) <= 0.002, "false yes <= 0.2%"),
    ("circa", r"yes_recall=([\d.]+)", lambda a: float(a) >= 0.5, "yes recall >= 0.5"),
    ("circa", r"no_recall=([\d.]+)", lambda a: float(a) >= 0.5, "no recall >= 0.5"),
    ("reply_parsers/", r"exact=\d+/\d+ \((\d+)%\)", lambda a: int(a) >= 85, "exact >= 85%"),
    ("automated", r"automated_recall=(\d+)/(\d+)", lambda a, b: int(a) / int(b) >= 0.99, ">= 99%"),
    ("automated", r"yes_on_automated=(\d+)", lambda a: int(a) == 0, "no yes on automated"),
    ("automated", r"human_false_positive=(\d+)/", lambda a: int(a) <= 1, "<= 1 human flagged"),
)


def external() -> int:
    """Run the public corpora's scorer (kept outside the repository) and check the targets."""
    import re
    import subprocess

    scorer = HERE.parents[2] / "shared" / "corpora" / "score_external.py"
    if not scorer.exists():
        print(f"no external corpora at {scorer}")
        return 2
    introbot = Path(sys.executable).parent / "introbot"
    done = subprocess.run(
        [sys.executable, str(scorer), str(introbot)], capture_output=True, text=True, check=False
    )
    failed = 0
    for line in done.stdout.splitlines():
        name = line.split(":", 1)[0]
        print(line)
        for prefix, pattern, test, target in EXTERNAL_TARGETS:
            match = re.search(pattern, line) if name.startswith(prefix) else None
            if match:
                ok = test(*match.groups())
                failed += not ok
                print(f"    {'ok  ' if ok else 'MISS'} {target}")
    return 1 if failed or done.returncode else 0


def main() -> None:
    if "--external" in sys.argv:
        sys.exit(external())
    replies, requests = score_replies(), score_requests()
    if "--json" in sys.argv:
        print(
            json.dumps(
                {
                    "replies": {
                        cls: {
                            "n": replies.support(cls),
                            "precision": replies.precision(cls),
                            "recall": replies.recall(cls),
                        }
                        for cls in CLASSES
                    },
                    "false_yes": len(replies.false_yes),
                    "requests": {
                        "total": requests.total,
                        "right": requests.right,
                        "unusable": requests.unusable,
                        "unusable_reported": requests.unusable_reported,
                    },
                },
                indent=1,
            )
        )
    else:
        print(report(replies, requests))


if __name__ == "__main__":
    main()
