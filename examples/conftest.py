"""How a suite adopts pytest-moclone: bring in a golden hook (here, the example's)."""

from conftest_example import pytest_moclone_setup_golden

__all__ = ["pytest_moclone_setup_golden"]
