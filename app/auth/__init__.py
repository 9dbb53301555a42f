"""Authentication and authorization: sessions, API tokens, CSRF, login throttling, policy."""
