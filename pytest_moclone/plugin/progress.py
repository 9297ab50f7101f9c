"""Lines the user sees *while* something slow happens (a private server starting), not after.

Said on the terminal at once, whatever pytest is capturing: through pytest's terminal reporter
in a plain run, on stderr in an xdist worker (a worker's stderr is the user's terminal; its
terminal reporter is not). Only the process that does the slow thing says it, so each line
appears once. Silent under ``-qq``, like the summary.
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from typing import Any

import pytest


def say_now(config: pytest.Config, line: str) -> None:
    if config.get_verbosity() < -1:
        return
    text = f"moclone: {line}"
    capture: Any = config.pluginmanager.get_plugin("capturemanager")
    uncaptured = capture.global_and_fixture_disabled() if capture is not None else nullcontext()
    reporter: Any = config.pluginmanager.get_plugin("terminalreporter")
    with uncaptured:
        if hasattr(config, "workerinput") or reporter is None:
            worker = getattr(config, "workerinput", {}).get("workerid")
            sys.stderr.write(f"{text}{f' [{worker}]' if worker else ''}\n")
            sys.stderr.flush()
        else:
            reporter.write_line(text)
