"""Outbound webhooks for real: `pixrelay api` and `pixrelay worker` processes on Postgres
deliver to a local HTTP receiver, and every delivery is verified with the reference
implementation (`standardwebhooks`): after a secret rotation, to a receiver that fails three
times and then answers, and across a worker killed with SIGKILL in the middle of a delivery.
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.e2e.test_scale_out import Cluster, empty_database, user_client  # noqa: F401

pytestmark = [pytest.mark.postgres]

LEASE_SECONDS = 3
TIMEOUT = 30.0


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() on arrival


@dataclass
class Receiver:
    """Records every POST; each path answers as `plans[path]` says (a list of statuses used up
    in order, then 200). `hold` keeps the first request to /hold open until released."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    plans: dict[str, list[int]] = field(default_factory=dict)
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def wait_for(self, path: str, count: int, timeout: float = TIMEOUT) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.to(path)
            if len(got) >= count:
                return got
            time.sleep(0.02)
        pytest.fail(f"{path} received {len(self.to(path))} of {count} deliveries in {timeout} s")

    def url(self, path: str) -> str:
        return f"http://localhost:{self.port}{path}"


def handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with receiver.lock:
                receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                  body, time.time()))
                plan = receiver.plans.setdefault(self.path, [])
                status = plan.pop(0) if plan else 200
                first_hold = self.path == "/hold" and not receiver.held.is_set()
            if first_hold:
                receiver.held.set()
                receiver.release.wait(TIMEOUT)
            try:
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()
            except OSError:
                pass  # the worker that sent it is gone

        def log_message(self, *_: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(made))
    server.daemon_threads = True
    made.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield made
    made.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def deployment(tmp_path: Path, empty_database: str) -> Iterator[Cluster]:  # noqa: F811
    cluster = Cluster(tmp_path, {
        "PIXRELAY_DATABASE_URL": empty_database,
        "PIXRELAY_JWT_SECRET": "webhook-test-secret-" + uuid.uuid4().hex,
        "PIXRELAY_DATA_DIR": str(tmp_path / "data"),  # blobs on a disk both processes share
        "PIXRELAY_SIM_STATE_DIR": str(tmp_path / "sim-state"),
        "PIXRELAY_SIM_ACCOUNTS": "2",
        "PIXRELAY_PROVIDERS": "sim",
        "PIXRELAY_LEASE_SECONDS": str(LEASE_SECONDS),
        "PIXRELAY_ALLOW_PRIVATE_WEBHOOKS": "true",
        "PIXRELAY_WEBHOOK_RETRY_SCHEDULE": "0.3,0.3,0.3,0.3,0.3",
        "PIXRELAY_WEBHOOK_POLL_SECONDS": "0.1",
    })
    migrated = cluster.cli("migrate")
    assert migrated.returncode == 0, migrated.stderr
    cluster.start("api", "api")
    cluster.wait_until("the API was not ready", cluster.ready)
    yield cluster
    cluster.stop()


def endpoint(client: httpx.Client, url: str, **extra: Any) -> dict[str, Any]:
    made = client.post("/v1/webhook-endpoints", json={"url": url, **extra})
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def submit(client: httpx.Client) -> str:
    created = client.post("/v1/jobs", json={"provider_id": "sim", "operation_type": "text_to_image",
                                            "params": {"prompt": "a hook", "seed": 1, "width": 64, "height": 64}})
    assert created.status_code == 202, created.text
    job_id: str = created.json()["id"]
    return job_id


def deliveries(client: httpx.Client, endpoint_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries").json()["items"]
    return items


def wait(what: str, done: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return
        time.sleep(0.05)
    pytest.fail(what)


def test_real_deliveries_verify_with_the_reference_implementation(
        deployment: Cluster, receiver: Receiver, tmp_path: Path) -> None:
    deployment.start("worker-1", "worker")
    alice = user_client(deployment.url, "127.0.0.1", "alice")

    # 1. a delivery, as the receiver gets it
    hook = endpoint(alice, receiver.url("/ok"))
    job_id = submit(alice)
    [first] = receiver.wait_for("/ok", 1)
    payload = Webhook(hook["secret"]).verify(first.body, first.headers)
    job = alice.get(f"/v1/jobs/{job_id}").json()
    assert payload["type"] == "job.completed" and payload["data"]["job"] == job
    assert first.headers["webhook-id"] == f"msg_{job_id}_completed"
    latency = first.at - datetime.fromisoformat(job["completed_at"].replace("Z", "+00:00")).timestamp()
    print(f"delivery latency after the completing commit: {latency * 1000:.0f} ms")

    # 2. after a rotation both secrets verify the next delivery
    rotated = alice.post(f"/v1/webhook-endpoints/{hook['id']}/rotate-secret").json()
    submit(alice)
    second = receiver.wait_for("/ok", 2)[1]
    assert Webhook(rotated["secret"]).verify(second.body, second.headers)["type"] == "job.completed"
    assert Webhook(hook["secret"]).verify(second.body, second.headers)["type"] == "job.completed"

    # 3. a receiver that fails three times, then answers
    bob = user_client(deployment.url, "127.0.0.1", "bob")
    receiver.plans["/flaky"] = [500, 502, 503]
    flaky = endpoint(bob, receiver.url("/flaky"))
    submit(bob)
    attempts = receiver.wait_for("/flaky", 4)
    assert len({a.headers["webhook-id"] for a in attempts}) == 1 and len({a.body for a in attempts}) == 1
    for attempt in attempts:
        assert Webhook(flaky["secret"]).verify(attempt.body, attempt.headers)["type"] == "job.completed"
    wait("the flaky delivery was not marked delivered",
         lambda: deliveries(bob, flaky["id"])[0]["status"] == "delivered")
    [logged] = deliveries(bob, flaky["id"])
    assert [a["status_code"] for a in logged["attempts"]] == [500, 502, 503, 200]
    assert all(a["duration_ms"] >= 0 for a in logged["attempts"]) and logged["next_attempt_at"] is None

    # 4. the worker is killed while the receiver holds its delivery: another worker sends it
    carol = user_client(deployment.url, "127.0.0.1", "carol")
    held = endpoint(carol, receiver.url("/hold"))
    submit(carol)
    assert receiver.held.wait(TIMEOUT), "the delivery never reached the receiver"
    [victim] = [p for p in deployment.processes if p.name == "worker-1"]
    victim.popen.send_signal(signal.SIGKILL)
    victim.popen.wait(10)
    receiver.release.set()
    killed_at = time.time()
    deployment.start("worker-2", "worker")
    resent = receiver.wait_for("/hold", 2, timeout=TIMEOUT)
    assert resent[1].at - killed_at >= LEASE_SECONDS - 0.5  # after the dead worker's lease ran out
    assert resent[0].headers["webhook-id"] == resent[1].headers["webhook-id"] and resent[0].body == resent[1].body
    assert Webhook(held["secret"]).verify(resent[1].body, resent[1].headers)["type"] == "job.completed"
    wait("the re-sent delivery was not marked delivered",
         lambda: deliveries(carol, held["id"])[0]["status"] == "delivered")
    [logged] = deliveries(carol, held["id"])
    assert [a["status_code"] for a in logged["attempts"]] == [200]  # the killed attempt was never recorded
    print(f"re-sent {resent[1].at - killed_at:.1f} s after the kill (lease {LEASE_SECONDS} s)")
    for process in deployment.processes:
        assert "Traceback" not in process.output(), process.output()[-3000:]
