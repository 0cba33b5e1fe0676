"""altegio-mcp: an MCP server for the Altegio (formerly YCLIENTS) B2B API."""

__version__ = "0.1.0"
