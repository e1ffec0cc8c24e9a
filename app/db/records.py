"""Typed records from rows: the one way a query turns an asyncpg row into a frozen dataclass."""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias, TypeVar

import asyncpg

R = TypeVar("R")
Row: TypeAlias = "asyncpg.Record | Mapping[str, Any]"
Convert = Callable[[Any], Any] | None
_FIELDS: dict[type[Any], tuple[tuple[str, Convert], ...]] = {}


def _fields(cls: type[Any]) -> tuple[tuple[str, Convert], ...]:
    """Each field's name, and the enum that a text column must become (statuses are enums)."""
    known = _FIELDS.get(cls)
    if known is not None:
        return known
    hints = typing.get_type_hints(cls)
    fields: list[tuple[str, Convert]] = []
    for field in dataclasses.fields(cls):
        hint = hints[field.name]
        options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        enums = [o for o in options if isinstance(o, type) and issubclass(o, enum.Enum)]
        fields.append((field.name, enums[0] if enums else None))
    _FIELDS[cls] = tuple(fields)
    return _FIELDS[cls]


def from_row(cls: type[R], row: Row | None) -> R:
    """Build `cls` from the row's columns of the same names (other columns are ignored).

    For statements that always return a row (INSERT … RETURNING, an existing id); a missing
    row is a bug, not an answer."""
    if row is None:
        raise LookupError(f"the query for a {cls.__name__} returned no row")
    values = {}
    for name, convert in _fields(cls):
        value = row[name]
        values[name] = convert(value) if convert is not None and value is not None else value
    return cls(**values)


def from_rows(cls: type[R], rows: Iterable[Row]) -> list[R]:
    return [from_row(cls, row) for row in rows]


def one(row: asyncpg.Record | None) -> asyncpg.Record:
    """The row a statement must return (INSERT … RETURNING, an aggregate)."""
    if row is None:
        raise LookupError("the statement returned no row")
    return row


def maybe(cls: type[R], row: Row | None) -> R | None:
    """from_row, or None when the query found nothing."""
    return None if row is None else from_row(cls, row)
