"""trialkit.design."""
