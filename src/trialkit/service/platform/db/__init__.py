"""The database: declarative base, engine factory and Alembic migrations."""
