"""Sign-up, log-in, sessions and access tokens."""
