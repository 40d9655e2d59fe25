"""The service files in deploy/ are valid, run `introbot run` for an account, restart after
a crash and not after a configuration mistake, and are installed as the README says; the
container image (Dockerfile) and the Kubernetes manifests (deploy/k8s/) fit together and
fit introbot's settings and endpoints."""

from __future__ import annotations

import configparser
import plistlib
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from tests.image import dockerfile
from tests.postgres import PostgresServer

ROOT = Path(__file__).parent.parent
UNIT = ROOT / "deploy" / "introbot@.service"
PLIST = ROOT / "deploy" / "com.introbot.agent.plist"
INSTALLED = Path(sys.executable).parent / "introbot"


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def test_the_systemd_unit_runs_the_account_and_restarts_only_when_that_can_help() -> None:
    service = _unit()["Service"]
    assert service["ExecStart"] == "/usr/local/bin/introbot run --account %i"
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2"  # config mistakes: restarting cannot fix
    assert service["KillSignal"] == "SIGTERM" and int(service["TimeoutStopSec"]) >= 60
    assert _unit()["Install"]["WantedBy"] == "default.target"


@pytest.mark.slow
def test_the_systemd_unit_as_the_readme_installs_it_passes_systemd_analyze(
    tmp_path: Path,
) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    readme = (ROOT / "README.md").read_text()
    assert 'sed "s|/usr/local/bin/introbot|$(command -v introbot)|" deploy/introbot@.service' in (
        readme
    )
    installed = UNIT.read_text().replace("/usr/local/bin/introbot", str(INSTALLED))
    (tmp_path / "introbot@default.service").write_text(installed)
    done = subprocess.run(
        [analyze, "verify", str(tmp_path / "introbot@default.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_the_launchd_agent() -> None:
    agent = plistlib.loads(PLIST.read_bytes())
    assert agent["Label"] == "com.introbot.agent"
    assert agent["ProgramArguments"] == ["/usr/local/bin/introbot", "run", "--account", "default"]
    assert agent["KeepAlive"] == {"SuccessfulExit": False}  # restart after a crash only
    assert agent["RunAtLoad"] is True and agent["ThrottleInterval"] >= 10
    assert agent["StandardErrorPath"] == "HOME_FOLDER/Library/Logs/introbot.log"
    readme = (ROOT / "README.md").read_text()
    assert "deploy/com.introbot.agent.plist > ~/Library/LaunchAgents/" in readme
    assert re.search(r"launchctl bootstrap gui/\$\(id -u\)", readme)


# ------------------------------------------------------------- container and Kubernetes
K8S = ROOT / "deploy" / "k8s"


def _manifest(name: str) -> Any:
    from tests.yamlish import load_all

    (document,) = load_all((K8S / name).read_text())
    return document


def _container() -> dict[str, Any]:
    (container,) = _manifest("deployment.yaml")["spec"]["template"]["spec"]["containers"]
    return dict(container)


def _env() -> dict[str, Any]:
    return {item["name"]: item for item in _container()["env"]}


def _documents(name: str) -> list[dict[str, Any]]:
    """The documents of deploy/k8s/NAME as PyYAML reads them (the dev extra's, through
    kubernetes-validate)."""
    import yaml  # type: ignore[import-untyped]

    documents = list(yaml.safe_load_all((K8S / name).read_text()))
    assert documents, f"{name} holds no document"
    return documents


def test_the_manifests_read_the_same_with_pyyaml() -> None:
    from tests.yamlish import load_all

    for path in sorted(K8S.glob("*.yaml")):
        assert load_all(path.read_text()) == _documents(path.name), path


# The official OpenAPI schemas, strict (an unknown field is an error, as `kubectl apply
# --validate=strict` makes it): the fast lane reads the newest that kubernetes-validate ships,
# the slow lane every minor version from 1.30, the oldest the README promises.
NEWEST = "1.37"
SUPPORTED = tuple(f"1.{minor}" for minor in range(30, 38))
NOT_KUBERNETES_OBJECTS = {"kustomization.yaml"}  # kustomize's own file: checked below
OBJECTS = sorted(p.name for p in K8S.glob("*.yaml") if p.name not in NOT_KUBERNETES_OBJECTS)


def _validate(document: dict[str, Any], version: str) -> None:
    import kubernetes_validate  # type: ignore[import-untyped]

    # It answers the version whose schema it used: never an older one in its place.
    assert kubernetes_validate.validate(document, version, strict=True) == version


@pytest.mark.parametrize("name", OBJECTS)
def test_every_manifest_is_a_valid_kubernetes_object(name: str) -> None:
    for document in _documents(name):
        _validate(document, NEWEST)  # raises ValidationError naming the field


@pytest.mark.slow  # no process, but ~1 s of schema reading: 32 validations
def test_every_manifest_is_valid_for_every_kubernetes_version_the_readme_names() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"Kubernetes {SUPPORTED[0]} to {SUPPORTED[-1]}" in readme and SUPPORTED[-1] == NEWEST
    for name in OBJECTS:
        for document in _documents(name):
            for version in SUPPORTED:
                _validate(document, version)


def _broken(name: str, path: str, change: Any) -> dict[str, Any]:
    """The manifest with one change at a dotted path (None: the field removed)."""
    (document,) = _documents(name)
    *parents, last = [int(k) if k.isdigit() else k for k in path.split(".")]
    node: Any = document
    for key in parents:
        node = node[key]
    if change is None:
        del node[last]
    elif callable(change):
        node[change(last)] = node.pop(last)
    else:
        node[last] = change
    return dict(document)


@pytest.mark.parametrize(
    ("name", "path", "change", "complaint"),
    [
        (
            "deployment.yaml",
            "spec.template.spec.containers.0.readinessProbe",
            lambda key: key.replace("readiness", "readyness"),
            "'readynessProbe' was unexpected",
        ),
        ("deployment.yaml", "spec.replicas", "2", "'2' is not of type 'integer'"),
        ("service.yaml", "spec.ports.0.port", None, "'port' is a required property"),
    ],
    ids=["misspelt field", "wrong type", "missing required field"],
)
def test_the_validation_refuses_a_misspelt_mistyped_or_missing_field(
    name: str, path: str, change: Any, complaint: str
) -> None:
    import kubernetes_validate

    with pytest.raises(kubernetes_validate.ValidationError) as refused:
        _validate(_broken(name, path, change), NEWEST)
    assert complaint in refused.value.message


def test_the_deployment_runs_introbot_with_probes_on_its_health_endpoints() -> None:
    deployment = _manifest("deployment.yaml")
    pod = deployment["spec"]["template"]["spec"]
    container = _container()
    assert container["args"] == ["run"] and container["image"] == "introbot"
    (port,) = container["ports"]
    assert port["name"] == "metrics"
    assert _env()["INTROBOT_DAEMON_HTTP"]["value"] == f"0.0.0.0:{port['containerPort']}"
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    # SIGTERM lets the poll in progress finish, as the systemd unit allows.
    assert pod["terminationGracePeriodSeconds"] >= int(_unit()["Service"]["TimeoutStopSec"])
    assert deployment["spec"]["selector"]["matchLabels"].items() <= (
        deployment["spec"]["template"]["metadata"]["labels"].items()
    )
    # Replicas share PostgreSQL under leases: two pods, a rolling update that never leaves
    # the mailboxes without one; the comment says what SQLite needs instead.
    assert deployment["spec"]["replicas"] == 2
    strategy = deployment["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0
    text = (K8S / "deployment.yaml").read_text()
    assert "SQLite" in text and "replicas to 1" in text and "Recreate" in text
    (store_url,) = [e for e in container["env"] if e["name"] == "INTROBOT_STORE_URL"]
    assert store_url["valueFrom"]["secretKeyRef"]["key"] == "store-url"


def test_the_pod_runs_as_the_images_non_root_user_on_a_read_only_root() -> None:
    pod = _manifest("deployment.yaml")["spec"]["template"]["spec"]
    (user,) = dockerfile("USER")
    uid, _, gid = user.partition(":")
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert str(pod["securityContext"]["runAsUser"]) == uid != "0"
    assert str(pod["securityContext"]["runAsGroup"]) == gid
    assert pod["automountServiceAccountToken"] is False
    container = _container()["securityContext"]
    assert container["readOnlyRootFilesystem"] is True
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"] == {"drop": ["ALL"]}
    mounts = {m["mountPath"]: m for m in _container()["volumeMounts"]}
    assert _env()["INTROBOT_CONFIG_DIR"]["value"] in mounts  # writable: an emptyDir
    assert "/tmp" in mounts


def test_the_credentials_come_from_the_secret_and_the_mailboxes_from_the_configmap() -> None:
    env = _env()
    secret = _manifest("secret.example.yaml")
    config = _manifest("configmap.yaml")
    pod = _manifest("deployment.yaml")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m for m in _container()["volumeMounts"]}
    key_file = Path(env["INTROBOT_WORKSPACE_SERVICE_ACCOUNT_KEY"]["value"])
    credentials = mounts["credentials"]
    assert credentials["readOnly"] is True and Path(credentials["mountPath"]) == key_file.parent
    source = volumes["credentials"]["secret"]
    assert source["secretName"] == secret["metadata"]["name"]
    assert source["defaultMode"] == 0o400
    # The kubelet writes a Secret's files as root; only fsGroup lets uid 10001 read 0400.
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"]
    assert source["items"] == [{"key": key_file.name, "path": key_file.name}]
    assert key_file.name in secret["stringData"]
    store = env["INTROBOT_STORE_URL"]["valueFrom"]["secretKeyRef"]
    assert store["name"] == secret["metadata"]["name"] and store["key"] in secret["stringData"]
    assert secret["stringData"][store["key"]].startswith("postgresql://")
    for item in env.values():
        ref = item.get("valueFrom", {}).get("configMapKeyRef")
        if ref:
            assert ref["name"] == config["metadata"]["name"] and ref["key"] in config["data"]


def resolved_environment(
    config: dict[str, str], secret: dict[str, str], mounts: dict[str, Path] | None = None
) -> dict[str, str]:
    """The container's environment as the kubelet gives it: each value, ConfigMap key or
    Secret key resolved; paths under a volume's mountPath where that volume is here."""
    environ: dict[str, str] = {}
    for item in _container()["env"]:
        if "value" in item:
            value = str(item["value"])
        elif "configMapKeyRef" in item["valueFrom"]:
            value = config[item["valueFrom"]["configMapKeyRef"]["key"]]
        else:
            value = secret[item["valueFrom"]["secretKeyRef"]["key"]]
        for mount_path, here in (mounts or {}).items():
            if value == mount_path or value.startswith(mount_path + "/"):
                value = str(here) + value[len(mount_path) :]
                break
        environ[item["name"]] = value
    return environ


def test_the_environment_the_deployment_sets_is_valid_introbot_settings(home: Path) -> None:
    from introbot.config import Account, env_name, load, setting_keys

    config = _manifest("configmap.yaml")["data"]
    environ = resolved_environment(config, _manifest("secret.example.yaml")["stringData"])
    known = {env_name(key) for key in setting_keys()} | {"INTROBOT_CONFIG_DIR"}
    assert set(_env()) <= known
    settings = load(Account.named(None), environ=environ).settings
    assert settings.store.url == environ["INTROBOT_STORE_URL"]
    assert settings.workspace.mailboxes == tuple(config["mailboxes"].split(","))
    assert settings.workspace.service_account_key is not None
    assert settings.daemon.http == "0.0.0.0:9464"
    assert settings.daemon.poll_interval_seconds == int(config["poll-interval-seconds"])


def test_the_metrics_service_reaches_the_pods_metrics_port() -> None:
    service = _manifest("service.yaml")
    pod_labels = _manifest("deployment.yaml")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == "metrics" and port["port"] == 9464
    annotations = service["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] == "/metrics"
    assert annotations["prometheus.io/port"] == str(port["port"])


def test_kustomize_applies_everything_but_the_secret() -> None:
    kustomization = _manifest("kustomization.yaml")
    assert sorted(kustomization["resources"]) == sorted(
        p.name
        for p in K8S.glob("*.yaml")
        if p.name not in ("kustomization.yaml", "secret.example.yaml")
    )
    assert [image["name"] for image in kustomization["images"]] == [_container()["image"]]
    # Only what kustomize reads (it rejects an unknown field), the tag a string.
    assert set(kustomization) <= {"apiVersion", "kind", "resources", "images"}
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    (image,) = kustomization["images"]
    assert set(image) <= {"name", "newName", "newTag", "digest"}
    # The tag the README builds and the image pulled: introbot's version.
    assert image["newTag"] == metadata.version("introbot")
    readme = (ROOT / "README.md").read_text()
    assert f"docker build -t $REGISTRY/introbot:{image['newTag']} ." in readme
    assert f"kustomize edit set image introbot=$REGISTRY/introbot:{image['newTag']}" in readme


def test_the_probes_and_the_scrape_reach_what_introbot_run_http_answers() -> None:
    import urllib.error
    import urllib.request

    from introbot.health import Health, HealthServer

    container = _container()
    probes = [container[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe")]
    scrape = _manifest("service.yaml")["metadata"]["annotations"]["prometheus.io/path"]
    health = Health(60)  # a daemon whose scheduler ticked and whose one mailbox polled well
    health.tick()
    health.watch(lambda: None, "work", after=lambda _: None)()

    def status(path: str) -> int:
        try:
            with urllib.request.urlopen(server.url + path.lstrip("/"), timeout=10) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    with HealthServer("127.0.0.1:0", health) as server:
        assert [status(path) for path in [*probes, scrape]] == [200, 200, 200]
        assert status("/livez") == 404  # a path introbot does not answer would fail the probe


def test_the_dockerfile_builds_a_non_root_introbot_run_image() -> None:
    assert dockerfile("FROM") == ["python:3.11-slim"]
    (user,) = dockerfile("USER")
    assert user.split(":")[0].isdigit() and user.split(":")[0] != "0"
    assert dockerfile("ENTRYPOINT") == ['["introbot"]'] and dockerfile("CMD") == ['["run"]']
    (exposed,) = dockerfile("EXPOSE")
    assert any(
        line.endswith(f"INTROBOT_DAEMON_HTTP=0.0.0.0:{exposed}") for line in dockerfile("ENV")
    )
    for copied in dockerfile("COPY"):
        *sources, _ = copied.split()
        for source in sources:
            assert (ROOT / source).exists(), source
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[1] == "*"  # nothing goes in unless named: no sign-in, key or database
    assert {line.lstrip("!").rstrip("/") for line in ignored if line.startswith("!")} == {
        source.rstrip("/") for copied in dockerfile("COPY") for source in copied.split()[:-1]
    }


@pytest.mark.slow
def test_the_image_s_install_step_run_here_serves_a_postgresql_store(
    image: Path, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    """Where no docker daemon is (here, CI), the image's own steps on this machine
    (tests/image.py): the introbot installed there runs, and opens a PostgreSQL store, as
    the replicas of deploy/k8s/ do."""
    version = subprocess.run(
        [str(image / "bin" / "introbot"), "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert version.returncode == 0 and "introbot" in version.stdout, version.stderr
    opened = subprocess.run(
        [
            str(image / "bin" / "python"),
            "-c",
            "import sys, pathlib, introbot\n"
            "from introbot.store import StoreLocation\n"
            "assert pathlib.Path(introbot.__file__).is_relative_to(sys.prefix), introbot.__file__\n"
            "store = StoreLocation.postgres(sys.argv[1], 'image-check', pathlib.Path(sys.argv[2]))"
            ".open()\n"
            "store.set_meta('opened-by', 'the image')\n"
            "print(store.get_meta('opened-by'))\n"
            "store.close()\n",
            postgres_server.url,
            str(tmp_path),
        ],
        cwd=tmp_path,  # not this checkout's introbot: python -c looks in its folder first
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert opened.returncode == 0 and opened.stdout.strip() == "the image", opened.stderr[-2000:]


@pytest.mark.slow
def test_the_image_builds_and_runs_introbot_as_non_root() -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "info"], capture_output=True).returncode:
        pytest.skip("no docker daemon here")
    tag = "introbot-test:deploy"
    built = subprocess.run(
        [docker, "build", "-t", tag, str(ROOT)], capture_output=True, text=True, timeout=900
    )
    assert built.returncode == 0, built.stderr[-2000:]
    try:
        version = subprocess.run(
            [docker, "run", "--rm", tag, "--version"], capture_output=True, text=True, timeout=120
        )
        assert version.returncode == 0 and "introbot" in version.stdout
        uid = subprocess.run(
            [docker, "run", "--rm", "--entrypoint", "id", tag, "-u"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert uid.stdout.strip() == dockerfile("USER")[0].split(":")[0]
    finally:
        subprocess.run([docker, "image", "rm", "-f", tag], capture_output=True, timeout=120)
