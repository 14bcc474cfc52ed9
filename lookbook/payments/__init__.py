"""Payments behind one provider interface: a built-in sandbox and Stripe."""
