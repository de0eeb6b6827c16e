"""Remove people from rows: the one implementation behind opt-out at ingest, `ona erase` and
the checks that nothing about them is left. Each table declares how its columns hold
pseudonyms (`Table.person_columns`, schemas/__init__.py); this module applies that.
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from schemas import ARRAY_ELEMENT, ATTENDEE_ELEMENT, CONTAINS_TEXT, DROP_ROW, SET_NULL, Table


def _names(pseudonyms) -> list[str]:
    return sorted(set(pseudonyms))


def mentions(table: Table, pseudonyms) -> Column:
    """True for a row that names any of the pseudonyms in any person column."""
    names = _names(pseudonyms)
    listed = F.array(*[F.lit(p) for p in names])
    tests: list[Column] = []
    for column, how in table.person_columns:
        if how in (DROP_ROW, SET_NULL):
            tests.append(F.coalesce(F.col(column).isin(names), F.lit(False)))
        elif how == ARRAY_ELEMENT:
            tests.append(F.coalesce(F.arrays_overlap(F.col(column), listed), F.lit(False)))
        elif how == ATTENDEE_ELEMENT:
            tests.append(F.exists(F.col(column), lambda a: a["person"].isin(names)))
        elif how == CONTAINS_TEXT:
            tests.append(reduce(Column.__or__, [F.coalesce(F.col(column).contains(p), F.lit(False)) for p in names]))
        else:
            raise ValueError(f"{table.path}.{column}: unknown person column kind {how!r}")
    return reduce(Column.__or__, tests) if tests else F.lit(False)


def drops(table: Table, pseudonyms) -> Column:
    """True for a row that is about one of the people (it goes, not just their mention)."""
    names = _names(pseudonyms)
    tests = [F.coalesce(F.col(c).isin(names), F.lit(False)) for c, how in table.person_columns if how == DROP_ROW]
    tests += [F.coalesce(F.col(c).contains(p), F.lit(False))
              for c, how in table.person_columns if how == CONTAINS_TEXT for p in names]
    return reduce(Column.__or__, tests) if tests else F.lit(False)


def scrubbed_columns(table: Table, pseudonyms) -> dict[str, Column]:
    """{column: expression without the people} for the columns that only mention them."""
    names = _names(pseudonyms)
    out: dict[str, Column] = {}
    for column, how in table.person_columns:
        if how == SET_NULL:
            out[column] = F.when(~F.coalesce(F.col(column).isin(names), F.lit(False)), F.col(column))
        elif how == ARRAY_ELEMENT:
            out[column] = F.filter(F.col(column), lambda p: ~p.isin(names))
        elif how == ATTENDEE_ELEMENT:
            out[column] = F.filter(F.col(column), lambda a: ~a["person"].isin(names))
    return out


def scrub(df: DataFrame, table: Table, pseudonyms) -> DataFrame:
    """The rows without the people: rows about them dropped, their mentions removed."""
    if not pseudonyms or not table.person_columns:
        return df
    kept = df.where(~drops(table, pseudonyms))
    columns = scrubbed_columns(table, pseudonyms)
    return kept.withColumns(columns) if columns else kept
