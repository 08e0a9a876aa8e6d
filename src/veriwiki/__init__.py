"""veriwiki: an LLM wiki that checks itself."""

__version__ = "0.1.0"
