"""trialkit.eligibility."""
