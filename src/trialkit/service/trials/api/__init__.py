"""API routes of the trials slice: trials, sites, users, login."""
