"""What changed between versions of the plans, and when, from git."""
