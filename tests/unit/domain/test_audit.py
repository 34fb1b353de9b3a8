"""Audit filters: each criterion narrows, and the time range is half-open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.audit import AuditEntry, AuditFilter

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ENTRY = AuditEntry(id="e1", at=NOW, actor_id="admin", action="job.create", resource_type="job", resource_id="j1")


def test_an_empty_filter_matches_everything() -> None:
    assert AuditFilter().matches(ENTRY)
    assert ENTRY.details == {}


@pytest.mark.parametrize(
    ("criteria", "matches"),
    [
        ({"actor_id": "admin"}, True),
        ({"actor_id": "someone"}, False),
        ({"action": "job.create"}, True),
        ({"action": "job.cancel"}, False),
        ({"resource_type": "job"}, True),
        ({"resource_type": "asset"}, False),
        ({"resource_id": "j1"}, True),
        ({"resource_id": "j2"}, False),
        ({"since": NOW}, True),
        ({"since": NOW + timedelta(seconds=1)}, False),
        ({"until": NOW + timedelta(seconds=1)}, True),
        ({"until": NOW}, False),
        ({"actor_id": "admin", "action": "job.cancel"}, False),
    ],
)
def test_each_criterion(criteria: dict[str, object], matches: bool) -> None:
    assert AuditFilter(**criteria).matches(ENTRY) is matches  # type: ignore[arg-type]


def test_system_entries_have_no_actor() -> None:
    system = AuditEntry(id="e2", at=NOW, actor_id=None, action="job.reap", resource_type="job", resource_id="j1")
    assert not AuditFilter(actor_id="admin").matches(system)
    assert AuditFilter(action="job.reap").matches(system)
