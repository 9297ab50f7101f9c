"""Every setting, resolved once into a typed object: CLI > environment > ini > default.

One naming rule: CLI ``--mo-some-thing``, ini ``mo_some_thing``, environment
``MOCLONE_SOME_THING`` (the binary's variable is ``MOCLONE_MO_BINARY``). CLI options default to
``None`` so that "not given" is told apart from a false value.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pytest

from ..connection import mask_url, parse_url
from .checks import check_path_values

SERVER_KINDS = ("auto", "url", "docker", "local", "mariadb", "matrixone")
_PREFIX = re.compile(r"[a-z][a-z0-9]{0,15}")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Option:
    name: str  # ini key, e.g. "mo_url"
    help: str
    kind: str = "string"  # "string", "bool", "int", "args" (a list of words)
    default: Any = None
    cli: bool = True
    ini: bool = True
    env: Optional[str] = None  # defaults to MOCLONE_<NAME without mo_>

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env_name(self) -> str:
        return self.env or "MOCLONE_" + self.name[len("mo_") :].upper()


OPTIONS = (
    Option(
        "mo_url", "URL of a running server to use (mysql://user:pw@host:port/); starts nothing."
    ),
    Option(
        "mo_server",
        "where the server comes from: auto (default), url, docker, local, mariadb, matrixone.",
        default="auto",
    ),
    Option(
        "mo_binary",
        "a mo-service binary: start a private MatrixOne from it.",
        env="MOCLONE_MO_BINARY",
    ),
    Option(
        "mo_image",
        "Docker image for MatrixOne (testcontainers).",
        default="matrixorigin/matrixone:4.2.0",
    ),
    Option("mo_snapshot", "clone from this existing snapshot instead of building a golden."),
    Option("mo_golden_sql", "SQL files that build the golden database, in order.", kind="args"),
    Option(
        "mo_prefix", "prefix of every database and snapshot the plugin creates.", default="moclone"
    ),
    Option(
        "mo_keep_failed",
        "keep the database of each failing test and say how to open it.",
        kind="bool",
        default=False,
    ),
    Option(
        "mo_start_timeout",
        "seconds to wait for a private server to accept DDL.",
        kind="int",
        default=180,
    ),
    Option("mo_timeout", "seconds a statement may wait for the server.", kind="int", default=60),
    Option("mo_clone_timeout", "seconds a clone or build may take.", kind="int", default=300),
    Option(
        "mo_reuse",
        "keep the golden (and a private server's data) for the next run.",
        kind="bool",
        default=False,
    ),
    Option(
        "mo_pool",
        "clones each worker prepares ahead of the tests (0 turns the pool off).",
        kind="int",
        default=2,
    ),
    Option(
        "mo_reset",
        "make a test's database ready again by keeping it or resetting only the tables it "
        "changed, where the server has exact change signals (docs/how-it-works.md).",
        kind="bool",
        default=True,
    ),
    Option(
        "mo_pool_workers",
        "background connections that make and recycle databases (0: 3 on MatrixOne, else 1).",
        kind="int",
        default=0,
    ),
    Option(
        "mo_diff", "show what a failed test changed in its database.", kind="bool", default=True
    ),
    Option(
        "mo_verify",
        "compare one clone with the golden (objects, rows) before any test runs.",
        kind="bool",
        default=True,
    ),
    Option(
        "mo_file_copy",
        "private MariaDB: clone large tables by copying their InnoDB tablespace files "
        "instead of their rows (docs/how-it-works.md).",
        kind="bool",
        default=True,
    ),
    Option(
        "mo_diff_branches",
        "MatrixOne: make test databases with DATA BRANCH CREATE, so a failure's diff is "
        "native (slower: see docs/performance.md).",
        kind="bool",
        default=False,
    ),
    Option("mo_diff_rows", "rows of each kind shown per table in a diff.", kind="int", default=5),
)
OPTIONS_BY_NAME = {o.name: o for o in OPTIONS}


@dataclass(frozen=True)
class Settings:
    url: Optional[str]
    server: str
    binary: Optional[str]
    image: str
    snapshot: Optional[str]
    golden_sql: tuple[Path, ...]
    prefix: str
    keep_failed: bool
    start_timeout: int
    reuse: bool
    rebuild: bool
    pool: int
    reset: bool
    pool_workers: int
    diff: bool
    verify: bool
    file_copy: bool
    diff_branches: bool
    diff_rows: int
    timeout: int = 60
    clone_timeout: int = 300
    #: where each value came from: "cli", "env MOCLONE_URL", "ini", or "default"
    sources: dict[str, str] = field(default_factory=dict)
    #: the project (pytest's rootdir): whose reused goldens are whose (reuse.py)
    rootdir: Path = Path(".")

    def described(self) -> list[str]:
        """``name=value (from source)`` for each setting that is not at its default."""
        out = []
        for name, source in self.sources.items():
            if source != "default":
                value = getattr(self, name[len("mo_") :])
                if isinstance(value, tuple):
                    value = " ".join(str(v) for v in value)
                elif name == "mo_url" and value is not None:
                    value = mask_url(str(value))
                out.append(f"{name}={value} ({source})")
        return out


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("moclone", "a cloned database per test (pytest-moclone)")
    for opt in OPTIONS:
        env = f" [env {opt.env_name}, ini {opt.name}]"
        if opt.kind == "bool":
            group.addoption(
                opt.flag,
                action="store_const",
                const=True,
                default=None,
                dest=opt.name,
                help=opt.help + env,
            )
        else:
            group.addoption(
                opt.flag,
                action="store",
                default=None,
                dest=opt.name,
                metavar=opt.name[3:].upper(),
                help=opt.help + env,
            )
        if opt.kind == "args":
            parser.addini(opt.name, opt.help, type="args", default=None)
        else:
            parser.addini(opt.name, opt.help, type="string", default=None)
    for flag, dest, text in (
        ("--mo-no-diff", "mo_diff", "do not show what failed tests changed (mo_diff = false)."),
        (
            "--mo-no-reset",
            "mo_reset",
            "make every test's database a fresh clone (mo_reset = false).",
        ),
        (
            "--mo-no-file-copy",
            "mo_file_copy",
            "copy every table's rows in SQL, even on a private MariaDB (mo_file_copy = false).",
        ),
        (
            "--mo-no-verify",
            "mo_verify",
            "do not compare the first clone with the golden before the tests (mo_verify = false).",
        ),
    ):
        group.addoption(flag, action="store_const", const=False, dest=dest, help=text)
    group.addoption(
        "--mo-rebuild",
        action="store_true",
        default=False,
        help="build the golden afresh even when --mo-reuse finds one.",
    )


def resolve(config: pytest.Config, environ: Optional[dict[str, str]] = None) -> Settings:
    """Read every option once; a bad value stops the run with one UsageError naming it."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for opt in OPTIONS:
        raw, source = _pick(config, opt, env)
        values[opt.name] = _convert(opt, raw, source) if source != "default" else opt.default
        sources[opt.name] = source
    server = values["mo_server"]
    if server not in SERVER_KINDS:
        raise pytest.UsageError(
            f"{_where(sources['mo_server'], 'mo_server')}: unknown server kind {server!r}; "
            f"choose one of {', '.join(SERVER_KINDS)}"
        )
    prefix = values["mo_prefix"]
    if not _PREFIX.fullmatch(prefix):
        raise pytest.UsageError(
            f"{_where(sources['mo_prefix'], 'mo_prefix')}: invalid prefix {prefix!r}: use 1-16 "
            "lower-case letters and digits, starting with a letter (e.g. 'moclone')"
        )
    for name in ("mo_pool", "mo_pool_workers", "mo_diff_rows", "mo_start_timeout"):
        if values[name] < 0:
            raise pytest.UsageError(
                f"{_where(sources[name], name)}: {values[name]} is negative; give 0 or more"
            )
    for name in ("mo_timeout", "mo_clone_timeout"):
        if values[name] < 1:
            raise pytest.UsageError(
                f"{_where(sources[name], name)}: {values[name]} s is too short; give 1 or more"
            )
    golden_sql = _golden_sql_paths(config, values["mo_golden_sql"], sources["mo_golden_sql"])
    _check_server_settings(config, values, sources)
    if values["mo_snapshot"] is not None:
        from ..names import check_snapshot_name

        try:
            check_snapshot_name(values["mo_snapshot"])
        except ValueError as exc:
            where = _where(sources["mo_snapshot"], "mo_snapshot")
            raise pytest.UsageError(f"{where}: {exc}") from None
    return Settings(
        url=values["mo_url"] or None,
        server=server,
        binary=values["mo_binary"] or None,
        image=values["mo_image"],
        snapshot=values["mo_snapshot"],
        golden_sql=golden_sql,
        prefix=prefix,
        keep_failed=values["mo_keep_failed"],
        start_timeout=values["mo_start_timeout"],
        reuse=values["mo_reuse"],
        rebuild=bool(config.getoption("mo_rebuild", False)),
        pool=values["mo_pool"],
        reset=values["mo_reset"],
        pool_workers=values["mo_pool_workers"],
        diff=values["mo_diff"],
        verify=values["mo_verify"],
        file_copy=values["mo_file_copy"],
        diff_branches=values["mo_diff_branches"],
        diff_rows=values["mo_diff_rows"],
        timeout=values["mo_timeout"],
        clone_timeout=values["mo_clone_timeout"],
        sources=sources,
        rootdir=Path(str(config.rootpath)),
    )


def _golden_sql_paths(config: pytest.Config, paths: Any, source: str) -> tuple[Path, ...]:
    """Paths from the ini file are relative to its folder; from the command line or the
    environment, to the folder pytest was started in."""
    if source == "ini" and config.inipath is not None:
        base, relative_to = Path(str(config.inipath.parent)), "the ini file's folder"
    else:
        base = Path(str(config.invocation_params.dir))
        relative_to = "the folder pytest was started in"
    resolved = tuple(base / p for p in (paths or ()))
    for path in resolved:
        if not path.is_file():
            raise pytest.UsageError(
                f"{_where(source, 'mo_golden_sql')}: SQL file {str(path)!r} does not exist "
                f"(paths there are relative to {relative_to}, {base})"
            )
    return resolved


def _check_server_settings(
    config: pytest.Config, values: dict[str, Any], sources: dict[str, str]
) -> None:
    """A bad URL, or settings that contradict each other or would be silently ignored."""
    url, server = values["mo_url"], values["mo_server"]
    if url:
        try:
            parse_url(url)
        except ValueError as exc:
            raise pytest.UsageError(f"{_where(sources['mo_url'], 'mo_url')}: {exc}") from None
        if server not in ("auto", "url"):
            raise pytest.UsageError(
                f"conflicting settings: {_where(sources['mo_url'], 'mo_url')} names a running "
                f"server ({mask_url(url)}) but {_where(sources['mo_server'], 'mo_server')} asks "
                f"for {server!r}; give only one of them (an empty variable counts as unset: "
                "MOCLONE_URL= pytest ...)"
            )
    check_path_values(config)
    if config.getoption("mo_rebuild", False) and not values["mo_reuse"]:
        raise pytest.UsageError(
            "option --mo-rebuild rebuilds a golden kept by --mo-reuse, and reuse is off: "
            "add --mo-reuse (or set MOCLONE_REUSE=1, or mo_reuse = true in the ini file)"
        )


def origin(settings: Settings, name: str) -> str:
    """Where setting ``name`` was given: ``option --mo-url``, ``environment variable ...``."""
    return _where(settings.sources.get(name, "cli"), name)


def _pick(config: pytest.Config, opt: Option, env: Any) -> tuple[Any, str]:
    cli = config.getoption(opt.name, None)
    if cli is not None:
        return cli, "cli"
    if env.get(opt.env_name, "") != "":  # an empty variable counts as not set
        return env[opt.env_name], f"env {opt.env_name}"
    ini = config.getini(opt.name)
    if ini not in (None, [], ""):
        return ini, "ini"
    return opt.default, "default"


def _convert(opt: Option, raw: Any, source: str) -> Any:
    where = _where(source, opt.name)
    if opt.kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise pytest.UsageError(f"{where}: {raw!r} is not a yes/no value; use 1/0, true/false")
    if opt.kind == "int":
        try:
            return int(str(raw).strip())
        except ValueError:
            raise pytest.UsageError(f"{where}: {raw!r} is not a whole number") from None
    if opt.kind == "args":
        return list(raw) if isinstance(raw, list) else str(raw).split()
    return str(raw)


def _where(source: str, name: str) -> str:
    opt = OPTIONS_BY_NAME.get(name)
    if source == "cli":
        return f"option {opt.flag if opt else name}"
    if source.startswith("env"):
        return f"environment variable {source[4:]}"
    return f"ini option {name}"
