"""Thousands of random steps per seed; a failure names its seed and step, and replays exactly:
`PIXRELAY_SIM_SEEDS=<seed> pytest tests/simulation`."""

from __future__ import annotations

import os

import pytest

from tests.simulation.harness import run_simulation

SEEDS = [int(s) for s in os.environ.get("PIXRELAY_SIM_SEEDS", "1,2,3").split(",")]
STEPS = int(os.environ.get("PIXRELAY_SIM_STEPS", "10000"))


@pytest.mark.parametrize("seed", SEEDS)
def test_invariants_hold_under_random_interleavings(seed: int) -> None:
    world = run_simulation(seed, STEPS)
    # The run must have exercised the dangerous paths, or it proves little.
    assert world.counts["crashed"] > 0 and world.counts["abandoned"] > 0
    assert world.counts["create.ok"] > 50 and world.counts["cancel"] > 0
    statuses = set(world.history.values())
    assert {"completed", "failed", "cancelled"} <= {str(s) for s in statuses}


def test_a_seed_replays_exactly() -> None:
    first, second = run_simulation(7, 400), run_simulation(7, 400)
    assert first.history == second.history and first.counts == second.counts
