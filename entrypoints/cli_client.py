"""`pixrelay generate`: submit a generation to a running server, watch it, save the result."""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

SPINNER = "|/-\\"
EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
              "video/mp4": ".mp4", "video/webm": ".webm", "video/quicktime": ".mov"}


class ClientError(Exception):
    pass


def add_client_commands(commands: Any) -> None:
    text = ("Submit a generation to a running pixrelay server, show its progress until it ends, "
            "and save the result files.")
    gen: argparse.ArgumentParser = commands.add_parser("generate", help=text, description=text)
    gen.add_argument("--server", default=os.environ.get("PIXRELAY_SERVER", "http://127.0.0.1:8000"))
    gen.add_argument("--email", default=os.environ.get("PIXRELAY_EMAIL"), help="or PIXRELAY_EMAIL")
    gen.add_argument("--password", default=os.environ.get("PIXRELAY_PASSWORD"), help="or PIXRELAY_PASSWORD")
    gen.add_argument("--provider", default=None, help="the provider's default model (sim unless --model)")
    gen.add_argument("--model", default=None, help="a model id or alias from GET /v1/models")
    gen.add_argument("--operation", default="text_to_image",
                     help="text_to_image, image_to_image, text_to_video, image_to_video, ...")
    gen.add_argument("--prompt", help="shorthand for --param prompt=...")
    gen.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                     help="a provider param; VALUE is parsed as JSON when it can be (seed=3, seconds=4)")
    gen.add_argument("--input", action="append", default=[], metavar="FILE_OR_ASSET_ID",
                     help="an input: a local file (uploaded first) or an existing asset id")
    gen.add_argument("--out", type=Path, default=Path("."), help="directory (or file name) for the results")
    gen.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the job")
    gen.set_defaults(handler=_generate)


def parse_params(prompt: str | None, pairs: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if prompt is not None:
        params["prompt"] = prompt
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise ClientError(f"--param wants NAME=VALUE, got {pair!r}")
        try:
            params[name] = json.loads(raw)
        except json.JSONDecodeError:
            params[name] = raw
    return params


def _generate(args: argparse.Namespace) -> int:
    if not args.email or not args.password:
        print("pixrelay: --email and --password (or PIXRELAY_EMAIL / PIXRELAY_PASSWORD) are required",
              file=sys.stderr)
        return 2
    try:
        with httpx.Client(base_url=args.server, timeout=30.0) as http:
            saved = Generation(http, args).run()
    except (ClientError, httpx.HTTPError) as error:
        print(f"\npixrelay: {error}", file=sys.stderr)
        return 1
    for path in saved:
        print(path)
    return 0


class Generation:
    def __init__(self, http: httpx.Client, args: argparse.Namespace) -> None:
        self._http = http
        self._args = args

    def run(self) -> list[Path]:
        token = self._login()
        self._http.headers["Authorization"] = f"Bearer {token}"
        inputs = [self._input(item) for item in self._args.input]
        body = {"operation_type": self._args.operation,
                "params": parse_params(self._args.prompt, self._args.param), "input_asset_ids": inputs}
        if self._args.model:
            body["model"] = self._args.model
        if self._args.provider or not self._args.model:
            body["provider_id"] = self._args.provider or "sim"
        job = self._check(self._http.post("/v1/jobs", json=body))
        job = self._watch(job["id"])
        if job["status"] != "completed":
            raise ClientError(f"job {job['id']} {job['status']}: {job.get('error_code')} {job.get('error_message')}")
        return [self._download(asset_id, index) for index, asset_id in enumerate(job["result_asset_ids"])]

    def _login(self) -> str:
        answer = self._check(self._http.post("/v1/auth/login", json={"email": self._args.email,
                                                                      "password": self._args.password}))
        return str(answer["access_token"])

    def _input(self, item: str) -> str:
        path = Path(item)
        if not path.is_file():
            return item  # an asset id
        with path.open("rb") as handle:
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            asset = self._check(self._http.post("/v1/assets", files={"file": (path.name, handle, mime)}))
        return str(asset["id"])

    def _watch(self, job_id: str) -> dict[str, Any]:
        started = time.monotonic()
        tick = 0
        while True:
            job = self._check(self._http.get(f"/v1/jobs/{job_id}"))
            elapsed = time.monotonic() - started
            bar = SPINNER[tick % len(SPINNER)] if job["status"] in ("pending", "processing") else "*"
            print(f"\r{bar} job {job_id} {job['status']:<10} attempt {job['attempts']}/{job['max_attempts']} "
                  f"{elapsed:6.1f}s", end="", file=sys.stderr, flush=True)
            if job["status"] in ("completed", "failed", "cancelled"):
                print(file=sys.stderr)
                return job
            if elapsed > self._args.timeout:
                raise ClientError(f"job {job_id} still {job['status']} after {self._args.timeout:.0f}s")
            tick += 1
            time.sleep(0.5)

    def _download(self, asset_id: str, index: int) -> Path:
        asset = self._check(self._http.get(f"/v1/assets/{asset_id}"))
        suffix = EXTENSIONS.get(asset["mime_type"], "")
        out: Path = self._args.out
        target = out / f"{asset_id}{suffix}" if out.is_dir() or not out.suffix else (
            out if index == 0 else out.with_name(f"{out.stem}-{index}{out.suffix}"))
        target.parent.mkdir(parents=True, exist_ok=True)
        with self._http.stream("GET", f"/v1/assets/{asset_id}/content", follow_redirects=True) as response:
            if response.status_code != 200:
                raise ClientError(f"download of {asset_id} failed with {response.status_code}")
            with target.open("wb") as handle:
                for chunk in response.iter_bytes():
                    handle.write(chunk)
        return target

    @staticmethod
    def _check(response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            try:
                problem = response.json()
                detail = f"{problem.get('code')}: {problem.get('detail')}"
            except ValueError:
                detail = response.text[:200]
            raise ClientError(f"{response.request.method} {response.request.url.path} -> {response.status_code} {detail}")
        data: dict[str, Any] = response.json()
        return data
