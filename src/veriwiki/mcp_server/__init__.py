"""The MCP server (``veriwiki mcp``): the vault's services as tools for coding agents.

Named ``mcp_server`` so it never shadows the ``mcp`` SDK package.
"""
