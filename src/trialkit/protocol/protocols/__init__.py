"""The protocols bundled with trialkit, as package data (the YAML file and its registry record)."""
