"""What a test changed in its database, decided from exact signals: keep, reset some tables, or not.

A *signal* is whatever a dialect can read cheaply about each table (write counters, the table's id
in the catalog, its AUTO_INCREMENT, the stat of its definition file, ...). The baseline is read
when the database is ready for a test; after the test the signals are read again. A table whose
signals differ in any way changed; a table or object that appeared or vanished is a change of the
database as a whole. Where a dialect has no exact signal (or reading one fails) the verdict is
"unknown", which callers treat as "changed everything": a false "changed" costs time, a false
"unchanged" would break isolation and is never given. docs/how-it-works.md lists, per server,
which signals are exact for which kind of write, as seen on the live servers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

#: Per table: a tuple of values; equal tuples mean "no write, no DDL" for that table.
TableSignals = dict[str, tuple[object, ...]]


@dataclass(frozen=True)
class Signals:
    """One reading of a database's signals."""

    tables: TableSignals
    #: Objects that are not tables (views, triggers, routines, events): one value for all.
    objects: object = None
    #: Counters that say the signals themselves may have been lost (performance_schema's).
    lost: object = None


@dataclass(frozen=True)
class Verdict:
    """What the signals say about a database after a test."""

    unchanged: bool
    tables: frozenset[str] = field(default_factory=frozenset)  # changed tables, when known
    #: Why the database must be made afresh (None when keeping or resetting tables will do).
    whole: Optional[str] = None

    @property
    def reset_tables(self) -> bool:
        return not self.unchanged and self.whole is None


KEEP = Verdict(unchanged=True)


def whole(reason: str) -> Verdict:
    return Verdict(unchanged=False, whole=reason)


def compare(before: Signals, after: Signals) -> Verdict:
    """The verdict from two readings (the second taken after the test)."""
    if after.lost != before.lost:
        return whole("the server lost some of its counters (performance_schema is too small)")
    if set(after.tables) != set(before.tables):
        return whole("tables were created, dropped or renamed")
    if after.objects != before.objects:
        return whole("views, triggers, routines or events changed")
    changed = frozenset(t for t, now in after.tables.items() if now != before.tables[t])
    return KEEP if not changed else Verdict(unchanged=False, tables=changed)
