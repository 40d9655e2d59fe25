"""What goes into a draft: the fields its template gets, its Message-ID, whom it answers and
in which thread. Pure: values in, :class:`DraftSpec` out. ``workflow.py`` decides *that* a
draft is written; this module says *what* it holds, and keeps the rules of privacy that
every template relies on:

- templates only ever get names, never an address (the joint introduction, once both said
  yes, is the one exception), and never a local part for a name: someone who gave no name
  is "someone I know" or "your contact", and "Hi there," greets them;
- an organisation guessed from a domain is shown only when the connector's settings say so;
- the connector signs with their signature, else their first name, else nothing;
- a draft to a party answers in the thread of the consent message they got (or, for a
  requester who wrote the request, in the request's own thread).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from introbot.model import (
    Draft,
    DraftKind,
    DraftSpec,
    DraftState,
    Intro,
    Person,
    RequestRef,
    Role,
    Stage,
)
from introbot.redaction import holds_address, redact_addresses

if TYPE_CHECKING:
    from introbot.workflow import WorkflowRules

_FREE_MAIL = {
    "gmail.com", "googlemail.com", "yahoo.com", "outlook.com", "hotmail.com", "live.com",
    "icloud.com", "me.com", "proton.me", "protonmail.com", "aol.com", "gmx.de", "gmx.net",
    "web.de", "orange.fr", "free.fr", "laposte.net", "yahoo.fr", "hotmail.fr", "t-online.de",
}  # fmt: skip

# How a draft speaks of someone who gave no name: never by their address or its local part.
UNNAMED = {"requester": "someone I know", "contact": "your contact"}


# ------------------------------------------------------------------- people
def organisation(person: Person) -> str | None:
    """'Tidepool' from alex@tidepool.io; None for free-mail addresses."""
    domain = person.email.rpartition("@")[2].lower()
    if domain in _FREE_MAIL or not domain:
        return None
    labels = domain.split(".")
    core = labels[-2] if len(labels) >= 2 else labels[0]
    if len(labels) >= 3 and labels[-2] in ("co", "com", "org", "ac", "gov"):
        core = labels[-3]
    return core.replace("-", " ").title()


def display_name(person: Person) -> str | None:
    """The person's name, if they gave one: a "name" that holds an address is none."""
    name = " ".join((person.name or "").split())
    return None if not name or holds_address(name) else name


def who(person: Person, unnamed: str, rules: WorkflowRules) -> dict[str, Any]:
    """What a template may say about someone: never the address, nor a local part for a
    name (``unnamed`` stands in; ``greeting`` is "there" for "Hi there,"), nor a guessed
    organisation unless ``rules.guess_organisation``."""
    name = display_name(person)
    first = name.split()[0] if name else None
    return {
        "name": name or unnamed,
        "first": first or unnamed,
        "greeting": first or "there",
        "org": organisation(person) if rules.guess_organisation else None,
    }


def connector(rules: WorkflowRules) -> dict[str, Any]:
    """The connector signs their own drafts: their signature, else their first name, else
    nothing (never a name made from their address)."""
    fields = who(rules.connector, "", rules)
    fields["signature"] = (rules.signature or fields["first"]).strip()
    return fields


def contacts(intros: Iterable[Intro], rules: WorkflowRules) -> list[dict[str, Any]]:
    """The contacts of ``intros`` as templates may name them."""
    return [who(i.contact.person, UNNAMED["contact"], rules) for i in intros]


def contact_names(intros: Iterable[Intro], rules: WorkflowRules) -> str:
    """'Dana Whitfield, your contact': the contacts' names for a note."""
    return ", ".join(c["name"] for c in contacts(intros, rules))


def fields(intro: Intro, rules: WorkflowRules, **extra: Any) -> dict[str, Any]:
    """The fields every template of an intro gets, and ``extra``."""
    return {
        "connector": connector(rules),
        "requester": who(intro.requester.person, UNNAMED["requester"], rules),
        "contact": who(intro.contact.person, UNNAMED["contact"], rules),
        "context": redact_addresses(intro.context),
        "remind_days": rules.remind_after.days,
        **extra,
    }


# ------------------------------------------------------------------- threads
def reply_subject(subject: str) -> str:
    clean = " ".join(subject.split())
    return clean if re.match(r"^(re|aw|sv|antw)\s*:", clean, re.I) else f"Re: {clean}"


def draft_key(intro: Intro, kind: DraftKind, to: Role | None, rules: WorkflowRules) -> str:
    """A Message-ID that is unique to this draft and known before it exists (the outbox
    finds a draft by it after a crash), yet unguessable from outside: it is derived from the
    intro's random ``secret``, never from its id alone. A reply naming a predicted id must
    not count as an answer."""
    if len(intro.secret) < 16:
        raise ValueError(f"intro {intro.id} has no secret to derive Message-IDs from")
    n = len([d for d in intro.drafts if d.kind is kind and d.to is to]) + 1
    whom = to.value if to else "all"
    seed = f"{intro.secret}\x00{intro.id}\x00{kind.value}\x00{whom}\x00{n}"
    token = hashlib.sha256(seed.encode()).hexdigest()[:32]
    return f"<introbot.{token}@{rules.domain}>"


def sent_consent(intro: Intro, role: Role) -> Draft | None:
    """The last consent message sent to ``role``, if any."""
    sent = [d for d in intro.drafts_of(DraftKind.CONSENT, role) if d.state is DraftState.SENT]
    return sent[-1] if sent else None


def request_routing(request: RequestRef) -> dict[str, Any]:
    """Answer in the request's own thread."""
    refs = (request.rfc822_id,) if request.rfc822_id else ()
    return {
        "thread_id": request.thread_id,
        "in_reply_to": request.rfc822_id,
        "references": refs,
        "subject": reply_subject(request.subject),
    }


def _asker_routing(intro: Intro, role: Role) -> dict[str, Any]:
    """A requester who wrote the request is answered in their own thread."""
    if role is Role.REQUESTER and intro.request.author.key == intro.requester.person.key:
        return request_routing(intro.request)
    return {}


def reply_routing(intro: Intro, role: Role) -> dict[str, Any]:
    """Answer in the thread of the consent message sent to ``role``, if there is one."""
    sent = sent_consent(intro, role)
    if sent is not None and sent.thread_id:
        refs = (sent.sent_rfc822_id,) if sent.sent_rfc822_id else ()
        return {
            "thread_id": sent.thread_id,
            "in_reply_to": sent.sent_rfc822_id,
            "references": refs,
            "subject": reply_subject(sent.subject) if sent.subject else None,
        }
    return _asker_routing(intro, role)


# ------------------------------------------------------------------- the drafts
def consent_spec(intro: Intro, role: Role, rules: WorkflowRules) -> DraftSpec:
    """The consent draft to one party (the contact's carries the requester's blurb)."""
    party = intro.party(role)
    return DraftSpec(
        key=draft_key(intro, DraftKind.CONSENT, role, rules),
        kind=DraftKind.CONSENT,
        template=f"consent_{role.value}",
        to=(party.person,),
        fields=fields(
            intro,
            rules,
            order=intro.order.value,
            blurb=redact_addresses(intro.requester.words) if role is Role.CONTACT else "",
        ),
        **_asker_routing(intro, role),
    )


def several_consent_spec(intros: Sequence[Intro], rules: WorkflowRules) -> DraftSpec:
    """One consent draft to the requester about the contacts of all ``intros`` (their
    request names them; the first intro writes it). Each contact is named only as their own
    request named them."""
    lead = intros[0]
    return DraftSpec(
        key=draft_key(lead, DraftKind.CONSENT, Role.REQUESTER, rules),
        kind=DraftKind.CONSENT,
        template="consent_requester_several",
        to=(lead.requester.person,),
        fields=fields(
            lead, rules, order=lead.order.value, blurb="", contacts=contacts(intros, rules)
        ),
        **_asker_routing(lead, Role.REQUESTER),
    )


def reply_spec(
    intro: Intro,
    kind: DraftKind,
    role: Role,
    rules: WorkflowRules,
    template: str | None = None,
    **extra: Any,
) -> DraftSpec:
    """A draft of ``kind`` (its template has the same name unless ``template`` says) to one
    party, in the thread of the consent message they got."""
    return DraftSpec(
        key=draft_key(intro, kind, role, rules),
        kind=kind,
        template=template or kind.value,
        to=(intro.party(role).person,),
        fields=fields(intro, rules, **extra),
        **reply_routing(intro, role),
    )


def reminder_spec(intro: Intro, role: Role, rules: WorkflowRules) -> DraftSpec:
    """The one reminder to a party who did not answer."""
    party = intro.party(role)
    return reply_spec(
        intro,
        DraftKind.REMINDER,
        role,
        rules,
        to=who(party.person, UNNAMED[role.value], rules),
        to_role=role.value,
    )


def several_reminder_spec(intros: Sequence[Intro], rules: WorkflowRules) -> DraftSpec:
    """The one reminder to a requester asked about several contacts, naming only the
    contacts of ``intros`` (those still waiting for the answer); the first intro writes it."""
    lead = intros[0]
    requester = who(lead.requester.person, UNNAMED["requester"], rules)
    return reply_spec(
        lead,
        DraftKind.REMINDER,
        Role.REQUESTER,
        rules,
        template="reminder_several",
        to=requester,
        to_role=Role.REQUESTER.value,
        contacts=contacts(intros, rules),
    )


def several_notes_spec(intros: Sequence[Intro], rules: WorkflowRules) -> DraftSpec:
    """One note to the requester about the contacts of several intros of their request that
    ended (declined, or never answered): like the note of one, it says nothing of what
    anyone replied; each contact is marked ``outcome`` "declined" or "silent"."""
    lead = intros[0]
    named = [
        {**c, "outcome": "silent" if _ended_silent(i) else "declined"}
        for i, c in zip(intros, contacts(intros, rules), strict=True)
    ]
    kind = DraftKind.EXPIRY_NOTE if _ended_silent(lead) else DraftKind.DECLINE_NOTE
    return reply_spec(
        lead, kind, Role.REQUESTER, rules, template="decline_note_several", contacts=named
    )


def _ended_silent(intro: Intro) -> bool:
    """Did the intro end because its contact never answered (an expiry note)?"""
    return intro.stage is Stage.EXPIRED


def joint_spec(intro: Intro, rules: WorkflowRules) -> DraftSpec:
    """The introduction, to both (and their assistants in copy): both agreed, so it is the
    one draft whose fields hold their addresses."""
    requester, contact = intro.requester, intro.contact
    cc = tuple(Person(None, p.assistant) for p in (requester, contact) if p.assistant is not None)
    return DraftSpec(
        key=draft_key(intro, DraftKind.JOINT, None, rules),
        kind=DraftKind.JOINT,
        template="joint",
        to=(requester.person, contact.person),
        cc=cc,
        fields=fields(
            intro,
            rules,
            requester_words=requester.words,
            contact_words=contact.words,
            requester_email=requester.person.email,  # both agreed: addresses may be shared
            contact_email=contact.person.email,
        ),
    )


def problem_spec(
    request: RequestRef,
    problems: Iterable[str],
    rules: WorkflowRules,
    apart: bool = False,
    *,
    waiting: Iterable[str] = (),
    ask_again: str = "",
    fix: bool | None = None,
) -> DraftSpec:
    """A draft to the connector saying what is missing: in the request thread, or
    (``apart``: the thread holds, or is about to hold, a draft of an intro) in a thread of
    its own that names the request, as two drafts in one thread collide in Gmail.

    Its closing says what to do for the reasons it gives: ``fix`` (default: any
    ``problems``), the message is to be fixed; ``waiting`` (sentences listed after the
    problems), contacts wait until the unsent draft in the thread is sent or deleted; neither,
    the problems themselves say what to do. Either way the thread is labeled again, or,
    when it was asked anyway, ``ask_again`` (the command) is run again."""
    read, waits = list(problems), list(waiting)
    listed = [*read, *waits]
    digest = hashlib.sha256("\n".join(listed).encode()).hexdigest()[:10]
    key = f"<introbot.problem.{request.thread_id}.{digest}@{rules.domain}>"
    return _note_to_you(
        key,
        "problem_note",
        request,
        rules,
        apart,
        problems=listed,
        fix=bool(read) if fix is None else fix,
        waiting=bool(waits),
        ask_again=ask_again,
    )


def _note_to_you(
    key: str, template: str, request: RequestRef, rules: WorkflowRules, apart: bool, **more: Any
) -> DraftSpec:
    """A note to the connector alone about a request: in its thread, or ``apart`` in a
    thread of its own that names it (``request_subject``)."""
    return DraftSpec(
        key=key,
        kind=DraftKind.PROBLEM_NOTE,
        template=template,
        to=(rules.connector,),
        fields={
            "connector": connector(rules),
            **more,
            "request_subject": " ".join(request.subject.split()) if apart else "",
        },
        **({} if apart else request_routing(request)),
    )


def held_key(thread_id: str, rules: WorkflowRules) -> str:
    """The held-request note's Message-ID, one a thread: asking anyway deletes it by it."""
    return f"<introbot.held.{thread_id}@{rules.domain}>"


def held_spec(
    request: RequestRef,
    remembered: Iterable[str],
    problems: Iterable[str],
    command: str,
    rules: WorkflowRules,
    apart: bool = False,
) -> DraftSpec:
    """A draft to the connector saying why these people were not asked: what introbot
    remembers of them (``remembered``), anything else it could not use (``problems``), and
    ``command``, the connector's say to ask anyway. In the request thread, or (``apart``: the
    thread holds, or is about to hold, a draft of an intro) in a thread of its own naming the
    request, like :func:`problem_spec`. A note to the connector alone (a problem note, as
    the outbox and the one-draft-a-thread rule know it)."""
    return _note_to_you(
        held_key(request.thread_id, rules),
        "held_note",
        request,
        rules,
        apart,
        remembered=list(remembered),
        problems=list(problems),
        ask_again=command,
    )
