"""Amounts people type (prices, budgets) become exact integer minor units, or are refused."""

from lookbook.web.pages.base import amount_in_minor_units


def test_typed_amounts_become_exact_minor_units():
    assert [amount_in_minor_units(t) for t in ("12", "12.5", "12,50", " 0.29 ", "19.99", "999999999999999.99")] == [
        1200, 1250, 1250, 29, 1999, 99999999999999999]


def test_anything_else_is_refused():
    for text in ("", " ", "12.505", "-3", "twelve", "1e3", "12.", ".5", "1,000.00", "NaN", "Infinity", None,
                 "1234567890123456"):
        assert amount_in_minor_units(text) is None, text
