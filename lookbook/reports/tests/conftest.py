from lookbook.reports.tests.purchases import admin, app, client, customer, db  # noqa: F401  (fixtures)
