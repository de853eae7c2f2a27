"""PostgreSQL adapters: pool, migrations, named queries, embedded server."""
