"""trialkit.web."""
