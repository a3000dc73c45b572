"""Rules: small pure functions from index facts to diagnostics."""
