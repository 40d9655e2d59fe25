"""``introbot poll --dry-run``: one real poll against a copy of the database, with a Gmail
client that reads but records its writes instead of making them. Nothing changes in
Gmail or in the account's database; what would have happened is printed.

The copy is a private SQLite file either way: of the account's SQLite file (its backup),
or of the mailbox's rows in PostgreSQL, read as of one moment without taking the
mailbox's lock (a daemon working on it is never held up, and nothing is written there)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from introbot.app import open_app
from introbot.config import Account, store_for
from introbot.engine import PollReport
from introbot.gmail.dryrun import DryRunClient, PlannedWrites
from introbot.reading.mime import read_mail
from introbot.settings import Settings
from introbot.store import StoreError, StoreLocation
from introbot.store.copy import copy_rows, snapshot_sqlite

BODY_LINES = 40


class DryRunError(Exception):
    """The database cannot be copied for a dry run."""


@dataclass(frozen=True)
class Plan:
    mailbox: str
    report: PollReport
    writes: PlannedWrites
    subjects: dict[str, str]  # message id -> subject, for the labels that would change
    labels: dict[str, frozenset[str]]  # message id -> its label ids now


def run(
    account: Account,
    settings: Settings,
    sandbox: str | None,
    store: StoreLocation | None = None,
) -> Plan:
    """``store``: the live one to copy (default: the account's)."""
    live = store or store_for(account, settings, sandbox)
    with tempfile.TemporaryDirectory(prefix="introbot-dry-run-") as folder:
        copy = Path(folder) / "introbot.db"
        if live.url:
            _copy_rows(live, copy)
        elif live.path is not None and live.path.exists():
            _snapshot(live.path, copy)
        private = StoreLocation.sqlite(copy)
        app = open_app(account, settings, sandbox, store=private, gmail=DryRunClient)
        try:
            if not isinstance(app.client, DryRunClient):  # a bug, never input
                raise RuntimeError("a dry run needs the dry-run client")
            writes = app.client.planned
            app.client.labels()  # their names, for the report
            report = app.engine.poll()
            ids = [i for ids, _, _ in writes.relabeled for i in ids if not i.startswith("thread ")]
            metadata = app.client.get_message_metadata(ids, headers=("Subject",))
            subjects = {i: meta.header("Subject") or "(no subject)" for i, meta in metadata.items()}
            labels = {i: meta.label_ids for i, meta in metadata.items()}
            return Plan(app.engine.me()[0], report, writes, subjects, labels)
        finally:
            app.close()


def _snapshot(live: Path, copy: Path) -> None:
    """A consistent copy of the live database, even while a daemon writes to it."""
    try:
        snapshot_sqlite(live, copy)
    except StoreError as exc:
        raise DryRunError(f"{exc} for a dry run") from None


def _copy_rows(live: StoreLocation, copy: Path) -> None:
    """The mailbox's rows from a shared database, into a private SQLite file."""
    try:
        source = live.open()
    except StoreError as exc:
        raise DryRunError(f"cannot read {live.describe()} for a dry run: {exc}") from None
    try:
        target = StoreLocation.sqlite(copy).open()
        try:
            copy_rows(source, target)
        finally:
            target.close()
    finally:
        source.close()


def describe(plan: Plan) -> str:
    writes, report = plan.writes, plan.report
    lines = [
        f"Dry run for {plan.mailbox}: nothing was created or changed in Gmail or in "
        "introbot's database.",
        f"Seen: {report.requests} request(s), {report.observations} change(s) in tracked threads"
        + (" (a full sync: first run or expired history)" if report.full_sync else "")
        + ".",
    ]
    if writes.empty and not report.decisions:
        lines.append("Nothing to do.")
        return "\n".join(lines)
    if report.decisions:
        lines += ["", "Would decide:"] + [f"  {d}" for d in report.decisions]
    if writes.drafts_created:
        lines += ["", f"Would write {len(writes.drafts_created)} draft(s):"]
        for number, (raw, thread_id) in enumerate(writes.drafts_created, 1):
            lines += _draft(number, raw, thread_id)
    if writes.drafts_updated:
        lines += ["", "Would rewrite draft(s): " + ", ".join(writes.drafts_updated)]
    if writes.drafts_deleted:
        lines += ["", "Would delete draft(s): " + ", ".join(writes.drafts_deleted)]
    if writes.labels_created:
        lines += ["", "Would create label(s): " + ", ".join(writes.labels_created)]
    if writes.relabeled:
        lines += ["", "Would label:"]
        for ids, add, remove in writes.relabeled:
            for target in ids:
                now = plan.labels.get(target)  # None: a whole thread, labels unknown
                change = [
                    f"+{writes.label_names.get(i, i)}" for i in add if now is None or i not in now
                ]
                change += [
                    f"-{writes.label_names.get(i, i)}" for i in remove if now is None or i in now
                ]
                if change:
                    what = f'"{plan.subjects[target]}"' if target in plan.subjects else target
                    lines.append(f"  {what} ({target}): {' '.join(change)}")
    return "\n".join(lines)


def _draft(number: int, raw: bytes, thread_id: str | None) -> list[str]:
    mail = read_mail(raw)
    headers = [
        ("To", mail.header("To")),
        ("Cc", mail.header("Cc")),
        ("Subject", mail.subject),
    ]
    out = [f"  [{number}] " + (f"in thread {thread_id}" if thread_id else "a new thread")]
    out += [f"      {name}: {value}" for name, value in headers if value]
    body = mail.text.splitlines()
    out += [f"      | {line}".rstrip() for line in body[:BODY_LINES]]
    if len(body) > BODY_LINES:
        out.append(f"      | ... ({len(body) - BODY_LINES} more lines)")
    return out


def document(plan: Plan) -> dict[str, object]:
    """The plan for programs (``poll --dry-run --json``): what would be written, nothing
    written."""
    writes, report = plan.writes, plan.report
    drafts = []
    for raw, thread_id in writes.drafts_created:
        mail = read_mail(raw)
        drafts.append(
            {
                "thread": thread_id,
                "to": mail.header("To"),
                "cc": mail.header("Cc") or None,
                "subject": mail.subject,
                "text": mail.text,
            }
        )
    labels = []
    for ids, add, remove in writes.relabeled:
        for target in ids:
            labels.append(
                {
                    "id": target,
                    "subject": plan.subjects.get(target),
                    "add": [writes.label_names.get(i, i) for i in add],
                    "remove": [writes.label_names.get(i, i) for i in remove],
                }
            )
    return {
        "dry_run": True,
        "mailbox": plan.mailbox,
        "full_sync": report.full_sync,
        "requests": report.requests,
        "changes": report.observations,
        "decisions": list(report.decisions),
        "drafts_to_write": drafts,
        "drafts_to_rewrite": list(writes.drafts_updated),
        "drafts_to_delete": list(writes.drafts_deleted),
        "labels_to_create": list(writes.labels_created),
        "labels_to_change": labels,
    }
