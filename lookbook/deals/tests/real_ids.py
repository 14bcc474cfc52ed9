"""Deals and coupons that exist, for the API contract and fuzz tests (lookbook/web/tests)."""

from __future__ import annotations

import itertools

from lookbook.db import Database
from lookbook.deals import service as deals

_codes = itertools.count(1)


def new_code() -> str:
    """A coupon code no other coupon of this process has."""
    return f"REAL{next(_codes)}"


def deal_of(db: Database) -> int:
    """A new shop-wide 10 % deal (inactive, so that it changes no price and alerts nobody until switched on)."""
    with db.session() as session:
        deal, _ = deals.create_deal(session, name="Existing deal", kind="percent", value=1000, active=False)
        return deal.id


def coupon_of(db: Database) -> int:
    """A new 10 % coupon."""
    with db.session() as session:
        return deals.create_coupon(session, code=new_code(), kind="percent", value=1000).id
