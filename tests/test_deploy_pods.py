"""The README's "Run it for a team", short of a cluster: two pods of deploy/k8s/ on this
machine, each the image's install (tests/image.py, made without docker) started as the
Deployment starts it: its args, exactly its environment (the ConfigMap's and the Secret's
values resolved as Kubernetes resolves them), the Secret's key as the file its volume
mounts, a /config of its own. They share one PostgreSQL and one Workspace domain (the
sandbox stands in for Google's token endpoint and Gmail). Both get ready; one of them works
the mailbox under its lease and drafts the asks once; `introbot doctor` (as `kubectl exec`
runs it) passes; a pod stopped as Kubernetes stops it (SIGTERM) exits cleanly and the other
takes the mailbox over."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from introbot.sandbox import SandboxServer
from introbot.sandbox.control import SandboxControl
from tests.postgres import PostgresServer
from tests.test_deploy import _container, _manifest, resolved_environment
from tests.test_health import _get, announced_endpoints, parse_metrics, total
from tests.test_many_mailboxes import _drafts, _request
from tests.test_workspace_postgres import _forget
from tests.waiting import wait_until

MAILBOX = "dana@firm.example"  # the ConfigMap's own example


@dataclass
class Pod:
    process: subprocess.Popen[str]
    url: str  # its health and metrics endpoints
    environ: dict[str, str]

    def ready(self) -> bool:
        return _get(self.url + "readyz")[0] == 200

    def holds_the_lease(self) -> bool:
        status, text = _get(self.url + "metrics")
        return status == 200 and total(parse_metrics(text), "introbot_lease_owned") == 1


@contextmanager
def _pod(
    image: Path, folder: Path, config: dict[str, str], secret: dict[str, Any], gmail: str
) -> Iterator[Pod]:
    """One pod: its volumes made in ``folder`` (the Secret's items as files), then the
    image's entrypoint with the container's args and environment."""
    mounts = {}
    container = _container()
    volumes = {
        v["name"]: v for v in _manifest("deployment.yaml")["spec"]["template"]["spec"]["volumes"]
    }
    for mount in container["volumeMounts"]:
        here = folder / mount["name"]
        here.mkdir(parents=True)
        for item in volumes[mount["name"]].get("secret", {}).get("items", []):
            (here / item["path"]).write_text(secret[item["key"]])
        mounts[mount["mountPath"]] = here
    environ = resolved_environment(config, secret, mounts)
    assert environ["INTROBOT_DAEMON_HTTP"] == "0.0.0.0:9464"  # one pod per address there;
    environ["INTROBOT_DAEMON_HTTP"] = "127.0.0.1:0"  # two on one machine here
    environ["INTROBOT_GMAIL_ENDPOINT"] = gmail  # the sandbox stands in for Google
    home = folder / "home"
    home.mkdir()
    process = subprocess.Popen(
        [str(image / "bin" / "introbot"), *container["args"]],
        env={"PATH": os.environ["PATH"], "HOME": str(home), **environ},
        cwd=home,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield Pod(process, announced_endpoints(process), environ)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=60)


def _stop(pod: Pod) -> tuple[int, str]:
    """As Kubernetes stops a pod: SIGTERM, then the grace period."""
    pod.process.send_signal(signal.SIGTERM)
    grace = _manifest("deployment.yaml")["spec"]["template"]["spec"][
        "terminationGracePeriodSeconds"
    ]
    _, err = pod.process.communicate(timeout=grace)
    return pod.process.returncode, err


@pytest.mark.slow
def test_two_pods_of_the_deployment_share_the_mailbox_and_hand_it_over(
    image: Path, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    _forget(postgres_server, MAILBOX)
    config = dict(_manifest("configmap.yaml")["data"])
    assert config["mailboxes"] == MAILBOX
    config["poll-interval-seconds"] = "2"  # as an admin may set it; 60 would slow the test
    with SandboxServer(user=[MAILBOX]) as sandbox, ExitStack() as pods:
        gmail = SandboxControl(sandbox.url)
        gmail.oauth(require_token=True)
        key = gmail.service_account(domains=["firm.example"])
        secret = {"service-account.json": json.dumps(key), "store-url": postgres_server.url}
        first, second = (
            pods.enter_context(_pod(image, tmp_path / f"pod-{n}", config, secret, sandbox.url))
            for n in (1, 2)
        )
        for pod in (first, second):
            wait_until("the pod ready", pod.ready, 90)
        mailbox = gmail.of(MAILBOX)
        _request(mailbox, MAILBOX, "rosa@r.example", "karl@k.example")
        wait_until("the two asks", lambda: len(_drafts(mailbox)) >= 2, 60)
        holders = [pod for pod in (first, second) if pod.holds_the_lease()]
        assert len(holders) == 1  # the mailbox worked by one of them
        (holder,) = holders
        other = second if holder is first else first
        doctor = subprocess.run(  # kubectl exec deploy/introbot -- introbot doctor
            [str(image / "bin" / "introbot"), "doctor"],
            env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), **holder.environ},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert re.search(r"^ok +lease +held by ", doctor.stdout, re.M), doctor.stdout
        assert re.search(r"^ok +database +postgresql://", doctor.stdout, re.M), doctor.stdout
        code, err = _stop(holder)
        assert code == 0, err[-2000:]
        wait_until("the other pod takes the mailbox", other.holds_the_lease, 60)
        _request(mailbox, MAILBOX, "sven@s.example", "tara@t.example")
        wait_until("the next two asks", lambda: len(_drafts(mailbox)) >= 4, 60)
        assert len(_drafts(mailbox)) == 4  # nothing drafted twice
        code, err = _stop(other)
        assert code == 0, err[-2000:]
    _forget(postgres_server, MAILBOX)
