"""Acceptance specs (features/*.feature): one event loop and one wiring per scenario.

pytest-bdd has no async steps, so every scenario gets one `asyncio.Runner` and the steps call
`runner.run(...)`; the wiring is opened and closed inside that same loop. The step modules
are imported here (not listed in `pytest_plugins`, which pytest only honours in the
top-level conftest) so that their step fixtures reach every scenario module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

STEP_MODULES = ("steps_accounts", "steps_admin", "steps_api_keys", "steps_assets", "steps_billing", "steps_auth",
                "steps_common", "steps_jobs", "steps_jobs_more", "steps_models", "steps_password", "steps_providers",
                "steps_recovery", "steps_routing", "steps_webhooks", "support")
# before the imports below: failed checks in steps then say what they compared
pytest.register_assert_rewrite(*(f"tests.acceptance.{name}" for name in STEP_MODULES))

from tests.acceptance.steps_accounts import *  # noqa: E402, F403
from tests.acceptance.steps_admin import *  # noqa: E402, F403
from tests.acceptance.steps_api_keys import *  # noqa: E402, F403
from tests.acceptance.steps_assets import *  # noqa: E402, F403
from tests.acceptance.steps_auth import *  # noqa: E402, F403
from tests.acceptance.steps_billing import *  # noqa: E402, F403
from tests.acceptance.steps_common import *  # noqa: E402, F403
from tests.acceptance.steps_jobs import *  # noqa: E402, F403
from tests.acceptance.steps_jobs_more import *  # noqa: E402, F403
from tests.acceptance.steps_models import *  # noqa: E402, F403
from tests.acceptance.steps_password import *  # noqa: E402, F403
from tests.acceptance.steps_providers import *  # noqa: E402, F403
from tests.acceptance.steps_recovery import *  # noqa: E402, F403
from tests.acceptance.steps_routing import *  # noqa: E402, F403
from tests.acceptance.steps_webhooks import *  # noqa: E402, F403
from tests.acceptance.wirings import WIRINGS, make_wiring  # noqa: E402
from tests.support.wiring import Wiring  # noqa: E402


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as scenario_loop:
        yield scenario_loop


@pytest.fixture(params=WIRINGS)
def wiring(request: pytest.FixtureRequest, runner: asyncio.Runner) -> Iterator[Wiring]:
    """The adapters the scenario runs on, opened and closed in the scenario's own loop."""
    manager = make_wiring(request.param, request)
    wired = runner.run(manager.__aenter__())
    try:
        yield wired
    finally:
        runner.run(manager.__aexit__(None, None, None))


@pytest.fixture(autouse=True)
def _on_every_wiring(wiring: Wiring) -> None:
    """Steps ask for `wiring` only when they run; asking here at collection time is what
    makes every scenario run once per wiring in WIRINGS."""
