"LiteLLM and google-genai, sync, async and streaming, against a loopback server speaking OpenAI chat completions and Gemini"
import asyncio,json,os,re,socket,threading
from http.server import BaseHTTPRequestHandler,ThreadingHTTPServer
import pytest

pytestmark = [pytest.mark.filterwarnings('ignore:.*ReadOnly.*:UserWarning'),  # pydantic, on LiteLLM's types
              pytest.mark.filterwarnings('ignore:Inheritance class AiohttpClientSession:DeprecationWarning')]  # google-genai's session

os.environ['LITELLM_LOCAL_MODEL_COST_MAP'] = 'True'
import cachy.adapters
from cachy.core import enable_cachy,disable_cachy,doms,cachy_stats,ReplayMiss

OKEY,GKEY = 'sk-test-SECRET-litellm-7c1d0e','AIza-test-SECRET-gemini-5b9f2a'

def _chunk(model, delta, fin=None):
    return dict(id='chatcmpl-1', object='chat.completion.chunk', created=1, model=model,
                choices=[dict(index=0, delta=delta, finish_reason=fin)])

def _oai(d):
    "`(content_type, body)` of an OpenAI chat completion answering request `d`"
    txt,m = 'echo: '+d['messages'][-1]['content'],d['model']
    if d.get('stream'):
        evs = [_chunk(m, dict(role='assistant', content=txt[:5])), _chunk(m, dict(content=txt[5:])), _chunk(m, {}, 'stop')]
        return 'text/event-stream', ''.join(f'data: {json.dumps(e)}\n\n' for e in evs)+'data: [DONE]\n\n'
    return 'application/json', json.dumps(dict(id='chatcmpl-1', object='chat.completion', created=1, model=m,
        choices=[dict(index=0, message=dict(role='assistant', content=txt), finish_reason='stop')],
        usage=dict(prompt_tokens=3, completion_tokens=2, total_tokens=5)))

def _cand(model, txt, fin):
    c = dict(content=dict(parts=[dict(text=txt)], role='model'), index=0)
    if fin: c['finishReason'] = 'STOP'
    return dict(candidates=[c], usageMetadata=dict(promptTokenCount=3, candidatesTokenCount=2, totalTokenCount=5), modelVersion=model)

def _gem(model, stream, d):
    "`(content_type, body)` of a Gemini `generateContent` (or `streamGenerateContent?alt=sse`) answer to `d`"
    txt = 'echo: '+d['contents'][-1]['parts'][0]['text']
    if stream: return 'text/event-stream', ''.join(f'data: {json.dumps(_cand(model, p, i==1))}\r\n\r\n' for i,p in enumerate((txt[:5], txt[5:])))
    return 'application/json', json.dumps(_cand(model, txt, True))

class _H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('content-length') or 0))
        with self.server.lock:
            self.server.n += 1
            self.server.seen.append((self.path, dict(self.headers.items())))
        d = json.loads(body)
        st = 200
        if self.path.startswith('/v1/chat/completions'): ct,out = _oai(d)
        elif m := re.match(r'/v1\w*/models/([^:/]+):(generateContent|streamGenerateContent)', self.path):
            ct,out = _gem(m[1], m[2].startswith('stream'), d)
        else: st,ct,out = 404,'application/json','{"error": "not found"}'
        out = out.encode()
        self.send_response(st)
        self.send_header('content-type', ct)
        self.send_header('content-length', str(len(out)))
        self.end_headers()
        self.wfile.write(out)

@pytest.fixture(scope='module')
def fake():
    "The loopback provider: `n` counts the requests it received, `seen` their paths and headers"
    s = ThreadingHTTPServer(('127.0.0.1', 0), _H)
    s.n,s.seen,s.lock = 0,[],threading.Lock()
    s.url = f'http://127.0.0.1:{s.server_address[1]}'
    threading.Thread(target=s.serve_forever, daemon=True).start()
    yield s
    s.shutdown()
    s.server_close()

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

@pytest.fixture
def cfile(tmp_path):
    "`cachy.jsonl` in a fresh folder, with cachy on for the loopback host"
    enable_cachy(cache_dir=tmp_path, doms=doms+('127.0.0.1',))
    yield tmp_path/'cachy.jsonl'
    disable_cachy()

def streams(dist, mode):
    "`stream` parameters, each marked with the ways of calling `dist` it proves cached (for the README's table)"
    return [pytest.param(False, marks=pytest.mark.sdk(dist, mode)), pytest.param(True, marks=pytest.mark.sdk(dist, mode, 'stream'))]

def twice(fake, call):
    "`call()` twice, each result with `fake`'s count after it"
    return [(call(), fake.n) for _ in range(2)]

async def atwice(fake, call):
    "`await call()` twice, each result with `fake`'s count after it"
    return [(await call(), fake.n) for _ in range(2)]

def check(fake, cfile, n, out, key):
    "The result, after checking: the first call of `out` reached `fake` (count `n` before), was recorded once, and the identical second did not and got the same; `key` was sent, never stored"
    (a,na),(b,nb) = out
    assert (na, nb) == (n+1, n+1)
    assert a == b
    assert len(cfile.read_text().splitlines()) == 1
    assert any(key in p or key in json.dumps(h) for p,h in fake.seen[n:])
    assert key not in cfile.read_text()
    return a

## LiteLLM

def _ll_args(fake, via, tag, stream):
    msgs = [dict(role='user', content=f'hi {tag}')]
    if via == 'openai': return dict(model='openai/gpt-x', api_base=fake.url+'/v1', api_key=OKEY, messages=msgs, stream=stream)
    return dict(model='gemini/gemini-x', api_base=fake.url+'/v1beta', api_key=GKEY, messages=msgs, stream=stream)

def _ll_out(r, stream):
    "What the caller gets from LiteLLM: the streamed text, or the message, finish reason and usage"
    if stream: return ''.join(c.choices[0].delta.content or '' for c in r)
    return r.choices[0].message.content,r.choices[0].finish_reason,r.usage.total_tokens

@pytest.mark.parametrize('via', ['openai', 'gemini'])
@pytest.mark.parametrize('stream', streams('litellm', 'sync'))
def test_litellm_completion(fake, cfile, via, stream):
    litellm = pytest.importorskip('litellm')
    kw,n = _ll_args(fake, via, f'sync {stream}', stream),fake.n
    out = check(fake, cfile, n, twice(fake, lambda: _ll_out(litellm.completion(**kw), stream)), OKEY if via=='openai' else GKEY)
    assert out == (f'echo: hi sync {stream}' if stream else (f'echo: hi sync {stream}', 'stop', 5))

@pytest.mark.parametrize('via', ['openai', 'gemini'])
@pytest.mark.parametrize('stream', streams('litellm', 'async'))
def test_litellm_acompletion(fake, cfile, via, stream):
    litellm = pytest.importorskip('litellm')
    kw,n = _ll_args(fake, via, f'async {stream}', stream),fake.n
    async def call():
        r = await litellm.acompletion(**kw)
        return _ll_out([c async for c in r] if stream else r, stream)
    out = check(fake, cfile, n, asyncio.run(atwice(fake, call)), OKEY if via=='openai' else GKEY)
    assert out == (f'echo: hi async {stream}' if stream else (f'echo: hi async {stream}', 'stop', 5))

## google-genai

def _genai(fake):
    genai = pytest.importorskip('google.genai')
    from google.genai import types
    return genai.Client(api_key=GKEY, http_options=types.HttpOptions(base_url=fake.url))

@pytest.mark.parametrize('stream', streams('google-genai', 'sync'))
def test_genai_sync(fake, cfile, stream):
    c,tag = _genai(fake),f'sync {stream}'
    m = c.models
    def call():
        if stream: return ''.join(x.text for x in m.generate_content_stream(model='gemini-x', contents=tag))
        r = m.generate_content(model='gemini-x', contents=tag)
        return r.text,r.candidates[0].finish_reason.name,r.usage_metadata.total_token_count
    out = check(fake, cfile, fake.n, twice(fake, call), GKEY)
    assert out == (f'echo: {tag}' if stream else (f'echo: {tag}', 'STOP', 5))

async def _agen(m, tag, stream):
    if stream: return ''.join([c.text async for c in await m.generate_content_stream(model='gemini-x', contents=tag)])
    r = await m.generate_content(model='gemini-x', contents=tag)
    return r.text,r.candidates[0].finish_reason.name,r.usage_metadata.total_token_count

@pytest.mark.parametrize('stream', streams('google-genai', 'async'))
def test_genai_async(fake, cfile, stream):
    "With aiohttp installed, `client.aio` sends through aiohttp, not httpx2"
    pytest.importorskip('aiohttp')
    c,tag = _genai(fake),f'async {stream}'
    assert c._api_client._use_aiohttp()
    out = check(fake, cfile, fake.n, asyncio.run(atwice(fake, lambda: _agen(c.aio.models, tag, stream))), GKEY)
    assert out == (f'echo: {tag}' if stream else (f'echo: {tag}', 'STOP', 5))

@pytest.mark.parametrize('stream', [False, True])
def test_genai_sync_record_async_hit(fake, cfile, stream):
    "A call recorded through httpx2 (sync) is a hit through aiohttp (async): same key, same store"
    pytest.importorskip('aiohttp')
    c,tag = _genai(fake),f'both {stream}'
    n = fake.n
    if stream: a = ''.join(x.text for x in c.models.generate_content_stream(model='gemini-x', contents=tag))
    else: a = c.models.generate_content(model='gemini-x', contents=tag).text
    b = asyncio.run(_agen(c.aio.models, tag, stream))
    assert fake.n == n+1
    assert a == (b if stream else b[0]) == f'echo: {tag}'

def test_genai_async_replay_miss(fake, tmp_path):
    "In replay mode an unrecorded aiohttp call raises ReplayMiss at once: not sent, not retried"
    pytest.importorskip('aiohttp')
    enable_cachy(cache_dir=tmp_path, doms=doms+('127.0.0.1',), mode='replay')
    try:
        n = fake.n
        c = _genai(fake)
        with pytest.raises(ReplayMiss): asyncio.run(_agen(c.aio.models, 'never recorded', False))
        assert fake.n == n and cachy_stats()['replay_failure'] >= 1
    finally: disable_cachy()

@pytest.mark.sdk('aiohttp', 'async')
def test_aiohttp_key_param(fake, cfile):
    "An API key in the URL's `key` parameter (as older Gemini clients send it) decides nothing and is not stored"
    aiohttp = pytest.importorskip('aiohttp')
    async def post(key):
        async with aiohttp.ClientSession() as s:
            async with s.post(f'{fake.url}/v1beta/models/g:generateContent?key={key}', json=dict(contents=[dict(parts=[dict(text='k')])])) as r:
                return await r.json()
    n = fake.n
    a,b = asyncio.run(post(GKEY)),asyncio.run(post('AIza-another-SECRET'))
    assert a == b and fake.n == n+1
    assert GKEY in fake.seen[-1][0] and GKEY not in cfile.read_text()
