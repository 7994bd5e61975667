"""Whether a run's conclusions survive a rerun: one table over several result directories."""
