"""API routes of the oversight slice: forecast, trial report."""
