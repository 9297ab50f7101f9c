"""When a shared golden of another fingerprint may be dropped (plugin/goldens.py)."""

from __future__ import annotations

from pytest_moclone.plugin.goldens import STALE_AFTER_SECONDS, stale


def test_a_golden_in_use_by_a_live_run_is_never_stale() -> None:
    assert not stale(10 * STALE_AFTER_SECONDS, {"run1"})


def test_a_golden_used_within_a_day_is_kept() -> None:
    assert not stale(STALE_AFTER_SECONDS - 1, set())


def test_a_golden_unused_for_a_day_goes() -> None:
    assert stale(STALE_AFTER_SECONDS, set())
