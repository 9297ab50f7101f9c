"""``--mo-reuse``: keep the golden for the next run that would build the same one.

The golden is keyed by a fingerprint of what built it: the SQL files' contents, the source of
every module that implements the setup hook, the plugin's version and the server's version. It is
built under a lock held on the server, and only ever published by its snapshot (see
golden.py); the sharing across runs and machines is in goldens.py (the server's registry).
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import __version__


def hook_sources(implementations: Iterable[Any]) -> list[str]:
    """The source of each module that implements the setup hook (its data lists included)."""
    sources = []
    for impl in implementations:
        function = impl.function
        module = inspect.getmodule(function)
        try:
            sources.append(inspect.getsource(module if module is not None else function))
        except (OSError, TypeError):
            sources.append(f"{getattr(function, '__module__', '')}.{function.__qualname__}")
    return sorted(sources)


def fingerprint(sql_files: Iterable[Path], sources: Iterable[str], server_version: str) -> str:
    digest = hashlib.sha256()
    for part in (f"pytest-moclone {__version__}", server_version, *sources):
        digest.update(part.encode() + b"\0")
    for path in sql_files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]
