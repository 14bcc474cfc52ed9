from alembic import context

from lookbook.db import Base
import lookbook.accounts.models  # noqa: F401  (registers the tables)
import lookbook.catalog.models  # noqa: F401
import lookbook.deals.models  # noqa: F401
import lookbook.feedback.models  # noqa: F401
import lookbook.notifications.models  # noqa: F401
import lookbook.orders.models  # noqa: F401
import lookbook.payments.models  # noqa: F401

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
