"""``python -m pytest_moclone`` (console script ``pytest-moclone``): the registry, for people.

- ``list --url URL``: what the plugin owns on a server, by run: machine, age, alive or dead.
- ``reap --url URL [--dry-run]``: drop what dead runs left, by the plugin's own rules
  (records.py: only what the registry lists, only of runs with no live lease).
- ``tidy-cache``: this machine's cache folder: stop private servers of dead runs, remove the
  files of runs that are gone.

Passwords never reach the output (connection.mask_url).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Optional, TextIO

from .client import Client
from .connection import Connection, mask_url, parse_url
from .errors import MocloneError
from .leases import cache_root, run_is_alive
from .records import dead_entries, reap
from .registry import REGISTRY_DB, SHARED, Entry, Lease, Registry
from .servers.pids import reap_orphan_servers


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _registry(url: str) -> tuple[Client, Optional[Registry]]:
    """A client on ``url`` and its registry (None when the server has none yet)."""
    where = parse_url(url)
    client = Client(where["host"], where["port"], where["user"], where["password"])
    rows = client.execute(
        "SELECT schema_name FROM information_schema.schemata WHERE schema_name = %s",
        (REGISTRY_DB,),
    )
    if not rows:
        return client, None

    def connect() -> Connection:
        return Connection(where["host"], where["port"], where["user"], where["password"])

    return client, Registry(connect, "cli", "cli")  # no lease: it only reads, or reaps


def describe(leases: Sequence[Lease], entries: Sequence[Entry]) -> list[str]:
    """The lines of ``list``: each run with its processes and objects; shared goldens last."""
    runs = sorted({lease.run for lease in leases} | {e.run for e in entries if e.state != SHARED})
    lines = []
    for run in runs:
        mine = [lease for lease in leases if lease.run == run]
        alive = any(lease.alive for lease in mine)
        where = ", ".join(
            f"{lease.process} on {lease.machine} pid {lease.pid}, heartbeat "
            f"{_age(lease.heartbeat_age)} ago{'' if lease.connected else ', disconnected'}"
            for lease in mine
        )
        lines.append(f"run {run}: {'alive' if alive else 'dead'} ({where or 'no lease'})")
        for e in entries:
            if e.run == run and e.state != SHARED:
                lines.append(f"  {e.kind} {e.name} ({e.state}, {_age(e.age)} old)")
    shared = [e for e in entries if e.state == SHARED]
    if shared:
        lines.append("shared goldens (--mo-reuse):")
        lines += [f"  {e.kind} {e.name} (fingerprint {e.tag}, {_age(e.age)} old)" for e in shared]
    return lines or ["the plugin owns nothing on this server"]


def cmd_list(url: str, out: TextIO) -> int:
    client, registry = _registry(url)
    try:
        print(f"server {client.connection.describe()} ({mask_url(url)}):", file=out)
        if registry is None:
            print("the plugin owns nothing on this server (no registry)", file=out)
            return 0
        entries = registry.entries()
        for line in describe(registry.leases(), entries):
            print(line, file=out)
        return 0
    finally:
        client.close()
        if registry is not None:
            registry.close()


def cmd_reap(url: str, dry_run: bool, out: TextIO) -> int:
    client, registry = _registry(url)
    try:
        if registry is None:
            print(f"nothing to reap on {mask_url(url)} (no registry)", file=out)
            return 0
        verb = "would drop" if dry_run else "dropped"
        # the plugin's own reaper: it also forgets dead leases and uses, and vanished goldens
        doomed = dead_entries(registry) if dry_run else reap(client, registry)
        for e in doomed:
            print(f"{verb} {e.kind} {e.name} (run {e.run}, dead)", file=out)
        print(f"{verb} {len(doomed)} objects of dead runs on {mask_url(url)}", file=out)
        return 0
    finally:
        client.close()
        if registry is not None:
            registry.close()


def cmd_tidy_cache(out: TextIO, root: Optional[Path] = None) -> int:
    """Stop private servers of dead runs; remove what dead runs (and older versions) left."""
    root = root or cache_root()
    removed: list[str] = []
    for server in reap_orphan_servers(lambda run: run_is_alive(root, run)):
        removed.append(f"stopped private server {server}")
    for old in ("records", "reuse"):  # kept by versions before the registry on the server
        if (root / old).exists():
            shutil.rmtree(root / old, ignore_errors=True)
            removed.append(f"removed {root / old} (kept by an older version)")
    runs = root / "runs"
    if runs.is_dir():
        for path in sorted(runs.iterdir()):
            run = path.name.split(".")[0]
            if run_is_alive(root, run):
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(f"removed {path}")
    for line in removed:
        print(line, file=out)
    print(f"cache {root}: {len(removed)} things tidied", file=out)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pytest-moclone", description="What pytest-moclone owns on a server, and its cache."
    )
    sub = p.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="what the plugin owns on a server, by run")
    listing.add_argument("--url", required=True, help="mysql://user:password@host:port/")
    reaping = sub.add_parser("reap", help="drop what dead runs left on a server")
    reaping.add_argument("--url", required=True, help="mysql://user:password@host:port/")
    reaping.add_argument("--dry-run", action="store_true", help="say what would be dropped")
    sub.add_parser("tidy-cache", help="tidy this machine's cache folder")
    return p


def main(argv: Optional[Sequence[str]] = None, out: TextIO = sys.stdout) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "list":
            return cmd_list(args.url, out)
        if args.command == "reap":
            return cmd_reap(args.url, args.dry_run, out)
        return cmd_tidy_cache(out)
    except ValueError as exc:  # a bad URL: parse_url's message masks the password
        print(f"pytest-moclone: {exc}", file=sys.stderr)
        return 2
    except MocloneError as exc:
        print(f"pytest-moclone: {exc}", file=sys.stderr)
        return 1
