"""How long introbot takes to read each hostile message: ``python -m tests.hostile.timing``.

Prints one line per message (slowest first) and the worst case. The target is under a
second per message; this is a measurement, not a test."""

from __future__ import annotations

import sys
import time

from introbot.reading.mime import read_mail
from introbot.reading.replies import read_reply
from introbot.reading.requests import read_request
from introbot.rules import default_phrases
from tests.hostile.cases import huge_cases, small_cases


def main() -> None:
    phrases = default_phrases()
    rows = []
    for case in [*small_cases(), *huge_cases()]:
        start = time.perf_counter()
        mail = read_mail(case.raw)
        read_request(mail, ["connector@example.com"], phrases)
        read_reply(mail, phrases)
        rows.append((time.perf_counter() - start, case.slug, len(case.raw)))
    rows.sort(reverse=True)
    for seconds, slug, size in rows[: None if "--all" in sys.argv else 10]:
        print(f"{seconds * 1000:9.1f} ms  {size / 1024:10.1f} KB  {slug}")
    worst = rows[0]
    print(f"{len(rows)} messages; slowest {worst[1]} at {worst[0] * 1000:.0f} ms "
          f"({'under' if worst[0] < 1 else 'OVER'} the 1 s target)")  # fmt: skip


if __name__ == "__main__":
    main()
