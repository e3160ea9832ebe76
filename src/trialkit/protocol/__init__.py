"""trialkit.protocol."""
