"""Quizzes: question content, GIFT and Aiken import/export, scoring and grading rules."""
