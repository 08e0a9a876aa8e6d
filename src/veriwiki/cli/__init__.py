"""The ``veriwiki`` command line: parses input, calls one service, formats the result."""
