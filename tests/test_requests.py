"requests, through `HTTPAdapter.send`: every Session and subclass, with httpx's key, store and rules, against a loopback server"
import io,shutil
import httpx,pytest
import requests
import cachy.adapters
from cachy.core import enable_cachy,disable_cachy,doms,no_cachy,ReplayMiss
from helpers import ours,recs
from server import audio

KEY = 'sk-test-SECRET-requests-3e8a41'

class MySession(requests.Session):
    "A subclass, as libraries define them"
    def request(self, method, url, **kw): return super().request(method, url, headers={'authorization': f'Bearer {KEY}'}, **kw)

@pytest.mark.sdk('requests', 'sync')
@pytest.mark.parametrize('mk', [requests.Session, MySession])
def test_get_post_json(srv, cached, mk):
    n = srv.total
    with mk() as s:
        g = [s.get(srv.url+'/v1/models', params={'a': 1}) for _ in range(2)]
        p = [s.post(srv.url+'/v1/chat', json={'q': 'hi', 'model': 'm'}) for _ in range(2)]
        p.append(s.post(srv.url+'/v1/chat', json={'model': 'm', 'q': 'hi'}))
    assert srv.total == n+2
    assert g[0].json() == g[1].json()
    assert g[1].json()['n'] == n+1
    assert (g[1].json()['path'], g[1].json()['query']) == ('/v1/models', {'a': '1'})
    assert p[0].json() == p[1].json() == p[2].json() and p[2].json()['method'] == 'POST'
    for r in g+p: assert (r.status_code, r.reason, r.headers['content-type'], r.encoding) == (200, 'OK', 'application/json', 'utf-8')
    assert (p[1].url, p[1].request.method) == (srv.url+'/v1/chat', 'POST')
    assert [r['method'] for r in recs(cached)] == ['GET', 'POST'] and KEY not in cached.read_text()

def test_binary(srv, cached):
    n = srv.total
    a,b = [requests.get(srv.url+'/bytes').content for _ in range(2)]
    assert a == b == audio(n+1, '/bytes')
    assert srv.total == n+1
    assert recs(cached)[0]['binary'] is True

@pytest.mark.sdk('requests', 'sync', 'stream')
def test_stream(srv, cached):
    "A streamed response can still be iterated, live and replayed; the same request unstreamed is the same entry (the server gets the same bytes)"
    n = srv.total
    lines = []
    for _ in range(2):
        with requests.get(srv.url+'/sse?k=3', stream=True) as r: lines.append(list(r.iter_lines()))
    assert lines[0] == lines[1]
    assert srv.total == n+1
    assert [l for l in lines[1] if l] == [b'data: {"n": %d, "i": %d}' % (n+1, i) for i in range(3)]
    with requests.get(srv.url+'/bytes', stream=True) as r: assert b''.join(r.iter_content(100)) == audio(n+2, '/bytes')
    with requests.get(srv.url+'/bytes', stream=True) as r: assert b''.join(r.iter_content(100)) == audio(n+2, '/bytes')
    assert requests.get(srv.url+'/bytes').content == audio(n+2, '/bytes')
    assert srv.total == n+2

@pytest.mark.parametrize('st,kept', [(400, True), (404, True), (422, True), (401, False), (403, False), (408, False),
                                     (409, False), (429, False), (500, False), (503, False)])
def test_status_rules(srv, cached, st, kept):
    "2xx and 4xx are recorded, except 401, 403, 408, 409 and 429; 5xx never"
    n = srv.total
    rs = [requests.post(f'{srv.url}/v1/chat?status={st}', json={}) for _ in range(2)]
    assert [r.status_code for r in rs] == [st, st]
    assert srv.total == n + (1 if kept else 2)
    assert rs[0].json() == rs[1].json() if kept else rs[0].json() != rs[1].json()
    assert len(recs(cached)) == (1 if kept else 0)
    if kept:
        with pytest.raises(requests.HTTPError): rs[1].raise_for_status()

def test_shared_with_httpx(srv, cached):
    "The key is httpx's: a request recorded through httpx is a hit through requests, and the other way round"
    n = srv.total
    a = httpx.post(srv.url+'/v1/shared', json={'x': [1, 2]}).json()
    b = requests.post(srv.url+'/v1/shared', json={'x': [1, 2]}).json()
    c = requests.get(srv.url+'/v1/shared2').json()
    d = httpx.get(srv.url+'/v1/shared2').json()
    assert (a, c) == (b, d)
    assert srv.total == n+2

def test_not_ours(srv, tmp_path):
    "Hosts not allowed, bodies we cannot key and `no_cachy` go out live, unrecorded"
    enable_cachy(cache_dir=tmp_path, doms=doms+('127.0.0.1:1',))
    try:
        n = srv.total
        for _ in range(2): requests.get(srv.url+'/v1/models')
        assert srv.total == n+2
        assert not (tmp_path/'cachy.jsonl').exists()
        enable_cachy(cache_dir=tmp_path, doms=ours)
        for _ in range(2): requests.post(srv.url+'/v1/upload', data=io.BytesIO(b'file body'))
        with no_cachy():
            for _ in range(2): requests.get(srv.url+'/v1/models')
        assert srv.total == n+6
        assert not (tmp_path/'cachy.jsonl').exists()
    finally: disable_cachy()

def test_replay(srv, cached):
    "Replay mode answers what is recorded and raises ReplayMiss, unsent, for the rest"
    requests.get(srv.url+'/v1/models')
    enable_cachy(cache_dir=cached.parent, doms=ours, mode='replay')
    n = srv.total
    assert requests.get(srv.url+'/v1/models').status_code == 200
    with pytest.raises(ReplayMiss, match='replay mode'): requests.get(srv.url+'/v1/other')
    assert srv.total == n

def test_disable(srv, cached):
    s = requests.Session()
    s.get(srv.url+'/v1/models')
    disable_cachy()
    n = srv.total
    s.get(srv.url+'/v1/models')
    assert srv.total == n+1
    assert requests.adapters.HTTPAdapter.send.__qualname__ == 'HTTPAdapter.send'

# `shutil.copyfileobj(r.raw, f)`, as users save a download, reads the whole body

def test_requests_raw_is_readable(srv, cached, tmp_path):
    "shutil.copyfileobj(r.raw, f) gets the whole body on a miss and on a hit, and the miss is recorded"
    out = []
    for i in range(2):
        with requests.get(f'{srv.url}/bytes?size=300000', stream=True) as r, open(tmp_path/f'{i}.bin', 'wb') as f: shutil.copyfileobj(r.raw, f)
        out.append((tmp_path/f'{i}.bin').read_bytes())
    assert len(out[0]) == 300000
    assert out[0] == out[1]
    assert srv.total == 1
