"""The feature files' vocabulary: every step of every scenario means exactly one thing.

pytest-bdd takes one of several matching step definitions without saying so, so an
ambiguous phrase would silently run the wrong step; and a phrase with no definition should
fail here, in one place, rather than mid-scenario.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_bdd.feature import get_features
from pytest_bdd.parser import Step
from pytest_bdd.steps import step_function_context_registry

FEATURES = Path(__file__).resolve().parents[2] / "features"


@pytest.fixture
def wiring() -> None:
    """This check only reads the feature files: it runs on no wiring."""


def every_step() -> Iterator[tuple[str, Step]]:
    for feature in get_features([str(FEATURES)]):
        for template in feature.scenarios.values():
            contexts = [c for examples in template.examples for c in examples.as_contexts()] or [{}]
            for context in contexts:
                scenario = template.render(context)
                for step in scenario.steps:
                    yield f"{feature.rel_filename}: {scenario.name}", step


def test_every_step_matches_exactly_one_definition() -> None:
    definitions = list(step_function_context_registry.values())
    problems = []
    steps = 0
    for where, step in every_step():
        steps += 1
        matching = [d for d in definitions
                    if d.type in (None, step.type) and d.parser.is_matching(step.name)]
        if len(matching) != 1:
            problems.append(f"{where}: {step.type} {step.name!r} matches {len(matching)} definitions: "
                            f"{[d.step_func.__name__ for d in matching]}")
    assert steps > 500 and problems == []
