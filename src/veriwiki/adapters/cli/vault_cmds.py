"""Vault-level commands (init, catalog)."""
