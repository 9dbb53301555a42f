"""Assignments: work handed in by learners and graded by run staff (points or rubrics)."""
