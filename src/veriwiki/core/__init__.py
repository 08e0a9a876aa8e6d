"""Pure domain: values, parsing and link resolution. No I/O happens in this package."""
