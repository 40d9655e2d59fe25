"""Getting an account ready: ``init``, ``auth``, ``doctor`` and ``rules check``."""

from __future__ import annotations

import contextlib
import shutil
import sys
from pathlib import Path

import click

from introbot.app import gmail_endpoint
from introbot.cli import output
from introbot.cli.common import (
    ACCOUNT_OPTION,
    Target,
    account_options,
    email_addresses,
    fail,
    settings_options,
    target_of,
)
from introbot.config import Account, ConfigError, check_flags, render_config
from introbot.config import load as load_config
from introbot.paths import credentials_file
from introbot.rules import default_rules_dir
from introbot.settings import Settings


# ------------------------------------------------------------------------------ init
@click.command()
@ACCOUNT_OPTION
@click.option("--name", help="Your name, as the drafts sign it.")
@click.option(
    "--signature",
    help='What the drafts put under "Best," (default: the first word of your name).',
)
@click.option(
    "--address",
    "addresses",
    multiple=True,
    metavar="ADDRESS",
    callback=email_addresses,
    help="Another address of yours (an alias); repeat for each.",
)
@click.option("--force", is_flag=True, help="Replace an existing config.toml (rules are kept).")
def init(
    account_name: str | None,
    name: str | None,
    signature: str | None,
    addresses: tuple[str, ...],
    force: bool,
) -> None:
    """Create the account's config.toml and an editable copy of the rules."""
    account = target_of(account_name).account
    if account.config_file.exists() and not force:
        fail(
            f"{account.config_file} already exists: edit it (`{account.command('doctor')}` "
            f"checks it), or run `{account.command('init')} --force` to start it over"
        )
    interactive = sys.stdin.isatty()
    if name is None and interactive:
        name = click.prompt("Your name, as the drafts sign it", default="", show_default=False)
    if signature is None and interactive and name:
        signature = click.prompt(
            'How the drafts sign off under "Best,"',
            default=name.split()[0],
            show_default=True,
        )
    if not addresses and interactive:
        typed = click.prompt(
            "Other addresses of yours (aliases), comma-separated; Enter for none",
            default="",
            show_default=False,
        )
        given = tuple(a.strip() for a in typed.split(",") if a.strip())
        addresses = email_addresses(click.get_current_context(), _ADDRESS_PARAM, given)
    name, signature = (name or "").strip() or None, (signature or "").strip() or None
    if signature and name and signature == name.split()[0]:
        signature = None  # the default: it follows the name if the name is changed
    try:  # everything checked before anything is written: a mistake leaves no file behind
        check_flags(
            {
                "connector.name": ("--name", name),
                "connector.signature": ("--signature", signature),
                "connector.addresses": ("--address", list(addresses)),
            }
        )
    except ConfigError as exc:
        fail(str(exc))
    text = render_config(name, list(addresses), "rules", signature)
    created = _write_account(account, text)
    click.echo(f"Wrote {account.config_file}")
    verb = "Copied the rules to" if created else "Kept your rules at"
    click.echo(f"{verb} {account.rules_copy} (edit freely; `introbot rules check` checks them)")
    if not name:
        click.echo(
            "No name given: drafts will be signed without one (never with a name made from "
            f'your address). Set [connector] name in {account.config_file}, or `--name "Your '
            'Name"` on a command.'
        )
    steps = []
    if not credentials_file().exists():
        steps.append(
            f"Save your OAuth client file as {credentials_file()} (README: 'Use it on your Gmail')"
        )
    steps += [
        f"`{account.command('auth')}` to sign in to Gmail",
        f"`{account.command('doctor')}` to check everything",
    ]
    click.echo("Next:")
    for number, step in enumerate(steps, 1):
        click.echo(f"  {number}. {step}")


_ADDRESS_PARAM = click.Option(["--address"])


def _write_account(account: Account, text: str) -> bool:
    """Write config.toml (and copy the rules if there is no copy yet); on any failure put
    things back as they were: no half-made account is left behind. True: rules copied."""
    from introbot.gmail.auth import write_private

    made = [p for p in (account.folder, *account.folder.parents) if not p.exists()]
    previous = account.config_file.read_bytes() if account.config_file.exists() else None
    copied = not account.rules_copy.exists()
    try:
        account.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if copied:
            shutil.copytree(
                default_rules_dir(),
                account.rules_copy,
                ignore=shutil.ignore_patterns("__pycache__", "__init__.py", "*.pyc"),
            )
        write_private(account.config_file, text)
        load_config(account)  # what was written reads back as it was meant
    except (OSError, ConfigError) as exc:
        if copied:
            shutil.rmtree(account.rules_copy, ignore_errors=True)
        if previous is None:
            account.config_file.unlink(missing_ok=True)
        else:
            account.config_file.write_bytes(previous)
        for folder in made:  # deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()
        fail(str(exc) if isinstance(exc, ConfigError) else f"cannot write {account.folder}: {exc}")
    return copied


# ------------------------------------------------------------------------------ auth
@click.command()
@ACCOUNT_OPTION
@click.option(
    "--credentials",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The OAuth client file (default: credentials.json in introbot's config folder).",
)
@click.option(
    "--no-browser",
    is_flag=True,
    help="For a machine without a browser: open the address elsewhere, paste back the result.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    help="Port on localhost for Google's answer (default: any free one; 8085 with --no-browser).",
)
def auth(
    account_name: str | None, credentials: Path | None, no_browser: bool, port: int | None
) -> None:
    """Sign in to Gmail (Google's own sign-in page; introbot only ever sees a token)."""
    from introbot.gmail.auth import SignInError, new_sign_in, read_client_file, sign_in
    from introbot.gmail.client import GmailClient
    from introbot.gmail.errors import GmailError

    account = target_of(account_name).account
    try:
        config = read_client_file(credentials or credentials_file())
    except SignInError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    chosen_port = port if port is not None else (8085 if no_browser else 0)
    click.echo(
        f"Signing in the account '{account.name}'. introbot asks Google for one permission, "
        "gmail.modify: read mail, label it, and write drafts (it never sends)."
    )

    def ask(url: str) -> str:
        click.echo(
            "\n1. Open this address in a browser, on any machine:\n\n"
            f"   {url}\n\n"
            "2. Sign in and allow access. The browser then goes to a http://localhost page "
            "that does not load: that is expected.\n"
            "3. Copy that page's whole address from the address bar and paste it here."
        )
        return str(click.prompt("Address", prompt_suffix=": "))

    try:
        granted = sign_in(
            config,
            port=chosen_port,
            open_browser=True,
            ask_redirect=ask if no_browser else None,
        )
    except SignInError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("\nSign-in cancelled; nothing was saved.", err=True)
        sys.exit(output.EXIT_INTERRUPTED)
    except click.Abort:  # no answer to the prompt (end of input)
        click.echo("\nSign-in cancelled; nothing was saved.", err=True)
        sys.exit(1)
    saved = new_sign_in(granted, account.token_file)
    endpoint = gmail_endpoint(_settings_if_valid(account))  # its [gmail] endpoint, if set
    client = GmailClient(granted, endpoint, signed_in_at=saved.signed_in_at)
    try:
        address = client.profile().email.lower()
    except GmailError as exc:
        saved.save()
        click.echo(
            f"Signed in, but Gmail did not answer ({exc}). The sign-in is saved; "
            f"`{account.command('doctor')}` checks again.",
            err=True,
        )
        return
    finally:
        client.close()
    database, known = _database_address(account)
    if known and known != address:
        click.echo(
            f"Error: you signed in as {address}, but the account '{account.name}' keeps the "
            f"intros of {known} (in {database}). Nothing was saved. Either sign in as {known}; "
            f"or give {address} its own account: `introbot auth --account NAME`; or, if "
            f"{known}'s intros are not wanted (a trial, say), move {database} aside and run "
            f"`{account.command('auth')}` again.",
            err=True,
        )
        sys.exit(1)
    saved.save()
    click.echo(f"Signed in as {address}. The sign-in is saved in {account.token_file} (mode 600).")
    click.echo(f"Next: `{account.command('doctor')}` checks everything.")


def _database_address(account: Account) -> tuple[Path, str | None]:
    """The account's database, and the mailbox it belongs to if it exists and says."""
    from introbot.store import mailbox_of

    settings = _settings_if_valid(account)
    database = account.database(settings) if settings else account.folder / "introbot.db"
    return database, mailbox_of(database)


def _settings_if_valid(account: Account) -> Settings | None:
    """The account's settings; None when they have a mistake (`doctor` says which)."""
    try:
        return load_config(account).settings
    except ConfigError:
        return None


# ---------------------------------------------------------------------------- doctor
@click.command()
@account_options
@click.option("--fix", is_flag=True, help="Create missing labels without asking.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for programs instead of prose.")
def doctor(target: Target, fix: bool, as_json: bool) -> None:
    """Check config, rules, sign-in, Gmail, labels, database and daemon; say how to fix each."""
    from introbot.cli import doctor as checks

    def offer(missing: list[str]) -> bool:
        if fix:
            return True
        if as_json or not sys.stdin.isatty():
            return False
        return click.confirm(f"Create the missing labels {', '.join(missing)} now?", default=True)

    # Not target.loaded: a mistake in the config is one of the doctor's findings.
    doctor = checks.Doctor(
        target.account, target.flags, target.sandbox, offer, mailbox=target.mailbox
    )
    findings = list(doctor.run())
    if as_json:
        output.emit_json(checks.document(findings))
    else:
        checks.print_report(findings)
    if any(f.status is checks.Status.FAIL for f in findings):
        sys.exit(1)


# ----------------------------------------------------------------------------- rules
@click.group()
def rules() -> None:
    """Your phrases and templates."""


@rules.command("check")
@settings_options
def rules_check(target: Target) -> None:
    """Load every phrase file and render every template with sample data."""
    from introbot.cli.rulecheck import check

    folder = target.settings.paths.rules or default_rules_dir()
    if not folder.is_dir():
        fail(f"no rules folder at {folder}")
    click.echo(f"Checking {folder}")
    results = check(folder, target.settings)
    for result in results:
        click.echo(f"  {'ok  ' if result.ok else 'FAIL'}  {result.problem or result.what}")
    failed = [r for r in results if not r.ok]
    if failed:
        click.echo(f"{len(failed)} problem(s).")
        sys.exit(1)
    click.echo("All rules are fine.")
