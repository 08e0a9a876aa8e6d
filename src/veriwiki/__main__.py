"""Run the CLI with ``python -m veriwiki``."""

from veriwiki.adapters.cli.main import main

main()
