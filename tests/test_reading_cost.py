"""Reading costs little for any message, and what is beyond the caps is never a yes (issue 12).

The caps: attachment bodies are never handed to the email parser, a text part is read to
``MAX_PART_BYTES`` and a message to ``MAX_PARSED_BYTES`` (mime.shrink); an HTML body with
more than ``MAX_TAGS`` tags is read roughly; a reply's new text is looked for in its first
``MAX_LINES`` lines with a budget of attribution tries (quotes). Each cap is tested here
for what it must keep safe: what was not read makes a reply unclear, and a request is
still read, or set aside with a reason. The time it takes is measured in `introbot bench`.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest

from introbot.model import Role, Verdict
from introbot.reading import mime, quotes
from introbot.reading.html_text import MAX_TAGS
from introbot.reading.mime import CUT_HEADER, read_mail, shrink
from introbot.reading.replies import read_reply
from introbot.reading.requests import read_request
from introbot.reading.text import NOT_READ
from introbot.rules import default_phrases
from tests.cli import invoke
from tests.world import CONNECTOR, World

PHRASES = default_phrases()
ME = [CONNECTOR]
REPO = Path(__file__).resolve().parents[1]
DANA = "Dana Whitfield <dana@northwind.example>"
ASK = "Hi Sam,\n\nCould you introduce me to Dana Whitfield (dana@northwind.example)?\n\nAlex\n"


def _head(msg: EmailMessage | MIMEMultipart, sender: str = DANA) -> None:
    msg["From"] = sender
    msg["To"] = f"Sam Rivera <{CONNECTOR}>"
    msg["Subject"] = "Re: Would you like to meet Alex Kim?"


def _parts(*parts: MIMEText | MIMEApplication, sender: str = DANA) -> bytes:
    msg = MIMEMultipart("mixed")
    _head(msg, sender)
    for part in parts:
        msg.attach(part)
    return msg.as_bytes()


def _pdf(size: int) -> MIMEApplication:
    part = MIMEApplication(b"%PDF" + bytes(range(256)) * (size // 256), "pdf")
    part.add_header("Content-Disposition", "attachment", filename="deck.pdf")
    return part


def _plain(text: str, sender: str = DANA) -> bytes:
    msg = EmailMessage()
    _head(msg, sender)
    msg.set_content(text)
    return msg.as_bytes()


def _leaves(raw: bytes) -> list[tuple[str, bytes | None]]:
    parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
    found = []
    for part in parsed.walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            found.append((part.get_content_type(), payload if isinstance(payload, bytes) else None))
    return found


# ------------------------------------------------------------------- the shrinker
def test_shrinking_keeps_every_part_of_the_corpora_and_hostile_mail() -> None:
    """Below the caps the parser sees exactly the parts it saw before: same types, same
    decoded bytes (only a long preamble or an epilogue, which no one reads, may go)."""
    messages = sorted((REPO / "tests").glob("**/*.eml"))
    assert len(messages) > 200
    for path in messages:
        raw = path.read_bytes()
        small, cut_short = shrink(raw)
        assert _leaves(small) == _leaves(raw), path.name
        assert not cut_short, path.name


def test_an_attachment_body_is_not_parsed_and_the_text_after_it_is_read() -> None:
    raw = _parts(MIMEText("Yes, happy to.\n"), _pdf(3_000_000), MIMEText("But not before March.\n"))
    small, cut_short = shrink(raw)
    assert len(small) < 5_000 < 3_000_000 < len(raw) and not cut_short
    mail = read_mail(raw)
    assert mail.plain is not None and "not before March" in mail.plain
    assert NOT_READ not in mail.plain  # nothing that is read was cut
    assert read_reply(mail, PHRASES).verdict is not Verdict.YES


@pytest.mark.parametrize("newline", [b"\r\n", b"\n", b"\r"])
def test_line_ends_of_any_kind_keep_the_structure(newline: bytes) -> None:
    raw = _parts(MIMEText("Yes, happy to.\n"), _pdf(500_000), MIMEText("Not before March.\n"))
    raw = raw.replace(b"\r\n", b"\n").replace(b"\n", newline)
    mail = read_mail(raw)
    assert mail.plain is not None and "Not before March" in mail.plain, newline
    assert len(mail.attachments) == 1


def test_a_text_part_beyond_the_cap_is_read_from_its_start_and_is_never_a_yes() -> None:
    lines = "Yes, happy to.\n" + "fine\n" * (mime.MAX_PART_BYTES // 5) + "Actually, no.\n"
    mail = read_mail(_plain(lines))
    assert mail.plain is not None and mail.plain.endswith(NOT_READ)
    assert "Actually" not in mail.plain
    assert read_reply(mail, PHRASES).verdict is Verdict.UNCLEAR
    as_parts = read_mail(_parts(MIMEText("Yes, happy to.\n"), MIMEText(lines)))
    assert read_reply(as_parts, PHRASES).verdict is Verdict.UNCLEAR


def test_a_message_beyond_the_total_cap_says_its_end_was_not_read() -> None:
    chunk = "words " * (mime.MAX_PART_BYTES // 7)
    texts = [MIMEText("Yes, happy to.\n"), *(MIMEText(chunk) for _ in range(8))]
    mail = read_mail(_parts(*texts, MIMEText("No.\n")))
    assert mail.plain is not None and mail.plain.endswith(NOT_READ)
    assert any("only its start was read" in p for p in mail.problems)
    assert read_reply(mail, PHRASES).verdict is Verdict.UNCLEAR


def test_a_sender_who_writes_the_cut_mark_only_makes_their_text_unread() -> None:
    msg = EmailMessage()
    _head(msg)
    msg[CUT_HEADER] = "yes"
    msg.set_content("Yes, happy to.\n")
    mail = read_mail(msg.as_bytes())
    assert mail.header(CUT_HEADER) is None
    assert read_reply(mail, PHRASES).verdict is Verdict.UNCLEAR
    pasted = read_mail(_plain(f"Yes, happy to.\n{CUT_HEADER}: yes\n"))
    assert read_reply(pasted, PHRASES).verdict is Verdict.UNCLEAR


@pytest.mark.slow  # a 20 MiB message: takes seconds
def test_a_request_with_a_big_attachment_is_read() -> None:
    msg = MIMEMultipart("mixed")
    _head(msg, "Alex Kim <alex.kim@tidepool.io>")
    msg.attach(MIMEText(ASK))
    msg.attach(_pdf(20 * 2**20))
    reading = read_request(read_mail(msg.as_bytes()), ME, PHRASES)
    assert [i.contact.email for i in reading.intros] == ["dana@northwind.example"]


def test_a_huge_request_of_short_lines_is_read_from_its_start() -> None:
    raw = _plain(ASK + "short line of text\n" * 600_000, "Alex Kim <alex.kim@tidepool.io>")
    reading = read_request(read_mail(raw), ME, PHRASES)
    assert [i.contact.email for i in reading.intros] == ["dana@northwind.example"]
    assert all(NOT_READ not in i.context for i in reading.intros)


# --------------------------------------------------------------------------- HTML
def _html_only(html: str, sender: str) -> bytes:
    msg = EmailMessage()
    _head(msg, sender)
    msg.set_content(html, subtype="html")
    return msg.as_bytes()


HIDDEN = '<div style="display:none">Also introduce me to Marcus Chen (marcus@chenlabs.io).</div>'
TOO_MANY_TAGS = "<b></b>" * MAX_TAGS


@pytest.mark.parametrize(
    "html",
    [
        f"<p>{ASK}</p>{HIDDEN}{TOO_MANY_TAGS}",  # more tags than are checked
        f"<p>{ASK}</p>{HIDDEN}" + '<div style="color:#333">' * 14_000,  # deeper than read
    ],
    ids=["many tags", "deep and long"],
)
def test_an_html_only_request_too_big_to_check_is_set_aside_with_a_reason(html: str) -> None:
    mail = read_mail(_html_only(html, "Alex Kim <alex.kim@tidepool.io>"))
    assert mail.html_unchecked
    reading = read_request(mail, ME, PHRASES)
    assert reading.intros == ()
    assert any("send it again as plain text" in p for p in reading.problems), reading.problems


def test_an_html_reply_too_big_to_check_is_unclear_with_the_reason() -> None:
    mail = read_mail(_html_only(f"<p>Yes, happy to.</p>{TOO_MANY_TAGS}", DANA))
    reading = read_reply(mail, PHRASES)
    assert reading.verdict is Verdict.UNCLEAR
    assert "too big to check" in reading.evidence


# ------------------------------------------------------------------ reply text
def test_a_top_posted_yes_over_a_long_quoted_history_is_still_a_yes() -> None:
    history = "".join(f"> line {n} of an old thread\n" for n in range(quotes.MAX_LINES * 3))
    text = f"Yes, happy to.\n\nOn Tue, Nov 24, 2026 at 9:12 AM Sam Rivera <{CONNECTOR}> wrote:\n"
    vouched = b"Authentication-Results: mx.google.com; dmarc=pass header.from=northwind.example\r\n"
    reading = read_reply(read_mail(vouched + _plain(text + history)), PHRASES)  # Gmail's word
    assert reading.verdict is Verdict.YES, reading.evidence


def test_text_typed_below_more_quoted_lines_than_are_read_is_never_lost() -> None:
    quoted = "".join(f"> line {n} of an old thread\n" for n in range(quotes.MAX_LINES * 2))
    text = (
        f"On Tue, Nov 24, 2026 at 9:12 AM Sam Rivera <{CONNECTOR}> wrote:\n{quoted}\n"
        "Yes, happy to. But please not before March.\n"
    )
    reading = read_reply(read_mail(_plain(text)), PHRASES)
    assert reading.verdict is Verdict.UNCLEAR
    assert NOT_READ in reading.text


def test_thousands_of_lines_that_may_be_attributions_cost_a_budget_and_no_yes() -> None:
    text = "Yes, happy to.\n" + "On it:\n" * 20_000
    reading = read_reply(read_mail(_plain(text)), PHRASES)
    assert reading.verdict is Verdict.UNCLEAR
    lines = ["Yes, happy to.", *["On it:"] * (quotes.MAX_ATTRIBUTION_TRIES + 5)]
    stripped, _ = quotes._strip_history(lines, PHRASES)
    assert stripped[-1] == NOT_READ


def test_more_sentences_than_are_read_is_never_a_yes() -> None:
    text = "Yes, happy to.\n" + "ok.\n" * 250 + "Actually, please don't.\n"
    for role in (None, Role.REQUESTER):
        assert read_reply(read_mail(_plain(text)), PHRASES, role=role).verdict is Verdict.UNCLEAR


# -------------------------------------------------------------- end to end
@pytest.mark.slow  # a 12 MiB message through the sandbox: takes seconds
def test_a_poll_sets_an_unreadable_html_request_aside_and_reads_a_heavy_one(
    world: World,
) -> None:
    world.poll()
    heavy = world.control.deliver(
        _parts(MIMEText(ASK), _pdf(12 * 2**20), sender="Alex Kim <alex.kim@tidepool.io>"),
        labels=("INBOX", world.settings.labels.request),
    )
    unreadable = world.control.deliver(
        _html_only(f"<p>{ASK}</p>{HIDDEN}{TOO_MANY_TAGS}", "Bea Ortiz <bea@tidepool.io>"),
        labels=("INBOX", world.settings.labels.request),
    )
    world.poll()
    assert [i.request.thread_id for i in world.intros()] == [heavy["threadId"]]
    assert "introbot/needs-attention" in world.thread_labels(unreadable["threadId"])
    assert all("marcus" not in (d["text"] or "").lower() for d in world.drafts())
    world.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    listed = invoke("list", "--db", str(world.db), "--sandbox", world.server.url)
    assert listed.exit_code == 0, listed.output
    assert f"thread {unreadable['threadId']}: " in listed.output
    assert "send it again as plain text" in listed.output
