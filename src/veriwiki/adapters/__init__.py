"""Adapters: the file system, git, SQLite, the CLI. Replaceable edges around the core."""
