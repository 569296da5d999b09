"""Validates everything under deploy/ that can be checked without a cluster or a Docker engine
(tests/container_e2e.rs builds and runs the image).

Run through scripts/validate-deploy.sh, which installs the pinned tooling first.

- Kubernetes: renders the kustomize base and every overlay (`kubectl kustomize`), validates each
  rendered object against the Kubernetes OpenAPI schemas (kubernetes-validate, strict: unknown
  fields are errors), then checks what schemas cannot: probes (/health/ready for readiness,
  /health/live for liveness and startup), a termination grace period that leaves room for the
  configs' drain (shutdown_grace_secs), the image scripts/image.sh builds, Prometheus
  annotations, resources, PodDisruptionBudgets and Services that select the pods, ConfigMap
  references, the config files' ports and paths, and that each PoP overlay runs exactly the edge
  pods that placement.toml lists for that PoP.
- systemd: `systemd-analyze verify` (any warning fails) and `systemd-analyze security` under an
  exposure threshold, so the hardening cannot silently regress.
- Container: parses the Dockerfile (dockerfile-parse): stages, COPY sources, non-root user, and
  the component path the configs expect.

A self-test first breaks copies of the manifests in known ways and requires each to be caught.
Prints "N passed, N failed" last; exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import copy
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import kubernetes_validate
import yaml
from dockerfile_parse import DockerfileParser

# Kubernetes release the manifests are validated against (schemas ship with kubernetes-validate).
K8S_VERSION = "1.32.0"
# Highest accepted `systemd-analyze security` exposure, in its 0..10 scale (units score ~1.5).
SECURITY_THRESHOLD = 3.0
# Secrets created outside kustomize (never committed), which manifests may reference.
EXTERNAL_SECRETS = {"meshcdn-origin-keys"}
POP_LABEL = "meshcdn.io/pop"
WORKLOAD_KINDS = {"Deployment", "StatefulSet"}


@dataclass
class Report:
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def check(self, name: str, problems: list[str]) -> None:
        if problems:
            self.failed.append(name)
            for p in problems:
                print(f"FAIL {name}: {p}")
        else:
            self.passed.append(name)
            print(f"ok   {name}")


# ---------------------------------------------------------------- Kubernetes


def render(kustomization_dir: Path) -> list[dict]:
    kubectl = shutil.which("kubectl")
    kustomize = shutil.which("kustomize")
    if kubectl:
        cmd = [kubectl, "kustomize", str(kustomization_dir)]
    elif kustomize:
        cmd = [kustomize, "build", str(kustomization_dir)]
    else:
        raise SystemExit("validate-deploy: neither kubectl nor kustomize is installed")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def schema_problems(docs: list[dict]) -> list[str]:
    problems = []
    for doc in docs:
        name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            path = "/".join(str(p) for p in e.path)
            problems.append(f"{name}: {path}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError as e:
            problems.append(f"{name}: no schema: {e}")
    return problems


def selects(selector: dict, labels: dict) -> bool:
    match = selector.get("matchLabels", selector)
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d.get("kind") == kind]


def configmap_file(docs: list[dict], name: str, key: str) -> str | None:
    for cm in by_kind(docs, "ConfigMap"):
        if cm["metadata"]["name"] == name:
            return cm.get("data", {}).get(key)
    return None


def listen_port(toml_text: str) -> int | None:
    listen = tomllib.loads(toml_text).get("listen", "")
    m = re.search(r":(\d+)$", listen)
    return int(m.group(1)) if m else None


def workload_problems(docs: list[dict]) -> list[str]:
    problems: list[str] = []
    workloads = [d for d in docs if d.get("kind") in WORKLOAD_KINDS]
    if not workloads:
        return ["no Deployment or StatefulSet rendered"]
    services = by_kind(docs, "Service")
    pdbs = by_kind(docs, "PodDisruptionBudget")
    configmaps = {cm["metadata"]["name"] for cm in by_kind(docs, "ConfigMap")}
    for w in workloads:
        wname = f"{w['kind']}/{w['metadata']['name']}"
        tmpl = w["spec"]["template"]
        labels = tmpl["metadata"].get("labels", {})
        if not selects(w["spec"]["selector"], labels):
            problems.append(f"{wname}: selector does not match its pod labels")
        pod = tmpl["spec"]
        annotations = tmpl["metadata"].get("annotations", {})
        ports = {
            p.get("name"): p["containerPort"] for c in pod["containers"] for p in c.get("ports", [])
        }
        if annotations.get("prometheus.io/scrape") != "true":
            problems.append(f"{wname}: pod lacks prometheus.io/scrape: \"true\"")
        if annotations.get("prometheus.io/path") != "/metrics":
            problems.append(f"{wname}: pod lacks prometheus.io/path: /metrics")
        if str(annotations.get("prometheus.io/port")) not in {str(p) for p in ports.values()}:
            problems.append(f"{wname}: prometheus.io/port is not a container port")
        for c in pod["containers"]:
            for probe, path in PROBE_PATHS.items():
                if probe == "startupProbe" and probe not in c:
                    continue
                get = c.get(probe, {}).get("httpGet", {})
                if get.get("path") != path:
                    problems.append(f"{wname}/{c['name']}: {probe} is not an HTTP GET of {path}")
                elif get.get("port") not in ports and get.get("port") not in ports.values():
                    problems.append(f"{wname}/{c['name']}: {probe} port {get.get('port')} is not a container port")
            res = c.get("resources", {})
            for kind in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in res.get(kind, {}):
                        problems.append(f"{wname}/{c['name']}: no resources.{kind}.{r}")
        if not any(selects(p["spec"]["selector"], labels) for p in pdbs):
            problems.append(f"{wname}: no PodDisruptionBudget selects its pods")
        if not any(selects(s["spec"].get("selector", {}), labels) for s in services):
            problems.append(f"{wname}: no Service selects its pods")
        if w["kind"] == "StatefulSet":
            svc = next((s for s in services if s["metadata"]["name"] == w["spec"].get("serviceName")), None)
            if svc is None or svc["spec"].get("clusterIP") != "None":
                problems.append(f"{wname}: serviceName is not a headless Service of this render")
        for v in pod.get("volumes", []):
            if "configMap" in v and v["configMap"]["name"] not in configmaps:
                problems.append(f"{wname}: volume {v['name']} names a ConfigMap that is not rendered")
            if "secret" in v and v["secret"]["secretName"] not in EXTERNAL_SECRETS:
                problems.append(f"{wname}: volume {v['name']} names an unknown Secret")
        problems += config_mount_problems(docs, wname, pod, ports)
        problems += grace_problems(docs, wname, pod)
    for s in services:
        if not any(selects(s["spec"].get("selector", {}), w["spec"]["template"]["metadata"].get("labels", {})) for w in workloads):
            problems.append(f"Service/{s['metadata']['name']}: selects no pods")
    for p in pdbs:
        if not any(selects(p["spec"]["selector"], w["spec"]["template"]["metadata"].get("labels", {})) for w in workloads):
            problems.append(f"PodDisruptionBudget/{p['metadata']['name']}: selects no pods")
    return problems


# Readiness: shards answering, keys loaded, not draining; liveness: the process serves
# (edge-worker/src/lifecycle.rs, origin-plugin/src/proxy.rs).
PROBE_PATHS = {"readinessProbe": "/health/ready", "livenessProbe": "/health/live", "startupProbe": "/health/live"}


def grace_problems(docs: list[dict], wname: str, pod: dict) -> list[str]:
    """The pod's terminationGracePeriodSeconds leaves room for the config's drain."""
    problems = []
    period = pod.get("terminationGracePeriodSeconds", 30)
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for c in pod["containers"]:
        args = c.get("args", [])
        if "--config" not in args:
            continue
        path = Path(args[args.index("--config") + 1])
        mount = next((m for m in c.get("volumeMounts", []) if Path(m["mountPath"]) == path.parent), None)
        volume = volumes.get(mount["name"]) if mount else None
        text = configmap_file(docs, volume["configMap"]["name"], path.name) if volume and "configMap" in volume else None
        if text is None:
            continue
        grace = tomllib.loads(text).get("shutdown_grace_secs", DEFAULT_SHUTDOWN_GRACE_SECS)
        if grace + 5 > period:
            problems.append(f"{wname}/{c['name']}: shutdown_grace_secs {grace} + 5 s exceeds terminationGracePeriodSeconds {period}")
    return problems


# The binaries' default `shutdown_grace_secs` (edge and origin configs).
DEFAULT_SHUTDOWN_GRACE_SECS = 20


def image_problems(repo: Path, docs_by_render: list[list[dict]]) -> list[str]:
    """Every workload runs the image scripts/image.sh builds: ghcr.io/meshcdn/meshcdn:<version>."""
    cargo = tomllib.loads((repo / "Cargo.toml").read_text())
    expected = f"ghcr.io/meshcdn/meshcdn:{cargo['workspace']['package']['version']}"
    script = (repo / "scripts/image.sh").read_text()
    problems = []
    if '"ghcr.io/meshcdn/meshcdn:$VERSION"' not in script:
        problems.append("scripts/image.sh no longer tags ghcr.io/meshcdn/meshcdn:$VERSION")
    for docs in docs_by_render:
        for w in docs:
            if w.get("kind") not in ("Deployment", "StatefulSet"):
                continue
            for c in w["spec"]["template"]["spec"]["containers"]:
                if c["image"] != expected and not c["image"].startswith("ghcr.io/meshcdn/meshcdn@sha256:"):
                    problems.append(f"{w['kind']}/{w['metadata']['name']}/{c['name']}: image {c['image']}, expected {expected} (scripts/image.sh)")
    return problems


def config_mount_problems(docs: list[dict], wname: str, pod: dict, ports: dict) -> list[str]:
    """The file passed as --config is mounted from a ConfigMap, and it listens on a container port."""
    problems = []
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for c in pod["containers"]:
        args = c.get("args", [])
        if "--config" not in args:
            problems.append(f"{wname}/{c['name']}: no --config argument")
            continue
        path = Path(args[args.index("--config") + 1])
        mount = next((m for m in c.get("volumeMounts", []) if Path(m["mountPath"]) == path.parent), None)
        volume = volumes.get(mount["name"]) if mount else None
        if not volume or "configMap" not in volume:
            problems.append(f"{wname}/{c['name']}: {path} is not mounted from a ConfigMap")
            continue
        text = configmap_file(docs, volume["configMap"]["name"], path.name)
        if text is None:
            problems.append(f"{wname}/{c['name']}: ConfigMap has no key {path.name}")
            continue
        if listen_port(text) not in ports.values():
            problems.append(f"{wname}/{c['name']}: {path.name} listens on {listen_port(text)}, not a container port")
        keys_dir = tomllib.loads(text).get("keys_dir")
        if keys_dir and not any(Path(m["mountPath"]) == Path(keys_dir) for m in c.get("volumeMounts", [])):
            problems.append(f"{wname}/{c['name']}: keys_dir {keys_dir} is not mounted")
    return problems


def placement_problems(docs: list[dict]) -> list[str]:
    """Each PoP overlay runs exactly the edge pods that placement.toml lists for its PoP."""
    problems = []
    sts = [d for d in by_kind(docs, "StatefulSet")]
    origin_cms = [cm for cm in by_kind(docs, "ConfigMap") if "placement.toml" in cm.get("data", {})]
    if len(origin_cms) != 1:
        return [f"expected one ConfigMap with placement.toml, found {len(origin_cms)}"]
    placement = tomllib.loads(origin_cms[0]["data"]["placement.toml"])
    pops = {p["name"]: p for p in placement.get("pops", [])}
    for s in sts:
        pop = s["spec"]["template"]["metadata"].get("labels", {}).get(POP_LABEL)
        name = s["metadata"]["name"]
        if pop is None:
            problems.append(f"StatefulSet/{name}: pods have no {POP_LABEL} label")
            continue
        if pop not in pops:
            problems.append(f"StatefulSet/{name}: PoP {pop!r} is not in placement.toml")
            continue
        pods = [f"{name}-{i}" for i in range(s["spec"].get("replicas", 1))]
        nodes = [n["name"] for n in pops[pop]["nodes"]]
        if sorted(pods) != sorted(nodes):
            problems.append(f"PoP {pop}: StatefulSet runs {pods}, placement.toml lists {nodes}")
    return problems


def check_kustomization(report: Report, label: str, kdir: Path, overlay: bool) -> list[dict]:
    try:
        docs = render(kdir)
    except subprocess.CalledProcessError as e:
        report.check(f"{label}: kustomize render", [e.stderr.strip()])
        return []
    report.check(f"{label}: kustomize render", [] if docs else ["rendered nothing"])
    report.check(f"{label}: Kubernetes {K8S_VERSION} schemas (strict), {len(docs)} objects", schema_problems(docs))
    report.check(f"{label}: probes, metrics, resources, PDBs, Services, config mounts", workload_problems(docs))
    if overlay:
        report.check(f"{label}: edge pods match placement.toml", placement_problems(docs))
    return docs


# ---------------------------------------------------------------- systemd


def systemd_problems(unit: Path) -> list[str]:
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        return ["systemd-analyze is not installed"]
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        # verify insists the ExecStart binary exists; check the unit with a stand-in for it.
        text = unit.read_text()
        if not re.search(r"^ExecStart=/usr/local/bin/meshcdn ", text, re.M):
            problems.append("ExecStart does not run /usr/local/bin/meshcdn")
        copy_path = Path(tmp) / unit.name
        copy_path.write_text(re.sub(r"^ExecStart=/usr/local/bin/meshcdn ", "ExecStart=/bin/true ", text, flags=re.M))
        verify = subprocess.run([analyze, "verify", "--man=no", str(copy_path)], capture_output=True, text=True)
        output = (verify.stdout + verify.stderr).strip()
        if verify.returncode != 0 or output:
            problems.append(f"systemd-analyze verify: {output or verify.returncode}")
        security = subprocess.run(
            [analyze, "security", "--offline=yes", "--no-pager", f"--threshold={int(SECURITY_THRESHOLD * 10)}", str(copy_path)],
            capture_output=True, text=True,
        )
        if security.returncode != 0:
            level = re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout)
            problems.append(f"exposure {level.group(1) if level else '?'} is above {SECURITY_THRESHOLD}")
        for config in re.findall(r"--config (\S+)", text):
            if not Path(config).name.startswith(unit.stem.removeprefix("meshcdn-")):
                problems.append(f"--config {config} does not match the unit's role")
    return problems


# ---------------------------------------------------------------- container


def dockerfile_problems(dockerfile: Path, repo: Path, edge_configs: list[Path]) -> list[str]:
    problems = []
    parser = DockerfileParser(path=str(dockerfile))
    stages: list[str] = []
    copies_into_final: list[str] = []
    user = None
    for ins in parser.structure:
        kind, value = ins["instruction"], ins["value"]
        if kind == "FROM":
            m = re.search(r"\bAS\s+(\S+)\s*$", value, re.I)
            if not m:
                problems.append(f"line {ins['startline'] + 1}: stage without a name")
            stages.append(m.group(1) if m else "?")
            copies_into_final, user = [], None
        elif kind == "COPY":
            words = value.split()
            flags = [w for w in words if w.startswith("--")]
            paths = [w for w in words if not w.startswith("--")]
            from_stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
            if from_stage is not None and from_stage not in stages[:-1]:
                problems.append(f"COPY --from={from_stage}: no earlier stage of that name")
            if from_stage is None:
                for src in paths[:-1]:
                    if not (repo / src).exists():
                        problems.append(f"COPY {src}: not in the repository")
            copies_into_final.append(paths[-1])
        elif kind == "USER":
            user = value.split(":")[0]
    if len(stages) < 3 or len(set(stages)) != len(stages):
        problems.append(f"expected at least three uniquely named stages, got {stages}")
    if user in (None, "0", "root"):
        problems.append("the runtime stage does not switch to a non-root USER")
    for config in edge_configs:
        component = tomllib.loads(config.read_text()).get("component")
        if component and component not in copies_into_final:
            problems.append(f"{config.name}: component {component} is not installed by the image")
    return problems


# ---------------------------------------------------------------- self-test


def self_test(base_docs: list[dict], overlay_docs: list[dict]) -> list[str]:
    """Known breakages must be caught: a checker that passes everything proves nothing."""
    problems = []

    def expect(name: str, docs: list[dict], checker) -> None:
        if not checker(docs):
            problems.append(f"{name} went unnoticed")

    def mutate(docs: list[dict], kind: str, fn) -> list[dict]:
        docs = copy.deepcopy(docs)
        fn(next(d for d in docs if d["kind"] == kind))
        return docs

    def pod(d: dict) -> dict:
        return d["spec"]["template"]["spec"]

    expect("a misspelt field", mutate(base_docs, "PodDisruptionBudget", lambda d: d["spec"].update(maxUnavailabl=1)), schema_problems)
    expect("a wrong type", mutate(base_docs, "StatefulSet", lambda d: d["spec"].update(replicas="three")), schema_problems)
    expect("a missing probe", mutate(base_docs, "Deployment", lambda d: pod(d)["containers"][0].pop("readinessProbe")), workload_problems)
    expect("a probe on another path", mutate(base_docs, "StatefulSet", lambda d: pod(d)["containers"][0]["livenessProbe"]["httpGet"].update(path="/")), workload_problems)
    expect("missing limits", mutate(base_docs, "StatefulSet", lambda d: pod(d)["containers"][0]["resources"].pop("limits")), workload_problems)
    expect("no scrape annotation", mutate(base_docs, "Deployment", lambda d: d["spec"]["template"]["metadata"]["annotations"].pop("prometheus.io/scrape")), workload_problems)
    expect("a PDB selecting nothing", mutate(base_docs, "PodDisruptionBudget", lambda d: d["spec"]["selector"]["matchLabels"].update({"app.kubernetes.io/name": "nobody"})), workload_problems)
    expect("a non-headless edge Service", mutate(base_docs, "StatefulSet", lambda d: d["spec"].update(serviceName="meshcdn-origin")), workload_problems)
    expect("an unknown Secret", mutate(base_docs, "Deployment", lambda d: pod(d)["volumes"][1]["secret"].update(secretName="keys")), workload_problems)
    expect("a config listening elsewhere", mutate(base_docs, "StatefulSet", lambda d: pod(d)["containers"][0]["ports"][0].update(containerPort=9999)), workload_problems)
    expect("a readiness probe on the liveness path", mutate(base_docs, "Deployment", lambda d: pod(d)["containers"][0]["readinessProbe"]["httpGet"].update(path="/health/live")), workload_problems)
    expect("a grace period shorter than the drain", mutate(base_docs, "StatefulSet", lambda d: pod(d).update(terminationGracePeriodSeconds=10)), workload_problems)
    expect("another image", mutate(base_docs, "StatefulSet", lambda d: pod(d)["containers"][0].update(image="meshcdn:latest")), lambda docs: image_problems(REPO, [docs]))
    expect("more edge pods than placement nodes", mutate(overlay_docs, "StatefulSet", lambda d: d["spec"].update(replicas=d["spec"]["replicas"] + 1)), placement_problems)
    return problems


REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    args = ap.parse_args()
    repo: Path = args.repo
    global REPO
    REPO = repo
    deploy = repo / "deploy"
    report = Report()

    base_docs = check_kustomization(report, "k8s base", deploy / "k8s/base", overlay=False)
    overlays = sorted(p.parent for p in (deploy / "k8s/overlays").glob("*/kustomization.yaml"))
    if not overlays:
        report.check("k8s overlays", ["no overlay found under deploy/k8s/overlays"])
    first_overlay: list[dict] = []
    renders = [base_docs]
    for overlay in overlays:
        docs = check_kustomization(report, f"k8s {overlay.name}", overlay, overlay=True)
        first_overlay = first_overlay or docs
        renders.append(docs)
    report.check("k8s image: the one scripts/image.sh builds", image_problems(repo, renders))
    # Standalone examples (not part of any kustomization) are schema-checked too.
    for example in sorted((deploy / "k8s/examples").glob("*.yaml")):
        docs = [d for d in yaml.safe_load_all(example.read_text()) if d]
        report.check(f"k8s example {example.name}: schemas (strict)", schema_problems(docs))
    if base_docs and first_overlay:
        report.check("self-test: the checks catch known breakages", self_test(base_docs, first_overlay))

    for unit in sorted((deploy / "systemd").glob("*.service")):
        report.check(f"systemd {unit.name}: verify, security <= {SECURITY_THRESHOLD}", systemd_problems(unit))

    edge_configs = [deploy / "config/edge.example.toml", deploy / "k8s/base/config/edge.toml"]
    report.check("container Dockerfile: stages, COPY sources, USER, component path",
                 dockerfile_problems(deploy / "container/Dockerfile", repo, edge_configs))

    print(f"validate-deploy: {len(report.passed)} passed, {len(report.failed)} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
