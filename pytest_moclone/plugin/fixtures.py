"""The fixtures users request. Thin: the work is in run.py and the library."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from ..client import Client
from ..errors import MocloneError, ServerConnectionError
from ..golden import Golden
from ..recycle import FRESH, Ready
from ..servers import RunningServer
from .run import MocloneRun

RUN_KEY = pytest.StashKey[MocloneRun]()


@dataclass
class CloneInfo:
    """The per-test clone, kept on the test item for the failure report."""

    name: str
    client: Client


CLONE_KEY = pytest.StashKey[CloneInfo]()

#: Fixtures whose presence means a test needs the server (and so the golden).
DATABASE_FIXTURES = frozenset(
    {"mo_clone_db", "mo_clone_url", "mo_clone_factory", "mo_worker_db", "mo_golden"}
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
        message = run.server_gone(exc)
        request.session.shouldstop = message
        pytest.fail(message, pytrace=False)
    except MocloneError as exc:
        pytest.fail(f"moclone: {exc}", pytrace=False)


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
        client = run.admin.connect_to(ready.name)
    request.node.stash[CLONE_KEY] = CloneInfo(ready.name, client)
    yield client
    own = client.connection.server_id
    client.close()
    if ready.name not in run.stats.kept:
        with guarded(request, run):
            run.end_left_connections(ready.name, request.node.nodeid, keep=(own,))
            run.release_clone(ready)


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
            made.append((ready, run.admin.connect_to(ready.name)))
        return made[-1][1]

    yield make
    for ready, client in made:
        own = client.connection.server_id
        client.close()
        with guarded(request, run):
            run.end_left_connections(ready.name, request.node.nodeid, keep=(own,))
            run.release_clone(ready)


@pytest.fixture(scope="session")
def mo_worker_db(request: pytest.FixtureRequest) -> Iterator[Client]:
    """One clone per xdist worker (or per run), shared by its tests: they clean up after
    themselves. Faster than ``mo_clone_db`` when tests do not need isolation from each other."""
    run = run_of(request.config)
    with guarded(request, run):
        name = run.new_clone_name("w")
        run.stats.record_ready(Ready(name, FRESH, run.make_clone(name)), "mo_worker_db")
        client = run.admin.connect_to(name)
    run.worker_db = name
    yield client
    run.worker_db = None
    own = client.connection.server_id
    client.close()
    with guarded(request, run):
        run.end_left_connections(name, "mo_worker_db", keep=(own,))
        run.drop_clone(name)
