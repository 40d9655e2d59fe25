"""Write the small hostile cases to tests/hostile/messages: ``python -m tests.hostile.build``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.hostile.cases import small_cases

HERE = Path(__file__).parent


def build() -> int:
    folder = HERE / "messages"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    index = []
    for number, case in enumerate(small_cases(), start=1):
        name = f"{number:03d}-{case.slug}.eml"
        (folder / name).write_bytes(case.raw)
        index.append(
            {"file": name, "outcome": case.outcome, "pairs": [list(p) for p in case.pairs]}
        )
    (HERE / "index.json").write_text(json.dumps(index, indent=1, ensure_ascii=False) + "\n")
    return len(index)


if __name__ == "__main__":
    print(f"{build()} hostile messages written to {HERE / 'messages'}")
