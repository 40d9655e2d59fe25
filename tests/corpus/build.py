"""Write the corpus files from the hand-written cases: ``python -m tests.corpus.build``.

Replies go to ``tests/corpus/replies/<verdict>/NNN-slug.eml`` with an index
(``replies.json``: expected verdict, the consent text introbot had sent, failed addresses);
requests go to ``tests/corpus/requests/NNN-slug.eml`` with ``requests.json``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.corpus.automated_cases import AUTOMATED
from tests.corpus.render import consent_text, render_reply
from tests.corpus.reply_cases import REPLIES
from tests.corpus.request_cases import REQUESTS, render_request

HERE = Path(__file__).parent


def build_replies() -> int:
    folder = HERE / "replies"
    shutil.rmtree(folder, ignore_errors=True)
    index: list[dict[str, object]] = []
    number = 0
    for reply in REPLIES:
        number += 1
        name = f"{reply.verdict}/{number:03d}-{reply.slug}.eml"
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(render_reply(reply, number))
        index.append(
            {"file": name, "verdict": reply.verdict, "sent": consent_text(reply)[1], "failed": []}
        )
    for case in AUTOMATED:
        number += 1
        name = f"{case.verdict}/{number:03d}-{case.slug}.eml"
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.raw)
        index.append(
            {"file": name, "verdict": case.verdict, "sent": None, "failed": list(case.failed)}
        )
    (HERE / "replies.json").write_text(json.dumps(index, indent=1, ensure_ascii=False) + "\n")
    return number


def build_requests() -> int:
    folder = HERE / "requests"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    index = []
    for number, case in enumerate(REQUESTS, start=1):
        name = f"{number:03d}-{case.slug}.eml"
        (folder / name).write_bytes(render_request(case, number))
        index.append(
            {
                "file": name,
                "me": list(case.me),
                "pairs": [list(pair) for pair in case.pairs],
                "problem": case.problem,
                "in_sent": case.sent,
            }
        )
    (HERE / "requests.json").write_text(json.dumps(index, indent=1, ensure_ascii=False) + "\n")
    return len(REQUESTS)


if __name__ == "__main__":
    print(f"{build_replies()} replies, {build_requests()} requests written under {HERE}")
