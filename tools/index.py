"""Record the calls of nbs/index.ipynb from a local stand-in, then run the page again offline, so that its outputs,
and README.md, show what a second run shows: every call replayed from the cachy.jsonl at the project root.

    python tools/index.py

No provider can be reached from where this project is built and tested. The stand-in is tests/server.py, a loopback
server that speaks OpenAI's and Anthropic's wire formats and answers `reply N: <the prompt>`; the page says so. While
recording, requests to api.openai.com and api.anthropic.com are sent to it below cachy (at the httpx transports), so
cachy keys and records them exactly as it would the providers' answers. Run it after a change to the page or to the key."""
import json,os,subprocess,sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
page,cache = root/'nbs'/'index.ipynb',root/'cachy.jsonl'
sys.path.insert(0, str(root/'tests'))

def _redirect(port):
    "Send what the httpx and httpx2 transports get for the providers' hosts to the stand-in on `port`"
    import httpx,httpx2
    def wrap(m, f):
        def handle(self, req):
            if req.url.host in ('api.openai.com', 'api.anthropic.com'):
                req = m.Request(req.method, req.url.copy_with(scheme='http', host='127.0.0.1', port=port), headers=req.headers, stream=req.stream, extensions=req.extensions)
            return f(self, req)
        return handle
    for m in (httpx,httpx2):
        m.HTTPTransport.handle_request = wrap(m, m.HTTPTransport.handle_request)
        m.AsyncHTTPTransport.handle_async_request = wrap(m, m.AsyncHTTPTransport.handle_async_request)

def _run(env=None):
    "Run the page in a fresh process from its folder, saving its outputs; the ids of cells that raised"
    code = f"from execnb.shell import CaptureShell; CaptureShell().execute({str(page)!r}, {str(page)!r})"
    subprocess.run([sys.executable, '-c', code], cwd=page.parent, check=True, env=env)
    return [c['id'] for c in json.loads(page.read_text())['cells'] for o in c.get('outputs', []) if o.get('output_type') == 'error']

def record():
    "Run the page against the stand-in in this process, recording into a new cachy.jsonl"
    from server import Server
    from execnb.shell import CaptureShell
    srv = Server().start()
    _redirect(srv.port)
    cache.unlink(missing_ok=True)
    os.chdir(page.parent)
    CaptureShell().execute(page, page)
    srv.stop()
    return srv.total

def main(args):
    if args == ['--record']: return print(record())
    env = {k:v for k,v in os.environ.items() if not k.startswith(('CACHY_', 'OPENAI_', 'ANTHROPIC_'))}
    n = int(subprocess.run([sys.executable, __file__, '--record'], env=env, check=True, capture_output=True, text=True).stdout.split()[-1])
    print(f"recorded {n} requests from the stand-in into {cache}")
    before = cache.read_bytes()
    if errs := _run(env): sys.exit(f"the replayed page raised in cells {errs}")
    if cache.read_bytes() != before: sys.exit(f"the second run of the page changed {cache}: a call missed")
    subprocess.run(['nbdev-clean', '--fname', str(page)], check=True)
    print(f"replayed {page.name} offline; now run python tools/readme.py")

if __name__ == '__main__': main(sys.argv[1:])
