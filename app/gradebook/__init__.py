"""Gradebook of a run: every graded item with its weight, the final score and predikat, and
overrides of the final score with a reason."""
