"""The audit log: an append-only, hash-chained record of security-relevant and officer actions."""
