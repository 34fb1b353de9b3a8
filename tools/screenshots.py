"""Screenshots of every console page, at desktop and phone width, from a freshly seeded server.

    make screenshots        # writes docs/screenshots/*.png

Starts `pixrelay serve` in a temporary directory (embedded mode, the sim provider), seeds it
through the API (uploads, jobs that complete, fail and run, an image->video chain) and drives
the system's Chromium with Playwright (never `playwright install`)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
ADMIN = ("admin@example.com", "operator password 1")
USER = ("ada@example.com", "ada password 1")
SIZES = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXRELAY_")}
    env.update(PIXRELAY_PORT=str(port), PIXRELAY_ADMIN_EMAIL=ADMIN[0], PIXRELAY_ADMIN_PASSWORD=ADMIN[1],
               PIXRELAY_SIM_ACCOUNTS="3")
    process = subprocess.Popen([sys.executable, "-m", "entrypoints.cli", "serve"], cwd=workdir, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def client(url: str, email: str, password: str) -> httpx.Client:
    api = httpx.Client(base_url=url, timeout=20)
    token = api.post("/v1/auth/login", json={"email": email, "password": password}).json()["access_token"]
    api.headers["Authorization"] = f"Bearer {token}"
    return api


def wait(api: httpx.Client, job_id: str) -> dict[str, object]:
    for _ in range(300):
        job: dict[str, object] = api.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise SystemExit(f"job {job_id} did not finish")


def seed(url: str) -> dict[str, str]:
    httpx.post(f"{url}/v1/auth/register", json={"email": USER[0], "username": "ada", "password": USER[1]})
    httpx.post(f"{url}/v1/auth/register", json={"email": "bo@example.com", "username": "bo", "password": "bo password 1"})
    api = client(url, *USER)
    job = lambda op, params, **extra: api.post("/v1/jobs", json={  # noqa: E731
        "provider_id": "sim", "operation_type": op, "params": params, **extra}).json()["id"]
    prompts = ["a lighthouse at dusk", "a red fox in the snow", "neon city in the rain", "a bowl of ramen",
               "a paper boat on a pond"]
    images = [job("text_to_image", {"prompt": p, "seed": i, "width": 320, "height": 320}, name=p)
              for i, p in enumerate(prompts)]
    done = [wait(api, j) for j in images]
    still = done[0]["result_asset_ids"][0]  # type: ignore[index]
    video = wait(api, job("image_to_video", {"prompt": "slow drift", "seconds": 3, "width": 192, "height": 192},
                          input_asset_ids=[still], name="the lighthouse, moving"))
    clip = video["result_asset_ids"][0]  # type: ignore[index]
    wait(api, job("upscale", {"scale": 2}, input_asset_ids=[still], name="lighthouse, upscaled"))
    wait(api, job("video_extend", {"prompt": "keep drifting", "seconds": 2, "width": 192, "height": 192},
                  input_asset_ids=[clip], name="the lighthouse, longer"))
    wait(api, job("text_to_image", {"prompt": "something not allowed", "sim_outcome": "final_error"},
                  name="rejected by the provider"))
    wait(api, job("text_to_image", {"prompt": "a retry that works", "sim_outcome": "transient_error"},
                  name="worked on the second try"))
    running = job("text_to_video", {"prompt": "waves for a while", "sim_latency_ms": 60000}, name="long video")
    admin = client(url, *ADMIN)
    first = admin.get("/v1/admin/accounts?provider_id=sim").json()["items"][0]
    admin.patch(f"/v1/admin/accounts/{first['id']}", json={"priority": 5})
    return {"job": str(video["id"]), "asset": clip, "still": still, "running": running}


def shoot(page: Page, name: str, route: str, size: str) -> None:
    page.goto(f"/console{route}")
    page.locator("main h1").first.wait_for()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(400)  # images decode, GIFs show a frame
    page.screenshot(path=str(OUT / f"{name}-{size}.png"), full_page=size == "desktop")


def main() -> None:
    if not shutil.which("chromium"):
        raise SystemExit("needs Chromium on the PATH (apt-get install chromium)")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        process, url = start(Path(workdir))
        try:
            ids = seed(url)
            pages = [("jobs", "#/jobs", USER), ("job", f"#/jobs/{ids['job']}", USER), ("new-job", f"#/new?input={ids['still']}", USER),
                     ("gallery", "#/gallery", USER), ("asset", f"#/assets/{ids['still']}", USER), ("usage", "#/usage", USER),
                     ("operator-accounts", "#/admin/accounts", ADMIN), ("operator-users", "#/admin/users", ADMIN),
                     ("operator-audit", "#/admin/audit", ADMIN), ("operator-providers", "#/admin/providers", ADMIN)]
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=shutil.which("chromium"))
                for size, viewport in SIZES.items():
                    for who in (USER, ADMIN):
                        context = browser.new_context(viewport=viewport, base_url=url, device_scale_factor=1)
                        page = context.new_page()
                        page.goto("/console")
                        if who == USER:
                            page.wait_for_timeout(300)
                            page.screenshot(path=str(OUT / f"sign-in-{size}.png"))
                        page.get_by_label("Email").fill(who[0])
                        page.get_by_label("Password").fill(who[1])
                        page.get_by_role("button", name="Sign in").click()
                        page.locator("header.top").wait_for(state="visible")
                        for name, route, person in pages:
                            if person == who:
                                shoot(page, name, route, size)
                        context.close()
                    page = browser.new_page(viewport=viewport, base_url=url)
                    page.goto("/schema")
                    page.locator(".opblock-tag-section").first.wait_for()
                    page.screenshot(path=str(OUT / f"api-reference-{size}.png"))
                    page.close()
                browser.close()
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    print(f"wrote {len(list(OUT.glob('*.png')))} screenshots to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
