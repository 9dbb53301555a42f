"""xAPI: learning records sent to a learning record store (issue 17 part 3)."""
