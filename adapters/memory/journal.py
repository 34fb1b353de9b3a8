"""Tables that remember what a transaction overwrote, so a rollback costs what was written,
not the size of the store; with secondary indexes kept exact through writes and rollbacks.

A `Journal` is shared by every table of one store. While a transaction is open it records
(table, key, previous value) for each write; `rollback()` replays them backwards and
`commit()` forgets them. Writes made outside a transaction (tests seeding a store directly)
are not recorded. A store can also be asked which keys committed transactions changed
(`Journal.watch()`): the simulation checks exactly those after each step.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any, SupportsIndex, TypeVar

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")

_MISSING: Any = object()


class Journal:
    def __init__(self) -> None:
        self._undo: list[tuple[Table[Any, Any] | Rows[Any], Any, Any]] | None = None
        self._changed: dict[str, set[Any]] | None = None

    @property
    def active(self) -> bool:
        return self._undo is not None

    def begin(self) -> None:
        self._undo = []

    def record(self, table: Table[Any, Any] | Rows[Any], key: Any, previous: Any) -> None:
        if self._undo is not None:
            self._undo.append((table, key, previous))

    def commit(self) -> None:
        if self._changed is not None and self._undo:
            for table, key, _ in self._undo:
                self._changed.setdefault(table.name, set()).add(key)
        self._undo = [] if self._undo is not None else None

    def rollback(self) -> None:
        undo, self._undo = self._undo or [], None  # the replay itself is not recorded
        for table, key, previous in reversed(undo):
            table._undo(key, previous)
        self._undo = []

    def end(self) -> None:
        self.rollback()
        self._undo = None

    def watch(self) -> None:
        """From now on, remember the keys each table's committed writes touched."""
        self._changed = {}

    def take_changes(self) -> dict[str, set[Any]]:
        """The keys changed by transactions committed since the last call, per table name
        (for `Rows`, the positions appended)."""
        changed, self._changed = self._changed or {}, {}
        return changed


class Index:
    """Rows grouped by a key computed from each value; values whose key is None are left out.
    Each group keeps the current values, in the order their rows joined it."""

    def __init__(self, key: Callable[[Any], Hashable | None]) -> None:
        self.key = key
        self.groups: dict[Hashable, dict[Any, Any]] = {}

    def move(self, row: Any, old: Any, new: Any) -> None:
        before = self.key(old) if old is not _MISSING else None
        after = self.key(new) if new is not _MISSING else None
        if before is not None and before != after:
            group = self.groups[before]
            del group[row]
            if not group:
                del self.groups[before]
        if after is not None:
            self.groups.setdefault(after, {})[row] = new

    def get(self, key: Hashable) -> list[Any]:
        group = self.groups.get(key)
        return list(group.values()) if group else []


class Table(dict[K, V]):
    """A dict whose writes are journaled and whose indexes follow every write."""

    def __init__(self, name: str, journal: Journal, rows: Iterable[tuple[K, V]] = ()) -> None:
        super().__init__()
        self.name = name
        self._journal = journal
        self._indexes: dict[str, Index] = {}
        for key, value in rows:
            self[key] = value

    def add_index(self, name: str, key: Callable[[V], Hashable | None]) -> None:
        index = Index(key)
        for row, value in self.items():
            index.move(row, _MISSING, value)
        self._indexes[name] = index

    def indexed(self, name: str, key: Hashable) -> list[V]:
        """The values whose index `name` gives `key`, in the order they got that key."""
        return self._indexes[name].get(key)

    def _write(self, key: K, value: V) -> None:
        previous = dict.get(self, key, _MISSING)
        self._journal.record(self, key, previous)
        for index in self._indexes.values():
            index.move(key, previous, value)
        if value is _MISSING:
            dict.__delitem__(self, key)
        else:
            dict.__setitem__(self, key, value)

    def _undo(self, key: K, previous: V) -> None:
        self._write(key, previous)

    def __setitem__(self, key: K, value: V) -> None:
        self._write(key, value)

    def __delitem__(self, key: K) -> None:
        if key not in self:
            raise KeyError(key)
        self._write(key, _MISSING)

    def pop(self, key: K, default: Any = _MISSING) -> Any:
        if key in self:
            value = dict.__getitem__(self, key)
            self._write(key, _MISSING)
            return value
        if default is _MISSING:
            raise KeyError(key)
        return default

    def setdefault(self, key: K, default: Any = None) -> Any:
        if key not in self:
            self._write(key, default)
        return dict.__getitem__(self, key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self._write(key, value)

    def clear(self) -> None:
        for key in list(self):
            self._write(key, _MISSING)

    def popitem(self) -> tuple[K, V]:
        key = next(reversed(self.keys()))
        return key, self.pop(key)

    def __copy__(self) -> dict[K, V]:
        return dict(self)

    def __ior__(self, other: Any) -> Table[K, V]:  # type: ignore[override,misc]
        self.update(other)
        return self


class Rows(list[T]):
    """An append-only list (the ledger, the audit trail) whose appends a rollback takes back."""

    def __init__(self, name: str, journal: Journal, items: Iterable[T] = ()) -> None:
        super().__init__(items)
        self.name = name
        self._journal = journal

    def append(self, item: T) -> None:
        self._journal.record(self, len(self), _MISSING)
        list.append(self, item)

    def extend(self, items: Iterable[T]) -> None:
        for item in items:
            self.append(item)

    def _undo(self, position: int, previous: Any) -> None:
        if previous is _MISSING:
            list.__delitem__(self, slice(position, None))
        else:
            list.__setitem__(self, slice(None), previous)

    def _rewrite(self) -> None:
        """Anything but an append: remember the whole list (rare, tests only)."""
        self._journal.record(self, 0, list(self))

    def __setitem__(self, index: Any, value: Any) -> None:
        self._rewrite()
        list.__setitem__(self, index, value)

    def __delitem__(self, index: SupportsIndex | slice) -> None:
        self._rewrite()
        list.__delitem__(self, index)

    def insert(self, index: SupportsIndex, item: T) -> None:
        self._rewrite()
        list.insert(self, index, item)

    def pop(self, index: SupportsIndex = -1) -> T:
        self._rewrite()
        return list.pop(self, index)

    def remove(self, item: T) -> None:
        self._rewrite()
        list.remove(self, item)

    def clear(self) -> None:
        self._rewrite()
        list.clear(self)

    def __copy__(self) -> list[T]:
        return list(self)
