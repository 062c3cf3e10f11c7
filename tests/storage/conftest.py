"""A real S3-compatible server on 127.0.0.1 (moto's server mode) for the object-storage tests.

The endpoint and credentials reach sketchrnn the way they reach any AWS client: through the
usual environment variables, which the CLI subprocesses inherit.
"""

from __future__ import annotations

import logging
import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "distributed"))
sys.path.insert(0, str(Path(__file__).parent))  # the test modules import s3_helpers
from distributed_helpers import write_categories  # noqa: E402

BUCKET = "sketches"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on a free port; yields its endpoint URL."""
    moto_server = pytest.importorskip("moto.server", reason="pip install 'moto[server]' (test extra)")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_env(s3_server, monkeypatch) -> dict[str, str]:
    """AWS variables pointing at the local server (set here and for subprocesses)."""
    env = {"AWS_ENDPOINT_URL": s3_server, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_EC2_METADATA_DISABLED": "true"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def s3_client(s3_env):
    """boto3 against the local server: the independent view of what is in the bucket."""
    import boto3

    return boto3.client("s3", endpoint_url=s3_env["AWS_ENDPOINT_URL"])


@pytest.fixture
def bucket(s3_client, request) -> str:
    """A fresh, empty bucket for one test; its name."""
    name = f"{BUCKET}-{abs(hash(request.node.nodeid)) % 10**8}"
    s3_client.create_bucket(Bucket=name)
    yield name
    keys = [o["Key"] for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=name)
            for o in page.get("Contents", [])]
    for key in keys:
        s3_client.delete_object(Bucket=name, Key=key)
    s3_client.delete_bucket(Bucket=name)


@pytest.fixture(scope="session")
def pig_data(tmp_path_factory) -> Path:
    """Synthetic QuickDraw files for pig and sun."""
    return write_categories(tmp_path_factory.mktemp("quickdraw"), ["pig", "sun"], n_train=120)

