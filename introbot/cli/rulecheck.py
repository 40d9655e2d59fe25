"""``introbot rules check``: load every phrase file and render every template with sample
data, the way introbot will, and point at the line of any mistake.

The sample data is not made up here: sample intros are played through the workflow
itself (asked, reminded, agreed, declined, expired), so every template is rendered with
exactly the fields the workflow gives it."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from introbot import compose
from introbot.languages import LANGUAGES, NAMES, localized
from introbot.model import (
    Action,
    CreateDraft,
    DraftCreated,
    DraftSent,
    DraftSpec,
    Intro,
    Observation,
    Order,
    Person,
    ReplyReceived,
    RequestRef,
    Role,
    Stage,
    Tick,
    Verdict,
)
from introbot.rules import (
    NEWER_TEMPLATES,
    TEMPLATE_LANGUAGE,
    TEMPLATE_NAMES,
    RulesError,
    Template,
    default_rules_dir,
    load_language_file,
    load_phrases,
    load_template_folder,
    load_templates,
)
from introbot.settings import Settings
from introbot.workflow import (
    InvalidTransition,
    WorkflowRules,
    open_intro,
    open_intros,
    plan_request,
    problem_note,
    step,
)
from introbot.writing import WritingError, write_draft

CONNECTOR = Person("Sam Rivera", "sam@example.com")
REQUESTER = Person("Alex Kim", "alex@tidepool.example")
CONTACT = Person("Dana Whitfield", "dana@northwind.example")
REQUEST = RequestRef(
    thread_id="sample-thread",
    message_id="sample-message",
    rfc822_id="<sample-request@example.com>",
    subject="Intro to Dana?",
    author=REQUESTER,
    form="direct",
)
# The same intro between two people who gave no name: the templates' other branch.
UNNAMED_PARTIES = (Person(None, "alex@tidepool.example"), Person(None, "dana@northwind.example"))
SECRET = "0" * 32  # rule checks only: nothing is ever sent with these drafts
CONTEXT = "Alex is raising a seed round for a climate-data startup; Dana invests in climate."


@dataclass(frozen=True)
class Check:
    what: str
    problem: str | None  # None: fine

    @property
    def ok(self) -> bool:
        return self.problem is None


def check(folder: Path, settings: Settings | None = None) -> list[Check]:
    """Every check on a rules folder, in order; later checks are skipped when loading fails."""
    results: list[Check] = []
    try:
        phrases = load_phrases(folder)
        results.append(Check(f"phrases: {len(phrases.languages)} language file(s)", None))
        results += list(_missing_lists(folder))
    except RulesError as exc:
        results.append(Check("phrases", str(exc)))
    results += [
        Check(
            f"templates/{name}.txt",
            f"missing: introbot uses the shipped one ({default_rules_dir() / 'templates'}); "
            "copy it to change it",
        )
        for name in NEWER_TEMPLATES
        if not (folder / "templates" / f"{name}.txt").is_file()
    ]
    try:
        templates = load_templates(folder)
        results.append(Check(f"templates: {len(templates)} loaded", None))
    except RulesError as exc:
        results.append(Check("templates", str(exc)))
        return results
    rules = _workflow_rules(settings or Settings())
    samples = _samples(rules, (REQUESTER, CONTACT))
    for name in TEMPLATE_NAMES:
        if name not in samples:  # the workflow never writes it: a bug in introbot, not the rules
            results.append(Check(f"template {name}", "no sample intro reaches this template"))
            continue
        problem = _render_problem(rules, name, "en", templates[name])
        results.append(Check(f"template {name}" + ("" if problem else ": renders"), problem))
    for language in LANGUAGES:
        if language != "en":
            results += _language_set(folder, language, rules)
    results += _unknown_sets(folder)
    return results


def _language_set(folder: Path, language: str, rules: WorkflowRules) -> list[Check]:
    """One language's templates (``templates/<language>/``), rendered like the English
    ones; what it lacks is written in English, which is said (a problem when the shipped
    set has it: the copy was made by an older introbot)."""
    name = f"{NAMES[language]} ({language})"
    where = f"templates/{language}"
    mine = folder / "templates" / language
    shipped = default_rules_dir() / "templates" / language
    is_shipped = folder.resolve() == default_rules_dir().resolve()
    if not mine.is_dir():
        return [
            Check(
                f"{where}",
                f"no {name} templates in {folder}: drafts in {NAMES[language]} are written in "
                f"English; copy {shipped} into {folder / 'templates'}",
            )
        ]
    try:
        translated = load_template_folder(mine, complete=False)
    except RulesError as exc:
        return [Check(where, str(exc))]
    results: list[Check] = []
    for path in sorted(mine.glob("*.txt")):
        if path.stem not in TEMPLATE_NAMES:
            results.append(
                Check(
                    f"{where}/{path.name}",
                    f"{path}: not a template introbot writes (the names are "
                    f"{', '.join(TEMPLATE_NAMES)})",
                )
            )
    rendered = 0
    for template in TEMPLATE_NAMES:
        if template not in translated:
            in_shipped = (shipped / f"{template}.txt").is_file() and not is_shipped
            problem = f"{mine / (template + '.txt')}: missing, so those drafts are in English"
            if in_shipped:
                results.append(Check(where, f"{problem}; copy it from {shipped}"))
            else:
                results.append(Check(f"{where}: no {template}.txt yet: written in English", None))
            continue
        if template not in _samples(rules, (REQUESTER, CONTACT)):
            continue  # said once, for English
        wrong = _render_problem(rules, template, language, translated[template])
        if wrong:
            results.append(Check(f"{where}/{template}", wrong))
        else:
            rendered += 1
    results.insert(0, Check(f"templates {language}: {rendered} {NAMES[language]} render", None))
    return results


@functools.lru_cache(maxsize=16)
def _samples(rules: WorkflowRules, people: tuple[Person, Person]) -> dict[str, DraftSpec]:
    """:func:`sample_drafts`, played once a process for the same rules (read only)."""
    return sample_drafts(rules, people)


def _render_problem(
    rules: WorkflowRules, name: str, language: str, template: Template
) -> str | None:
    """What is wrong with ``template`` written for the sample intros (named parties, then
    unnamed ones) in ``language``; None: both render.

    A template that rendered is not rendered again in this process: a Template's compiled
    parts are the same objects for the same text (rules._compiled), and whether it renders
    depends on them and the sample alone (its path is only in the error), so ``rules check``
    and ``doctor`` on an unchanged or copied folder skip the drafts. Problems are not kept:
    they are worked out again, naming the file they are in."""
    key = (rules, name, language, template.subject, template.body)
    if key in _RENDERS:
        return None
    spec = _samples(rules, (REQUESTER, CONTACT))[name]
    unnamed = _samples(rules, UNNAMED_PARTIES).get(name, spec)  # "someone I know", "Hi there,"
    try:
        for sample in (spec, unnamed):
            write_draft(localized(sample, language), {name: template}, CONNECTOR)
    except (RulesError, WritingError) as exc:
        return str(exc)
    _RENDERS[key] = None
    for oldest in list(_RENDERS)[:-_RENDERS_KEPT]:
        _RENDERS.pop(oldest, None)
    return None


_RENDERS: dict[tuple[object, ...], None] = {}  # what rendered, oldest first
_RENDERS_KEPT = 2048


def _unknown_sets(folder: Path) -> Iterator[Check]:
    """A template folder named for a language introbot does not write is never used."""
    templates = folder / "templates"
    for sub in sorted(templates.iterdir() if templates.is_dir() else []):
        if sub.is_dir() and TEMPLATE_LANGUAGE.fullmatch(sub.name) and sub.name not in LANGUAGES:
            yield Check(
                f"templates/{sub.name}",
                f"{sub}: introbot writes drafts in {', '.join(LANGUAGES)} only; this set is "
                "never used",
            )


def _missing_lists(folder: Path) -> Iterator[Check]:
    """Lists the shipped phrase file has and the user's copy lacks (a copy made by an
    older version): replies are read without them, so more of them go to the connector."""
    shipped_dir = default_rules_dir() / "phrases"
    if folder.resolve() == default_rules_dir().resolve():
        return
    for path in sorted((folder / "phrases").glob("*.toml")):
        shipped = shipped_dir / path.name
        if not shipped.is_file():
            continue
        mine, theirs = load_language_file(path), load_language_file(shipped)
        missing = [
            f"[{section}] {key}"
            for section in ("consent", "automated", "quotes", "requests", "per_contact")
            for key, value in getattr(theirs, section)
            if value and not getattr(getattr(mine, section), key)
        ]
        if missing:
            yield Check(
                f"phrases/{path.name}",
                f"lacks lists this version reads with ({', '.join(missing)}); copy them from "
                f"{shipped}",
            )


def _workflow_rules(settings: Settings) -> WorkflowRules:
    wf = settings.workflow
    return WorkflowRules(
        connector=CONNECTOR,
        order=wf.order,
        remind_after=timedelta(days=wf.remind_after_days),
        expire_after=timedelta(days=wf.expire_after_days),
        guess_organisation=settings.drafts.guess_organisation,
        signature=settings.connector.signature,
    )


# ---------------------------------------------------------------- sample intros
@dataclass
class _Sample:
    """One sample intro, played through the workflow; every draft it asks for is created
    at once (a draft introbot writes, as far as the workflow is concerned)."""

    rules: WorkflowRules
    specs: dict[str, DraftSpec]
    people: tuple[Person, Person] = (REQUESTER, CONTACT)
    now: datetime = field(default_factory=lambda: datetime(2026, 1, 5, 9, tzinfo=UTC))
    intro: Intro | None = None
    _counter: Iterator[int] = field(default_factory=lambda: iter(range(1, 1000)))

    def open(self, intro_id: str) -> _Sample:
        requester, contact = self.people
        request = replace(REQUEST, author=requester)
        t = open_intro(
            intro_id, request, requester, contact, CONTEXT, self.now, self.rules, secret=SECRET
        )
        self.intro = t.intro
        self._created(t.actions)
        return self

    def _step(self, observation: Observation) -> None:
        assert self.intro is not None
        t = step(self.intro, observation, self.now, self.rules)
        self.intro = t.intro
        self._created(t.actions)

    def _created(self, actions: tuple[Action, ...]) -> None:
        for action in actions:
            if isinstance(action, CreateDraft):
                spec = action.spec
                self.specs.setdefault(spec.template, spec)
                n = next(self._counter)
                self._step(DraftCreated(spec.key, f"draft-{n}", f"msg-{n}", spec.thread_id or "t"))

    def send_all(self) -> _Sample:
        assert self.intro is not None
        for draft in [d for d in self.intro.drafts if d.open]:
            n = next(self._counter)
            to = self.intro.party(draft.to).person.email if draft.to else self.people[0].email
            sent = DraftSent(draft.key, f"sent-{n}", draft.key, "t", self.now, "", (to,))
            self._step(sent)
        return self

    def reply(self, role: Role, verdict: Verdict) -> _Sample:
        assert self.intro is not None
        person = self.intro.party(role).person
        n = next(self._counter)
        text = "Happy to, thanks!" if verdict is Verdict.YES else "Not right now, sorry."
        reply = ReplyReceived(
            role, f"reply-{n}", verdict, "sample", text, True, person.email, self.now
        )
        self._step(reply)
        return self

    def wait(self, days: int) -> _Sample:
        self.now += timedelta(days=days)
        self._step(Tick())
        return self


def sample_drafts(
    rules: WorkflowRules, people: tuple[Person, Person] = (REQUESTER, CONTACT)
) -> dict[str, DraftSpec]:
    """A DraftSpec for every template the workflow writes: from sample intros (between
    ``people``, requester and contact) in the configured order first, then in parallel order
    for what that order never reaches (a requester cannot withdraw before the contact is
    asked when asking one by one)."""
    specs: dict[str, DraftSpec] = {}
    for order in dict.fromkeys((rules.order, Order.PARALLEL)):
        _play(replace(rules, order=order), specs, people)
    # The note's every field in use: a problem to fix, and a contact waiting for the
    # unsent draft in the thread, asked anyway (its closing names the command).
    waits = ["a sample contact waits for the draft in the thread"]
    command = f"introbot ask-again {REQUEST.thread_id}"
    note = problem_note(REQUEST, ["a sample problem"], rules, waiting=waits, ask_again=command)
    specs.setdefault("problem_note", note)
    requester, contact = people
    specs.setdefault("held_note", _held(rules, people))
    second = Person("Bob Lee" if contact.name else None, "bob@lee.example")
    opened = [("several1", contact, CONTEXT, SECRET), ("several2", second, CONTEXT, SECRET)]
    request = replace(REQUEST, author=requester)
    several = open_intros(opened, request, requester, datetime(2026, 1, 5, tzinfo=UTC), rules)
    for transition in several:
        for action in transition.actions:
            if isinstance(action, CreateDraft):
                specs.setdefault(action.spec.template, action.spec)
    # What the request thread gets about both, as workflow.settle_thread writes it: one
    # reminder, and one note about a contact who declined and one who never answered.
    intros = [t.intro for t in several]
    specs.setdefault("reminder_several", compose.several_reminder_spec(intros, rules))
    ended = [replace(intros[0], stage=Stage.DECLINED), replace(intros[1], stage=Stage.EXPIRED)]
    specs.setdefault("decline_note_several", compose.several_notes_spec(ended, rules))
    return specs


def _held(rules: WorkflowRules, people: tuple[Person, Person]) -> DraftSpec:
    """The note a request gets when introbot remembers its pair: the contact declined this
    requester in an earlier sample intro, and the same request comes again."""
    parallel = replace(rules, order=Order.PARALLEL)
    sample = _Sample(parallel, {}, people).open("sample-declined").send_all()
    declined = sample.reply(Role.REQUESTER, Verdict.YES).send_all().reply(Role.CONTACT, Verdict.NO)
    assert declined.intro is not None
    requester, contact = people
    past = {(requester.key, contact.key): [declined.intro]}
    wanted = [(requester, contact, CONTEXT)]
    plan = plan_request([], wanted, [], REQUEST, declined.now, rules, past)
    (note,) = plan.actions
    return note.spec


def _play(rules: WorkflowRules, specs: dict[str, DraftSpec], people: tuple[Person, Person]) -> None:
    remind, expire = rules.remind_after.days + 1, rules.expire_after.days + 1
    yes, no = Verdict.YES, Verdict.NO
    req, con = Role.REQUESTER, Role.CONTACT
    scenarios: list[Callable[[_Sample], object]] = [
        # consent drafts, a reminder, then both agree: the joint introduction
        lambda s: s.send_all().wait(remind).send_all().reply(req, yes).send_all().reply(con, yes),
        # the contact declines: a note to the requester
        lambda s: s.send_all().reply(req, yes).send_all().reply(con, no),
        # the requester withdraws after the contact agreed: thanks to the contact
        lambda s: s.send_all().reply(con, yes).send_all().reply(req, no),
        # the contact never answers: the intro expires, with a note to the requester
        lambda s: s.send_all().reply(req, yes).send_all().wait(expire),
    ]
    for number, scenario in enumerate(scenarios):
        try:
            scenario(_Sample(rules, specs, people).open(f"sample{number}"))
        except InvalidTransition:  # not a way this order can go
            continue
