"""Hand-written statements for the hot path, built once at import and run as they are.

SQLAlchemy compiles a Core construct on every execution it cannot find in its cache, and even
a cache hit costs a key build; these statements are plain text, numbered for the driver
once, and handed to asyncpg itself (adapters/sql/autocommit.py), or run with
`exec_driver_sql` inside a transaction (no compilation at all; the driver keeps them
prepared per connection). Writes name their columns from adapters/sql/tables.py, with each
parameter cast to its column's type, so the text cannot drift from the schema.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Float, Integer, String, Table
from sqlalchemy.types import TypeEngine

from adapters.sql.tables import UtcDateTime

_NAME = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class Prepared:
    """`%(name)s` placeholders numbered `$1..$n` (asyncpg's style) once; `args` orders a
    mapping of values by them."""

    sql: str
    names: tuple[str, ...]

    @classmethod
    def numbered(cls, text: str) -> Prepared:
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"

        return cls(_NAME.sub(number, text), tuple(names))

    def args(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(values[name] for name in self.names)


def pg_type(column_type: TypeEngine[Any]) -> str:
    """The Postgres type a parameter for this column is cast to (JSON travels as text)."""
    if isinstance(column_type, UtcDateTime):
        return "timestamptz"
    if isinstance(column_type, JSON):
        return "text::jsonb"
    for python_type, name in ((Boolean, "boolean"), (BigInteger, "bigint"), (Integer, "int"),
                              (Float, "float8"), (Date, "date"), (String, "text")):
        if isinstance(column_type, python_type):
            return name
    raise TypeError(f"no parameter cast for {column_type!r}")


def insert_values(table: Table, prefix: str, columns: Sequence[str] | None = None) -> tuple[str, str]:
    """`(col, ...)` and `%(prefix_col)s::type, ...` for an INSERT ... SELECT of `table`."""
    names = list(columns) if columns is not None else [c.name for c in table.columns if c.name != "seq"]
    values = [f"%({prefix}_{name})s::{pg_type(table.c[name].type)}" for name in names]
    return ", ".join(names), ", ".join(values)
