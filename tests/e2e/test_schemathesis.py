"""Schemathesis against the live OpenAPI of a real server process: every operation, every
default check (but one for the upload forms, see UNTYPED_FORMS), 100 fuzzed examples per
operation that changes anything and 10 per read (GET, and the quote: READS), fewer where an
operation has fewer distinct inputs, on top of the schema's examples and the coverage phase
(the same for every operation), derandomized; zero failures. `ignored_auth` probes each
operation's first AUTH_PROBES cases. Calls go over one kept-alive connection that keeps no
cookies.

The server runs `pixrelay serve` (SQLite, local blobs, in-process worker, the `sim`
provider only: fuzzed admin calls must not make accounts that reach real providers) on a
fresh data dir. User routes are called as a registered user with credits to spare, /v1/admin
routes as the bootstrap admin; the two routes that end sessions (log-out, revoke-all) get
users of their own, so they never revoke the token the other operations use.

The rules no schema can state; cases generated as valid are kept valid:
- a `cursor` is issued by the server (`next_cursor`): a made-up one is a 422, so it is dropped;
- an `Idempotency-Key` sent again with another body is a 422 (docs/SPEC.md §5), so the key is made
  unique to its body (sending the same body again still replays the same job);
- the audit log's `since` after its `until` is a 422: the two are swapped;
- an API key's `expires_at` must be in the future (422 otherwise): a past one is dropped;
- an account's `secret` is an object only for a provider that names `secret_fields` (kling); `sim`,
  the one provider here, takes one string: an object is sent as one of its strings.
- a model an admin adds is not made a provider's default (`default`): the jobs the other
  operations send would then run on it, at its (fuzzed) price.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.pytest.lazy import get_all_tests
from schemathesis.specs.openapi.checks import ignored_auth, negative_data_rejection, positive_data_acceptance

from domain.assets import SNIFFED_MIME_TYPES
from tests.support.media_samples import SAMPLES
from tests.support.server import running, server_errors

EXAMPLES = 100
# A read changes nothing another case could run into: its inputs are its parameters alone, which
# the coverage phase already walks (every boundary and type), so 10 fuzzed examples on top.
READ_EXAMPLES = 10
READ_POSTS = ("/v1/jobs/quote",)  # a POST only for its body's size: it writes nothing
# `ignored_auth` sends each case again without credentials (and with bad ones): half of all
# calls. Credentials are checked before the body is read (a guard on the route), so no body
# can change the answer: each operation's first cases (its examples and the start of its
# coverage phase, negative ones among them) are probed, the rest are not.
AUTH_PROBES = 20
ADMIN_EMAIL = "root@example.com"
PASSWORD = "correct horse battery"
IDEMPOTENCY_KEY = "Idempotency-Key"
SESSION_ENDERS = ("/v1/auth/logout", "/v1/auth/sessions/revoke-all", "/console/session")


@dataclass(frozen=True)
class Live:
    url: str
    tokens: dict[str, str]  # who -> access token

    def token_for(self, path: str) -> str:
        return self.tokens["admin" if path.startswith("/v1/admin") else path if path in SESSION_ENDERS else "user"]

    def auth(self) -> type[schemathesis.AuthProvider[str]]:
        """Schemathesis' own auth hook, so that cases it generates without credentials (to
        check that they are refused) keep going out without them."""
        live = self

        class Bearer:
            def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str:
                return live.token_for(case.path)

            def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
                case.headers = case.headers or {}
                case.headers["Authorization"] = f"Bearer {data}"

        return Bearer


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client: httpx.Client, email: str) -> str:
    response = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def register(client: httpx.Client, name: str) -> str:
    email = f"{name}@example.com"
    response = client.post("/v1/auth/register", json={"email": email, "username": name, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return login(client, email)


def register_upload_types() -> None:
    """Files of every type the upload's `encoding` names (the server types them by their bytes)."""
    for mime in SNIFFED_MIME_TYPES:
        schemathesis.openapi.media_type(mime, st.integers(0, 2**32).map(SAMPLES[mime]))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    workdir: Path = tmp_path_factory.mktemp("schemathesis")
    with running(workdir, {"PIXRELAY_ADMIN_EMAIL": ADMIN_EMAIL, "PIXRELAY_ADMIN_PASSWORD": PASSWORD,
                           "PIXRELAY_PROVIDERS": "sim", "PIXRELAY_LOG_LEVEL": "warning"}) as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            tokens = {"user": register(client, "fuzz"), "admin": login(client, ADMIN_EMAIL),
                      **{path: register(client, f"ender{i}") for i, path in enumerate(SESSION_ENDERS)}}
            fuzz = client.get("/v1/users/me", headers=bearer(tokens["user"])).json()["id"]
            granted = client.post(f"/v1/admin/users/{fuzz}/credits", json={"amount": 1_000_000_000},
                                  headers=bearer(tokens["admin"]))
            assert granted.status_code == 200, granted.text
        yield Live(server.url, tokens)
    assert not server_errors(server), server.output()[-5000:]


SETTINGS = settings(max_examples=EXAMPLES, derandomize=True, deadline=None,
                    suppress_health_check=list(HealthCheck), database=None)
READ_SETTINGS = settings(SETTINGS, max_examples=READ_EXAMPLES)


def is_read(operation: schemathesis.APIOperation) -> bool:
    return operation.method.upper() == "GET" or operation.path in READ_POSTS


def session() -> requests.Session:
    """One kept-alive connection for every call; no cookie is kept, so every case is sent with
    only what it states (the console's log-in sets cookies)."""
    kept = requests.Session()
    kept.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return kept


def keep_valid(case: schemathesis.Case) -> None:
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if case.query:
        case.query.pop("cursor", None)
        since, until = case.query.get("since"), case.query.get("until")
        if isinstance(since, str) and isinstance(until, str) and moment(since) > moment(until):
            case.query["since"], case.query["until"] = until, since
    if isinstance(case.body, dict) and isinstance(case.body.get("expires_at"), str) \
            and in_the_past(case.body["expires_at"]):
        case.body.pop("expires_at")
    if isinstance(case.body, dict) and isinstance(case.body.get("secret"), dict) and case.body["secret"]:
        case.body["secret"] = next(iter(case.body["secret"].values()))
    operations = case.body.get("operations") if isinstance(case.body, dict) else None
    if case.operation.path.startswith("/v1/admin/models") and isinstance(operations, dict):
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.pop("default", None)
    key = case.headers.get(IDEMPOTENCY_KEY) if case.headers else None
    if isinstance(key, str) and key:
        digest = hashlib.sha256(json.dumps(case.body, sort_keys=True, default=str).encode()).hexdigest()[:16]
        case.headers[IDEMPOTENCY_KEY] = f"{key[:200]}.{digest}"


def in_the_past(text: str) -> bool:
    try:
        return moment(text) <= datetime.now(UTC)
    except (ValueError, OverflowError):  # no UTC equivalent: the server refuses it as out of range
        return False


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))


# The one check left out, for the one operation it cannot judge: the upload's form parts are
# untyped text, so a number or object generated for `workspace_id` reaches the server as the
# characters a string could also be. Schemathesis re-reads a sent form to see that, but gives
# up when the file part is raw bytes, and then reports the server for accepting "invalid"
# data. Refusals of hostile uploads are tested in tests/e2e/test_upload_corpus.py. The OpenAI
# image edit is such a form too (its refusals: tests/e2e/http/test_openai_compat.py).
UNTYPED_FORMS = ("POST /v1/assets", "POST /openai/v1/images/edits")
# The OpenAI-compatible image routes take OpenAI's loose schema (`size`, `quality`... are free
# strings) and answer what the chosen model cannot honour with OpenAI's 400, as OpenAI does;
# the mapping's own property test checks those refusals (tests/unit/application/
# test_openai_compat_models.py). Every other check, no-500 included, still runs on them.
MODEL_DEPENDENT = ("POST /openai/v1/images/generations", "POST /openai/v1/images/edits")


def call_and_validate(case: schemathesis.Case, live: Live, seen: Counter[str], kept: requests.Session) -> None:
    seen[case.operation.label] += 1
    keep_valid(case)
    excluded = [negative_data_rejection] if case.operation.label in UNTYPED_FORMS else []
    if case.operation.label in MODEL_DEPENDENT:
        excluded.append(positive_data_acceptance)
    if seen[case.operation.label] > AUTH_PROBES:
        excluded.append(ignored_auth)
    case.call_and_validate(base_url=live.url, session=kept, timeout=30, excluded_checks=excluded)


def every_test(schema: schemathesis.BaseSchema) -> Iterator[tuple[schemathesis.APIOperation, Any]]:
    """Every operation's test, in the schema's order: reads with READ_SETTINGS, the rest with
    SETTINGS."""
    order = [result.ok().label for result in schema.get_all_operations()]
    built: list[tuple[schemathesis.APIOperation, Any]] = []
    for part, part_settings in ((schema.include(is_read_context), READ_SETTINGS),
                                (schema.exclude(is_read_context), SETTINGS)):
        for each in get_all_tests(schema=part, test_func=call_and_validate, settings=part_settings,
                                  given_kwargs=None):
            operation, test = each.ok()
            assert is_read(operation) == (part_settings is READ_SETTINGS), operation.label
            built.append((operation, test))
    by_label = {operation.label: (operation, test) for operation, test in built}
    assert len(built) == len(by_label) and sorted(by_label) == sorted(order), "every operation is tested once"
    for label in order:
        yield by_label[label]


def is_read_context(context: Any) -> bool:
    return is_read(context.operation)


def describe(error: BaseException) -> str:
    """The error and, for groups (check failures, Hypothesis' flaky reports), what is inside."""
    text = f"{type(error).__name__}: {error}"
    for inner in getattr(error, "exceptions", ()):
        text += "\n  " + describe(inner).replace("\n", "\n  ")
    return text


@pytest.mark.timeout(900)  # about a minute alone; a machine busy with other runs may take several
def test_every_operation_passes_every_default_check(live: Live) -> None:
    # The lazy `schemathesis.pytest.from_fixture(...).parametrize()` loader reads a node
    # attribute pytest 9 no longer has; this runs the very tests it would build (examples,
    # coverage and fuzzing phases per the schema's config), one operation after another.
    register_upload_types()
    schema = schemathesis.openapi.from_url(f"{live.url}/schema/openapi.json")
    schema.auth(refresh_interval=None)(live.auth())
    seen: Counter[str] = Counter()
    took: Counter[str] = Counter()
    failures: dict[str, str] = {}
    with session() as kept:
        for operation, test in every_test(schema):
            started = time.monotonic()
            try:
                test(live=live, seen=seen, kept=kept)
            except (Exception, BaseExceptionGroup) as error:  # every failing operation is reported
                failures[operation.label] = describe(error)
            took[operation.label] = time.monotonic() - started
    assert len(seen) == len(took), "every operation was called"
    slowest = ", ".join(f"{label} {seconds:.1f} s" for label, seconds in took.most_common(5))
    reads = sum(seconds for label, seconds in took.items() if label.startswith("GET ") or label.endswith(READ_POSTS))
    print(f"schemathesis: {len(seen)} operations, {sum(seen.values())} calls, {sum(took.values()):.1f} s "
          f"(reads {reads:.1f} s); slowest: {slowest}")
    assert not failures, "\n\n".join(f"{label}\n{detail}" for label, detail in failures.items())
