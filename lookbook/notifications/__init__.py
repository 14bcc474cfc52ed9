"""In-app notifications and email through a transactional outbox."""
