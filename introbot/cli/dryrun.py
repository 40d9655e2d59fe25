"""``introbot poll --dry-run``: one real poll against a copy of the database, with a Gmail
client that reads but records its writes instead of making them. Nothing changes in
Gmail or in the account's database; what would have happened is printed."""

from __future__ import annotations

import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from introbot.app import open_app
from introbot.config import Account
from introbot.engine import PollReport
from introbot.gmail.dryrun import DryRunClient, PlannedWrites
from introbot.reading.mime import read_mail
from introbot.settings import Settings

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
    account: Account, settings: Settings, sandbox: str | None, database: Path | None = None
) -> Plan:
    """``database``: the live one to copy (default: the account's)."""
    live = database or account.database(settings)
    with tempfile.TemporaryDirectory(prefix="introbot-dry-run-") as folder:
        copy = Path(folder) / "introbot.db"
        if live.exists():
            _snapshot(live, copy)
        app = open_app(account, settings, sandbox, database=copy, gmail=DryRunClient)
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
        source = sqlite3.connect(f"file:{live}?mode=ro", uri=True)
        try:
            target = sqlite3.connect(copy)
            with target:
                source.backup(target)
            target.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise DryRunError(f"cannot read the database {live} for a dry run: {exc}") from None


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
