"""Stage 1, first half: every field of the dose line list parsed and repaired, one audit row per change."""
