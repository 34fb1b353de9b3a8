"""Thousands of random steps per seed; a failure names its seed and step, and replays exactly:
`PIXRELAY_SIM_SEEDS=<seed> PIXRELAY_SIM_STEPS=<steps> pytest tests/simulation`.

Each seed prints its steps per second (wall and CPU: the machine may be shared)."""

from __future__ import annotations

import os

import msgspec
import pytest

from adapters.memory.users import InMemoryUserRepository
from tests.simulation.harness import World, full_check_steps, run_simulation

SEEDS = [int(s) for s in os.environ.get("PIXRELAY_SIM_SEEDS", "1,2,3").split(",")]
STEPS = int(os.environ.get("PIXRELAY_SIM_STEPS", "20000"))


@pytest.mark.timeout(max(300, STEPS // 50))  # 50,000 steps: 1000 s, room for a busy machine
@pytest.mark.parametrize("seed", SEEDS)
def test_invariants_hold_under_random_interleavings(seed: int, capsys: pytest.CaptureFixture[str]) -> None:
    world = run_simulation(seed, STEPS)
    with capsys.disabled():
        print(f"\nsimulation seed {seed}: {STEPS} steps in {world.seconds:.1f} s "
              f"({STEPS / world.seconds:.0f} steps/s; CPU {world.cpu_seconds:.1f} s, "
              f"{STEPS / max(world.cpu_seconds, 1e-9):.0f} steps/s of CPU), {len(world.history)} jobs, "
              f"{world.counts['full_checks']} full checks")
    # The run must have exercised the dangerous paths, or it proves little.
    assert world.counts["crashed"] > 0 and world.counts["abandoned"] > 0
    assert world.counts["create.ok"] > 50 and world.counts["cancel"] > 0
    statuses = set(world.history.values())
    assert {"completed", "failed", "cancelled"} <= {str(s) for s in statuses}
    assert world.counts["full_checks"] == len(full_check_steps(STEPS))


def test_a_seed_replays_exactly() -> None:
    first, second = run_simulation(7, 400), run_simulation(7, 400)
    assert first.history == second.history and first.counts == second.counts


def test_full_checks_are_a_fixed_number_per_run() -> None:
    assert len(full_check_steps(50_000)) == 20 and max(full_check_steps(50_000)) == 49_999
    assert len(full_check_steps(20_000)) == 20 and len(full_check_steps(7)) == 7


# ------------------------------------------------------------------ the checks can fail


def test_a_corrupted_tally_fails_the_run_at_the_next_full_check() -> None:
    """A tally no step check looks at (an account that does not exist) is still compared
    with the store when everything is derived again: the run fails there, naming seed and step."""
    def corrupt(world: World, step: int) -> None:
        if step == 150:
            world.tallies.held["no-such-account"] += 1

    with pytest.raises(AssertionError, match=r"seed 5 step 159 .*running tally 'held' disagrees"):
        run_simulation(5, 400, before_step=corrupt)


def test_a_corrupted_tally_of_a_live_account_fails_the_run() -> None:
    def corrupt(world: World, step: int) -> None:
        if step == 150:
            world.tallies.running[world.users[0].user_id] += 1

    with pytest.raises(AssertionError, match=r"seed 5 step 1[5-9]\d .*running"):
        run_simulation(5, 400, before_step=corrupt)


def test_a_leak_the_step_checks_cannot_see_is_caught_by_a_full_check() -> None:
    """A write outside any transaction (so no step is told about it) that leaks an account
    slot: the next derivation from scratch finds it."""
    leaked = False

    def leak(world: World, step: int) -> None:
        nonlocal leaked
        roomy = [a for a in world.state.accounts.values() if a.current_jobs < a.max_concurrent_jobs]
        if step >= 250 and not leaked and roomy:  # a slot an account has room for
            leaked = True
            world.state.accounts[roomy[0].id] = msgspec.structs.replace(
                roomy[0], current_jobs=roomy[0].current_jobs + 1)

    with pytest.raises(AssertionError, match=r"seed 5 step 2\d\d .*current_jobs"):
        run_simulation(5, 400, before_step=leak)


def test_a_product_bug_is_caught_by_the_step_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run slot that the pipeline forgets to give back once is reported at the step it happens
    (with one full check, at the end, only the step checks can catch it before)."""
    original = InMemoryUserRepository.release_run_slot
    calls = 0

    async def forgetful(self: InMemoryUserRepository, user_id: str) -> None:
        nonlocal calls
        calls += 1
        if calls != 40:
            await original(self, user_id)

    monkeypatch.setattr(InMemoryUserRepository, "release_run_slot", forgetful)
    with pytest.raises(AssertionError, match=r"seed 5 step \d+ .*running_jobs="):
        run_simulation(5, 2000, full_checks=1)


# ------------------------------------------------------------------ the same world on SQLite

SQLITE_SEEDS = [int(s) for s in os.environ.get("PIXRELAY_SIM_SQLITE_SEEDS", "11").split(",")]
SQLITE_STEPS = int(os.environ.get("PIXRELAY_SIM_SQLITE_STEPS", "400"))


@pytest.mark.parametrize("seed", SQLITE_SEEDS)
def test_invariants_hold_on_sqlite(seed: int, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The SQL adapters under the same random interleavings: fewer steps, because each step
    reads the whole store back to see what changed."""
    world = run_simulation(seed, SQLITE_STEPS, database_url=sqlite_url)
    with capsys.disabled():
        print(f"\nsimulation on SQLite, seed {seed}: {SQLITE_STEPS} steps in {world.seconds:.1f} s "
              f"({SQLITE_STEPS / world.seconds:.0f} steps/s), {len(world.history)} jobs")
    assert world.counts["crashed"] > 0 and world.counts["cancel"] > 0
    assert {"completed", "failed", "cancelled"} <= {str(s) for s in world.history.values()}
