"""Carts, checkout and orders: stock reserved exactly once, a status machine with a typed event history."""
