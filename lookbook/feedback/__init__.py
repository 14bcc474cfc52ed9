"""Product reviews from buyers and general feedback, moderated by admins."""
