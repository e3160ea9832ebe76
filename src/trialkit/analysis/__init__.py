"""trialkit.analysis."""
