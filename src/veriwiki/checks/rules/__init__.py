"""Built-in check rules, one module each."""
