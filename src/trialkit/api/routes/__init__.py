"""The routers, one module per domain object."""
