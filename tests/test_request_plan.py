"""What a request thread read comes to is decided in workflow.plan_request; the engine only
carries it out (issue 14): which intros open, asked together per requester, when a thread
read again says nothing new, and when a problem note is drafted."""

from __future__ import annotations

from introbot.model import Cancel, Consent, CreateDraft, DraftKind, Person, Role, Verdict
from introbot.workflow import RequestPlan, plan_request, step, thread_labels
from tests.test_workflow import ALEX, CONTEXT, DANA, PARALLEL, REQUEST, T0, _asked, _open, _reply

PRIYA = Person("Priya Natarajan", "priya@harbor.example")
JO = Person("Jo Park", "jo@park.example")


def test_new_intros_open_asked_together_per_requester() -> None:
    wanted = [(ALEX, DANA, CONTEXT), (JO, PRIYA, "jo's"), (ALEX, PRIYA, "alex's")]
    plan = plan_request([], wanted, [], REQUEST, T0, PARALLEL)
    assert plan == RequestPlan(
        opening=((ALEX, ((DANA, CONTEXT), (PRIYA, "alex's"))), (JO, ((PRIYA, "jo's"),))),
        clears_problem=True,
    )


def test_a_thread_whose_intros_stand_says_nothing_new_even_with_problems() -> None:
    standing = _open()
    for problems in ([], ["no contact address"]):
        plan = plan_request([standing], [(ALEX, DANA, CONTEXT)], problems, REQUEST, T0, PARALLEL)
        assert plan == RequestPlan(read_again=True)
    # One more contact in the same thread: only that one opens, once the ask to the
    # requester there is sent (a thread holds one introbot draft at a time).
    wanted = [(ALEX, DANA, CONTEXT), (ALEX, PRIYA, "")]
    plan = plan_request([_asked()], wanted, [], REQUEST, T0, PARALLEL)
    assert plan.opening == ((ALEX, ((PRIYA, ""),)),) and not plan.read_again


def test_a_new_ask_waits_while_the_request_thread_holds_an_unsent_draft_to_the_requester() -> None:
    wanted = [(ALEX, DANA, CONTEXT), (ALEX, PRIYA, "")]
    plan = plan_request([_open()], wanted, [], REQUEST, T0, PARALLEL, past={})
    assert plan.opening == () and not plan.read_again and not plan.clears_problem
    assert plan.problem is not None and plan.problem.startswith("Priya Natarajan: not asked")
    assert plan.problem.endswith("Send or delete that draft, then label the thread again.")
    (note,) = plan.actions  # to the connector, in a thread of its own: not beside the ask
    assert note.spec.to == (PARALLEL.connector,) and note.spec.thread_id is None
    # Asked anyway (`introbot ask-again`): the fix is to say so again.
    anyway = plan_request([_open()], wanted, [], REQUEST, T0, PARALLEL, None)
    assert anyway.problem is not None
    assert anyway.problem.endswith(f"run `introbot ask-again {REQUEST.thread_id}` again.")


def test_an_intro_that_ended_without_an_introduction_may_be_asked_for_anew() -> None:
    cancelled = step(_open(), Cancel("label removed"), T0, PARALLEL).intro
    plan = plan_request([cancelled], [(ALEX, DANA, CONTEXT)], [], REQUEST, T0, PARALLEL)
    assert plan.opening == ((ALEX, ((DANA, CONTEXT),)),)


def test_problems_get_one_note_to_the_connector_in_the_request_thread() -> None:
    problems = ["the request names no contact", "who is the requester?"]
    plan = plan_request([], [], problems, REQUEST, T0, PARALLEL)
    assert plan.opening == () and not plan.read_again and not plan.clears_problem
    assert plan.problem == "the request names no contact who is the requester?"
    (note,) = plan.actions
    assert isinstance(note, CreateDraft) and note.intro_id == ""
    assert note.spec.kind is DraftKind.PROBLEM_NOTE and note.spec.thread_id == REQUEST.thread_id
    assert note.spec.to == (PARALLEL.connector,)
    assert note.spec.fields["problems"] == problems


def test_nothing_asked_and_no_problem_changes_nothing() -> None:
    assert plan_request([], [], [], REQUEST, T0, PARALLEL) == RequestPlan()


def test_a_thread_shows_attention_while_a_reply_in_it_waits_for_the_connector() -> None:
    """Labels for every thread are decided in workflow.thread_labels: the request thread
    shows the stages; a consent thread shows attention while the party asked in it is
    unclear, and nothing else."""
    asked = _asked()
    (sent,) = [d for d in asked.drafts if d.to is Role.CONTACT]
    assert sent.thread_id and sent.thread_id != REQUEST.thread_id
    assert thread_labels(sent.thread_id, [asked], False) == frozenset()
    assert thread_labels(REQUEST.thread_id, [asked], False) == {"awaiting-consent"}
    doubt = step(asked, _reply(Role.CONTACT, Verdict.UNCLEAR), T0, PARALLEL).intro
    assert doubt.contact.consent is Consent.UNCLEAR
    assert thread_labels(sent.thread_id, [doubt], False) == {"needs-attention"}
    assert thread_labels(REQUEST.thread_id, [doubt], False) == {
        "awaiting-consent",
        "needs-attention",
    }
    assert thread_labels("elsewhere", [doubt], False) == frozenset()
    assert thread_labels("elsewhere", [], True) == {"needs-attention"}  # a problem there


def test_a_pair_introbot_remembers_is_held_back_unless_asked_anyway() -> None:
    """An intro of the same pair under way in another request: not asked again without
    the connector's say (the thread needs attention, with how to ask anyway)."""
    elsewhere = _open()  # ALEX -> DANA, under way
    past = {(ALEX.key, DANA.key): [elsewhere], (ALEX.key, PRIYA.key): []}
    wanted = [(ALEX, DANA, CONTEXT), (ALEX, PRIYA, "")]
    plan = plan_request([], wanted, [], REQUEST, T0, PARALLEL, past)
    assert plan.opening == ((ALEX, ((PRIYA, ""),)),)
    (held,) = plan.held
    assert "already being introduced" in held and elsewhere.id in held
    assert plan.problem and plan.problem.endswith(f"run `introbot ask-again {REQUEST.thread_id}`.")
    assert plan.attention == (plan.problem,) and not plan.clears_problem
    # A note to the connector says so, in a thread of its own naming the request: the ask
    # about Priya is a reply in the request thread, which holds one introbot draft at a time.
    (note,) = plan.actions
    assert note.spec.thread_id is None and note.spec.kind is DraftKind.PROBLEM_NOTE
    assert note.spec.fields["request_subject"] == REQUEST.subject
    assert note.spec.template == "held_note" and note.spec.to == (PARALLEL.connector,)
    assert note.spec.fields["remembered"] == [held]
    anyway = plan_request([], wanted, [], REQUEST, T0, PARALLEL, None)
    assert anyway.opening == ((ALEX, ((DANA, CONTEXT), (PRIYA, ""))),) and not anyway.held
