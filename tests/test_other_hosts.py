"""A request to a host cachy does not keep goes out exactly as without cachy, through requests, aiohttp and botocore: the
adapters decide from the method and URL alone, before they read or copy anything of it. The server records the headers and
body it receives in order, as bytes, and each request is made twice, cachy off and on, and what the server got (or the
error the client raised) compared. A host cachy keeps takes the same headers and bodies, and caches them."""
import asyncio,datetime,json
import pytest,requests,aiohttp
from http.server import BaseHTTPRequestHandler
from hypothesis import given,settings,strategies as st,HealthCheck
from cachy import enable_cachy,disable_cachy,cachy_stats,doms
from helpers import recs
from server import Loopback

elsewhere = ('api.example.ai',)  # doms without the loopback host: every request to the server is another host's

class Echo(Loopback):
    "A loopback server that records each request as it arrived: method, path, its headers in order as bytes, body"
    def __init__(self): super().__init__(_handler)
    def reset(self):
        with self.lock: self.got = []

def _handler(srv):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        def log_message(self, *args): pass
        def handle_any(self):
            body = self.rfile.read(int(self.headers.get('content-length') or 0))
            hs = [(k.encode('latin-1'), v.encode('latin-1', 'surrogateescape')) for k,v in self.headers.items()]
            with srv.lock:
                srv.got.append((self.command, self.path, hs, body))
                n = len(srv.got)
            out = json.dumps(dict(n=n, body=body.decode('utf-8', 'replace'))).encode()
            self.send_response(200)
            self.send_header('content-type', 'application/json')
            self.send_header('content-length', str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        do_GET = do_POST = do_PUT = handle_any
    return Handler

@pytest.fixture(scope='module')
def echo():
    s = Echo().start()
    yield s
    s.stop()

def outcome(srv, call):
    "What the server received from `call()` (its last request), or the error `call()` raised: type and message"
    srv.reset()
    try: call()
    except Exception as e: return type(e).__name__, str(e)
    return srv.got[-1]

def both(srv, tmp_path, call):
    "`(without cachy, with cachy on for other hosts)`: what `call` made the server receive, or raised"
    disable_cachy()
    off = outcome(srv, call)
    enable_cachy(cache_dir=tmp_path, doms=elsewhere)
    try: on = outcome(srv, call)
    finally: disable_cachy()
    return off,on

# Header names and values of any kind: text in and beyond latin-1, control characters, bytes
names = st.text(st.sampled_from('abxyz-_é0'), min_size=1, max_size=6).map(lambda s: 'x-'+s)
texts = st.text(st.characters(max_codepoint=0x2ff, blacklist_categories=('Cs',)) | st.sampled_from('€中\U0001f600\x00\x7f\t '), max_size=12)
loose = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

@loose
@given(name=names, value=texts | st.binary(max_size=12))
def test_requests_headers_as_without_cachy(echo, tmp_path, name, value):
    "Any header requests accepts reaches a host outside doms byte for byte as without cachy; one it refuses fails alike"
    off,on = both(echo, tmp_path, lambda: requests.get(echo.url+'/v1/x', headers={name: value}))
    assert on == off

@loose
@given(name=names, value=texts)
def test_aiohttp_headers_as_without_cachy(echo, tmp_path, name, value):
    "Any header aiohttp accepts reaches a host outside doms byte for byte as without cachy; one it refuses fails alike"
    async def go():
        async with aiohttp.ClientSession() as s:
            async with s.post(echo.url+'/v1/x', headers={name: value}, json={'q': 1}) as r: await r.read()
    off,on = both(echo, tmp_path, lambda: asyncio.run(go()))
    assert on == off

class When(datetime.date):
    "A value only the session's own serialiser knows"

def _dumps(o): return json.dumps(o, default=lambda v: f'day {v.isoformat()}')

def test_aiohttp_json_serialize_elsewhere(echo, tmp_path):
    "A session's own `json_serialize`, for values `json.dumps` refuses, is what a host outside doms receives, as without cachy"
    async def go():
        async with aiohttp.ClientSession(json_serialize=_dumps) as s:
            async with s.post(echo.url+'/v1/x', json={'when': When(2026, 1, 2)}) as r: return await r.json()
    off,on = both(echo, tmp_path, lambda: asyncio.run(go()))
    assert on == off
    assert on[3] == b'{"when": "day 2026-01-02"}'

def test_aiohttp_json_serialize_cached(echo, tmp_path):
    "For a host cachy keeps, the body is the session's serialiser's: keyed on what is sent, the same call a hit, another one a miss"
    enable_cachy(cache_dir=tmp_path, doms=doms+('127.0.0.1',))
    async def go(day):
        async with aiohttp.ClientSession(json_serialize=_dumps) as s:
            async with s.post(echo.url+'/v1/x', json={'when': When(2026, 1, day)}) as r: return await r.json()
    echo.reset()
    a,b,c = [asyncio.run(go(d)) for d in (2, 2, 3)]
    assert a == b != c
    assert len(echo.got) == 2
    assert [json.loads(r['response'])['body'] for r in recs(tmp_path/'cachy.jsonl')] == ['{"when": "day 2026-01-02"}', '{"when": "day 2026-01-03"}']

def test_aiohttp_json_refused_cached_host(echo, tmp_path):
    "JSON that neither cachy nor aiohttp can serialise, to a host cachy keeps: aiohttp raises its own error, and cachy counts a pass"
    enable_cachy(cache_dir=tmp_path, doms=doms+('127.0.0.1',))
    async def go():
        async with aiohttp.ClientSession() as s: await s.post(echo.url+'/v1/x', json={'when': When(2026, 1, 2)})
    p = cachy_stats()['pass']
    with pytest.raises(TypeError, match='not JSON serializable'): asyncio.run(go())
    assert cachy_stats()['pass'] == p+1

@pytest.mark.parametrize('client', ['requests', 'aiohttp'])
def test_latin1_header_cached_host(echo, tmp_path, client):
    "A header value in latin-1, to a host cachy keeps: sent as the client sends it, recorded, and the same call again a hit"
    enable_cachy(cache_dir=tmp_path, doms=doms+('127.0.0.1',))
    hs = {'x-title': 'Café Zoë', 'anthropic-beta': 'tools-2024'}
    async def ago():
        async with aiohttp.ClientSession() as s:
            async with s.post(echo.url+'/v1/x', headers=hs, json={'q': 1}) as r: return await r.json()
    def go(): return requests.post(echo.url+'/v1/x', headers=hs, json={'q': 1}).json() if client == 'requests' else asyncio.run(ago())
    echo.reset()
    a,b = go(),go()
    assert a == b and len(echo.got) == 1
    assert (b'x-title', 'Café Zoë'.encode('latin-1' if client == 'requests' else 'utf-8')) in echo.got[0][2]
    [r] = recs(tmp_path/'cachy.jsonl')
    assert 'Caf' not in json.dumps(r)

def test_unsendable_header_cached_host(echo, tmp_path):
    "A header value requests cannot encode, to a host cachy keeps: cachy does not fail on it; the live call fails as without cachy"
    enable_cachy(cache_dir=tmp_path, doms=doms+('127.0.0.1',))
    with pytest.raises(UnicodeEncodeError): requests.get(echo.url+'/v1/x', headers={'x-sign': '€'})
    disable_cachy()
    with pytest.raises(UnicodeEncodeError): requests.get(echo.url+'/v1/x', headers={'x-sign': '€'})

def test_botocore_elsewhere(echo, tmp_path, aws):
    "botocore's traffic to a host cachy does not keep goes out as without cachy, and nothing of it is recorded"
    import boto3
    c = boto3.client('bedrock-runtime', endpoint_url=echo.url, region_name='us-east-1', aws_access_key_id='AKIAIOSFODNN7EXAMPLE', aws_secret_access_key='dummy')
    def call(): c.converse(modelId='m', messages=[{'role': 'user', 'content': [{'text': 'Café Zoë \x00 \U0001f600'}]}])
    off,on = both(echo, tmp_path, call)
    assert (on[0], on[1], on[3]) == (off[0], off[1], off[3])
    assert [k for k,_ in on[2]] == [k for k,_ in off[2]]
    assert not (tmp_path/'cachy.jsonl').exists()
