"""trialkit.service."""
