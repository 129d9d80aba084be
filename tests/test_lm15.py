"""lm15, DSPy's default engine (vendored in DSPy 3.4, and published alone), speaks HTTP/1.1 over sockets of its own:
cachy's adapter caches its sync and async transports, streams included, against the loopback server's OpenAI chat
completions. DSPy itself runs in `test_frameworks.py`."""
import asyncio,json
import pytest
from lm15.transports import StdlibTransport,StdlibAsyncTransport,TransportRequest
from cachy import enable_cachy,ReplayMiss
from helpers import ours,msgs,recs

def req(srv, text, stream=False):
    "lm15's request for a chat completion of `text`"
    body = json.dumps(dict(model='gpt-x', messages=msgs(text), stream=stream)).encode()
    return TransportRequest('POST', srv.url+'/v1/chat/completions', [('content-type', 'application/json'), ('authorization', 'Bearer sk-lm15')], body)

def get(t, r, lines=None):
    "The body of the answer to `r`, whole, or its first `lines` lines before the response is closed"
    with t.stream(r) as res: return res.read() if lines is None else [l for _,l in zip(range(lines), res.iter_lines())]

async def aget(t, r):
    async with t.stream(r) as res: return await res.read()

@pytest.mark.sdk('lm15', 'sync')
def test_sync(srv, on, cfile):
    on()
    with StdlibTransport() as t: a,b = get(t, req(srv, 'hi lm15')),get(t, req(srv, 'hi lm15'))
    assert (a, srv.total) == (b, 1)
    assert json.loads(a)['choices'][0]['message']['content'] == 'reply 1: hi lm15'
    assert 'sk-lm15' not in cfile.read_text()

@pytest.mark.sdk('lm15', 'async')
def test_async(srv, on):
    on()
    async def run():
        async with StdlibAsyncTransport() as t: return await aget(t, req(srv, 'hi async')),await aget(t, req(srv, 'hi async'))
    a,b = asyncio.run(run())
    assert (a, srv.total) == (b, 1)

@pytest.mark.sdk('lm15', 'sync', 'stream')
def test_stream_closed_early_is_recorded_whole(srv, on, cfile):
    "lm15 closes a stream once it has what it wants: the rest is read first, recorded whole, and replayed whole"
    on()
    with StdlibTransport() as t:
        first = get(t, req(srv, 'one two three', stream=True), lines=1)
        whole = get(t, req(srv, 'one two three', stream=True))
    assert srv.total == 1
    assert whole.startswith(first[0]) and whole.rstrip().endswith(b'data: [DONE]')
    assert [r['response'] for r in recs(cfile)] == [whole.decode()]

@pytest.mark.sdk('lm15', 'async', 'stream')
def test_async_stream(srv, on):
    on()
    async def run():
        async with StdlibAsyncTransport() as t: return [await aget(t, req(srv, 'a stream', stream=True)) for _ in range(2)]
    a,b = asyncio.run(run())
    assert (a, srv.total) == (b, 1)

def test_offline(srv, on):
    "Offline, a recorded call replays and an unrecorded one raises ReplayMiss without a request"
    on()
    with StdlibTransport() as t: live = get(t, req(srv, 'kept'))
    on(offline=True)
    with StdlibTransport() as t:
        assert get(t, req(srv, 'kept')) == live
        with pytest.raises(ReplayMiss, match='no recorded response for POST'): get(t, req(srv, 'new'))
    assert srv.total == 1
