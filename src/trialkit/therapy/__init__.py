"""trialkit.therapy."""
