"""Deals and coupons, and the one pricing function that product pages, carts and checkout share."""
