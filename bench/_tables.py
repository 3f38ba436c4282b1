"""Seeding helper of the benchmarks: rows written straight into a service's table with COPY.

Not a benchmark itself (deploy/dev/bench.sh skips bench/ modules named "_*").
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable

import sqlalchemy as sa


def copy_rows(connection: sa.Connection, table: str, columns: str, rows: Iterable[tuple], where: str = "TRUE") -> int:
    """Add `rows` to `table` (COPY into a staging table, then one INSERT ... SELECT of the rows `where` holds for,
    in the rows' order, skipping what is there); how many were added."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])
    buffer.seek(0)
    cursor = connection.connection.cursor()
    cursor.execute(f"CREATE TEMPORARY TABLE staging_{table} ON COMMIT DROP AS "
                   f"SELECT {columns} FROM {table} WITH NO DATA")
    cursor.copy_expert(f"COPY staging_{table} ({columns}) FROM STDIN WITH (FORMAT csv)", buffer)
    return connection.exec_driver_sql(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM staging_{table} "
                                      f"WHERE {where} ON CONFLICT DO NOTHING").rowcount


def _csv_value(value) -> str:
    """A value as COPY's csv format reads it: NULL as an empty field, bytea as \\x hex."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)
