"""A server the run uses, described so that another process can use (and stop) it too."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

from ..connection import mask_url
from .engine import stop_container
from .pids import stop_process


@dataclass
class RunningServer:
    kind: str  # "url", "docker", "mariadb" or "matrixone"
    url: str  # mysql://user[:password]@127.0.0.1:PORT/
    description: str  # one line for the report
    startup_seconds: Optional[float] = None
    pid: Optional[int] = None
    workdir: Optional[Path] = None  # removed on stop
    marker: Optional[str] = None  # in the process's command line: proves a pid is still ours
    pid_file: Optional[Path] = None
    container_id: Optional[str] = None
    data_dir: Optional[Path] = None  # a data folder kept across runs (--mo-reuse); never removed
    #: The data folder of a server whose files are ours (a private MariaDB): its clients may copy
    #: tablespace files (``Client(datadir=...)``). None for every server we did not make.
    own_datadir: Optional[Path] = None

    @property
    def kind_name(self) -> str:
        """``the private MariaDB server``, ``the MatrixOne container``: for messages."""
        if self.kind == "docker":
            return "the MatrixOne container"
        name = {"mariadb": "MariaDB", "matrixone": "MatrixOne"}.get(self.kind, self.kind)
        return f"the private {name} server"

    @property
    def masked_url(self) -> str:
        """The URL with its password as ``***``: the form that is ever printed."""
        return mask_url(self.url)

    def stop(self) -> None:
        """Stop the server (idempotent); a URL server is the user's and is never touched."""
        if self.kind == "url":
            return
        if self.kind == "docker":
            if self.container_id:
                stop_container(self.container_id)
            return
        if self.pid is not None and self.marker is not None:
            stop_process(self.pid, self.marker)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)

    def to_json(self) -> str:
        data: dict[str, Any] = asdict(self)
        for key in ("workdir", "pid_file", "data_dir", "own_datadir"):
            if data[key] is not None:
                data[key] = str(data[key])
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> RunningServer:
        data = json.loads(text)
        for key in ("workdir", "pid_file", "data_dir", "own_datadir"):
            if data.get(key) is not None:
                data[key] = Path(data[key])
        return cls(**data)
