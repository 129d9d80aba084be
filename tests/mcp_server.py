"""The MCP SDK's own server over streamable HTTP on 127.0.0.1:PORT (argv[1]), at /mcp, with two tools; mcp 2.x
(`MCPServer`) or mcp 1.x (`FastMCP`), whichever is installed. Stateful: each session gets a random `mcp-session-id`."""
import sys
port = int(sys.argv[1])
try: from mcp.server.mcpserver import MCPServer as Server
except ImportError: from mcp.server.fastmcp import FastMCP as Server
kw = dict(log_level='WARNING') if Server.__name__ == 'MCPServer' else dict(host='127.0.0.1', port=port, log_level='WARNING')
srv = Server('calc', **kw)

@srv.tool()
def add(a: int, b: int) -> int:
    "Add two numbers"
    return a + b

@srv.tool()
def shout(text: str) -> str:
    "Upper-case a text"
    return text.upper()

if Server.__name__ == 'MCPServer': srv.run('streamable-http', host='127.0.0.1', port=port)
else: srv.run('streamable-http')
