"""Every state change is `msgspec.structs.replace(...)` on a frozen domain value, and the values
check themselves in `__post_init__`. msgspec 0.19 and 0.20 skip `__post_init__` on replace, so a
change could produce a value that construction would refuse: pixrelay needs msgspec >= 0.21.1."""

from __future__ import annotations

from importlib.metadata import version

import msgspec
import pytest

from tests.unit.domain.test_jobs import make_job


def test_replace_runs_the_value_checks() -> None:
    job = make_job()
    with pytest.raises(ValueError, match="priority"):
        msgspec.structs.replace(job, priority=99)
    with pytest.raises(ValueError, match="cannot be negative"):
        msgspec.structs.replace(job, attempts=-1)


def test_the_installed_msgspec_is_one_that_runs_them() -> None:
    installed = tuple(int(part) for part in version("msgspec").split(".")[:3])
    assert installed >= (0, 21, 1), version("msgspec")
