"""trialkit.store."""
