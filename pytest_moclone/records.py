"""What each run created on a server, kept where a killed run cannot lose it.

One append-only file per server in the per-user cache folder (never on the server under test).
A name is written *before* the object is created, so a run killed at any point has recorded it.
The next run drops what belongs to runs whose lease is free (dead), and only that: a database or
snapshot is dropped only if its name is in these records, whatever its name looks like.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from .client import Client
from .errors import MocloneError

DATABASE = "database"
SNAPSHOT = "snapshot"
#: Records of reused goldens (--mo-reuse) belong to no run; reuse.py decides when they go.
REUSE_RUN = "reuse_"


@dataclass(frozen=True)
class Record:
    run: str
    kind: str  # DATABASE or SNAPSHOT
    name: str


def server_key(host: str, port: int) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{host}_{port}")


class Records:
    def __init__(self, root: Path, key: str) -> None:
        folder = root / "records"
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{key}.jsonl"
        self._lock = FileLock(str(self.path) + ".lock")

    def add(self, run: str, kind: str, name: str) -> None:
        line = json.dumps({"run": run, "kind": kind, "name": name, "at": time.time()})
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")

    def entries(self) -> list[Record]:
        if not self.path.exists():
            return []
        found = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                item = json.loads(line)
                found.append(Record(str(item["run"]), str(item["kind"]), str(item["name"])))
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a kill: it names nothing we can prove
        return found

    def forget(self, records: Iterable[Record]) -> None:
        gone = set(records)
        if not gone:
            return
        with self._lock:
            keep = [r for r in self.entries() if r not in gone]
            text = "".join(
                json.dumps({"run": r.run, "kind": r.kind, "name": r.name}) + "\n" for r in keep
            )
            self.path.write_text(text, encoding="utf-8")

    def forget_name(self, run: str, kind: str, name: str) -> None:
        self.forget([Record(run, kind, name)])

    def of_run(self, run: str) -> list[Record]:
        return [r for r in self.entries() if r.run == run]

    def reap(self, admin: Client, current_run: str, alive: Callable[[str], bool]) -> list[Record]:
        """Drop what dead runs left behind on this server; return what was dropped."""
        dead = [
            r
            for r in self.entries()
            if r.run != current_run and not r.run.startswith(REUSE_RUN) and not alive(r.run)
        ]
        dropped = drop_recorded(admin, dead)
        self.forget(dead)
        return dropped


def drop_recorded(admin: Client, records: Iterable[Record]) -> list[Record]:
    """Drop recorded snapshots, then databases (an emulated snapshot is a database of its own)."""
    rows = admin.execute("SELECT schema_name FROM information_schema.schemata")
    existing = {str(r[0]) for r in rows}
    dropped = []
    ordered = sorted(records, key=lambda r: r.kind != SNAPSHOT)
    for record in ordered:
        try:
            if record.kind == SNAPSHOT:
                if admin.snapshots.drop(record.name, if_exists=True):
                    dropped.append(record)
            elif record.name in existing:
                admin.clone.drop(record.name)
                dropped.append(record)
        except MocloneError as exc:
            if getattr(exc, "server_code", None) is None:
                raise  # the server is gone: the caller says so once
    return dropped
