"""trialkit.api."""
