"""What the plugin tells the user: the header, a failed test's section, the summary."""

from __future__ import annotations

from typing import Optional

from ..client import Client
from ..diff import format_diff
from ..errors import MocloneError
from .run import MocloneRun
from .stats import plural


def header_lines(run: MocloneRun) -> list[str]:
    s = run.settings
    if s.url is not None and s.server in ("auto", "url"):
        try:
            admin = run.admin
            where = f"{admin.info.describe()} at {admin.host}:{admin.port} (from the URL)"
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
    return lines


def open_command(client: Client, database: str) -> str:
    """A ready-to-paste command that opens ``database`` in the mysql client."""
    password = f" -p{client.password}" if client.password else ""
    return f"mysql -h {client.host} -P {client.port} -u {client.user}{password} {database}"


def kept_lines(run: MocloneRun, name: str) -> str:
    return (
        f"kept database {name} (--mo-keep-failed); open it with:\n"
        f"    {open_command(run.admin, name)}\n"
        "it is dropped by the next pytest run on this server"
    )


def changes_section(run: MocloneRun, name: str, *, cumulative: bool, kept: bool) -> Optional[str]:
    """The "database changes" section of a failed test, or None when there is nothing to say."""
    parts = []
    if run.settings.diff:
        try:
            parts.append(
                format_diff(run.changes(name, cumulative=cumulative), run.settings.diff_rows)
            )
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
