"""The cold-start baseline: the smallest useful MCP server, one tool, written with the bare SDK.

`run.py` spawns it over stdio exactly like `altegio-mcp serve --sandbox`, so the ratio between the
two is what this project adds on top of the SDK itself.
"""

from mcp.server import MCPServer

# WARNING, like altegio-mcp's default: the SDK's own default (INFO) configures root logging chattier.
server = MCPServer(name="minimal", version="0.0.0", log_level="WARNING")


@server.tool()
async def ping() -> str:
    """Answer `pong`."""
    return "pong"


if __name__ == "__main__":
    server.run("stdio")
