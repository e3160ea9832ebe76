"""trialkit.report."""
