"""Which hosts skip PyMySQL's unverified TLS attempt (a loopback address gains nothing by it)."""

from __future__ import annotations

import pytest

from pytest_moclone.urls import is_loopback


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.53", "::1", "localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["10.0.0.5", "db.example.com", "192.168.1.1", "::2", ""])
def test_other_hosts(host: str) -> None:
    assert not is_loopback(host)
