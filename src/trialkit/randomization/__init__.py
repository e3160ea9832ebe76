"""trialkit.randomization."""
