"""trialkit.endpoints."""
