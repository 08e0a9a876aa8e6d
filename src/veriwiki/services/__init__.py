"""Services: the operations veriwiki offers, written against the vault's ports."""
