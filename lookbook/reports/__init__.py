"""Sales and order reports for admins, as data and as CSV."""
