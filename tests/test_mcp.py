"""MCP over streamable HTTP (issue 23): a session with the SDK's own server (initialize, `notifications/initialized`,
`tools/list`, `tools/call`) recorded against a host in `doms` replays in a fresh process with the server stopped, with
the same results, in seconds; the server's random `mcp-session-id` is neither stored nor keyed; a changed tool argument
raises `ReplayMiss` at that call. mcp 2.x runs here (its handshake-era `legacy` mode, and `auto`, the 2026 protocol);
mcp 1.x in a virtual environment of its own."""
import hashlib,json,socket,subprocess,sys,time
from pathlib import Path
import pytest
from envs import cache_dir,clean_env,venv
from helpers import here,child_env,recs

pytestmark = pytest.mark.slow  # a server and clients in subprocesses

root = here.parent

# The client: one session, its tools and one call of `add(2, b)`, as JSON; api '1' is mcp 1.x, else mcp 2.x's `Client` mode
client = '''
import asyncio,json,sys,time
from cachy import enable_cachy
d,url,mode,b,api = sys.argv[1:6]
enable_cachy(cache_dir=d, doms=['127.0.0.1'], mode=mode, debug=True)
async def session():
    if api == '1':
        from mcp import ClientSession
        from mcp.client.streamable_http import streamablehttp_client
        async with streamablehttp_client(url) as (r, w, _), ClientSession(r, w) as s:
            await s.initialize()
            tools,res = await s.list_tools(),await s.call_tool('add', {'a': 2, 'b': int(b)})
    else:
        from mcp import Client
        async with Client(url, mode=api) as s: tools,res = await s.list_tools(),await s.call_tool('add', {'a': 2, 'b': int(b)})
    return [t.name for t in tools.tools],[c.text for c in res.content]
t = time.monotonic()
got = asyncio.run(session())
print(json.dumps(got))
print(round(time.monotonic()-t, 3))
'''

def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]

class McpServer:
    "The SDK's MCP server (tests/mcp_server.py) run by Python `py` in a subprocess, until stopped"
    def __init__(self, py=sys.executable):
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}/mcp'
        self.p = subprocess.Popen([str(py), str(here/'mcp_server.py'), str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=clean_env())
        t = time.monotonic()
        while time.monotonic()-t < 30:
            try:
                with socket.create_connection(('127.0.0.1', self.port), 0.2): return
            except OSError: time.sleep(0.1)
        self.stop()
        raise RuntimeError(f'MCP server did not start: {self.p.stderr.read().decode()[-2000:]}')
    def stop(self):
        self.p.terminate()
        self.p.wait(10)

def run(py, d, url, mode, b, api):
    "Run the client session in a fresh Python `py`: (completed process, its result or `None`, the seconds the session took)"
    r = subprocess.run([str(py), '-c', client, str(d), url, mode, str(b), api], capture_output=True, text=True, timeout=120,
                       env=child_env() if py == sys.executable else clean_env(PYTHONPATH=str(root)))
    out = r.stdout.splitlines()
    return (r,json.loads(out[-2]),float(out[-1])) if r.returncode == 0 else (r,None,None)

def session_replays(py, api, tmp_path):
    "Record a session against a live server, stop it, and replay the session; a changed argument misses at its call"
    srv = McpServer(py)
    try: live,want,_ = run(py, tmp_path, srv.url, 'record', 3, api)
    finally: srv.stop()
    assert live.returncode == 0, live.stderr[-3000:]
    assert want == [['add', 'shout'], ['5']]
    text = (tmp_path/'cachy.jsonl').read_text()
    assert 'mcp-session-id' not in text.lower()
    again,got,took = run(py, tmp_path, srv.url, 'replay', 3, api)
    assert again.returncode == 0, again.stderr[-3000:]
    assert got == want
    assert took < 20  # seconds, however loaded the machine: no wait for a timeout or a reconnection
    changed,_,_ = run(py, tmp_path, srv.url, 'replay', 4, api)
    assert changed.returncode != 0
    assert 'cachy.core.ReplayMiss: cachy (replay mode): no recorded response for POST ' in changed.stderr
    assert 'params.arguments.b: recorded 3, sent 4' in changed.stderr

def posts(d):
    "`(JSON-RPC method, status)` of each POST recorded in folder `d`"
    return [(r['req']['parts']['method'][1].strip("'"), r['status_code']) for r in recs(d/'cachy.jsonl') if r['method'] == 'POST']

handshake = [('initialize', 200), ('notifications/initialized', 202), ('tools/list', 200), ('tools/call', 200)]

def test_mcp2_legacy_session(tmp_path):
    "The handshake-era session: initialize (the server assigns a session id), `notifications/initialized` (202, empty, closed unread), tools"
    session_replays(sys.executable, 'legacy', tmp_path)
    assert posts(tmp_path) == handshake

def test_mcp2_modern_session(tmp_path):
    "mcp 2.x's default: `server/discover`, then the 2026 protocol, without sessions"
    session_replays(sys.executable, 'auto', tmp_path)

def test_mcp2_new_call_in_replayed_session(tmp_path):
    "In record mode, a call added to a session replayed up to it reaches a server that never saw the session: its 400 is not recorded as the tool's answer"
    srv = McpServer()
    try:
        first,_,_ = run(sys.executable, tmp_path, srv.url, 'record', 3, 'legacy')
        assert first.returncode == 0, first.stderr[-3000:]
        added,_,_ = run(sys.executable, tmp_path, srv.url, 'record', 4, 'legacy')
    finally: srv.stop()
    assert "NOT RECORDED" in added.stdout and "JSON-RPC message, about the server's session" in added.stdout
    assert [r for r in recs(tmp_path/'cachy.jsonl') if r['status_code'] >= 400] == []
    replayed,_,_ = run(sys.executable, tmp_path, srv.url, 'replay', 4, 'legacy')
    assert 'cachy.core.ReplayMiss' in replayed.stderr

@pytest.mark.index
def test_mcp1_session(tmp_path):
    "mcp 1.x (`streamablehttp_client`, on httpx), client and server, in a virtual environment of its own with this clone's cachy"
    py = venv(cache_dir()/f'mcp1-{hashlib.sha256(str(root).encode()).hexdigest()[:12]}', ['mcp>=1.9,<2', '-e', str(root)])
    session_replays(py, '1', tmp_path)
    assert posts(tmp_path) == handshake
