"""The HTTP layer looks each of the container's singletons up in punq once per app."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import punq

from entrypoints.http.deps import resolved


class _Counted(punq.Container):
    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    def resolve(self, service_key: Any, **kwargs: Any) -> Any:
        self.lookups += 1
        return super().resolve(service_key, **kwargs)


class _Service:
    pass


def _connection(container: punq.Container) -> Any:
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(container=container)))


def test_a_singleton_is_resolved_once_per_container_and_apps_do_not_share_it() -> None:
    first, second = _Counted(), _Counted()
    for container in (first, second):
        container.register(_Service, scope=punq.Scope.singleton)
    a = resolved(_connection(first), _Service)
    assert resolved(_connection(first), _Service) is a
    assert first.lookups == 1
    b = resolved(_connection(second), _Service)
    assert b is not a and second.lookups == 1
