"""The run's server: the user's URL, or a private server started once per run, stopped at its end.

Under xdist one server serves every worker: the first process to need it starts it (shared.py).
Servers left by killed runs are stopped first (they hold memory, and a kept data folder this run
may want). With ``--mo-reuse`` a private server's data folder lives in the cache, locked for the
run's life, so the next run restarts it there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Optional

from filelock import FileLock, Timeout

from ..servers import RunningServer, choose_server
from ..servers.pids import stop_orphan_servers
from .kept import kept_runs
from .loss import is_gone, what_went
from .options import Settings
from .shared import forget_made, made_once, read_made

NAME = "server"


class RunServer:
    """This process's handle on the run's server."""

    def __init__(
        self,
        settings: Settings,
        *,
        run_id: str,
        shared: Path,
        cache: Path,
        alive: Callable[[str], bool],
        say: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.settings = settings
        self.say = say  # a line for the user, now (a private server takes a while)
        self.run_id = run_id
        self.shared = shared
        self.cache = cache
        self.alive = alive
        self.reaped: list[str] = []  # servers of killed runs, stopped
        self.stopped_kept: list[str] = []  # a server kept up for kept databases, stopped
        self._data_lock: Optional[FileLock] = None

    @property
    def from_url(self) -> bool:
        s = self.settings
        return s.url is not None and s.server in ("auto", "url")

    def obtain(self) -> RunningServer:
        s = self.settings
        if self.from_url:
            return choose_server(
                "url", url=s.url, mo_binary=None, mo_image=s.image, owner_run_id=""
            )
        return made_once(
            self.shared, NAME, self._start, RunningServer.to_json, RunningServer.from_json
        )

    def _start(self) -> RunningServer:
        s = self.settings
        kept = kept_runs(self.cache)
        for orphan in stop_orphan_servers(self.alive):
            (self.stopped_kept if orphan.owner_run_id in kept else self.reaped).append(orphan.line)
        server = choose_server(
            s.server,
            url=s.url,
            mo_binary=s.binary,
            mo_image=s.image,
            owner_run_id=self.run_id,
            timeout=float(s.start_timeout),
            data_dir_for=self._kept_data_dir if s.reuse else None,
            progress=self.say,
        )
        if server.startup_seconds is not None:
            self.say(f"{server.kind_name} is ready in {server.startup_seconds:.1f} s")
        return server

    def _kept_data_dir(self, kind: str, version: str) -> Optional[Path]:
        """A private server's data folder kept for the next run, held under a lock for this
        process's life; a concurrent run gets a fresh folder instead."""
        folder = self.cache / "data" / f"{kind}-{version}"
        lock = FileLock(str(folder) + ".lock", thread_local=False)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return None
        self._data_lock = lock
        folder.parent.mkdir(parents=True, exist_ok=True)
        return folder

    @property
    def started(self) -> bool:
        """Whether a private server was started in this run (a URL's server never is)."""
        return read_made(self.shared, NAME, RunningServer.from_json) is not None

    def died(self) -> bool:
        """The private server this run started stopped before the end of the run."""
        server = read_made(self.shared, NAME, RunningServer.from_json)
        return server is not None and is_gone(server)

    def death_notes(self) -> list[str]:
        """What the summary says of a private server that died mid-run."""
        server = read_made(self.shared, NAME, RunningServer.from_json)
        assert server is not None
        line = f"{what_went(server)}: it stopped during the run"
        if server.data_dir is None:  # its data folder goes with it: so do its databases
            return [f"{line}; its databases went with its data folder"]
        return [
            f"{line}; its data folder {server.data_dir} is kept (--mo-reuse): the next run "
            "restarts it and drops what this run left there"
        ]

    def stop(self, *, keep_running: bool) -> list[str]:
        """Stop the private server, unless databases were kept on it for the user to open."""
        try:
            server = read_made(self.shared, NAME, RunningServer.from_json)
            if server is None:
                return []
            if keep_running and server.kind != "url":
                return [
                    f"the private server stays up for the kept databases: {server.masked_url} "
                    f"(pid {server.pid}); the next pytest run stops it, or: kill {server.pid}"
                ]
            server.stop()
            forget_made(self.shared, NAME)
            return []
        finally:
            if self._data_lock is not None:
                self._data_lock.release()
                self._data_lock = None
