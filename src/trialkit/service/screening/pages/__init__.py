"""What the screening pages share: the screening form and the eligibility checklist."""
