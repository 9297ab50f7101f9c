"""What the plugin tells the user: the header, a failed test's section, the summary."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Optional

from ..client import Client
from ..diff import format_diff
from ..errors import MocloneError
from .options import origin
from .run import MocloneRun
from .stats import plural

HOOK = "pytest_moclone_setup_golden"


def header_lines(run: MocloneRun) -> list[str]:
    s = run.settings
    native_diff: Optional[bool] = None  # known here only for a URL's server
    if s.url is not None and s.server in ("auto", "url"):
        try:
            admin = run.admin
            where = f"{admin.info.describe()} at {admin.host}:{admin.port} (from the URL)"
            native_diff = admin.clone.concurrent_branches
        except MocloneError as exc:
            where = f"unreachable: {exc}"
    elif s.binary is not None:
        where = f"private MatrixOne from {s.binary} (started when a test first needs it)"
    else:
        where = f"{s.server}: a private server is started when a test first needs it"
    lines = [f"moclone: server {where}"]
    described = s.described()
    if described:
        lines.append("moclone: settings " + ", ".join(described))
    if s.snapshot is not None and (s.golden_sql or run.golden_sources()):
        ignored = " and ".join(
            what
            for what, given in (
                (f"the golden hook ({HOOK})", run.golden_sources()),
                ("mo_golden_sql", s.golden_sql),
            )
            if given
        )
        lines.append(
            f"moclone: {origin(s, 'mo_snapshot')} given: tests clone that snapshot, so "
            f"{ignored} {'are' if ' and ' in ignored else 'is'} not run"
        )
    if s.diff_branches and native_diff is False:
        lines.append(f"moclone: {diff_branches_ignored(run)}")
    return lines


def diff_branches_ignored(run: MocloneRun) -> str:
    return (
        f"{origin(run.settings, 'mo_diff_branches')} has no effect on this server: tests' "
        "databases are DATA BRANCHes on MatrixOne 4.0 or later only (3.0.x deadlocks when "
        "several connections make and drop branches); failed tests' diffs are computed in SQL"
    )


def one_line(text: str) -> str:
    """A (server's, multi-line) message on one line."""
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


def hook_failure(exc: BaseException, root: Path) -> str:
    """``pytest_moclone_setup_golden in conftest.py:7 raised ValueError: boom``."""
    where = ""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.name == HOOK]
    if frames:
        path = Path(frames[-1].filename)
        if path.is_relative_to(root):
            path = path.relative_to(root)
        where = f" in {path}:{frames[-1].lineno}"
    return f"{HOOK}{where} raised {type(exc).__name__}: {one_line(str(exc))}"


def open_command(client: Client, database: str) -> str:
    """A ready-to-paste command that opens ``database`` in the mysql client; never with the
    password on the command line (it would be printed, and stay in the shell's history): ``-p``
    makes the client ask for it."""
    password = " -p" if client.password else ""
    return f"mysql -h {client.host} -P {client.port} -u {client.user}{password} {database}"


def kept_lines(run: MocloneRun, name: str) -> str:
    admin = run.admin
    lines = [
        f"kept database {name} (--mo-keep-failed); open it with:",
        f"    {open_command(admin, name)}",
    ]
    if admin.password:  # the user's own is never printed; a private server's is no secret
        whose = (
            "the one in your server URL"
            if run.server.kind == "url"
            else f"{admin.password} (the private server's)"
        )
        lines.append(f"    (-p asks for the password: {whose})")
    lines.append("it is dropped by the next pytest run on this server")
    return "\n".join(lines)


def database_exists(admin: Client, name: str) -> bool:
    """Whether ``name`` is there (True when the server cannot tell: the report then says why)."""
    try:
        rows = admin.execute(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (name,)
        )
    except MocloneError:
        return True
    return bool(rows)


def dropped_by_test(name: str) -> str:
    """A failed test's database that the test itself dropped: nothing to diff, or to keep."""
    return f"the test dropped its database {name}: there is nothing to compare or keep"


def changes_section(
    run: MocloneRun, name: str, *, cumulative: bool, kept: bool, via: Optional[Client] = None
) -> Optional[str]:
    """The "database changes" section of a failed test, or None when there is nothing to say;
    ``via``: the test's own client, where its changes are still uncommitted (mo_txn_db); else
    the admin connection reads them."""
    parts = []
    if run.settings.diff:
        try:
            golden = run.golden
            diff = (via or run.admin).clone.diff(
                name, golden.database, golden.snapshot, max_rows=run.settings.diff_rows
            )
            diff.cumulative = cumulative
            parts.append(format_diff(diff, run.settings.diff_rows))
        except MocloneError as exc:
            parts.append(f"could not compare {name} with the golden: {exc}")
    if kept:
        parts.append(kept_lines(run, name))
    return "\n".join(parts) or None


def summary_lines(run: MocloneRun, notes: list[str]) -> list[str]:
    lines = run.stats.summary_lines()
    if run.stats.kept:
        kept = len(run.stats.kept)
        lines.append(f"kept {plural(kept, 'database')} of failed tests (--mo-keep-failed):")
        lines += [f"    {name}" for name in run.stats.kept]
    return lines + notes
