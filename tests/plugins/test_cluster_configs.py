"""cluster/: every YAML parses, the launcher configs and KubeRay manifests say what the README says.

No cloud is touched. The launcher configs are also validated against the JSON schema shipped with
the installed Ray (the one `ray up` applies), and the versions, image tags, GPU counts and shared
paths are checked against each other, because a mismatch there only shows up on a live cluster.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

CLUSTER = Path(__file__).resolve().parents[2] / "cluster"
LAUNCHERS = ["aws.yaml", "gcp.yaml"]
LAUNCHER_KEYS = {"cluster_name", "max_workers", "provider", "auth", "available_node_types",
                 "head_node_type", "file_mounts", "setup_commands", "head_start_ray_commands",
                 "worker_start_ray_commands"}
AWS_GPUS = {"g5.12xlarge": 4, "g5.xlarge": 1, "g4dn.12xlarge": 4, "p3.8xlarge": 4}
GPUS_WANTED = 8


def _docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def _manifest(kind: str) -> dict:
    found = [d for p in sorted((CLUSTER / "kuberay").glob("*.yaml")) for d in _docs(p) if d.get("kind") == kind]
    assert len(found) == 1, f"expected one {kind} manifest, found {len(found)}"
    return found[0]


def _dockerfile_arg(name: str) -> str:
    match = re.search(rf"^ARG {name}=(\S+)$", (CLUSTER / "Dockerfile").read_text(), re.M)
    assert match, f"cluster/Dockerfile has no ARG {name}=..."
    return match.group(1)


def test_every_yaml_parses() -> None:
    files = sorted(CLUSTER.rglob("*.yaml")) + sorted(CLUSTER.rglob("*.yml"))
    assert {p.name for p in files} >= {"aws.yaml", "gcp.yaml", "runtime_env.yaml", "rayjob.yaml",
                                       "raycluster.yaml"}
    for path in files:
        docs = _docs(path)
        assert docs and all(isinstance(d, dict) for d in docs), path


@pytest.mark.parametrize("name", LAUNCHERS)
def test_launcher_configs_have_the_required_keys_and_enough_gpus(name: str) -> None:
    config = _docs(CLUSTER / name)[0]
    assert LAUNCHER_KEYS <= set(config), LAUNCHER_KEYS - set(config)
    types = config["available_node_types"]
    head = types[config["head_node_type"]]
    assert head["resources"].get("CPU") == 0  # no training on the head (README, resource arithmetic)
    workers = {k: v for k, v in types.items() if k != config["head_node_type"]}
    assert all(0 <= t["min_workers"] <= t["max_workers"] for t in workers.values())
    assert sum(t["max_workers"] for t in workers.values()) <= config["max_workers"]
    gpus_up = 0
    for t in workers.values():
        per_node = t["resources"].get("GPU") or AWS_GPUS.get(t["node_config"].get("InstanceType"), 0)
        gpus_up += per_node * t["min_workers"]
    assert gpus_up >= GPUS_WANTED  # the plan is made from the nodes that are up
    assert any("pip install" in c and "sketchrnn" in c for c in config["setup_commands"])
    assert "." in config["file_mounts"].values()
    if config["provider"]["type"] == "gcp":  # a mapping in the Compute Engine API, not a list
        assert all(isinstance(t["node_config"].get("scheduling", {}), dict) for t in types.values())


@pytest.mark.parametrize("name", LAUNCHERS)
def test_launcher_configs_match_rays_schema(name: str) -> None:
    import importlib.util

    jsonschema = pytest.importorskip("jsonschema")
    ray_spec = importlib.util.find_spec("ray")  # locate, don't import: importing Ray takes seconds
    schema_file = Path(ray_spec.origin).parent / "autoscaler" / "ray-schema.json" if ray_spec else None
    if schema_file is None or not schema_file.is_file():
        pytest.skip("Ray (with autoscaler/ray-schema.json) is not installed")
    jsonschema.validate(_docs(CLUSTER / name)[0], json.loads(schema_file.read_text()))


def test_rayjob_runs_fit_on_8_workers_into_the_shared_volume() -> None:
    job = _manifest("RayJob")
    assert job["apiVersion"] == "ray.io/v1"
    argv = shlex.split(job["spec"]["entrypoint"])
    assert argv[:2] == ["sketchrnn", "fit"] and "--all-categories" in argv
    assert argv[argv.index("--workers") + 1] == "8"
    runs = argv[argv.index("--runs") + 1]
    assert "env_vars" in yaml.safe_load(job["spec"]["runtimeEnvYAML"])
    _check_cluster_spec(job["spec"]["rayClusterSpec"], runs)


def test_raycluster_serves_the_same_command() -> None:
    cluster = _manifest("RayCluster")
    assert cluster["apiVersion"] == "ray.io/v1"
    _check_cluster_spec(cluster["spec"], "/mnt/shared/runs")
    assert _manifest("PersistentVolumeClaim")["spec"]["accessModes"] == ["ReadWriteMany"]


def _check_cluster_spec(spec: dict, runs: str) -> None:
    assert spec["rayVersion"] == _dockerfile_arg("RAY_VERSION")
    assert spec["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    templates = [spec["headGroupSpec"]["template"]] + [g["template"] for g in spec["workerGroupSpecs"]]
    for template in templates:  # --runs lies on a volume mounted in every pod
        mounts = [m["mountPath"] for c in template["spec"]["containers"] for m in c.get("volumeMounts", [])]
        assert any(runs.startswith(m.rstrip("/") + "/") for m in mounts), mounts
    gpus = sum(int(g["minReplicas"]) * int(c["resources"]["limits"].get("nvidia.com/gpu", 0))
               for g in spec["workerGroupSpecs"] for c in g["template"]["spec"]["containers"])
    assert gpus >= GPUS_WANTED


def test_one_image_tag_everywhere_matching_the_project_version() -> None:
    version = re.search(r'^version = "([^"]+)"', (CLUSTER.parent / "pyproject.toml").read_text(), re.M).group(1)
    images = [_docs(CLUSTER / n)[0]["docker"]["image"] for n in LAUNCHERS]
    for kind in ("RayJob", "RayCluster"):
        spec = _manifest(kind)["spec"]
        spec = spec.get("rayClusterSpec", spec)
        groups = [spec["headGroupSpec"]] + spec["workerGroupSpecs"]
        images += [c["image"] for g in groups for c in g["template"]["spec"]["containers"]]
    assert {image.rsplit(":", 1)[1] for image in images} == {version}


def test_runtime_env_and_dockerfile() -> None:
    env = _docs(CLUSTER / "runtime_env.yaml")[0]
    assert set(env) <= {"env_vars", "excludes", "pip", "working_dir", "py_modules", "config"}
    assert all(isinstance(v, str) for v in env["env_vars"].values())  # Ray requires strings
    dockerfile = (CLUSTER / "Dockerfile").read_text()
    assert re.search(r"^FROM \$\{CUDA_IMAGE\}", dockerfile, re.M) and "nvidia/cuda" in _dockerfile_arg("CUDA_IMAGE")
    assert "torch==${TORCH_VERSION}" in dockerfile and "ray[default" in dockerfile
    assert re.search(r"pip install \"?/home/ray/src/sketchrnn\"?", dockerfile)
