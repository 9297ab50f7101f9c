"""The pytest plugin (entry point ``pytest11: moclone``): hooks here, fixtures in fixtures.py."""

from __future__ import annotations

import importlib.util
from collections.abc import Generator
from typing import Any

import pytest
from filelock import FileLock

from ..client import Client
from ..errors import MocloneError, ServerConnectionError
from ..golden import GoldenSetupError
from ..leases import new_run_id
from ..records import KEPT
from ..registry import DATABASE, LeaseLost
from . import hookspecs
from .fixtures import (
    CLONE_KEY,
    DATABASE_FIXTURES,
    RUN_KEY,
    mo_client,
    mo_clone_db,
    mo_clone_factory,
    mo_clone_url,
    mo_golden,
    mo_server,
    mo_txn_db,
    mo_worker_db,
    mo_worker_url,
    run_of,
)
from .kept import mark_kept
from .loss import lost_connection, lost_line, server_answers
from .options import add_options, resolve
from .progress import say_now
from .report import (
    changes_section,
    database_exists,
    diff_branches_ignored,
    dropped_by_test,
    header_lines,
    hook_failure,
    one_line,
    summary_lines,
)
from .reuse import hook_sources
from .run import MocloneRun

__all__ = [
    "mo_client",
    "mo_clone_db",
    "mo_clone_factory",
    "mo_clone_url",
    "mo_golden",
    "mo_server",
    "mo_txn_db",
    "mo_worker_db",
    "mo_worker_url",
]

if importlib.util.find_spec("sqlalchemy") is not None:  # the sqlalchemy extra is installed
    from .sqlalchemy import mo_engine, mo_metadata, mo_session

    __all__ += ["mo_engine", "mo_metadata", "mo_session"]

_NOTES = pytest.StashKey[list[str]]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def _worker_input(config: pytest.Config) -> dict[str, Any] | None:
    return getattr(config, "workerinput", None)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    settings = resolve(config)
    workerinput = _worker_input(config)
    if workerinput is None:
        run_id, worker, owner = new_run_id(), "main", True
    else:
        run_id, worker, owner = workerinput["moclone_run_id"], str(workerinput["workerid"]), False

    def fill_golden(client: Client) -> None:
        try:
            config.hook.pytest_moclone_setup_golden(client=client)
        except ServerConnectionError:
            raise  # the server went away: not the hook's fault
        except Exception as exc:  # the user's code: one line naming the hook, not a traceback
            raise GoldenSetupError(hook_failure(exc, config.rootpath)) from exc

    def golden_sources() -> list[str]:
        return hook_sources(config.hook.pytest_moclone_setup_golden.get_hookimpls())

    config.stash[RUN_KEY] = MocloneRun(
        settings,
        run_id=run_id,
        worker=worker,
        is_owner=owner,
        fill_golden=fill_golden,
        golden_sources=golden_sources,
        say=lambda line: say_now(config, line),
    )


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: every worker joins the controller's run."""
    node.workerinput["moclone_run_id"] = run_of(node.config).run_id


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    stats = getattr(node, "workeroutput", {}).get("moclone_stats")
    if stats:
        run_of(node.config).stats.merge(stats)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return header_lines(run_of(config))


#: Fixtures that need the server but not the golden.
SERVER_FIXTURES = frozenset({"mo_server", "mo_client"})


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build the golden before the first test, so a broken set-up is found once, up front.

    A golden that cannot be built fails each database test with one line (tests that use no
    database still run); a server that cannot be had stops the run (a usage error)."""
    if session.config.option.collectonly:
        return
    used = set().union(*(getattr(i, "fixturenames", ()) for i in session.items))
    needs_golden = bool(DATABASE_FIXTURES & used)
    if not needs_golden and not SERVER_FIXTURES & used:
        return
    run = run_of(session.config)
    failed = run.shared_dir / "golden-failed.txt"
    # One process at a time, so that under xdist the first one's failure is read by the others
    # (trying again would meet the half-built golden it left).
    with FileLock(str(run.shared_dir / "prepare.lock")):
        if failed.exists():
            run.failure = failed.read_text(encoding="utf-8")
            return
        try:
            if needs_golden:
                run.prepare()
            else:  # only the server: started now, so that its start-up lines come first
                _ = run.server
        except GoldenSetupError as exc:
            run.failure = f"moclone: the golden could not be built: {one_line(str(exc))}"
            failed.write_text(run.failure, encoding="utf-8")
        except MocloneError as exc:
            if _worker_input(session.config) is None:
                raise pytest.UsageError(f"moclone: {exc}") from None
            # an xdist worker cannot stop the run with a usage error (xdist reports it as a
            # crash): its database tests fail with the message instead
            run.failure = f"moclone: {one_line(str(exc))}"
            failed.write_text(run.failure, encoding="utf-8")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """The pool works while tests run their calls, not while they set up or tear down."""
    run = run_of(item.config)
    run.between_tests(False)
    try:
        yield
    finally:
        run.between_tests(True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[Any, Any, None]:
    outcome = yield
    report = outcome.get_result()
    run = run_of(item.config)
    lost = call.excinfo.value if call.excinfo is not None else None
    if lost is not None and _said_lost_server(item, run, lost):
        report.longrepr = run.failure  # one line, not PyMySQL's traceback
    elif isinstance(lost, LeaseLost):  # its databases may be gone: stop rather than use them
        item.session.shouldstop = run.failure = f"moclone: {lost}"
    if report.when != "call" or not report.failed:
        return
    clone = item.stash.get(CLONE_KEY, None)
    worker_db = run.worker_db if "mo_worker_db" in getattr(item, "fixturenames", ()) else None
    if run.failure is not None or (clone is None and worker_db is None):
        return
    name = clone.name if clone is not None else str(worker_db)
    if not database_exists(run.admin, name):
        report.sections.append(("database changes", dropped_by_test(name)))
        return
    in_transaction = clone is not None and clone.in_transaction  # mo_txn_db: rolled back
    kept = clone is not None and not in_transaction and run.settings.keep_failed
    if kept:
        run.stats.kept.append(name)
        mark_kept(run.cache, run.run_id)
        run.registry.mark(DATABASE, name, KEPT)  # only its own project's next run drops it
    via = clone.client if clone is not None and in_transaction else None
    section = changes_section(run, name, cumulative=clone is None, kept=kept, via=via)
    if section:
        report.sections.append(("database changes", section))


def _said_lost_server(item: pytest.Item, run: MocloneRun, exc: BaseException) -> bool:
    """A test that met a lost server: remember it and stop the run (every later test would
    fail the same); True when its report should be the one line that says so."""
    if DATABASE_FIXTURES.isdisjoint(getattr(item, "fixturenames", ())):
        return False  # not a test of ours: its server is not ours to judge
    error = lost_connection(exc)
    if error is None or isinstance(exc, pytest.fail.Exception):
        return False  # not a lost connection, or already one line (guarded)
    server = run.server
    if server_answers(server):
        return False  # only this connection was lost (the test's own doing)
    if run.failure is None:
        run.failure = lost_line(server, error)
    item.session.shouldfail = run.failure
    return True


@pytest.hookimpl(trylast=True)  # after pytest's own teardown of the last test's fixtures
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    run = run_of(config)
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["moclone_stats"] = run.stats.to_dict()
    notes = _ignored_diff_branches(run)
    config.stash[_NOTES] = notes + run.finish()


def _ignored_diff_branches(run: MocloneRun) -> list[str]:
    """--mo-diff-branches on a private server whose tests get no branches: said once known."""
    if not run.settings.diff_branches or run.stats.server_description is None:
        return []
    if run.failure is not None or (run.settings.url and run.settings.server in ("auto", "url")):
        return []  # a URL's server: the header said it
    try:
        return [] if run.admin.clone.concurrent_branches else [diff_branches_ignored(run)]
    except MocloneError:
        return []


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if config.get_verbosity() < -1:  # -qq: pytest's own summary is one line; so is ours: none
        return
    run = run_of(config)
    lines = summary_lines(run, config.stash.get(_NOTES, []))
    if not lines:
        return
    terminalreporter.write_sep("-", "moclone")
    for line in lines:
        terminalreporter.write_line(line)
