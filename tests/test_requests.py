"requests, through `HTTPAdapter.send`: every Session and subclass, with httpx's key, store and rules, against a loopback server"
import io,json,threading
from http.server import BaseHTTPRequestHandler,ThreadingHTTPServer
import httpx,pytest
requests = pytest.importorskip('requests')
import cachy.adapters
from cachy.core import enable_cachy,disable_cachy,doms,cachy_stats,no_cachy,ReplayMiss

KEY = 'sk-test-SECRET-requests-3e8a41'
BIN = bytes(range(256))*4 + b'\xff\xfe\x00'

class _H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a): pass
    def reply(self):
        body = self.rfile.read(int(self.headers.get('content-length') or 0))
        with self.server.lock:
            self.server.n += 1
            n = self.server.n
        path = self.path.split('?')[0]
        st = int(path.split('/status/')[1]) if '/status/' in path else 200
        if path == '/bin': ct,out = 'application/octet-stream',BIN
        elif path == '/sse': ct,out = 'text/event-stream',b''.join(b'data: {"i": %d}\n\n' % i for i in range(3))
        else: ct,out = 'application/json',json.dumps(dict(n=n, method=self.command, path=self.path, body=body.decode('latin-1'))).encode()
        self.send_response(st)
        self.send_header('content-type', ct)
        self.send_header('content-length', str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    do_GET = do_POST = do_PUT = do_DELETE = reply

@pytest.fixture(scope='module')
def fake():
    "The loopback server; `n` counts the requests it received"
    s = ThreadingHTTPServer(('127.0.0.1', 0), _H)
    s.n,s.lock = 0,threading.Lock()
    s.url = f'http://127.0.0.1:{s.server_address[1]}'
    threading.Thread(target=s.serve_forever, daemon=True).start()
    yield s
    s.shutdown()
    s.server_close()

@pytest.fixture
def cfile(tmp_path):
    "`cachy.jsonl` in a fresh folder, with cachy on for the loopback host"
    enable_cachy(cache_dir=tmp_path, doms=doms+('127.0.0.1',))
    yield tmp_path/'cachy.jsonl'
    disable_cachy()

def recs(p): return [json.loads(l) for l in p.read_text().splitlines()] if p.exists() else []

class MySession(requests.Session):
    "A subclass, as libraries define them"
    def request(self, method, url, **kw): return super().request(method, url, headers={'authorization': f'Bearer {KEY}'}, **kw)

@pytest.mark.sdk('requests', 'sync')
@pytest.mark.parametrize('mk', [requests.Session, MySession])
def test_get_post_json(fake, cfile, mk):
    n = fake.n
    with mk() as s:
        g = [s.get(fake.url+'/v1/models', params={'a': 1}) for _ in range(2)]
        p = [s.post(fake.url+'/v1/chat', json={'q': 'hi', 'model': 'm'}) for _ in range(2)]
        p.append(s.post(fake.url+'/v1/chat', json={'model': 'm', 'q': 'hi'}))
    assert fake.n == n+2
    assert g[0].json() == g[1].json() and g[1].json()['n'] == n+1 and g[1].json()['path'] == '/v1/models?a=1'
    assert p[0].json() == p[1].json() == p[2].json() and p[2].json()['method'] == 'POST'
    for r in g+p: assert (r.status_code, r.reason, r.headers['content-type'], r.encoding) == (200, 'OK', 'application/json', 'utf-8')
    assert (p[1].url, p[1].request.method) == (fake.url+'/v1/chat', 'POST')
    assert [r['method'] for r in recs(cfile)] == ['GET', 'POST'] and KEY not in cfile.read_text()

def test_binary(fake, cfile):
    n = fake.n
    a,b = [requests.get(fake.url+'/bin').content for _ in range(2)]
    assert a == b == BIN and fake.n == n+1
    assert recs(cfile)[0]['binary'] is True

@pytest.mark.sdk('requests', 'sync', 'stream')
def test_stream(fake, cfile):
    "A streamed response can still be iterated, live and replayed; it is keyed apart from the same request unstreamed"
    n = fake.n
    lines = []
    for _ in range(2):
        with requests.get(fake.url+'/sse', stream=True) as r: lines.append(list(r.iter_lines()))
    assert lines[0] == lines[1] and fake.n == n+1
    assert [l for l in lines[1] if l] == [b'data: {"i": 0}', b'data: {"i": 1}', b'data: {"i": 2}']
    with requests.get(fake.url+'/bin', stream=True) as r: assert b''.join(r.iter_content(100)) == BIN
    with requests.get(fake.url+'/bin', stream=True) as r: assert b''.join(r.iter_content(100)) == BIN
    assert requests.get(fake.url+'/bin').content == BIN
    assert fake.n == n+3

@pytest.mark.parametrize('st,kept', [(400, True), (404, True), (422, True), (401, False), (403, False), (408, False),
                                     (409, False), (429, False), (500, False), (503, False)])
def test_status_rules(fake, cfile, st, kept):
    "2xx and 4xx are recorded, except 401, 403, 408, 409 and 429; 5xx never"
    n = fake.n
    rs = [requests.post(f'{fake.url}/status/{st}', json={}) for _ in range(2)]
    assert [r.status_code for r in rs] == [st, st]
    assert fake.n == n + (1 if kept else 2)
    assert rs[0].json() == rs[1].json() if kept else rs[0].json() != rs[1].json()
    assert len(recs(cfile)) == (1 if kept else 0)
    if kept:
        with pytest.raises(requests.HTTPError): rs[1].raise_for_status()

def test_shared_with_httpx(fake, cfile):
    "The key is httpx's: a request recorded through httpx is a hit through requests, and the other way round"
    n = fake.n
    a = httpx.post(fake.url+'/v1/shared', json={'x': [1, 2]}).json()
    b = requests.post(fake.url+'/v1/shared', json={'x': [1, 2]}).json()
    c = requests.get(fake.url+'/v1/shared2').json()
    d = httpx.get(fake.url+'/v1/shared2').json()
    assert (a, c) == (b, d) and fake.n == n+2

def test_not_ours(fake, tmp_path):
    "Hosts not allowed, bodies we cannot key and `no_cachy` go out live, unrecorded"
    enable_cachy(cache_dir=tmp_path, doms=doms+('127.0.0.1:1',))
    try:
        n = fake.n
        for _ in range(2): requests.get(fake.url+'/v1/models')
        assert fake.n == n+2 and not (tmp_path/'cachy.jsonl').exists()
        enable_cachy(cache_dir=tmp_path, doms=doms+('127.0.0.1',))
        for _ in range(2): requests.post(fake.url+'/v1/upload', data=io.BytesIO(b'file body'))
        with no_cachy():
            for _ in range(2): requests.get(fake.url+'/v1/models')
        assert fake.n == n+6 and not (tmp_path/'cachy.jsonl').exists()
    finally: disable_cachy()

def test_replay(fake, cfile):
    "Replay mode answers what is recorded and raises ReplayMiss, unsent, for the rest"
    requests.get(fake.url+'/v1/models')
    enable_cachy(cache_dir=cfile.parent, doms=doms+('127.0.0.1',), mode='replay')
    n = fake.n
    assert requests.get(fake.url+'/v1/models').status_code == 200
    with pytest.raises(ReplayMiss, match='replay mode'): requests.get(fake.url+'/v1/other')
    assert fake.n == n

def test_disable(fake, cfile):
    s = requests.Session()
    s.get(fake.url+'/v1/models')
    disable_cachy()
    n = fake.n
    s.get(fake.url+'/v1/models')
    assert fake.n == n+1 and requests.adapters.HTTPAdapter.send.__qualname__ == 'HTTPAdapter.send'
