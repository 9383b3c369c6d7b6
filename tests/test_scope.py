"""scope.Swaps: what it swaps comes back on every exit, and its record says what is not back."""

from __future__ import annotations

import types

import pytest

from geventtornado_magics.scope import MISSING, Swaps, live, unrestored


class Library:
    """Stands in for a library class whose attributes a cell's machinery swaps."""

    def method(self):
        return "library"

    @staticmethod
    def factory():
        return "library"


def test_swapped_attributes_come_back_exactly_even_when_the_cell_fails():
    method, factory = vars(Library)["method"], vars(Library)["factory"]
    instance = Library()
    with pytest.raises(RuntimeError), Swaps() as swaps:
        assert swaps.swap(Library, "method", lambda self: "cell") is method
        wrapper = swaps.wrap(Library, "factory", lambda original: lambda: "cell, then " + original())
        assert swaps.swap(instance, "method", lambda: "instance") is MISSING
        assert (Library().method(), Library.factory(), instance.method()) == ("cell", "cell, then library", "instance")
        assert wrapper.__wrapped__ is factory and wrapper.__name__ == "factory"
        raise RuntimeError("the cell failed")
    assert vars(Library)["method"] is method and vars(Library)["factory"] is factory
    assert "method" not in vars(instance) and instance.method() == "library"
    assert unrestored() == []


def test_nested_swaps_of_one_place_unwind_to_the_first_original():
    method = vars(Library)["method"]
    with Swaps() as outer:
        outer.swap(Library, "method", lambda self: "outer")
        with Swaps() as inner:
            inner.swap(Library, "method", lambda self: "inner")
            assert Library().method() == "inner"
        assert Library().method() == "outer"
    assert vars(Library)["method"] is method and unrestored() == []


def test_the_record_names_what_is_swapped_now_and_what_was_changed_behind_it():
    setting = {"value": "kernel's"}
    with Swaps() as swaps:
        swaps.swap_setting("the test setting", lambda: setting["value"], lambda v: setting.update(value=v), "cell's")
        swaps.swap(Library, "method", lambda self: "cell")
        assert set(live()) == {"the test setting", f"{__name__}.Library.method"}
        assert "the test setting is still swapped" in unrestored()
    assert setting["value"] == "kernel's" and live() == [] and unrestored() == []
    setting["value"] = "changed outside any swap"
    try:
        assert unrestored() == ["the test setting is 'changed outside any swap', not \"kernel's\""]
    finally:
        setting["value"] = "kernel's"


def test_a_kept_namespace_is_put_back_and_what_changed_is_recorded():
    module = types.ModuleType("stand_in")
    module.sleep = original = object()
    with Swaps() as swaps:
        before = swaps.keep(vars(module), "stand_in")
        module.sleep = object()  # as a library's own patch function would
        module.added = object()
    assert before["sleep"] is original and module.sleep is original and not hasattr(module, "added")
    assert unrestored() == []
    module.sleep = "changed after the cell"
    assert unrestored() == [f"stand_in.sleep is 'changed after the cell', not {original!r}"]
    module.sleep = original
