"""`introbot bench --burst`, run small: replicas sharing the test PostgreSQL work a burst
spread over several mailboxes of one sandbox. Its invariants, never its timings: every
request drafted exactly once, no 429, every mailbox held by the replica the spread gives it."""

from __future__ import annotations

from pathlib import Path

import pytest

from introbot.cli import bench_burst
from introbot.cli.bench import _row
from tests.postgres import PostgresServer

pytestmark = pytest.mark.slow  # starts introbot as processes


def test_a_small_burst_over_two_replicas_drafts_every_request_once(
    home: Path, postgres_server: PostgresServer
) -> None:
    result = bench_burst.burst_replicas(
        requests=14, mailboxes=4, counts=(2,), store=postgres_server.url
    )
    (run,) = result["runs"]
    assert run["replicas"] == 2 and sum(run["spread"]) == 4
    assert [m["requests"] for m in run["mailboxes"]] == [4, 4, 3, 3]  # 14 spread over 4
    for mailbox in run["mailboxes"]:
        assert mailbox["drafts"] == 2 * mailbox["requests"], mailbox  # both asks, once
        assert mailbox["missing"] == 0 and mailbox["duplicates"] == 0, mailbox
        assert mailbox["rate_limited"] == 0 and mailbox["units"] > 0, mailbox
    assert run["duplicates"] == run["missing"] == run["rate_limited"] == 0
    (line,) = bench_burst.rows(result, _row)
    assert "0 x 429, 0 duplicates, 0 missed" in line


def test_one_mailbox_is_no_burst_over_mailboxes() -> None:
    with pytest.raises(ValueError, match="2 mailboxes or more"):
        bench_burst.burst_with("postgresql://nowhere/", Path("."), 1, 10, 1, 1)
