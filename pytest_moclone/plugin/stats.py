"""What the run's summary reports; under xdist each worker sends its own to the controller."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Optional

from ..recycle import FRESH, KEPT, Ready


def plural(count: int, noun: str) -> str:
    """``1 clone``, ``2 clones``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


@dataclass
class Stats:
    """What the summary reports; under xdist each worker sends its own to the controller."""

    clone_seconds: list[tuple[float, str]] = field(default_factory=list)  # (seconds, test id)
    wait_seconds: list[float] = field(default_factory=list)
    golden_seconds: Optional[float] = None
    server_seconds: Optional[float] = None
    server_description: Optional[str] = None
    reaped: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    #: How each test's database was made ready, and what that cost: ("fresh clone", seconds),
    #: ("kept", seconds), ("reset 2 tables", seconds). Fresh ones also go to clone_seconds.
    ready: list[tuple[str, float]] = field(default_factory=list)
    #: Connections tests left open on their databases, ended before the next test.
    ended: int = 0
    #: (test id, connections): tests that left connections open on their database, ended
    #: before it was dropped or recycled.
    left_open: list[tuple[str, int]] = field(default_factory=list)

    def record_ready(self, ready: Ready, test_id: str) -> None:
        self.ready.append((ready.how, ready.seconds))
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
            "kept": self.kept,
            "ready": self.ready,
            "ended": self.ended,
            "left_open": self.left_open,
        }

    def merge(self, other: dict[str, Any]) -> None:
        self.clone_seconds += [(float(s), str(t)) for s, t in other.get("clone_seconds", [])]
        self.wait_seconds += [float(s) for s in other.get("wait_seconds", [])]
        for name in ("golden_seconds", "server_seconds", "server_description"):
            if getattr(self, name) is None and other.get(name) is not None:
                setattr(self, name, other[name])
        self.reaped += list(other.get("reaped", []))
        self.kept += list(other.get("kept", []))
        self.ready += [(str(h), float(s)) for h, s in other.get("ready", [])]
        self.ended += int(other.get("ended", 0))
        self.left_open += [(str(t), int(n)) for t, n in other.get("left_open", [])]

    def readiness_lines(self) -> list[str]:
        """How tests' databases were made ready: kept, some tables reset, or a fresh clone."""
        recycled = [(h, s) for h, s in self.ready if h != FRESH]
        if not recycled:
            return []
        kinds: dict[str, list[float]] = {}
        tables = 0
        for how, seconds in self.ready:
            kind = "with tables reset" if how.startswith("reset") else how
            kinds.setdefault(kind, []).append(seconds)
            if how.startswith("reset"):
                tables += int(how.split()[1])
        parts = []
        for kind in (FRESH, KEPT, "with tables reset"):
            if kind in kinds:
                times = kinds[kind]
                label = plural(len(times), kind) if kind == FRESH else f"{len(times)} {kind}"
                extra = (
                    f", {plural(tables, 'table')} in all" if kind != FRESH and kind != KEPT else ""
                )
                parts.append(f"{label} (median {statistics.median(times) * 1000:.1f} ms{extra})")
        lines = [f"databases for {plural(len(self.ready), 'test')}: " + ", ".join(parts)]
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
        if self.clone_seconds:
            times = sorted(self.clone_seconds)
            median = statistics.median(s for s, _ in times) * 1000
            slowest, where = times[-1]
            lines.append(
                f"{plural(len(times), 'clone')} made: median {median:.1f} ms, "
                f"slowest {slowest * 1000:.1f} ms ({where})"
            )
        lines += self.readiness_lines()
        if self.wait_seconds:
            waits = sorted(self.wait_seconds)
            lines.append(
                f"tests waited for their database: median "
                f"{statistics.median(waits) * 1000:.2f} ms, slowest {waits[-1] * 1000:.1f} ms"
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
            lines.append(
                f"cleaned up {len(self.reaped)} things left by killed runs: "
                + ", ".join(self.reaped[:5])
                + (" ..." if len(self.reaped) > 5 else "")
            )
        return lines
