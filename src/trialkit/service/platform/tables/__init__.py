"""The platform's tables: users, roles, login sessions, the audit trail."""
