"""A stream is recorded only when it was read to its real end, and one the caller stops reading costs the caller nothing:
closing it returns at once (within `_grace`, 0.1 s, as the openai SDK's own drain), its rest is read in the background
and recorded whole, a request for the same answer meanwhile waits for it, and exit neither hangs nor aborts. Issue 22,
items 1, 10, 12 and 13: the loopback server (tests/server.py: events, stalls), requests, httpx, httpx2, aiohttp and the
openai SDK; subprocesses for exit."""
import asyncio,base64,gc,json,re,time
from pathlib import Path
import httpx,httpx2,pytest,requests
from hypothesis import given,settings,HealthCheck,strategies as st
from cachy import no_cachy
from helpers import msgs,py,recs,mods,raised

# What a whole body is, for each kind of body the server sends: chunked events, a body of known length, gzipped JSON
paths = {'chunked': '/sse?k=41', 'length': '/bytes?size=300000', 'gzip': '/stable/x?pad=200000'}

def whole(kind, b):
    "Whether `b` (bytes) is a whole body of `kind`"
    if kind == 'chunked': return b.count(b'data: ') == 41 and b.endswith(b'"i": 40}\n\n')
    if kind == 'length': return len(b) == 300000
    try: return len(json.loads(b)['pad']) == 200000
    except ValueError: return False

def recorded(rec):
    "The body a record holds, as bytes"
    return base64.b64decode(rec['response']) if rec.get('binary') else rec['response'].encode()

def stop_reading(r, how, n, stop):
    "Read `n` pieces of requests response `r` by `how`, then stop by `stop`: 'with' (leave the block), 'close', 'del' (dropped and collected) or 'keep'"
    reads = {'iter_lines': lambda: r.iter_lines(), 'iter_content': lambda: r.iter_content(1000),
             'stream': lambda: r.raw.stream(1000, decode_content=True), 'read': lambda: iter(lambda: r.raw.read(1000, decode_content=True), b'')}
    for i,_ in enumerate(reads[how]()):
        if i+1 >= n: break
    if stop == 'close': r.close()
    return r if stop == 'keep' else None

def get(srv, kind): return requests.get(srv.url+paths[kind], stream=True)

# 1. requests: a stream left after `break` is recorded whole, never cut short

@pytest.mark.parametrize('kind', list(paths))
@pytest.mark.parametrize('stop', ['with', 'close', 'del'])
def test_requests_break_records_whole(kind, stop, srv, cached):
    "`for line in r.iter_lines(): break`: urllib3 lets the connection go, yet the rest is read and the record is whole; the same request then replays it whole"
    if stop == 'with':
        with get(srv, kind) as r: stop_reading(r, 'iter_lines', 1, 'with')
    else:
        stop_reading(get(srv, kind), 'iter_lines', 1, stop)
        gc.collect()
    again = get(srv, kind).content
    assert srv.total == 1
    rec, = recs(cached)
    assert whole(kind, recorded(rec)) and whole(kind, again)
    assert again == recorded(rec)

@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(list(paths)), how=st.sampled_from(['iter_lines', 'iter_content', 'stream', 'read']),
       n=st.integers(1, 50), stop=st.sampled_from(['with', 'close', 'del', 'keep']))
def test_requests_stopped_anyhow_whole_or_nothing(kind, how, n, stop, srv, on, tmp_path_factory):
    "However the caller reads and stops, what is recorded is the whole body or nothing, and the next request gets a whole body"
    srv.reset()
    on(cache_dir=tmp_path_factory.mktemp('c'))
    from cachy import cachy_stats
    f = cachy_stats()['file']
    if stop == 'with':
        with get(srv, kind) as r: kept = stop_reading(r, how, n, stop)
    else: kept = stop_reading(get(srv, kind), how, n, stop)
    gc.collect()
    again = get(srv, kind).content
    assert whole(kind, again)
    assert srv.total in (1, 2)
    for rec in recs(Path(f)): assert whole(kind, recorded(rec))
    if kept is not None: kept.close()

# 12. Closing a stream half read returns at once; its rest is read in the background, and a second ask waits for it

def _sync_client(mod):
    def read(url):
        with mod.Client(timeout=10) as c:
            with c.stream('GET', url) as r:
                it = r.iter_lines()
                first = next(it)
                t = time.monotonic()
                del it
            took = time.monotonic()-t
            with c.stream('GET', url) as r: return first,took,list(r.iter_lines())
    return read

def _async_client(mod):
    async def go(url):
        async with mod.AsyncClient(timeout=10) as c:
            async with c.stream('GET', url) as r:
                async for first in r.aiter_lines(): break
                t = time.monotonic()
            took = time.monotonic()-t
            async with c.stream('GET', url) as r: return first,took,[l async for l in r.aiter_lines()]
    return lambda url: asyncio.run(go(url))

def _requests(url):
    with requests.Session() as s:
        with s.get(url, stream=True) as r:
            it = r.iter_lines()
            first = next(it).decode()
            t = time.monotonic()
            del it
        took = time.monotonic()-t
        return first,took,[l.decode() for l in s.get(url, stream=True).iter_lines()]

def _aiohttp(url):
    import aiohttp
    async def go():
        async with aiohttp.ClientSession() as s:
            async with s.get(url, headers={'accept': 'text/event-stream'}) as r:
                first = (await r.content.readline()).decode().rstrip('\n')
                t = time.monotonic()
            took = time.monotonic()-t
            async with s.get(url, headers={'accept': 'text/event-stream'}) as r: return first,took,[l.decode().rstrip('\n') async for l in r.content]
    return asyncio.run(go())

clients = {'httpx': _sync_client(httpx), 'httpx2': _sync_client(httpx2), 'httpx-async': _async_client(httpx), 'httpx2-async': _async_client(httpx2),
           'requests': _requests, 'aiohttp': _aiohttp}

@pytest.mark.slow
@pytest.mark.parametrize('client', list(clients))
def test_close_returns_at_once(client, srv, cached):
    "'Stop generating': the close takes no longer than without cachy, though the provider goes on for 2 s; the same request then waits for the rest and replays it whole"
    url = srv.url+'/sse?k=6&stall=2'
    first,took,lines = clients[client](url)
    assert took < 0.5
    assert first == 'data: {"n": 1, "i": 0}'
    assert [l for l in lines if l] == [f'data: {{"n": 1, "i": {i}}}' for i in range(6)]
    assert srv.total == 1
    assert recorded(recs(cached)[0]).count(b'data: ') == 6

@pytest.mark.slow
def test_openai_stop_generating(srv, cached, oai):
    "The openai SDK's `stream.close()` after the first chunk returns at once, and the same call replays the whole answer"
    def ask():
        s = oai.chat.completions.create(model='stall-2', messages=msgs('stop'), stream=True)
        first = next(iter(s)).choices[0].delta.content
        t = time.monotonic()
        s.close()
        return first,time.monotonic()-t
    first,took = ask()
    assert took < 0.5
    whole_text = ''.join(c.choices[0].delta.content or '' for c in oai.chat.completions.create(model='stall-2', messages=msgs('stop'), stream=True) if c.choices)
    assert (first, whole_text) == ('', 'reply 1: stop')
    assert srv.total == 1

def test_client_closed_first_records_whole(srv, on, cfile, capsys):
    "A client closed while the rest of a stream it served is still coming reads it to its end first (the close waits), and it is recorded whole"
    on(debug=True)
    with httpx.Client() as c, c.stream('GET', srv.url+'/sse?k=6&stall=1') as r: next(r.iter_lines())
    assert recorded(recs(cfile)[0]).count(b'data: ') == 6
    with httpx.Client() as c: assert c.get(srv.url+'/sse?k=6&stall=1').text.count('data: ') == 6
    assert srv.total == 1

@pytest.mark.parametrize('kept', [False, True])
@pytest.mark.parametrize('is_async', [False, True])
def test_sdk_client_closed_with_a_stream_half_read(is_async, kept, srv, cached):
    "A stream left half read in a `with OpenAI() as client:` block (dropped, or still held) is read to its end as the block ends, recorded whole, and replays"
    from openai import OpenAI,AsyncOpenAI
    ask = dict(model='gpt-x', messages=msgs('a long story '*40), stream=True)
    def run():
        with OpenAI(api_key='sk-test', base_url=srv.url+'/v1', max_retries=0) as c:
            s = c.chat.completions.create(**ask)
            for chunk in s: break
            if not kept: del s
    async def arun():
        async with AsyncOpenAI(api_key='sk-test', base_url=srv.url+'/v1', max_retries=0) as c:
            s = await c.chat.completions.create(**ask)
            async for chunk in s: break
            if not kept: del s
    for _ in range(2): asyncio.run(arun()) if is_async else run()
    rec, = recs(cached)
    assert rec['response'].rstrip().endswith('data: [DONE]') and rec['response'].count('"content": "story "') == 40
    assert srv.total == 1

@pytest.mark.parametrize('is_async', [False, True])
def test_client_close_gives_up_on_a_stall(is_async, srv, on, cfile, capsys, monkeypatch):
    "A client whose half-read stream stalls closes after `_exit_wait` (1 s here), not later, records nothing of it, and says why"
    import cachy.streams
    monkeypatch.setattr(cachy.streams, '_exit_wait', 1)
    on(debug=True)
    url = srv.url+'/sse?k=6&stall=4'
    def run():
        with httpx.Client() as c:
            r = c.send(c.build_request('GET', url), stream=True)
            next(r.iter_lines())
    async def arun():
        async with httpx.AsyncClient() as c:
            r = await c.send(c.build_request('GET', url), stream=True)
            await anext(r.aiter_lines())
    t = time.monotonic()
    asyncio.run(arun()) if is_async else run()
    assert 0.9 < time.monotonic()-t < 2.5
    assert recs(cfile) == []
    assert 'its client was closed, and it was not finished within 1 s' in capsys.readouterr().out

@pytest.mark.parametrize('client', ['httpx', 'openai'])
def test_client_closed_on_interrupt_waits_for_nothing(client, srv, on, cfile):
    "A block the user stops (KeyboardInterrupt) closes its client at once, as without cachy, an SDK's client too: the stream is cut, and not recorded"
    from openai import OpenAI
    on()
    t = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        if client == 'httpx':
            with httpx.Client() as c, c.stream('GET', srv.url+'/sse?k=6&stall=2') as r:
                next(r.iter_lines())
                raise KeyboardInterrupt
        with OpenAI(api_key='sk-test', base_url=srv.url+'/v1', max_retries=0) as c:
            s = c.chat.completions.create(model='stall-2', messages=msgs('stop'), stream=True)
            next(iter(s))
            raise KeyboardInterrupt
    assert time.monotonic()-t < 1
    time.sleep(0.3)
    assert recs(cfile) == []

# 13. Exit with a stream left open, or being finished, waits at most `_exit_wait` and then ends cleanly

_stalled = '''
import asyncio,sys
import cachy.core,cachy.streams
from cachy import enable_cachy
from helpers import ours
url,d,how = sys.argv[1:4]
cachy.streams._exit_wait = 2
if sys.argv[4:] != ['off']: enable_cachy(cache_dir=d, doms=ours, debug=True)
u = url+'/sse?k=40&stall=30'
if how.startswith('requests'):
    import requests
    r = requests.get(u, stream=True)
    print(next(r.iter_lines()).decode())
    if how == 'requests closed': r.close()
elif how.startswith('httpx'):
    import httpx
    c = httpx.Client()
    r = c.send(c.build_request('GET', u), stream=True)
    print(next(r.iter_lines()))
    if how == 'httpx closed': r.close()
else:
    import aiohttp
    async def first():
        global kept
        s = aiohttp.ClientSession()
        r = await s.get(u if 'stalled' in how else url+'/sse?k=40', headers={'accept': 'text/event-stream'})
        kept = s,r,await r.content.readline()
        print(kept[2].decode().strip())
        if 'whole' in how: await r.content.read()
    if 'asyncio.run' in how: asyncio.run(first())
    else: asyncio.new_event_loop().run_until_complete(first())
'''

def said(err):
    "The first lines of what a program printed to stderr, of each warning and traceback, addresses and times made constant"
    return [re.sub(r'0x[0-9a-f]+|\d+\.\d+', 'N', l) for l in err.splitlines() if l and not l.startswith(' ')]

@pytest.mark.slow
@pytest.mark.parametrize('how', ['requests', 'requests closed', 'httpx', 'httpx closed', 'aiohttp stalled', 'aiohttp stalled asyncio.run'])
def test_exit_with_stalled_stream(how, srv, tmp_path):
    "The interpreter ends with status 0 within `_exit_wait` (2 s here) and a second, printing nothing but what debug asks for and what it prints without cachy (aiohttp warns of what is left open), and records nothing"
    plain = py(_stalled, srv.url, tmp_path, how, 'off', timeout=60)
    t = time.monotonic()
    r = py(_stalled, srv.url, tmp_path, how, timeout=60)
    took = time.monotonic()-t
    assert (plain.returncode, r.returncode) == (0, 0), r.stderr
    assert set(said(r.stderr)) <= set(said(plain.stderr))
    assert took < 8
    out = r.stdout.splitlines()
    assert out[2] == 'data: {"n": 2, "i": 0}'  # the first request was the run without cachy
    assert out[3].startswith('cachy NOT RECORDED ') and out[3].endswith('(it was left half read, and not finished within 2 s of exit)'), out
    assert recs(tmp_path/'cachy.jsonl') == []

# 10. aiohttp: a stream closed half read is finished and recorded; one read to its end with readexactly is recorded

def _chat(s, srv, model='m'):
    return s.post(srv.url+'/v1/chat/completions', json={'model': model, 'stream': True, 'messages': msgs('hi')})

@pytest.mark.parametrize('how', ['async with', 'release', 'close'])
def test_aiohttp_closed_half_read_recorded(how, srv, cached):
    import aiohttp
    async def go():
        async with aiohttp.ClientSession() as s:
            if how == 'async with':
                async with _chat(s, srv) as r: first = await r.content.readline()
            else:
                r = await _chat(s, srv)
                first = await r.content.readline()
                r.release() if how == 'release' else r.close()
                await asyncio.sleep(0.2)
            async with _chat(s, srv) as r: return first,[l async for l in r.content]
    first,lines = asyncio.run(go())
    assert srv.total == 1
    assert lines[0] == first and lines[-2] == b'data: [DONE]\n'
    rec, = recs(cached)
    assert recorded(rec) == b''.join(lines)

def test_aiohttp_readexactly_to_the_end(srv, cached):
    "Reading with `readexactly` until its `IncompleteReadError` at the end (the usual way to find the end) is reading it whole"
    import aiohttp
    async def go():
        async with aiohttp.ClientSession() as s, _chat(s, srv) as r:
            out = b''
            while True:
                try: out += await r.content.readexactly(16)
                except asyncio.IncompleteReadError as e: return out+e.partial
    a,b = asyncio.run(go()),asyncio.run(go())
    assert a == b and a.endswith(b'data: [DONE]\n\n')
    assert srv.total == 1
    assert recorded(recs(cached)[0]) == a

def test_aiohttp_left_open_in_asyncio_run(srv, tmp_path):
    "A stream left half read as `asyncio.run` ends is read to its end there, before the loop closes, and recorded; aiohttp warns as when the program reads it whole"
    plain = py(_stalled, srv.url, tmp_path, 'aiohttp asyncio.run whole', 'off', timeout=60)
    r = py(_stalled, srv.url, tmp_path, 'aiohttp asyncio.run', timeout=60)
    assert r.returncode == 0, r.stderr
    assert set(said(r.stderr)) <= set(said(plain.stderr))
    assert r.stdout.splitlines()[2:] == ['data: {"n": 2, "i": 0}']
    rec, = recs(tmp_path/'cachy.jsonl')
    assert recorded(rec).count(b'data: ') == 40

# A stream cut by the network, or stalled past the client's timeout, is never recorded

@mods
@pytest.mark.parametrize('how', ['cut=2', pytest.param('stall=2', marks=pytest.mark.slow)])
def test_broken_stream_sync(mod, how, srv, cached):
    "The caller gets the error it gets without cachy, every time, and nothing is recorded"
    def get():
        with mod.Client(timeout=0.5) as c, c.stream('GET', f'{srv.url}/sse?k=5&{how}') as r: return list(r.iter_lines())
    with no_cachy(): plain = raised(get)
    assert plain is not None and issubclass(plain, mod.TransportError)
    assert [raised(get) for _ in range(2)] == [plain, plain]
    assert srv.total == 3
    assert recs(cached) == []

@mods
@pytest.mark.parametrize('how', ['cut=2', pytest.param('stall=2', marks=pytest.mark.slow)])
def test_broken_stream_async(mod, how, srv, cached):
    async def get():
        async with mod.AsyncClient(timeout=0.5) as c:
            async with c.stream('GET', f'{srv.url}/sse?k=5&{how}') as r: return [l async for l in r.aiter_lines()]
    with no_cachy(): plain = raised(lambda: asyncio.run(get()))
    assert plain is not None and issubclass(plain, mod.TransportError)
    assert [raised(lambda: asyncio.run(get())) for _ in range(2)] == [plain, plain]
    assert srv.total == 3
    assert recs(cached) == []

def test_broken_stream_sdks(srv, cached, oai, ant):
    "openai and anthropic streams cut after three events raise as they would without cachy, and are asked again next time"
    def chat(): return [c for c in oai.chat.completions.create(model='cut-3', messages=msgs('hi'), stream=True)]
    def claude(): return list(ant.messages.create(model='cut-3', max_tokens=9, messages=msgs('hi'), stream=True))
    with no_cachy(): plain = raised(chat),raised(claude)
    assert None not in plain
    assert [(raised(chat), raised(claude)) for _ in range(2)] == [plain]*2
    assert srv.total == 6
    assert recs(cached) == []

def test_broken_stream_requests(srv, cached):
    def get(): return list(requests.get(f'{srv.url}/sse?k=5&cut=2', stream=True).iter_lines())
    assert [raised(get) for _ in range(2)] == [requests.exceptions.ChunkedEncodingError]*2
    assert srv.total == 2
    assert recs(cached) == []

def test_broken_stream_aiohttp(srv, cached):
    import aiohttp
    async def get():
        async with aiohttp.ClientSession() as s, s.post(f'{srv.url}/v1/chat/completions', json={'model': 'cut-2', 'stream': True, 'messages': msgs('hi')}) as r:
            return [l async for l in r.content]
    assert [raised(lambda: asyncio.run(get())) for _ in range(2)] == [aiohttp.ClientPayloadError]*2
    assert srv.total == 2
    assert recs(cached) == []

# A stream the caller stops reading is recorded when closed, collected, or at the latest at exit

_left = '''
import asyncio,sys
import httpx
import cachy.core,cachy.streams
from cachy import enable_cachy
from helpers import ours
url,d,how = sys.argv[1:4]
cachy.streams._exit_wait = 3
enable_cachy(cache_dir=d, doms=ours, debug=True)
async def first(c):
    r = await c.send(c.build_request('GET', url+'/sse?k=40' + ('&stall=30' if how == 'stalled' else '')), stream=True)
    it = r.aiter_lines()
    return r,it,await anext(it)
if how == 'sync':
    c = httpx.Client()
    r = c.send(c.build_request('GET', url+'/sse?k=40'), stream=True)
    it = r.iter_lines()
    print(next(it))
elif how == 'asyncio_run':
    async def main():
        global kept
        kept = await first(httpx.AsyncClient())
        print(kept[2])
    asyncio.run(main())
else:
    loop = asyncio.new_event_loop()
    kept = loop.run_until_complete(first(httpx.AsyncClient()))
    print(kept[2])
    if how == 'closed_loop': loop.close()
'''

@pytest.mark.parametrize('how', ['sync', 'loop', 'asyncio_run', 'closed_loop', pytest.param('stalled', marks=pytest.mark.slow)])
def test_left_open_at_exit(how, srv, tmp_path):
    "Finished and recorded at exit within `_exit_wait` seconds, printing nothing but, when debugging, what it could not finish (a stream whose loop asyncio.run closed)"
    t = time.monotonic()
    r = py(_left, srv.url, tmp_path, how)
    assert r.returncode == 0, r.stderr
    assert time.monotonic()-t < 20
    assert r.stderr == ''
    out = r.stdout.splitlines()
    assert out[0] == f"cachy ON record: {tmp_path/'cachy.jsonl'}, a new file, made on the first recording"
    assert out[2] == 'data: {"n": 1, "i": 0}'
    if how in ('sync', 'loop'):
        assert len(out) == 3
        rec, = recs(tmp_path/'cachy.jsonl')
        assert rec['response'].count('data: ') == 40
    else:
        assert out[3].startswith('cachy NOT RECORDED ') and out[3].endswith('(it was left half read, and its event loop had closed at exit)' if how != 'stalled' else
                                                                          '(it was left half read, and not finished within 3 s of exit)')
        assert recs(tmp_path/'cachy.jsonl') == []

def test_debug_says_why_not_recorded(srv, on, capsys):
    on(debug=True)
    with httpx.Client(timeout=0.5) as c:
        with pytest.raises(httpx.ReadError):
            with c.stream('GET', f'{srv.url}/sse?k=5&cut=2') as r: r.read()
        c.get(srv.url+'/echo?status=503')
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith('cachy ON record: ')
    assert out[2].startswith('cachy NOT RECORDED ') and 'the stream broke off: ReadError' in out[2]
    assert out[4].startswith('cachy NOT RECORDED ') and out[4].endswith('(status 503, which may differ next time)')

# requests and aiohttp streams reach the caller live, and record when read to the end

def test_requests_stream_is_live(srv, cached):
    t = time.monotonic()
    with requests.get(f'{srv.url}/sse?k=5&stall=1', stream=True) as r:
        it = r.iter_lines()
        first,at = next(it),time.monotonic()-t
        rest = list(it)
    assert first == b'data: {"n": 1, "i": 0}'
    assert at < 0.8
    assert len(recs(cached)) == 1
    with requests.get(f'{srv.url}/sse?k=5&stall=1', stream=True) as r: again = list(r.iter_lines())
    assert again == [first, *rest]
    assert srv.total == 1

@pytest.mark.sdk('aiohttp', 'async', 'stream')
def test_aiohttp_stream_is_live(srv, cached):
    import aiohttp
    async def go():
        t = time.monotonic()
        body = {'model': 'stall-1', 'stream': True, 'messages': msgs('hi')}
        async with aiohttp.ClientSession() as s, s.post(f'{srv.url}/v1/chat/completions', json=body) as r:
            first = await r.content.readline()
            at = time.monotonic()-t
            return first,at,[first, *[l async for l in r.content]]
    (f1,at,a),(f2,_,b) = asyncio.run(go()),asyncio.run(go())
    assert at < 0.8
    assert a == b and f1.startswith(b'data: {')
    assert srv.total == 1
