"""The labelled corpus: no false yes ever, and the recall targets of the reading issue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.corpus import build
from tests.corpus.score import ReplyScore, RequestScore, score_replies, score_requests


@pytest.fixture(scope="module")
def replies() -> ReplyScore:
    return score_replies()


@pytest.fixture(scope="module")
def requests() -> RequestScore:
    return score_requests()


@pytest.mark.slow
def test_corpus_is_large_enough(replies: ReplyScore, requests: RequestScore) -> None:
    assert replies.total >= 150
    assert requests.total >= 40
    for cls in ("yes", "no", "unclear", "auto_reply", "bounce"):
        assert replies.support(cls) >= 10, cls


def test_no_false_yes(replies: ReplyScore) -> None:
    assert replies.false_yes == []


def test_yes_and_no_recall(replies: ReplyScore) -> None:
    assert replies.recall("yes") >= 0.95, replies.mistakes
    assert replies.recall("no") >= 0.95, replies.mistakes


def test_every_automated_message_is_recognised(replies: ReplyScore) -> None:
    assert replies.recall("auto_reply") == 1.0, replies.mistakes
    assert replies.recall("bounce") == 1.0, replies.mistakes
    assert replies.failed_mismatch == []


def test_request_pairs_and_problems(requests: RequestScore) -> None:
    assert requests.right / requests.total >= 0.95, requests.mistakes
    assert requests.unusable_reported == requests.unusable, requests.mistakes


@pytest.mark.slow
def test_corpus_files_match_their_cases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The committed .eml files are exactly what the hand-written cases render to."""
    monkeypatch.setattr(build, "HERE", tmp_path)
    build.build_replies()
    build.build_requests()
    for index in ("replies.json", "requests.json"):
        assert json.loads((tmp_path / index).read_text()) == json.loads(
            (Path(build.__file__).parent / index).read_text()
        )
    for made in tmp_path.rglob("*.eml"):
        committed = Path(build.__file__).parent / made.relative_to(tmp_path)
        assert made.read_bytes() == committed.read_bytes(), committed
