"""Run the CLI with ``python -m veriwiki``."""

from veriwiki.cli.entry import main

main()
