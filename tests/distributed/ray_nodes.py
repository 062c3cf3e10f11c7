"""A real two-node Ray cluster on 127.0.0.1 for the cluster tests: `ray start --head` and
`ray start --address` as separate process groups, each with its own temp dir, ports and a custom
resource (`node_a`, `node_b`) that tells the nodes apart.

Stopping never calls `ray stop`: that stops every Ray process of this user on the machine, other
test runs' clusters included. Each `ray start` runs in a new session, so every process it spawns
(GCS, raylet, agents, workers) is in its process group, and stopping a node kills that group.

Token authentication (Ray's default for new clusters from Ray 2.61, and opted into here): every
process gets `RAY_AUTH_MODE=token` and a fresh `RAY_AUTH_TOKEN`, so nothing reads or writes the
user's `~/.ray/auth_token`; a driver joins with the same two variables (`ClusterEnv.env`).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT_S = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_cli() -> str:
    return str(Path(sys.executable).with_name("ray"))


def _node_ports() -> list[str]:
    """Ports that default to fixed numbers (the agent's 52365...): two nodes on one host need their own."""
    names = ("dashboard-agent-listen-port", "dashboard-agent-grpc-port", "runtime-env-agent-port",
             "metrics-export-port", "node-manager-port", "object-manager-port")
    return [f"--{name}={free_port()}" for name in names]


@dataclass
class RayNode:
    name: str  # also its custom resource
    temp_dir: Path
    pgid: int | None = None

    def start(self, args: list[str], env: dict[str, str]) -> None:
        """`ray start` (returns once the node is up) in a new session whose group is this node."""
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        log = (self.temp_dir / "ray-start.log").open("w")
        cmd = [_ray_cli(), "start", *args, "--node-ip-address=127.0.0.1", "--num-cpus=1",
               f"--resources={json.dumps({self.name: 1})}", f"--temp-dir={self.temp_dir}",
               "--disable-usage-stats", *_node_ports()]
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.pgid = proc.pid  # the session (and group) leader: every process `ray start` spawns
        try:
            rc = proc.wait(timeout=START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            rc = None
        if rc != 0:
            self.stop()
            text = (self.temp_dir / "ray-start.log").read_text()[-3000:]
            raise RuntimeError(f"ray start for {self.name} failed (exit {rc}):\n{text}")

    def processes(self) -> list[int]:
        """Live processes of this node's group."""
        if self.pgid is None:
            return []
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.getpgid(int(entry.name)) == self.pgid:
                        pids.append(int(entry.name))
                except OSError:  # gone meanwhile
                    continue
        return pids

    def raylet_pid(self) -> int:
        for pid in self.processes():
            try:
                exe = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
            except OSError:
                continue
            if exe.endswith(b"/raylet"):
                return pid
        raise RuntimeError(f"{self.name}: no raylet running")

    def stop(self, sig: int = signal.SIGKILL, wait_s: float = 20.0) -> None:
        """Kill this node's process group and wait until it is gone."""
        if self.pgid is None:
            return
        try:
            os.killpg(self.pgid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + wait_s
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.2)


@dataclass
class TwoNodeCluster:
    root: Path
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. PYTHONPATH for the nodes' workers
    dashboard_port: int | None = None  # the head's dashboard and job server (needs ray[default])

    def __post_init__(self) -> None:
        # Short paths: Ray's Unix sockets live under the temp dir (107-byte limit).
        self.head = RayNode("node_a", self.root / "a")
        self.worker = RayNode("node_b", self.root / "b")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def head_args(self) -> list[str]:
        if self.dashboard_port is None:
            return ["--head", f"--port={self.port}", "--include-dashboard=false"]
        return ["--head", f"--port={self.port}", "--include-dashboard=true", "--dashboard-host=127.0.0.1",
                f"--dashboard-port={self.dashboard_port}", f"--ray-client-server-port={free_port()}"]

    @property
    def env(self) -> dict[str, str]:
        """What every process of this cluster (its nodes, a driver joining it) runs with."""
        return {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token,
                "RAY_USAGE_STATS_ENABLED": "0", "OMP_NUM_THREADS": "1",
                # a killed node is declared dead after ~10 s instead of ~30 s, while a node that
                # is only slow (a loaded machine) gets 5 s per check and 5 misses
                "RAY_health_check_period_ms": "2000", "RAY_health_check_failure_threshold": "5",
                "RAY_health_check_timeout_ms": "5000",
                **self.extra_env}

    def start(self, *, second_node: bool = True) -> None:
        try:
            self.head.start(self.head_args(), self.env)
            if not second_node:
                return
            try:
                self.worker.start([f"--address={self.address}"], self.env)
            except RuntimeError:  # `ray start` gives a raylet 30 s to register: too short under load
                self.worker.start([f"--address={self.address}"], self.env)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.worker.stop()
        self.head.stop()
