"""Checks of how options were written that only the command line itself shows."""

from __future__ import annotations

from pathlib import Path

import pytest


def check_path_values(config: pytest.Config) -> None:
    """``--mo-binary PATH`` (a space, not ``=``): pytest looks for the ini file and the rootdir
    before it knows the plugin's options, so it takes PATH for a test path, and an existing one
    outside this folder makes it miss the project's ini file and pick another rootdir."""
    args = [str(a) for a in config.invocation_params.args]
    here = Path(str(config.invocation_params.dir))
    for flag in ("--mo-binary", "--mo-golden-sql"):
        for i, arg in enumerate(args[:-1]):
            value = Path(here, args[i + 1]).expanduser()
            if arg == flag and value.exists() and not value.resolve().is_relative_to(here):
                raise pytest.UsageError(
                    f"option {flag} {args[i + 1]}: with a space, pytest reads that path as a "
                    "test path when it looks for the ini file and the rootdir (it chose "
                    f"{config.rootpath}); write {flag}={args[i + 1]}"
                )
