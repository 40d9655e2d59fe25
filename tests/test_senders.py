"""Sender authenticity from Gmail's own Authentication-Results header, and address identity.

Every case goes through real message bytes: ``read_mail`` then ``check_sender``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from introbot.model import (
    Consent,
    DraftCreated,
    DraftKind,
    DraftSent,
    DraftState,
    Intro,
    Person,
    ReplyReceived,
    RequestRef,
    Role,
    Verdict,
    address_key,
    vouched_for,
)
from introbot.reading.mime import read_mail
from introbot.reading.replies import read_reply
from introbot.reading.senders import MAX_COMMENT_DEPTH, MAX_RESULTS_CHARS, check_sender
from introbot.rules import default_phrases
from introbot.workflow import WorkflowRules, open_intro, step

DANA = "Dana <dana@northwind.example>"
#: What Gmail writes for an ordinary authentic message, folded as it arrives.
GMAIL_PASS = (
    "mx.google.com;\r\n"
    "       dkim=pass header.i=@northwind.example header.s=20230601 header.b=Qx7/+aZ1;\r\n"
    "       spf=pass (google.com: domain of dana@northwind.example designates 192.0.2.44 as"
    " permitted sender) smtp.mailfrom=dana@northwind.example;\r\n"
    "       dmarc=pass (p=QUARANTINE sp=QUARANTINE dis=NONE) header.from=northwind.example"
)


def _raw(results: list[str], sender: str = DANA, extra: str = "") -> bytes:
    headers = "".join(f"Authentication-Results: {r}\r\n" for r in results)
    return f"{headers}{extra}From: {sender}\r\nSubject: x\r\n\r\nbody".encode()


def _check(results: list[str], sender: str = DANA, extra: str = "") -> tuple[bool | None, str]:
    check = check_sender(read_mail(_raw(results, sender, extra)))
    return check.authenticated, check.evidence


# ------------------------------------------------------------------- the plain cases
@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([GMAIL_PASS], True),
        (
            [
                "mx.google.com; dkim=pass header.i=@northwind.example; dmarc=pass (p=NONE)"
                " header.from=northwind.example"
            ],
            True,
        ),
        (["mx.google.com; dmarc=fail (p=REJECT) header.from=northwind.example"], False),
        (["mx.google.com; dmarc=pass header.from=evil.example"], False),
        # no DMARC policy: aligned DKIM or SPF
        (["mx.google.com; dkim=pass header.i=@mail.northwind.example; spf=neutral"], True),
        (["mx.google.com; spf=pass smtp.mailfrom=bounce@northwind.example"], True),
        (["mx.google.com; spf=softfail smtp.mailfrom=dana@northwind.example"], False),
        (
            [
                "mx.google.com; dkim=pass header.i=@other.example;"
                " spf=pass smtp.mailfrom=x@other.example"
            ],
            False,
        ),
        (
            [
                "mx.google.com; dmarc=bestguesspass header.from=northwind.example;"
                " dkim=pass header.d=northwind.example"
            ],
            True,
        ),
        # a list that breaks DKIM and sends from its own envelope, the From kept
        (
            [
                "mx.google.com; dkim=fail header.i=@northwind.example;"
                " spf=pass smtp.mailfrom=list-bounces@lists.example.org;"
                " dmarc=fail (p=REJECT dis=NONE) header.from=northwind.example"
            ],
            False,
        ),
        # ... and one that rewrote the From to the list: authenticated, as the list
        (
            [
                "mx.google.com; dkim=pass header.i=@lists.example.org;"
                " dmarc=pass header.from=lists.example.org"
            ],
            False,
        ),
        # Gmail's own envelope quoting of an address with '+' and '='
        (['mx.google.com; spf=pass smtp.mailfrom="b+x=y@em.northwind.example"'], True),
        ([], None),
        (["spamfilter.example.org; dmarc=pass header.from=northwind.example"], None),
    ],
)
def test_verdicts(results: list[str], expected: bool | None) -> None:
    assert _check(results)[0] is expected


def test_a_list_that_rewrites_the_from_is_the_list_not_the_party() -> None:
    results = ["mx.google.com; dmarc=pass header.from=lists.example.org"]
    check = check_sender(read_mail(_raw(results, sender="Dana via Ops <ops@lists.example.org>")))
    assert check.authenticated is True
    assert check.email == "ops@lists.example.org"


# ------------------------------------------------ fake results inside comments and quotes
@pytest.mark.parametrize(
    "results",
    [
        # an envelope local part holding a whole fake result
        'mx.google.com; spf=pass smtp.mailfrom="a;dmarc=pass header.from=northwind.example"'
        "@evil.example",
        'mx.google.com; spf=pass smtp.mailfrom="a; dmarc=pass header.from=northwind.example; b"'
        "@evil.example",
        # ... and one holding the victim's address: the domain is what follows the quotes
        'mx.google.com; spf=pass smtp.mailfrom="dana@northwind.example"@relay.evil.example',
        'mx.google.com; dkim=pass header.i="x; dkim=pass header.d=northwind.example"@evil.example',
        # comments are not results, however they look
        "mx.google.com; spf=fail (dmarc=pass header.from=northwind.example)"
        " smtp.mailfrom=x@evil.example",
        "mx.google.com; dkim=none (dkim=pass header.d=northwind.example; spf=pass)",
        "mx.google.com; spf=fail (seen; dmarc=pass header.from=northwind.example)"
        " smtp.mailfrom=x@evil.example",
        "mx.google.com; arc=pass (i=1 spf=pass spfdomain=northwind.example dkim=pass"
        " dkdomain=northwind.example dmarc=pass fromdomain=northwind.example)",
        "mx.google.com; spf=fail (nested (dmarc=pass header.from=northwind.example) still)"
        " smtp.mailfrom=x@evil.example",
        "mx.google.com (dmarc=pass header.from=northwind.example); spf=fail",
    ],
)
def test_fake_results_inside_quotes_and_comments_are_not_results(results: str) -> None:
    assert _check([results])[0] is False


def test_a_quoted_local_part_cannot_end_gmails_comment_early() -> None:
    # The envelope address, which Gmail copies into its spf comment, closes the comment
    # with a ')' inside its quotes and goes on as if it were results.
    sneaky = '"a) smtp.x=y; dmarc=pass header.from=northwind.example (b"@evil.example'
    results = (
        f"mx.google.com; spf=pass (google.com: domain of {sneaky} designates 192.0.2.9 as"
        f" permitted sender) smtp.mailfrom={sneaky}"
    )
    authenticated, evidence = _check([results])
    assert authenticated is False
    assert "double quote inside a comment" in evidence


def test_encoded_words_are_never_decoded_into_syntax() -> None:
    # =22 is '"': decoded, the quoted string would end and a dmarc=pass would follow.
    encoded = "=?us-ascii?q?x=22=3B_dmarc=3Dpass_header.from=3Dnorthwind.example_smtp.x=3D=22?="
    results = f'mx.google.com; spf=pass smtp.mailfrom="{encoded}"@evil.example'
    mail = read_mail(_raw([results]))
    decoded = mail.header("Authentication-Results") or ""
    assert "dmarc=pass header.from=northwind.example" in decoded  # what decoding would do
    assert check_sender(mail).authenticated is False


# ------------------------------------------------------------ which header counts
def test_only_the_topmost_gmail_header_counts() -> None:
    # The sender forged a passing header below the one Gmail prepended.
    real = "mx.google.com; dmarc=fail (p=REJECT) header.from=northwind.example"
    forged = "mx.google.com; dmarc=pass header.from=northwind.example"
    assert _check([real, forged])[0] is False
    assert _check([forged, real])[0] is True  # what Gmail wrote is always on top


def test_a_gmail_header_below_another_servers_is_the_senders() -> None:
    # Mail fetched from another provider: Gmail added no header, that server added its
    # own on top, and the "mx.google.com" one below came with the message.
    other = "mx.other-provider.example; spf=pass smtp.mailfrom=evil.example"
    forged = "mx.google.com; dmarc=pass header.from=northwind.example"
    authenticated, evidence = _check([other, forged])
    assert authenticated is False
    assert "below mx.other-provider.example" in evidence
    assert _check(["(unterminated " + other, forged])[0] is False


def test_the_authserv_id_is_compared_exactly_up_to_ascii_case() -> None:
    good = "dmarc=pass header.from=northwind.example"
    assert _check([f"MX.Google.COM; {good}"])[0] is True
    assert _check([f'"mx.google.com"; {good}'])[0] is True  # a quoted authserv-id
    assert _check([f"mx.google.com 1; {good}"])[0] is True  # with a version
    for lookalike in ("mx.google.com.evil.example", "mx.google.co", "mx.googl\u0435.com"):
        assert _check([f"{lookalike}; {good}"])[0] is None


# --------------------------------------------------------------- headers that do not parse
@pytest.mark.parametrize(
    "results",
    [
        "mx.google.com; dmarc=pass (unterminated header.from=northwind.example",
        'mx.google.com; dmarc=pass header.from="northwind.example',
        "mx.google.com; dmarc=pass header.from=northwind.example"
        + " (" * (MAX_COMMENT_DEPTH + 1)
        + ")" * (MAX_COMMENT_DEPTH + 1),
        "mx.google.com; dmarc=pass header.from=northwind.example junk",
        "mx.google.com; dmarc=pass header.from=northwind.example; @",
        "mx.google.com;",
        "mx.google.com; =pass",
        "mx.google.com; dmarc pass header.from=northwind.example",
        "mx.google.com; none; dmarc=pass header.from=northwind.example",
        'mx.google.com; dmarc=pass header.from="north"wind.example',
        "mx.google.com; dmarc=pass header.from=northwind.example header.from=evil.example",
        "mx.google.com; dmarc=pass header.from=northwind.example " + "x" * MAX_RESULTS_CHARS,
    ],
)
def test_a_gmail_header_that_does_not_parse_is_not_authenticated(results: str) -> None:
    authenticated, evidence = _check([results])
    assert authenticated is False
    assert evidence.startswith("Gmail's Authentication-Results cannot be read")


def test_conflicting_results_are_not_a_pass() -> None:
    two_dmarcs = (
        "mx.google.com; dmarc=pass header.from=northwind.example;"
        " dmarc=fail header.from=northwind.example"
    )
    assert _check([two_dmarcs]) == (False, "more than one dmarc result in Gmail's header")
    two_spfs = "mx.google.com; spf=pass smtp.mailfrom=a@northwind.example; spf=fail"
    assert _check([two_spfs])[0] is False


def test_no_mutation_of_a_failing_header_becomes_a_pass() -> None:
    failing = (
        "mx.google.com; dkim=pass header.i=@evil.example (sig ok; key 2048);"
        ' spf=pass smtp.mailfrom="x y"@evil.example;'
        " dmarc=fail (p=REJECT) header.from=northwind.example"
    )
    for cut in range(len(failing) + 1):
        assert _check([failing[:cut]])[0] is not True, failing[:cut]
    for drop in range(len(failing)):
        assert _check([failing[:drop] + failing[drop + 1 :]])[0] is not True, drop


# ---------------------------------------------------------- dmarc=pass names the domain
@pytest.mark.parametrize(
    ("header_from", "sender", "expected"),
    [
        ("northwind.example", DANA, True),
        ("NorthWind.EXAMPLE", DANA, True),  # ASCII case does not matter
        ("northwind.example", "Dana <Dana@NORTHWIND.Example>", True),
        (None, DANA, False),  # a pass that names no domain
        ("mail.northwind.example", DANA, False),  # exactly the From domain, not a relative
        ("example", DANA, False),
        ("northwind.example.", DANA, False),
        ("northwind.exampl\u0435", DANA, False),  # a Cyrillic "e"
        ("\u212aorp.example", "Kim <kim@korp.example>", False),  # the Kelvin sign, lowercased "k"
        ("korp.example", "Kim <kim@\u212aorp.example>", False),
        ("\ufb01sh.example", "Fi <fi@fish.example>", False),  # a ligature
        ("fish.example", "Fi <fi@\ufb01sh.example>", False),
    ],
)
def test_dmarc_pass_must_name_the_from_domain(
    header_from: str | None, sender: str, expected: bool
) -> None:
    clause = f" header.from={header_from}" if header_from is not None else ""
    assert _check([f"mx.google.com; dmarc=pass{clause}"], sender=sender)[0] is expected


def test_no_from_is_not_authenticated() -> None:
    authenticated, evidence = _check(["mx.google.com; dmarc=pass header.from=x.example"], sender="")
    assert authenticated is False
    assert "From" in evidence


def test_two_from_addresses_are_not_authenticated() -> None:
    results = ["mx.google.com; dmarc=pass header.from=northwind.example"]
    assert _check(results, sender="dana@northwind.example, eve@evil.example")[0] is False


# ----------------------------------------------------------------- address identity
@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("\ufb01ona@tidepool.io", "fiona@tidepool.io"),  # U+FB01, NFKC and casefold make "fi"
        ("stra\u00dfe@tidepool.io", "strasse@tidepool.io"),  # casefold makes "ss"
        ("\u212aim@tidepool.io", "kim@tidepool.io"),  # the Kelvin sign lowercases to "k"
        ("d\u0430na@northwind.example", "dana@northwind.example"),  # a Cyrillic a
        ("dana@northw\u0131nd.example", "dana@northwind.example"),  # a dotless i
        ("dana@\u212aorp.example", "dana@korp.example"),
        ("dana@xn--bcher-kva.example", "dana@b\u00fccher.example"),  # not merged, but safe
    ],
)
def test_look_alike_addresses_are_other_people(one: str, other: str) -> None:
    assert address_key(one) != address_key(other)
    assert Person(None, one).key != Person(None, other).key


def test_ascii_case_is_the_only_difference_that_does_not_count() -> None:
    assert Person("Dana", "Dana.W@NorthWind.Example").key == "dana.w@northwind.example"
    assert address_key("FIONA@TIDEPOOL.IO") == address_key("fiona@tidepool.io")
    assert address_key("\u00c9lodie@x.io") != address_key("\u00e9lodie@x.io")  # not ASCII


@pytest.mark.parametrize(
    "sender",
    [
        "Fiona <\ufb01ona@tidepool.io>",
        "Fiona <fiona@tidepool.\u0456o>",  # a Cyrillic i
        "Kim <kim@\u212aorp.example>",
    ],
)
def test_a_look_alike_from_is_read_as_written(sender: str) -> None:
    mail = read_mail(_raw([], sender=sender))
    assert mail.sender is not None
    assert mail.sender.email == sender.partition("<")[2].rstrip(">")
    real = Person(None, "fiona@tidepool.io" if "iona" in sender else "kim@korp.example")
    assert mail.sender.key != real.key


def _asked_contact(contact: Person, rules: WorkflowRules, t0: datetime) -> Intro:
    """An intro whose consent message to ``contact`` was sent at ``t0``."""
    requester = Person("Alex Kim", "alex.kim@tidepool.io")
    request = RequestRef("t-r", "m-r", "<req@tidepool.io>", "Intro?", requester, "direct")
    intro = open_intro("i1", request, requester, contact, "ctx", t0, rules, secret="5" * 32).intro
    for n, draft in enumerate(intro.drafts):
        if draft.state is DraftState.QUEUED:
            intro = step(intro, DraftCreated(draft.key, f"d{n}", f"m{n}", f"t{n}"), t0, rules).intro
    (draft,) = intro.drafts_of(DraftKind.CONSENT, Role.CONTACT)
    sent = DraftSent(draft.key, "s1", "<s1@x>", draft.thread_id or "t", t0, "Re: x")
    return step(intro, sent, t0, rules).intro


def test_a_look_alike_colleague_is_not_the_contact_who_was_asked() -> None:
    # The contact fiona@ was asked; her colleague "ﬁona@" (a ligature, same domain, so
    # Gmail authenticates the domain) answers yes. That is someone else's yes: unclear.
    t0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    rules = WorkflowRules(Person("Sam Rivera", "connector@example.com"))
    intro = _asked_contact(Person("Fiona Lee", "fiona@northwind.example"), rules, t0)
    assert intro.contact.consent is Consent.ASKED

    raw = _raw(
        ["mx.google.com; dmarc=pass header.from=northwind.example"],
        sender="Fiona Lee <\ufb01ona@northwind.example>",
    )
    check = check_sender(read_mail(raw))
    assert check.authenticated is True  # the domain is genuine; the person is not Fiona
    reply = ReplyReceived(
        Role.CONTACT, "r1", Verdict.YES, "yes", "Yes!", check.authenticated, check.email or "", t0
    )
    after = step(intro, reply, t0, rules).intro
    assert after.contact.consent is Consent.UNCLEAR
    same = ReplyReceived(
        Role.CONTACT, "r2", Verdict.YES, "yes", "Yes!", True, "Fiona@NorthWind.example", t0
    )
    assert step(intro, same, t0, rules).intro.contact.consent is Consent.YES


# ------------------------------------------------------- one rule for a yes, in one place
@pytest.mark.parametrize(
    ("results", "authenticated"),
    [
        ([GMAIL_PASS], True),
        (["mx.google.com; dmarc=fail header.from=northwind.example"], False),
        ([], None),  # no verdict of Gmail's on the message
    ],
)
def test_the_reader_and_the_workflow_hold_a_yes_to_one_rule(
    results: list[str], authenticated: bool | None
) -> None:
    """A yes counts only when Gmail authenticated the sender: what the reader says (and
    ``introbot explain`` shows) is what the workflow decides, for each of Gmail's answers."""
    t0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    raw = _raw(results, extra="To: connector@example.com\r\n").replace(b"body", b"Yes, happy to!")
    reading = read_reply(read_mail(raw), default_phrases())
    assert reading.sender.authenticated is authenticated
    assert (reading.verdict is Verdict.YES) is vouched_for(authenticated)
    rules = WorkflowRules(Person("Sam Rivera", "connector@example.com"))
    intro = _asked_contact(Person("Dana", "dana@northwind.example"), rules, t0)
    for verdict in {reading.verdict, Verdict.YES}:  # as read, and as a per-contact answer
        reply = ReplyReceived(
            Role.CONTACT, "r1", verdict, reading.evidence, "Yes, happy to!",
            authenticated, "dana@northwind.example", t0,
        )  # fmt: skip
        consent = step(intro, reply, t0, rules).intro.contact.consent
        assert consent is (Consent.YES if vouched_for(authenticated) else Consent.UNCLEAR)
