"""trialkit.cli."""
