"""Run the CLI with ``python -m veriwiki``."""

from veriwiki.cli.main import main

main()
