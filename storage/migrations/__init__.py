"""Alembic migrations of the schema; see storage/migrate.py."""
