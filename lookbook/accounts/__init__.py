"""Accounts: customers and admins, their details, passwords and sign-in sessions."""
