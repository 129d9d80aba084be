"Raw httpx and httpx2 clients against the loopback server: keys, hosts, storage, patching, scoping"
import asyncio,base64,json,re,threading
import httpx,httpx2,pytest,requests
import cachy.core
from cachy import enable_cachy,disable_cachy,cachy,no_cachy,cachy_stats,doms
from helpers import recs,mods,stats_since as delta
from server import audio

chat = lambda text, **kw: dict(model='gpt-x', messages=[{'role': 'user', 'content': text}], **kw)

@mods
def test_hit_sync(mod, srv, on, cfile):
    on()
    with mod.Client() as c:
        r1 = c.post(srv.url+'/echo', json={'q': 'hi'})
        r2 = c.post(srv.url+'/echo', json={'q': 'hi'})
    assert srv.total == 1
    assert r1.json() == r2.json()
    assert r1.json()['n'] == 1
    assert r2.status_code == 200 and r2.headers['content-type'] == 'application/json'
    assert isinstance(r2, mod.Response) and r2.request.url == r1.request.url
    assert len(recs(cfile)) == 1

@mods
def test_hit_async(mod, srv, on):
    on()
    async def go():
        async with mod.AsyncClient() as c:
            return [(await c.post(srv.url+'/echo', json={'q': 'hi'})).json() for _ in range(3)]
    rs = asyncio.run(go())
    assert srv.total == 1
    assert rs[0] == rs[1] == rs[2]

@mods
def test_stream_sync(mod, srv, on, cfile):
    on()
    def get():
        with mod.Client() as c, c.stream('POST', srv.url+'/v1/chat/completions', json=chat('hi', stream=True)) as r:
            assert r.headers['content-type'].startswith('text/event-stream')
            return list(r.iter_lines())
    l1,l2 = get(),get()
    assert srv.total == 1
    assert l1 == l2 and l1[-2] == 'data: [DONE]'
    assert [json.loads(l[6:])['choices'][0]['delta'].get('content') for l in l1[:-2] if l][:2] == ['', 'reply ']
    assert recs(cfile)[0]['response'].endswith('data: [DONE]\n\n')

@mods
def test_stream_async(mod, srv, on):
    on()
    async def get():
        async with mod.AsyncClient() as c:
            async with c.stream('POST', srv.url+'/v1/chat/completions', json=chat('hi', stream=True)) as r:
                return [b async for b in r.aiter_bytes()]
    b1,b2 = b''.join(asyncio.run(get())),b''.join(asyncio.run(get()))
    assert srv.total == 1
    assert b1 == b2
    evs = [json.loads(l[6:]) for l in b1.decode().splitlines() if l.startswith('data: {')]
    assert ''.join(e['choices'][0]['delta'].get('content') or '' for e in evs) == 'reply 1: hi'

@mods
def test_send_stream_flag_not_in_key(mod, srv, on):
    "The same request read as a stream (`send(stream=True)`) and read whole is one entry: the server gets the same bytes either way"
    on()
    with mod.Client() as c:
        with c.stream('POST', srv.url+'/echo', json={'q': 1}) as r: r.read()
        assert c.post(srv.url+'/echo', json={'q': 1}).json()['n'] == 1
        assert srv.total == 1
        c.post(srv.url+'/echo', json={'q': 2})
        with c.stream('POST', srv.url+'/echo', json={'q': 2}) as r: assert json.loads(r.read())['n'] == 2
        with c.stream('POST', srv.url+'/echo', json={'q': 1, 'stream': True}) as r: assert json.loads(r.read())['n'] == 3
    assert srv.total == 3

@mods
def test_partial_stream_drained(mod, srv, on, cfile):
    "A stream closed after a partial read (as SDKs do at their final event) is drained and recorded whole, never truncated"
    on()
    with mod.Client() as c:
        with c.stream('GET', srv.url+'/sse?k=50') as r: first = next(r.iter_lines())
        with c.stream('GET', srv.url+'/sse?k=50') as r: lines = list(r.iter_lines())
    assert srv.total == 1
    assert len(recs(cfile)) == 1
    assert recs(cfile)[0]['response'].count('data: ') == 50
    assert lines[0] == first
    assert [l for l in lines if l][-1] == 'data: {"n": 1, "i": 49}'
    async def apart():
        async with mod.AsyncClient() as c:
            async with c.stream('GET', srv.url+'/sse?k=20') as r:
                async for l in r.aiter_lines(): break
            async with c.stream('GET', srv.url+'/sse?k=20') as r: return l,[l async for l in r.aiter_lines()]
    first,lines = asyncio.run(apart())
    assert srv.total == 2
    assert recs(cfile)[1]['response'].count('data: ') == 20
    assert lines[0] == first and [l for l in lines if l][-1] == 'data: {"n": 2, "i": 19}'

# Hosts

def test_default_doms():
    "Every host pycachy 0.0.22 caches by default, and more"
    pycachy = {'chatgpt.com', 'api.openai.com', 'api.anthropic.com', 'generativelanguage.googleapis.com', 'api.deepseek.com',
               'api.fireworks.ai', 'openrouter.ai', 'api.groq.com', 'api.together.xyz', 'api.mistral.ai', 'api.x.ai', 'api.moonshot.ai'}
    assert isinstance(doms, tuple) and pycachy <= set(doms) and '127.0.0.1' not in doms

@pytest.mark.parametrize('given', ['127.0.0.1', 'http://127.0.0.1', '127.0.0.1/v1', '{url}/v1/', ('{url}',)])
def test_doms_given_loosely(given, srv, tmp_path, cfile):
    "One host as a string, or an entry written as a URL, caches that host"
    fill = lambda g: g.format(url=srv.url)
    enable_cachy(cache_dir=tmp_path, doms=fill(given) if isinstance(given, str) else tuple(map(fill, given)))
    with httpx.Client() as c: assert c.get(srv.url+'/echo').json() == c.get(srv.url+'/echo').json()
    assert srv.total == 1
    assert len(recs(cfile)) == 1

@pytest.mark.parametrize('bad', ['api.x.ai:port', 'https://', '', 'not a host', None])
def test_doms_error(bad, srv, tmp_path, cfile):
    "An entry that names no host is an error naming it, and cachy stays as it was"
    disable_cachy()
    orig = _sends()
    with pytest.raises(ValueError, match=re.escape(f"{bad!r} in doms is not a host")): enable_cachy(cache_dir=tmp_path, doms=('api.x.ai', bad))
    assert _sends() == orig

@mods
def test_other_host_passes(mod, srv, tmp_path, cfile):
    "With the default `doms`, the loopback host is not cached: every call reaches the server"
    enable_cachy(cache_dir=tmp_path)
    s0 = cachy_stats()
    with mod.Client() as c: ns = [c.get(srv.url+'/echo').json()['n'] for _ in range(3)]
    assert ns == [1, 2, 3]
    assert srv.total == 3
    assert not cfile.exists()
    assert delta(s0)['pass'] == 3
    assert delta(s0)['hit'] == delta(s0)['miss'] == 0

@mods
def test_domain_elsewhere_in_url(mod, srv, tmp_path, cfile):
    "An allowed domain in the query, path or user info of the URL doesn't make the request cached"
    enable_cachy(cache_dir=tmp_path)
    urls = [srv.url+'/echo?u=api.openai.com', srv.url+'/api.openai.com/echo',
            f'http://api.openai.com@127.0.0.1:{srv.port}/echo']
    with mod.Client() as c:
        for u in urls*2: c.get(u)
    assert srv.total == 6
    assert not cfile.exists()

@mods
def test_subdomains(mod, srv, tmp_path, cfile):
    "Through an HTTP proxy on loopback, requests name provider hosts: subdomains of `doms` hit, look-alikes pass"
    enable_cachy(cache_dir=tmp_path)
    with mod.Client(proxy=srv.url) as c:
        hits = ('api.openai.com', 'eu.api.openai.com', 'API.Anthropic.com', 'generativelanguage.googleapis.com', 'api.deepseek.com')
        for h in hits: assert c.get(f'http://{h}/echo').json() == c.get(f'http://{h}/echo').json()
        assert srv.total == 5
        for h in ('xapi.openai.com', 'api.openai.com.evil.test', 'openai.com', 'googleapis.com'):
            c.get(f'http://{h}/echo'), c.get(f'http://{h}/echo')
        assert srv.total == 13
    assert {urlhost(r['url']) for r in recs(cfile)} == {h.lower() for h in hits}

def urlhost(u): return httpx.URL(u).host

@mods
def test_host_port(mod, srv, tmp_path):
    "A `host:port` entry matches that port only"
    with mod.Client() as c:
        enable_cachy(cache_dir=tmp_path, doms=(f'127.0.0.1:{srv.port}',))
        c.get(srv.url+'/echo'), c.get(srv.url+'/echo')
        assert srv.total == 1
        enable_cachy(cache_dir=tmp_path, doms=('127.0.0.1:1',))
        c.get(srv.url+'/echo'), c.get(srv.url+'/echo')
        assert srv.total == 3
        enable_cachy(cache_dir=tmp_path, doms=('localhost',))
        c.get(srv.url+'/echo')
        assert srv.total == 4

# Keys

@mods
def test_get_post_differ(mod, srv, on, cfile):
    on()
    with mod.Client() as c:
        g,p = c.get(srv.url+'/echo'),c.post(srv.url+'/echo')
        assert srv.total == 2
        assert g.json()['method'] == 'GET'
        assert p.json()['method'] == 'POST'
        assert c.get(srv.url+'/echo').json() == g.json() and c.post(srv.url+'/echo').json() == p.json()
    assert srv.total == 2
    rs = recs(cfile)
    assert len({r['key'] for r in rs}) == 2
    assert {r['method'] for r in rs} == {'GET', 'POST'}

@mods
def test_key_param(mod, srv, on, cfile):
    "Gemini puts the API key in the `key` parameter: it is not part of the key, nor stored anywhere"
    on()
    with mod.Client() as c:
        r1 = c.get(srv.url+'/echo', params={'alt': 'sse', 'key': 'AIzaSECRET-one'})
        r2 = c.get(srv.url+'/echo', params={'key': 'AIzaSECRET-two', 'alt': 'sse'})
        assert srv.total == 1
        assert r1.json() == r2.json()
        c.get(srv.url+'/echo', params={'alt': 'json', 'key': 'AIzaSECRET-one'})
        assert srv.total == 2
    txt = cfile.read_text()
    assert 'AIza' not in txt and 'SECRET' not in txt
    assert recs(cfile)[0]['url'] == srv.url+'/echo?alt=sse'
    assert srv.reqs[0]['query']['key'] == 'AIzaSECRET-one'

@mods
def test_json_order(mod, srv, on):
    on()
    hs = {'content-type': 'application/json'}
    with mod.Client() as c:
        r1 = c.post(srv.url+'/echo', content=b'{"a": 1, "b": {"x": [1, 2], "y": "\xc3\xa9"}}', headers=hs)
        r2 = c.post(srv.url+'/echo', content='{"b":{"y":"\\u00e9","x":[1,2]},"a":1}'.encode(), headers=hs)
        assert srv.total == 1
        assert r1.json() == r2.json()
        c.post(srv.url+'/echo', content=b'{"a": 1, "b": {"x": [2, 1], "y": "e"}}', headers=hs)
        assert srv.total == 2

@mods
def test_multipart(mod, srv, on):
    "Multipart boundaries are random per request; the key ignores them but not the parts"
    on()
    with mod.Client() as c:
        r1 = c.post(srv.url+'/echo', files={'file': ('a.wav', b'RIFF\x00\xff')}, data={'model': 'w'})
        r2 = c.post(srv.url+'/echo', files={'file': ('a.wav', b'RIFF\x00\xff')}, data={'model': 'w'})
        assert srv.total == 1
        assert r1.json() == r2.json()
        with no_cachy(): c.post(srv.url+'/echo', files={'file': ('a.wav', b'RIFF\x00\xff')}, data={'model': 'w'})
        b = [re.search(r'boundary=(\S+)', r['headers']['content-type'])[1] for r in srv.reqs]
        assert b[0] != b[1]
        c.post(srv.url+'/echo', files={'file': ('a.wav', b'RIFF\x00\xfe')}, data={'model': 'w'})
        assert srv.total == 3

# What is stored

@mods
def test_gzip_stored_decoded(mod, srv, on, cfile):
    on()
    with mod.Client() as c:
        r1 = c.get(srv.url+'/echo?z=1')
        assert srv.reqs[0]['gzipped']
        r2 = c.get(srv.url+'/echo?z=1')
    assert srv.total == 1
    assert r1.json() == r2.json()
    rec = recs(cfile)[0]
    assert rec['binary'] is False and json.loads(rec['response']) == r1.json()
    assert 'content-encoding' not in rec['headers'] and 'content-encoding' not in r2.headers

@mods
def test_headers_stored(mod, srv, on, cfile):
    "Only `content-type` (and `hdrs`) of the response is stored; no request header ever is"
    on()
    hs = {'authorization': 'Bearer sk-SECRET-bearer', 'x-api-key': 'sk-ant-SECRET-x', 'cookie': 'a=SECRET'}
    with mod.Client(headers=hs) as c: c.post(srv.url+'/echo', json={'q': 1})
    assert srv.reqs[0]['headers']['authorization'] == hs['authorization']
    assert recs(cfile)[0]['headers'] == {'content-type': 'application/json'}
    txt = cfile.read_text()
    for s in ['SECRET', 'org-secret', 'proj-secret', 'cookie-secret', 'req-secret', 'x-api-key', 'authorization']: assert s not in txt
    on(hdrs=('X-Request-Id',))
    with mod.Client() as c: c.post(srv.url+'/echo', json={'q': 2})
    assert recs(cfile)[1]['headers'] == {'content-type': 'application/json', 'x-request-id': 'req-secret-2'}

@mods
def test_record_fields(mod, srv, on, cfile):
    on()
    with mod.Client() as c: c.post(srv.url+'/echo?a=1', json={'q': 1})
    rec = recs(cfile)[0]
    assert list(rec)[:5] == ['key', 'response', 'headers', 'status_code', 'binary']
    assert re.fullmatch('[0-9a-f]{24}', rec['key']) and rec['status_code'] == 200
    assert rec['method'] == 'POST' and rec['url'] == srv.url+'/echo?a=1'

@mods
@pytest.mark.parametrize('ct', ['application/octet-stream', 'text/plain'])
def test_binary(mod, ct, srv, on, cfile):
    "Non-text bodies, and text-typed bodies that aren't UTF-8, are stored base64 and replayed byte-exact"
    on()
    with mod.Client() as c: b1,b2 = [c.get(srv.url+f'/bytes?ct={ct}').content for _ in range(2)]
    assert srv.total == 1
    assert b1 == b2 == audio(1, '/bytes')
    rec = recs(cfile)[0]
    assert rec['binary'] is True and base64.b64decode(rec['response']) == b1

@mods
@pytest.mark.parametrize('code,kept', [(404, True), (400, True), (422, True), (401, False), (403, False),
                                       (408, False), (409, False), (429, False), (500, False), (503, False)])
def test_status_recorded(mod, code, kept, srv, on, cfile):
    on()
    with mod.Client() as c: rs = [c.get(srv.url+f'/echo?status={code}') for _ in range(2)]
    assert [r.status_code for r in rs] == [code, code]
    assert srv.total == (1 if kept else 2)
    assert len(recs(cfile)) == kept
    assert (rs[0].json() == rs[1].json()) == kept

# Patching

def _sends(): return {cls: cls.__dict__['send'] for cls in (httpx.Client, httpx.AsyncClient, httpx2.Client, httpx2.AsyncClient)}

def test_enable_twice(srv, on):
    disable_cachy()
    orig = _sends()
    on(); on(debug=False)
    now = _sends()
    assert all(now[k] is not orig[k] for k in orig)
    s0 = cachy_stats()
    with httpx.Client() as c: c.get(srv.url+'/echo')
    assert srv.total == 1
    assert delta(s0)['miss'] == 1
    assert delta(s0)['recorded'] == 1
    on()
    with httpx.Client() as c: c.get(srv.url+'/echo')
    assert srv.total == 1
    assert delta(s0)['hit'] == 1
    assert delta(s0)['miss'] == 1
    disable_cachy()
    assert all(_sends()[k] is orig[k] for k in orig)
    assert httpx.Client.send is orig[httpx.Client]

def test_disable_harmless(srv, tmp_path):
    disable_cachy()
    orig = _sends()
    disable_cachy(); disable_cachy()
    assert _sends() == orig
    with httpx.Client() as c: c.get(srv.url+'/echo'), c.get(srv.url+'/echo')
    assert srv.total == 2
    assert not (tmp_path/'cachy.jsonl').exists()

def test_disable_stops_caching(srv, on, cfile):
    on()
    with httpx2.Client() as c:
        c.get(srv.url+'/echo')
        disable_cachy()
        assert c.get(srv.url+'/echo').json()['n'] == 2
    assert srv.total == 2
    assert len(recs(cfile)) == 1

# Debugging

def test_debug(srv, on, capsys, cfile):
    "A line naming the file, then one per request: HIT, MISS or PASS, the key, the method and the URL"
    on(debug=True)
    with httpx.Client() as c:
        c.post(srv.url+'/echo?x=1', json={'a': 1}), c.post(srv.url+'/echo?x=1', json={'a': 1})
        c.get(f'http://localhost:{srv.port}/echo')
    out = capsys.readouterr().out.splitlines()
    key = recs(cfile)[0]['key']
    assert out[0] == f'cachy ON record: {cfile}, a new file, made on the first recording'
    assert out[1] == f'cachy MISS {key} POST {srv.url}/echo?x=1'
    assert re.fullmatch(rf'cachy HIT {key} POST {re.escape(srv.url)}/echo\?x=1 \(saved [\d.]+ m?s\)', out[2]), out[2]
    assert out[3:] == [f'cachy PASS - GET http://localhost:{srv.port}/echo (not in doms)']

def test_debug_miss(srv, on, capsys, cfile):
    "`debug='miss'` prints the file, then the misses only, as in pycachy"
    on(debug='miss')
    with httpx.Client() as c:
        c.get(srv.url+'/echo?x=2'), c.get(srv.url+'/echo?x=2')
        c.get(f'http://localhost:{srv.port}/echo')
    assert capsys.readouterr().out.splitlines() == [f'cachy ON record: {cfile}, a new file, made on the first recording',
                                                    f"cachy MISS {recs(cfile)[0]['key']} GET {srv.url}/echo?x=2"]

def test_no_debug_output(srv, on, capsys):
    on()
    with httpx.Client() as c: c.get(srv.url+'/echo'), c.get(srv.url+'/echo')
    assert capsys.readouterr().out == ''

# Scoping

def test_cachy_cm(srv, tmp_path):
    a,b = tmp_path/'a',tmp_path/'b'
    a.mkdir(); b.mkdir()
    disable_cachy()
    orig = _sends()
    with httpx.Client() as c:
        with cachy(cache_dir=a, doms=('127.0.0.1',)):
            c.get(srv.url+'/echo?w=a')
        assert _sends() == orig
        c.get(srv.url+'/echo?w=a')
        assert srv.total == 2
        enable_cachy(cache_dir=a, doms=('127.0.0.1',), debug=False)
        with cachy(cache_dir=b, doms=('127.0.0.1',)):
            c.get(srv.url+'/echo?w=b'); c.get(srv.url+'/echo?w=b')
            assert srv.total == 3
        assert c.get(srv.url+'/echo?w=a').json()['n'] == 1
        c.get(srv.url+'/echo?w=b')
        assert srv.total == 4
    assert len(recs(a/'cachy.jsonl')) == 2
    assert len(recs(b/'cachy.jsonl')) == 1

def test_cachy_cm_restores_on_error(srv, tmp_path):
    disable_cachy()
    orig = _sends()
    with pytest.raises(KeyError):
        with cachy(cache_dir=tmp_path, doms=('127.0.0.1',)): raise KeyError
    assert _sends() == orig

def test_no_cachy_sync(srv, on):
    on()
    with httpx.Client() as c:
        c.get(srv.url+'/echo')
        with no_cachy(): assert c.get(srv.url+'/echo').json()['n'] == 2
        assert c.get(srv.url+'/echo').json()['n'] == 1
    assert srv.total == 2

def test_no_cachy_task(srv, on):
    "Inside `no_cachy` in one task, another task running meanwhile still hits"
    on()
    with httpx.Client() as c: c.get(srv.url+'/echo')
    async def go():
        inside,done = asyncio.Event(),asyncio.Event()
        async with httpx2.AsyncClient() as c:
            async def live():
                with no_cachy():
                    inside.set()
                    await done.wait()
                    return (await c.get(srv.url+'/echo')).json()['n']
            async def hit():
                await inside.wait()
                n = (await c.get(srv.url+'/echo')).json()['n']
                done.set()
                return n
            return await asyncio.gather(live(), hit())
    assert asyncio.run(go()) == [2, 1]
    assert srv.total == 2

def test_no_cachy_thread(srv, on):
    on()
    with httpx.Client() as c: c.get(srv.url+'/echo')
    inside,done,res = threading.Event(),threading.Event(),{}
    def live():
        with no_cachy():
            inside.set()
            done.wait(5)
            with httpx.Client() as c: res['live'] = c.get(srv.url+'/echo').json()['n']
    t = threading.Thread(target=live)
    t.start()
    inside.wait(5)
    with httpx.Client() as c: res['hit'] = c.get(srv.url+'/echo').json()['n']
    done.set()
    t.join(5)
    assert res == {'live': 2, 'hit': 1}
    assert srv.total == 2

# Where the file goes

@pytest.mark.parametrize('marker', ['pyproject.toml', 'settings.ini'])
def test_default_dir(marker, srv, tmp_path, monkeypatch):
    (tmp_path/marker).write_text('')
    (tmp_path/'nbs'/'sub').mkdir(parents=True)
    monkeypatch.chdir(tmp_path/'nbs'/'sub')
    enable_cachy(doms=('127.0.0.1',))
    with httpx.Client() as c: c.get(srv.url+'/echo')
    assert len(recs(tmp_path/'cachy.jsonl')) == 1
    assert not (tmp_path/'nbs'/'cachy.jsonl').exists() and not (tmp_path/'nbs'/'sub'/'cachy.jsonl').exists()

def test_default_dir_cwd(srv, tmp_path, monkeypatch):
    "Without a project marker above it, the working directory holds the file"
    if any((p/m).exists() for p in tmp_path.parents for m in ('pyproject.toml', 'settings.ini')): pytest.fail('marker above tmp')
    monkeypatch.chdir(tmp_path)
    enable_cachy(doms=('127.0.0.1',))
    with httpx.Client() as c: c.get(srv.url+'/echo')
    assert len(recs(tmp_path/'cachy.jsonl')) == 1

# A hit never raises because of what a record holds

@pytest.mark.parametrize('note,wire', [('naïve café', 'latin-1'), ('café ✓', 'utf-8')])
def test_non_ascii_header_replays(note, wire, srv, on):
    "A response header kept with hdrs= whose value is not ASCII, as latin-1 or UTF-8 bytes on the wire, is replayed with the value the live call had"
    from urllib.parse import quote
    on(hdrs=['x-note'])
    url = f'{srv.url}/stable/note?note={quote(note)}&wire={wire}'
    with httpx.Client() as c: live = c.get(url)
    assert live.headers['x-note'] == note
    with httpx.Client() as c, httpx2.Client() as c2: hits = [c.get(url), c2.get(url), c.get(url)]
    assert [(h.headers['x-note'], h.json()) for h in hits] == [(note, live.json())]*3
    assert requests.get(url).json() == live.json()
    assert srv.total == 1
