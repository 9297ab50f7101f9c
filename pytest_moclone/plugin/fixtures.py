"""The fixtures users request. Thin: the work is in run.py and the library."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from .. import rollback
from ..client import Client
from ..errors import MocloneError, ServerConnectionError
from ..golden import Golden
from ..recycle import FRESH, Ready
from ..registry import LeaseLost
from ..servers import RunningServer
from .loss import lost_line
from .run import MocloneRun

RUN_KEY = pytest.StashKey[MocloneRun]()


class MocloneWarning(UserWarning):
    """Something a test did that cost its isolation speed (shown in pytest's warnings summary)."""


@dataclass
class CloneInfo:
    """The per-test clone, kept on the test item for the failure report."""

    name: str
    client: Client
    #: The test's changes are uncommitted, in its transaction: only its client sees them.
    in_transaction: bool = False


CLONE_KEY = pytest.StashKey[CloneInfo]()

#: Fixtures whose presence means a test needs the server (and so the golden).
DATABASE_FIXTURES = frozenset(
    {"mo_clone_db", "mo_clone_url", "mo_clone_factory", "mo_worker_db", "mo_worker_url"}
    | {"mo_golden", "mo_txn_db", "mo_metadata", "mo_engine", "mo_session"}
)


def run_of(config: pytest.Config) -> MocloneRun:
    return config.stash[RUN_KEY]


@contextmanager
def guarded(request: pytest.FixtureRequest, run: MocloneRun) -> Iterator[None]:
    """Turn set-up failures into one short line; a lost server also stops the run."""
    if run.failure is not None:
        pytest.fail(run.failure, pytrace=False)
    try:
        yield
    except ServerConnectionError as exc:
        if run.failure is None:
            run.failure = lost_line(run.server, exc)
        request.session.shouldfail = run.failure
        _fail(run.failure)
    except LeaseLost as exc:  # its databases may be gone: stop rather than use them
        run.failure = f"moclone: {exc}"
        request.session.shouldfail = run.failure
        _fail(run.failure)
    except MocloneError as exc:
        _fail(f"moclone: {exc}")


def _fail(message: str) -> None:
    """Fail with ``message`` alone: without the chain of errors that led to it (which xdist
    would print in full)."""
    try:
        pytest.fail(message, pytrace=False)
    except pytest.fail.Exception as failed:
        raise failed from None


@contextmanager
def giving_back(request: pytest.FixtureRequest, run: MocloneRun) -> Iterator[bool]:
    """Teardown: yields whether to give the database back. Not once the server is gone: the
    test that met the loss said so in one line, and a second error for it says nothing new."""
    if run.failure is not None:
        yield False
        return
    with guarded(request, run):
        yield True


@pytest.fixture(scope="session")
def mo_server(request: pytest.FixtureRequest) -> RunningServer:
    """The server this run uses (from a URL, Docker, or a private process)."""
    run = run_of(request.config)
    with guarded(request, run):
        return run.server
    raise AssertionError("unreachable")  # pragma: no cover


@pytest.fixture(scope="session")
def mo_client(request: pytest.FixtureRequest) -> Client:
    """An admin client on the server, with no database selected (shared; do not close it)."""
    run = run_of(request.config)
    with guarded(request, run):
        return run.admin
    raise AssertionError("unreachable")  # pragma: no cover


@pytest.fixture(scope="session")
def mo_golden(request: pytest.FixtureRequest) -> Golden:
    """The golden database and the snapshot every clone is made from."""
    run = run_of(request.config)
    with guarded(request, run):
        return run.golden
    raise AssertionError("unreachable")  # pragma: no cover


@pytest.fixture
def mo_clone_db(request: pytest.FixtureRequest) -> Iterator[Client]:
    """This test's own database, exactly the golden, connected. Afterwards it is kept for a later
    test if the test changed nothing, has only the tables it changed reset, or is dropped
    (docs/how-it-works.md); with --mo-no-reset it is always a fresh clone."""
    run = run_of(request.config)
    with guarded(request, run):
        ready = run.take_clone(request.node.nodeid)
        client = ready.client or run.admin.connect_to(ready.name)
    request.node.stash[CLONE_KEY] = CloneInfo(ready.name, client)
    yield client
    own = client.connection.server_id
    client.close()
    with giving_back(request, run) as alive:
        if alive and ready.name not in run.stats.kept:
            run.end_left_connections(ready.name, request.node.nodeid, keep=(own,))
            run.release_clone(ready)


@pytest.fixture
def mo_txn_db(request: pytest.FixtureRequest) -> Iterator[Client]:
    """Opt-in, the cheapest isolation: a database that is exactly the golden, and the test's
    statements inside one transaction that is rolled back afterwards (other connections do not
    see its rows). A test that ends the transaction itself (COMMIT, a statement that commits)
    or writes through another connection is detected: its database is reset, and a warning
    names it (docs/configuration.md)."""
    run = run_of(request.config)
    with guarded(request, run):
        ready = run.take_clone(request.node.nodeid)
        client = ready.client or run.admin.connect_to(ready.name)
        try:
            mark = rollback.begin(client, hide=run.rollback_hides_writes())
        except BaseException:
            client.close()
            run.release_clone(ready)
            raise
    request.node.stash[CLONE_KEY] = CloneInfo(ready.name, client, in_transaction=True)
    yield client
    with giving_back(request, run) as alive:
        if not alive:
            client.close()
            return
        ending = rollback.end(client, mark)
        own = client.connection.server_id
        client.close()
        run.end_left_connections(ready.name, request.node.nodeid, keep=(own,))
        run.stats.record_ending(ending.rolled_back)
        if ending.unseen:  # its writes may have outlived the rollback unseen: made afresh
            ready = dataclasses.replace(ready, baseline=None)
        run.release_clone(ready)
    if ending.reason is not None:
        warnings.warn(
            MocloneWarning(
                f"mo_txn_db: {ending.reason}, so its database could not simply be rolled back: "
                "it is checked and reset, or made afresh; use mo_clone_db for tests that commit"
            ),
            stacklevel=1,
        )


@pytest.fixture
def mo_clone_url(mo_clone_db: Client) -> str:
    """The URL of this test's clone (``mysql+pymysql://...``), for SQLAlchemy and friends."""
    return mo_clone_db.url


@pytest.fixture
def mo_clone_factory(request: pytest.FixtureRequest) -> Iterator[Callable[[], Client]]:
    """Call it for more fresh clones inside one test; all are dropped afterwards."""
    run = run_of(request.config)
    made: list[tuple[Ready, Client]] = []

    def make() -> Client:
        with guarded(request, run):
            ready = run.take_clone(request.node.nodeid)
            made.append((ready, ready.client or run.admin.connect_to(ready.name)))
        return made[-1][1]

    yield make
    for ready, client in made:
        own = client.connection.server_id
        client.close()
        with giving_back(request, run) as alive:
            if alive:
                run.end_left_connections(ready.name, request.node.nodeid, keep=(own,))
                run.release_clone(ready)


@pytest.fixture(scope="session")
def mo_worker_url(mo_worker_db: Client) -> str:
    """The URL of ``mo_worker_db`` (``mysql+pymysql://...``), as ``mo_clone_url`` is the test's."""
    return mo_worker_db.url


@pytest.fixture(scope="session")
def mo_worker_db(request: pytest.FixtureRequest) -> Iterator[Client]:
    """One clone per xdist worker (or per run), shared by its tests: they clean up after
    themselves. Faster than ``mo_clone_db`` when tests do not need isolation from each other."""
    run = run_of(request.config)
    with guarded(request, run):
        name = run.new_clone_name("w")
        run.stats.record_ready(
            Ready(name, FRESH, run.make_clone(name)), "mo_worker_db", for_one_test=False
        )
        client = run.admin.connect_to(name)
    run.worker_db = name
    yield client
    run.worker_db = None
    own = client.connection.server_id
    client.close()
    with giving_back(request, run) as alive:
        if alive:
            run.end_left_connections(name, "mo_worker_db", keep=(own,))
            run.drop_clone(name)
