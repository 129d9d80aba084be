"LiteLLM and google-genai, sync, async and streaming, against the loopback server speaking OpenAI chat completions and Gemini"
import asyncio,json,os,socket
import pytest

pytestmark = [pytest.mark.filterwarnings('ignore:.*ReadOnly.*:UserWarning'),  # pydantic, on LiteLLM's types
              pytest.mark.filterwarnings('ignore:Inheritance class AiohttpClientSession:DeprecationWarning')]  # google-genai's session

os.environ['LITELLM_LOCAL_MODEL_COST_MAP'] = 'True'
import cachy.adapters
from cachy.core import enable_cachy,disable_cachy,cachy_stats,ReplayMiss
from helpers import ours

OKEY,GKEY = 'sk-test-SECRET-litellm-7c1d0e','AIza-test-SECRET-gemini-5b9f2a'

@pytest.fixture(scope='module', autouse=True)
def loopback_only():
    "Refuse, and fail the module on, any connection or name lookup beyond loopback"
    tried,conn,gai = [],socket.socket.connect,socket.getaddrinfo
    local = ('127.0.0.1', '::1', 'localhost')
    def connect(self, addr):
        if self.family in (socket.AF_INET, socket.AF_INET6) and addr[0] not in local:
            tried.append(addr)
            raise OSError(f'test tried to reach {addr}')
        return conn(self, addr)
    def getaddrinfo(host, *a, **kw):
        if host not in local and host is not None:
            tried.append(host)
            raise OSError(f'test tried to look up {host}')
        return gai(host, *a, **kw)
    socket.socket.connect,socket.getaddrinfo = connect,getaddrinfo
    yield
    socket.socket.connect,socket.getaddrinfo = conn,gai
    assert not tried, f'tests tried to leave loopback: {tried}'

def streams(dist, mode):
    "`stream` parameters, each marked with the ways of calling `dist` it proves cached (for the README's table)"
    return [pytest.param(False, marks=pytest.mark.sdk(dist, mode)), pytest.param(True, marks=pytest.mark.sdk(dist, mode, 'stream'))]

def twice(srv, call):
    "`call()` twice, each result with the server's count after it"
    return [(call(), srv.total) for _ in range(2)]

async def atwice(srv, call):
    "`await call()` twice, each result with the server's count after it"
    return [(await call(), srv.total) for _ in range(2)]

def check(srv, cached, n, out, key):
    "The result, after checking: the first call of `out` reached the server (count `n` before), was recorded once, and the identical second did not and got the same; `key` was sent, never stored"
    (a,na),(b,nb) = out
    assert (na, nb) == (n+1, n+1)
    assert a == b
    assert len(cached.read_text().splitlines()) == 1
    assert any(key in json.dumps([r['query'], r['headers']]) for r in srv.reqs[n:])
    assert key not in cached.read_text()
    return a

## LiteLLM

def _ll_args(srv, via, tag, stream):
    msgs = [dict(role='user', content=f'hi {tag}')]
    if via == 'openai': return dict(model='openai/gpt-x', api_base=srv.url+'/v1', api_key=OKEY, messages=msgs, stream=stream)
    return dict(model='gemini/gemini-x', api_base=srv.url+'/v1beta', api_key=GKEY, messages=msgs, stream=stream)

def _ll_out(r, stream):
    "What the caller gets from LiteLLM: the streamed text, or the message, finish reason and usage"
    if stream: return ''.join(c.choices[0].delta.content or '' for c in r)
    return r.choices[0].message.content,r.choices[0].finish_reason,r.usage.total_tokens

@pytest.mark.parametrize('via', ['openai', 'gemini'])
@pytest.mark.parametrize('stream', streams('litellm', 'sync'))
def test_litellm_completion(srv, cached, via, stream):
    import litellm
    kw,n = _ll_args(srv, via, f'sync {stream}', stream),srv.total
    out = check(srv, cached, n, twice(srv, lambda: _ll_out(litellm.completion(**kw), stream)), OKEY if via=='openai' else GKEY)
    assert out == (f'reply {n+1}: hi sync {stream}' if stream else (f'reply {n+1}: hi sync {stream}', 'stop', 12))

@pytest.mark.parametrize('via', ['openai', 'gemini'])
@pytest.mark.parametrize('stream', streams('litellm', 'async'))
def test_litellm_acompletion(srv, cached, via, stream):
    import litellm
    kw,n = _ll_args(srv, via, f'async {stream}', stream),srv.total
    async def call():
        r = await litellm.acompletion(**kw)
        return _ll_out([c async for c in r] if stream else r, stream)
    out = check(srv, cached, n, asyncio.run(atwice(srv, call)), OKEY if via=='openai' else GKEY)
    assert out == (f'reply {n+1}: hi async {stream}' if stream else (f'reply {n+1}: hi async {stream}', 'stop', 12))

## google-genai

def _genai(srv):
    from google import genai
    from google.genai import types
    return genai.Client(api_key=GKEY, http_options=types.HttpOptions(base_url=srv.url))

@pytest.mark.parametrize('stream', streams('google-genai', 'sync'))
def test_genai_sync(srv, cached, stream):
    c,tag = _genai(srv),f'sync {stream}'
    m = c.models
    def call():
        if stream: return ''.join(x.text for x in m.generate_content_stream(model='gemini-x', contents=tag))
        r = m.generate_content(model='gemini-x', contents=tag)
        return r.text,r.candidates[0].finish_reason.name,r.usage_metadata.total_token_count
    n = srv.total
    out = check(srv, cached, n, twice(srv, call), GKEY)
    assert out == (f'reply {n+1}: {tag}' if stream else (f'reply {n+1}: {tag}', 'STOP', 12))

async def _agen(m, tag, stream):
    if stream: return ''.join([c.text async for c in await m.generate_content_stream(model='gemini-x', contents=tag)])
    r = await m.generate_content(model='gemini-x', contents=tag)
    return r.text,r.candidates[0].finish_reason.name,r.usage_metadata.total_token_count

@pytest.mark.parametrize('stream', streams('google-genai', 'async'))
def test_genai_async(srv, cached, stream):
    "With aiohttp installed, `client.aio` sends through aiohttp, not httpx2"
    import aiohttp
    c,tag = _genai(srv),f'async {stream}'
    assert c._api_client._use_aiohttp()
    n = srv.total
    out = check(srv, cached, n, asyncio.run(atwice(srv, lambda: _agen(c.aio.models, tag, stream))), GKEY)
    assert out == (f'reply {n+1}: {tag}' if stream else (f'reply {n+1}: {tag}', 'STOP', 12))

@pytest.mark.parametrize('stream', [False, True])
def test_genai_sync_record_async_hit(srv, cached, stream):
    "A call recorded through httpx2 (sync) is a hit through aiohttp (async): same key, same store"
    import aiohttp
    c,tag = _genai(srv),f'both {stream}'
    n = srv.total
    if stream: a = ''.join(x.text for x in c.models.generate_content_stream(model='gemini-x', contents=tag))
    else: a = c.models.generate_content(model='gemini-x', contents=tag).text
    b = asyncio.run(_agen(c.aio.models, tag, stream))
    assert srv.total == n+1
    assert a == (b if stream else b[0]) == f'reply {n+1}: {tag}'

def test_genai_async_replay_miss(srv, tmp_path):
    "In replay mode an unrecorded aiohttp call raises ReplayMiss at once: not sent, not retried"
    import aiohttp
    enable_cachy(cache_dir=tmp_path, doms=ours, mode='replay')
    try:
        n = srv.total
        c = _genai(srv)
        with pytest.raises(ReplayMiss): asyncio.run(_agen(c.aio.models, 'never recorded', False))
        assert srv.total == n
        assert cachy_stats()['replay_failure'] >= 1
    finally: disable_cachy()

@pytest.mark.sdk('aiohttp', 'async')
def test_aiohttp_key_param(srv, cached):
    "An API key in the URL's `key` parameter (as older Gemini clients send it) decides nothing and is not stored"
    import aiohttp
    async def post(key):
        async with aiohttp.ClientSession() as s:
            async with s.post(f'{srv.url}/v1beta/models/g:generateContent?key={key}', json=dict(contents=[dict(parts=[dict(text='k')])])) as r:
                return await r.json()
    n = srv.total
    a,b = asyncio.run(post(GKEY)),asyncio.run(post('AIza-another-SECRET'))
    assert a == b
    assert srv.total == n+1
    assert srv.reqs[-1]['query']['key'] == GKEY and GKEY not in cached.read_text()
