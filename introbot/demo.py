"""``introbot demo``: a tour on the built-in sandbox mailbox, no Google account needed.

It starts a sandbox Gmail server, plays the outside world (mail arrives) and the
connector (labels threads ``intro-request``), then lets introbot look through its real
Gmail client over HTTP, and reports what it saw and what it cost in Gmail quota.
"""

from __future__ import annotations

from collections.abc import Callable

from introbot.gmail.client import GmailClient
from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl, seed_messages

REQUEST_LABEL = "intro-request"
NOT_A_REQUEST = "04-newsletter.eml"

Echo = Callable[[str], None]


def run_demo(echo: Echo, server: SandboxServer) -> None:
    control = SandboxControl(server.url)
    user = server.sandbox.mailbox.user
    echo(f"A sandbox Gmail for {user} is running at {server.url} (nothing leaves this machine).")
    echo("")
    echo("1. Mail arrives:")
    labeled = 0
    for name, raw in seed_messages():
        delivered = control.deliver(raw)
        if name != NOT_A_REQUEST:
            control.label_thread(delivered["threadId"], add=(REQUEST_LABEL,))
            labeled += 1
    for message in control.mailbox()["messages"]:
        headers = message["headers"]
        mark = "labeled intro-request" if "intro-request" in message["labelIds"] else "left alone"
        echo(f"   - {headers.get('From', '?')}: {headers.get('Subject', '')}  [{mark}]")
    echo("")
    echo(
        f"2. You label {labeled} of them '{REQUEST_LABEL}' in Gmail; the newsletter stays as it is."
    )
    echo("")
    echo("3. introbot reads the labeled threads through its Gmail client (real HTTP):")
    client = GmailClient.for_sandbox(server.url)
    try:
        label_id = client.ensure_labels([REQUEST_LABEL])[REQUEST_LABEL]
        for thread_id in client.list_threads(label_ids=[label_id]):
            thread = client.get_thread(thread_id, headers=("From", "Subject"))
            if thread is None:
                continue
            first = thread.messages[0]
            echo(f"   - thread {thread.id}: {first.header('Subject')!s}")
            echo(f"     from {first.header('From')!s}, {len(thread.messages)} message(s)")
    finally:
        client.close()
    stats = control.stats()
    echo("")
    echo(
        f"Gmail cost of that look: {stats['requests']} API calls, {stats['quota_units']} quota "
        f"units, {stats['http_requests']} HTTP round trips; sends: "
        f"{stats['by_method'].get('drafts.send', 0) + stats['by_method'].get('messages.send', 0)}."
    )
    echo("Next, introbot drafts a private consent message to each party for you to send;")
    echo("that step is under construction in this version.")
