"""Bulk writes for the hot paths (the sweep, usage collection): many rows, one statement.

Django's ``bulk_update`` writes ``UPDATE t SET f = CASE WHEN pk = … THEN … END … WHERE pk IN
(…)``: it builds a ``Case(When(pk=…))`` expression for every object and field, and the
database then searches the CASE branches for every row (quadratic in the batch). Measured on a
5,000-service chunk that cost more than probing the 5,000 services. Here:

- ``rows_update`` writes ``UPDATE t SET f = v.f FROM (VALUES (…), (…)) AS v WHERE t.pk = v.pk``:
  one join, linear in the rows;
- ``rows_upsert`` writes ``INSERT … VALUES (…), (…) ON CONFLICT (…) DO UPDATE SET f =
  excluded.f``: rows created or overwritten by one statement, without reading which exist;
- ``rows_insert`` writes new rows from plain objects, without a model instance per row
  (``bulk_create`` builds one, and prepares every value of every row): ``COPY … FROM STDIN``
  on PostgreSQL, ``INSERT … VALUES (…), (…)`` elsewhere.

Values go through each field's ``get_db_prep_save``, so JSON, datetimes and time zones are
handled by Django exactly as in ``bulk_update``; on PostgreSQL every value is cast to its
column's type, as Django does there (COPY reads each as its column's type). All run on SQLite
(3.33 or later) and PostgreSQL. Like ``bulk_update`` they do not touch ``auto_now`` fields and
send no signals. The objects may be model instances or any objects with a ``pk``
(``rows_insert``: none needed) and the fields' attributes (a foreign key's by its attname,
``statement_id``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from django.db import connections, router
from django.db.models import Model


def _max_params(connection) -> int:
    if connection.vendor == "sqlite":
        # Django assumes SQLite's old limit of 999; the library in use says what it allows.
        connection.ensure_connection()
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return getattr(connection.features, "max_query_params", None) or 30_000


def _rows_per_statement(connection, columns: int, wanted: int) -> int:
    return max(1, min(wanted, (_max_params(connection) - 1) // columns))


def _placeholder(connection, field) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(%s AS {field.db_type(connection)})"
    return "%s"


class _Preparer:
    """Prepares the values of rows for the database, column by column.

    Rows of a chunk share most values (the same moment, state, reason): each distinct
    hashable value of a column is prepared once.
    """

    def __init__(self, connection, columns: list) -> None:
        self._connection = connection
        self._columns = columns
        self._attnames = [field.attname for field in columns]
        self._prepared: list[dict] = [{} for _ in columns]

    def row(self, obj: Any, into: list) -> None:
        """Append ``obj``'s prepared values to ``into``."""
        connection = self._connection
        for field, attname, cache in zip(
            self._columns, self._attnames, self._prepared, strict=True
        ):
            value = obj.pk if attname == "pk" else getattr(obj, attname)
            try:
                key = (type(value), value)
                into.append(cache[key])
            except KeyError:
                into.append(cache.setdefault(key, field.get_db_prep_save(value, connection)))
            except TypeError:  # unhashable (a dict for a JSON column)
                into.append(field.get_db_prep_save(value, connection))


def _write(connection, *, columns: list, objects: Sequence[Any], batch_size: int, statement) -> int:
    """Run ``statement(values_sql)`` for each batch of rows; the number of rows it touched."""
    size = _rows_per_statement(connection, len(columns), batch_size)
    row = "(" + ", ".join(_placeholder(connection, field) for field in columns) + ")"
    preparer = _Preparer(connection, columns)
    written = 0
    for start in range(0, len(objects), size):
        batch = objects[start : start + size]
        params: list = []
        for obj in batch:
            preparer.row(obj, params)
        with connection.cursor() as cursor:
            cursor.execute(statement(", ".join([row] * len(batch))), params)
            written += cursor.rowcount
    return written


def _copy(connection, *, table: str, columns: list, objects: Sequence[Any]) -> int:
    """PostgreSQL's ``COPY … FROM STDIN``: the rows streamed, one statement whatever their number.

    An ``INSERT … VALUES`` of 20,000 rows of seven columns spends most of its time in psycopg
    turning 140,000 placeholders into PostgreSQL's; COPY has none.
    """
    names = ", ".join(connection.ops.quote_name(field.column) for field in columns)
    preparer = _Preparer(connection, columns)
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for obj in objects:
            values: list = []
            preparer.row(obj, values)
            copy.write_row(values)
    return len(objects)


def rows_update(
    *,
    objects: Sequence[Any],
    fields: Sequence[str],
    model: type[Model] | None = None,
    batch_size: int = 2000,
) -> int:
    """Write ``fields`` of every object to its row (found by ``pk``); the rows updated.

    ``model`` defaults to the class of the first object.
    """
    if not objects or not fields:
        return 0
    model = model or type(objects[0])
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    pk_field = meta.pk
    columns = [meta.get_field(name) for name in fields]
    table, pk_column = quote(meta.db_table), quote(pk_field.column)
    # VALUES names its columns column1, column2, … on SQLite; PostgreSQL is told the same names.
    aliases = [f"column{number}" for number in range(1, len(columns) + 2)]
    declared = f"({', '.join(aliases)})" if connection.vendor == "postgresql" else ""
    assignments = ", ".join(
        f"{quote(field.column)} = v.{alias}"
        for field, alias in zip(columns, aliases[1:], strict=True)
    )
    # The pk is the first column; ``_write`` reads it from ``obj.pk``.
    pk_like = _PkColumn(pk_field)

    def statement(values: str) -> str:
        # Only quoted identifiers from the model's metadata are formatted in; values are params.
        return (
            f"UPDATE {table} SET {assignments} "  # noqa: S608
            f"FROM (VALUES {values}) AS v{declared} WHERE {table}.{pk_column} = v.column1"
        )

    return _write(
        connection,
        columns=[pk_like, *columns],
        objects=objects,
        batch_size=batch_size,
        statement=statement,
    )


def rows_upsert(
    *,
    model: type[Model],
    objects: Sequence[Any],
    unique_fields: Sequence[str],
    fields: Sequence[str],
    batch_size: int = 2000,
) -> int:
    """Insert a row per object, or overwrite ``fields`` of the row with its ``unique_fields``.

    ``unique_fields`` must be covered by a unique constraint. Every column without a default
    must be among the fields. Returns the number of rows written.
    """
    if not objects:
        return 0
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    keys = [meta.get_field(name) for name in unique_fields]
    columns = [meta.get_field(name) for name in fields]
    table = quote(meta.db_table)
    names = ", ".join(quote(field.column) for field in [*keys, *columns])
    conflict = ", ".join(quote(field.column) for field in keys)
    updates = ", ".join(f"{quote(f.column)} = excluded.{quote(f.column)}" for f in columns)

    def statement(values: str) -> str:
        return (
            f"INSERT INTO {table} ({names}) VALUES {values} "  # noqa: S608
            f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
        )

    return _write(
        connection,
        columns=[*keys, *columns],
        objects=objects,
        batch_size=batch_size,
        statement=statement,
    )


def rows_insert(
    *,
    model: type[Model],
    objects: Sequence[Any],
    fields: Sequence[str],
    batch_size: int = 2000,
) -> int:
    """Insert a row per object with ``fields``; the rows inserted. Primary keys are not read back.

    Every column without a database default must be among the fields (a model field's
    ``default`` is not applied here, nor ``auto_now``). On PostgreSQL the rows go in with one
    ``COPY``; elsewhere ``batch_size`` rows per ``INSERT``.
    """
    if not objects:
        return 0
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    table = quote(meta.db_table)
    if connection.vendor == "postgresql":
        return _copy(connection, table=table, columns=columns, objects=objects)
    names = ", ".join(quote(field.column) for field in columns)

    def statement(values: str) -> str:
        # Only quoted identifiers from the model's metadata are formatted in; values are params.
        return f"INSERT INTO {table} ({names}) VALUES {values}"  # noqa: S608

    return _write(
        connection, columns=columns, objects=objects, batch_size=batch_size, statement=statement
    )


class _PkColumn:
    """The primary key as a column of ``_write``: read from ``obj.pk``, prepared as the pk."""

    attname = "pk"

    def __init__(self, field) -> None:
        self._field = field

    def get_db_prep_save(self, value, connection):
        return self._field.get_db_prep_value(value, connection)

    def db_type(self, connection) -> str:
        return self._field.rel_db_type(connection)
