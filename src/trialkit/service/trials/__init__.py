"""The trials slice: trials, sites, ethics approvals, users."""
