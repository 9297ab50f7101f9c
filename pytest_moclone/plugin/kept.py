"""Runs that kept databases for their failed tests (``--mo-keep-failed``), marked in the cache.

The next run drops what they kept (and stops the private server they left up for it), as the
kept lines promised; the marks let it say so, instead of calling them leftovers of killed runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

#: A mark nobody used in this long (its server went elsewhere) is dropped.
MAX_AGE = 30 * 86400.0


def _folder(cache: Path) -> Path:
    return cache / "kept"


def mark_kept(cache: Path, run_id: str) -> None:
    """Run ``run_id`` keeps a database on purpose."""
    folder = _folder(cache)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / run_id).touch()


def kept_runs(cache: Path) -> set[str]:
    """The runs whose objects were kept on purpose (old marks are forgotten on the way)."""
    folder = _folder(cache)
    if not folder.is_dir():
        return set()
    runs = set()
    for mark in folder.iterdir():
        try:
            if time.time() - mark.stat().st_mtime > MAX_AGE:
                mark.unlink(missing_ok=True)
                continue
        except OSError:
            continue
        runs.add(mark.name)
    return runs


def forget_kept(cache: Path, run_ids: Iterable[str]) -> None:
    """What those runs kept is dropped now."""
    for run_id in run_ids:
        (_folder(cache) / run_id).unlink(missing_ok=True)
