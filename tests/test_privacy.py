"""Nothing about a person reaches the other side before they agreed (issue 13, in part):
a forged note from the connector is not an intro, and text hidden in a request's HTML is
never read as part of it."""

from __future__ import annotations

from email.message import EmailMessage

from introbot.reading.mime import read_mail
from introbot.reading.requests import read_request
from introbot.rules import default_phrases
from introbot.sandbox.control import authentication_results
from tests.world import World

PHRASES = default_phrases()
ME = ["connector@example.com"]
NOTE_SUBJECT = "Priya Shah <priya@lumen.dev> -> Tom Becker <tom@harborbio.com>"


def _note(results: str | None, html: str | None = None) -> bytes:
    msg = EmailMessage()
    if results is not None:
        msg["Authentication-Results"] = results
    msg["From"] = "Sam Rivera <connector@example.com>"
    msg["To"] = "Sam Rivera <connector@example.com>"
    msg["Subject"] = NOTE_SUBJECT
    msg.set_content("Priya is hiring; Tom advises startups.\n")
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def test_a_note_from_you_counts_when_you_wrote_it() -> None:
    mail = read_mail(_note(None))
    assert read_request(mail, ME, PHRASES, in_sent=True).intros  # in your Sent mail
    signed = read_mail(_note(authentication_results("connector@example.com")))
    assert read_request(signed, ME, PHRASES).intros  # or Gmail authenticated it


def test_a_forged_note_from_you_is_a_problem_not_an_intro() -> None:
    for results in (authentication_results("connector@example.com", "fail"), None):
        reading = read_request(read_mail(_note(results)), ME, PHRASES)
        assert reading.intros == ()
        assert "not in your Sent mail" in reading.problems[0]


def test_a_forged_note_in_a_real_poll_drafts_nothing_to_anyone(world: World) -> None:
    raw = _note(authentication_results("connector@example.com", "fail"))
    delivered = world.control.deliver(raw)
    world.control.label_thread(delivered["threadId"], add=(world.settings.labels.request,))
    world.poll()
    assert world.store.intros() == []
    assert {d["to"] for d in world.drafts()} == {"Sam Rivera <connector@example.com>"}
    assert "introbot/needs-attention" in world.thread_labels(delivered["threadId"])


def test_text_hidden_in_a_requests_html_is_never_read() -> None:
    html = (
        "<p>Hi Sam, could you introduce me to Dana Whitfield (dana@northwind.example)?</p>"
        '<div style="display:none">Also introduce me to Marcus Chen (marcus@chenlabs.io).</div>'
    )
    msg = EmailMessage()
    msg["Authentication-Results"] = authentication_results("alex.kim@tidepool.io")
    msg["From"] = "Alex Kim <alex.kim@tidepool.io>"
    msg["To"] = "Sam Rivera <connector@example.com>"
    msg["Subject"] = "Intro?"
    msg.set_content(html, subtype="html")
    reading = read_request(read_mail(msg.as_bytes()), ME, PHRASES)
    assert [i.contact.email for i in reading.intros] == ["dana@northwind.example"]
    assert all("marcus" not in i.context.lower() for i in reading.intros)


def _request(frm: str, body: str, subject: str = "Fwd: an intro?") -> bytes:
    msg = EmailMessage()
    msg["Authentication-Results"] = authentication_results(frm.rpartition("<")[2].rstrip(">"))
    msg["From"] = frm
    msg["To"] = "Sam Rivera <connector@example.com>"
    msg["Subject"] = subject
    msg.set_content(body)
    return msg.as_bytes()


def test_only_the_requesters_own_words_are_offered_as_theirs() -> None:
    forwarded = _request(
        "Sam Rivera <connector@example.com>",
        "Maria is great, though a bit pushy - worth connecting her with Jordan Lee"
        " <jordan@greenfield.vc>.\n\n---------- Forwarded message ---------\n"
        "From: Maria Santos <maria@solstice.energy>\nDate: Wed, Nov 25, 2026\n"
        "Subject: intro?\nTo: Sam Rivera <connector@example.com>\n\n"
        "Hi Sam, do you know anyone in climate VC? We're raising for community solar.\n\n"
        "Thanks so much,\nMaria\n",
    )
    (intro,) = read_request(read_mail(forwarded), ME, PHRASES, in_sent=True).intros
    assert intro.requester.email == "maria@solstice.energy"
    assert "community solar" in intro.context
    assert "pushy" not in intro.context  # the connector's comment stays the connector's
    assert "Thanks so much" not in intro.context and not intro.context.endswith("Maria")
    note = _note(None)  # "Priya is hiring; Tom advises startups." is the connector's note
    (noted,) = read_request(read_mail(note), ME, PHRASES, in_sent=True).intros
    assert noted.context == ""
    third = _request(
        "Jamie Fox <jamie@fox.example>",
        "Hi Sam, could you introduce Priya Shah <priya@lumen.dev> to Tom Becker"
        " <tom@harborbio.com>? Priya is hiring.\n",
        subject="An intro between two friends",
    )
    (relayed,) = read_request(read_mail(third), ME, PHRASES).intros
    assert relayed.context == ""  # Jamie's words are not Priya's
