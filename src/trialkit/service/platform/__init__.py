"""The platform slice: database, transaction, clock, principal, policy, security,
auth, sessions, audit, and what the API and the pages share."""
