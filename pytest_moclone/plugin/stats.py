"""What the run's summary reports; under xdist each worker sends its own to the controller."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Optional

from ..recycle import FRESH, KEPT, Ready


def plural(count: int, noun: str) -> str:
    """``1 clone``, ``2 clones``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def ms(seconds: float) -> str:
    """One format for every duration the summary prints: ``173.6 ms``, ``<0.1 ms``."""
    return "<0.1 ms" if seconds < 0.00005 else f"{seconds * 1000:.1f} ms"


def listed(names: list[str], limit: int = 5) -> str:
    return ", ".join(names[:limit]) + (
        f" and {len(names) - limit} more" if len(names) > limit else ""
    )


@dataclass
class Stats:
    """What the summary reports; under xdist each worker sends its own to the controller."""

    clone_seconds: list[tuple[float, str]] = field(default_factory=list)  # (seconds, test id)
    wait_seconds: list[float] = field(default_factory=list)
    golden_seconds: Optional[float] = None
    server_seconds: Optional[float] = None
    server_description: Optional[str] = None
    #: What killed runs left, cleaned up by this run.
    reaped: list[str] = field(default_factory=list)
    #: What earlier runs kept on purpose (--mo-keep-failed), dropped by this run as promised.
    dropped_kept: list[str] = field(default_factory=list)
    #: The server an earlier run kept running for its kept databases, stopped by this run.
    stopped_kept: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    #: A golden reused from an earlier run (--mo-reuse): its name and when it was built.
    golden_reused: Optional[str] = None
    #: How each test's database was made ready, and what that cost: ("fresh clone", seconds),
    #: ("kept", seconds), ("reset 2 tables", seconds). Fresh ones also go to clone_seconds.
    ready: list[tuple[str, float, str]] = field(default_factory=list)  # (how, seconds, test id)
    #: Connections tests left open on their databases, ended before the next test.
    ended: int = 0
    #: mo_txn_db tests: rolled back as given, and those that had ended their transaction.
    rolled_back: int = 0
    txn_ended: int = 0
    #: (test id, connections): tests that left connections open on their database, ended
    #: before it was dropped or recycled.
    left_open: list[tuple[str, int]] = field(default_factory=list)

    def record_ending(self, rolled_back: bool) -> None:
        if rolled_back:
            self.rolled_back += 1
        else:
            self.txn_ended += 1

    def record_ready(self, ready: Ready, test_id: str, *, for_one_test: bool = True) -> None:
        """How a database was made ready; ``mo_worker_db``'s is a clone but serves many tests,
        so it is not counted among the tests' databases."""
        if for_one_test:
            self.ready.append((ready.how, ready.seconds, test_id))
        self.ended += ready.ended
        if ready.how == FRESH:
            self.clone_seconds.append((ready.seconds, test_id))

    def to_dict(self) -> dict[str, Any]:
        return {
            "clone_seconds": self.clone_seconds,
            "wait_seconds": self.wait_seconds,
            "golden_seconds": self.golden_seconds,
            "server_seconds": self.server_seconds,
            "server_description": self.server_description,
            "reaped": self.reaped,
            "dropped_kept": self.dropped_kept,
            "stopped_kept": self.stopped_kept,
            "kept": self.kept,
            "golden_reused": self.golden_reused,
            "ready": self.ready,
            "ended": self.ended,
            "rolled_back": self.rolled_back,
            "txn_ended": self.txn_ended,
            "left_open": self.left_open,
        }

    def merge(self, other: dict[str, Any]) -> None:
        self.clone_seconds += [(float(s), str(t)) for s, t in other.get("clone_seconds", [])]
        self.wait_seconds += [float(s) for s in other.get("wait_seconds", [])]
        for name in ("golden_seconds", "server_seconds", "server_description", "golden_reused"):
            if getattr(self, name) is None and other.get(name) is not None:
                setattr(self, name, other[name])
        for name in ("reaped", "dropped_kept", "stopped_kept"):
            getattr(self, name).extend(str(x) for x in other.get(name, []))
        self.kept += list(other.get("kept", []))
        self.ready += [(str(h), float(s), str(t)) for h, s, t in other.get("ready", [])]
        self.ended += int(other.get("ended", 0))
        self.rolled_back += int(other.get("rolled_back", 0))
        self.txn_ended += int(other.get("txn_ended", 0))
        self.left_open += [(str(t), int(n)) for t, n in other.get("left_open", [])]

    def readiness_lines(self) -> list[str]:
        """How tests' databases were made ready: kept, some tables reset, or a fresh clone."""
        recycled = [h for h, _, _ in self.ready if h != FRESH]
        if not recycled and not (self.rolled_back or self.txn_ended):
            return []
        kinds: dict[str, list[float]] = {}
        tables = 0
        for how, seconds, _ in self.ready:
            kind = "with tables reset" if how.startswith("reset") else how
            kinds.setdefault(kind, []).append(seconds)
            if how.startswith("reset"):
                tables += int(how.split()[1])
        parts = []
        for kind in (FRESH, KEPT, "with tables reset"):
            if kind in kinds:
                times = kinds[kind]
                label = plural(len(times), kind) if kind == FRESH else f"{len(times)} {kind}"
                extra = f", {plural(tables, 'table')} in all" if kind.startswith("with") else ""
                parts.append(f"{label} (median {ms(statistics.median(times))}{extra})")
        tests = len({test for _, _, test in self.ready})  # a test may take several
        count = "" if tests == len(self.ready) else f"{len(self.ready)} "
        lines = [f"{count}databases for {plural(tests, 'test')}: " + ", ".join(parts)]
        if self.rolled_back or self.txn_ended:
            ended = (
                f", {self.txn_ended} ended their transaction themselves (databases checked and "
                "reset, or made afresh)"
                if self.txn_ended
                else ""
            )
            lines.append(f"mo_txn_db: {plural(self.rolled_back, 'test')} rolled back{ended}")
        if self.ended:
            lines.append(
                f"ended {plural(self.ended, 'connection')} that tests left open on their databases"
            )
        return lines

    def summary_lines(self) -> list[str]:
        lines = []
        if self.server_description:
            started = (
                f", started in {self.server_seconds:.1f} s"
                if self.server_seconds is not None
                else ""
            )
            lines.append(f"server: {self.server_description}{started}")
        if self.golden_seconds is not None:
            lines.append(f"golden built in {self.golden_seconds:.2f} s")
        elif self.golden_reused is not None:
            lines.append(f"golden reused (--mo-reuse): {self.golden_reused}")
        if self.clone_seconds:
            times = sorted(self.clone_seconds)
            slowest, where = times[-1]
            lines.append(
                f"{plural(len(times), 'clone')} made: median "
                f"{ms(statistics.median(s for s, _ in times))}, slowest {ms(slowest)} ({where})"
            )
        lines += self.readiness_lines()
        if self.wait_seconds:
            waits = sorted(self.wait_seconds)
            lines.append(
                f"tests waited for their database: median {ms(statistics.median(waits))}, "
                f"slowest {ms(waits[-1])}"
            )
        lines += self.cleanup_lines()
        return lines

    def cleanup_lines(self) -> list[str]:
        """What this run cleaned up for earlier ones: kept on purpose, or left by a killed run."""
        lines = []
        if self.dropped_kept:
            lines.append(
                f"dropped {plural(len(self.dropped_kept), 'database')} an earlier run kept for "
                f"its failed tests (--mo-keep-failed): {listed(self.dropped_kept)}"
            )
        if self.stopped_kept:
            lines.append(
                "stopped the private server an earlier run kept up for its failed tests' "
                f"databases: {listed(self.stopped_kept)}"
            )
        if self.left_open:
            shown = ", ".join(f"{t} ({n})" for t, n in self.left_open[:5])
            more = " ..." if len(self.left_open) > 5 else ""
            lines.append(
                f"{plural(len(self.left_open), 'test')} left connections open on their "
                f"database (ended before it was dropped or reused; close them in the test): "
                f"{shown}{more}"
            )
        if self.reaped:
            runs = "a killed run" if len(self.reaped) == 1 else "killed runs"
            lines.append(
                f"cleaned up {plural(len(self.reaped), 'leftover')} of {runs}: "
                + listed(self.reaped)
            )
        return lines
