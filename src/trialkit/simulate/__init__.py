"""trialkit.simulate."""
