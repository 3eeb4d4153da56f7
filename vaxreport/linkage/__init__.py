"""Stage 1, second half: the same person found across records (probabilistic linkage), doses
reconciled per person, identities checked against the police's population-registry extract."""
