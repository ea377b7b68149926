"""The one tuning value: frozen, checked, copied with changes."""

from __future__ import annotations

import dataclasses

import pytest

from shopsync.core.tuning import DEFAULT_TUNING, Tuning


def test_a_changed_copy_leaves_the_default_alone():
    small = DEFAULT_TUNING.but(render_batch=40, parallel_read_back_from_goods=0)
    assert (small.render_batch, small.parallel_read_back_from_goods) == (40, 0)
    assert (DEFAULT_TUNING.render_batch, DEFAULT_TUNING.parallel_read_back_from_goods) == (2_500, 10_000)


def test_it_cannot_be_changed_in_place():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_TUNING.render_batch = 1  # type: ignore[misc]


@pytest.mark.parametrize("changes", [{"render_batch": 0}, {"photo_batch": -1}, {"fetch_rows": "10"},
                                     {"orders_in_flight": True}, {"settle_check_seconds": -0.5}])
def test_nonsense_is_refused_with_the_knob_named(changes):
    [(name, _)] = changes.items()
    with pytest.raises(ValueError, match=f"tuning {name} = "):
        Tuning(**changes)
