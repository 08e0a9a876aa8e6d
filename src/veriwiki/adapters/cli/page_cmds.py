"""Page commands."""
