"""The hook users implement in their conftest.py to fill the golden database."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ..client import Client

hookspec = pytest.hookspec


@hookspec
def pytest_moclone_setup_golden(client: Client) -> None:
    """Fill the golden database; runs once per run (once in total under pytest-xdist).

    ``client`` is connected to the golden database, so unqualified table names land there. Every
    implementation runs (conftest files nearer the root first).
    """
