"""The promises of the docs page "How it works", section "What you can rely on", attacked one bullet at a time, in the
page's order, where the other test files do not already: what a transport, an auth flow or a hand-edited file does to
a record, errors hidden inside a 200 stream, forks and exits with a stream half read, torn appends, read-only caches,
and credentials the user typed. Loopback servers, real clients, fresh processes where the attack needs one."""
import asyncio,json,os,signal,subprocess,sys,time,warnings
from contextlib import contextmanager
import httpx,httpx2,pytest,requests
from hypothesis import HealthCheck,given,settings,strategies as st
from cachy import enable_cachy,disable_cachy,no_cachy,ReplayMiss
from helpers import ours,msgs,cli,py,child_env,here,recs,raised
from server import Loopback,sse

quick = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

class Scripted(Loopback):
    "A loopback server that answers every request with `self.answer`: `(status, content-type, [chunks])`, each chunk flushed on its own"
    def __init__(self): super().__init__(_scripted)
    def reset(self):
        with self.lock: self.n,self.answer,self.seen = 0,(200, 'text/plain', [b'ok']),[]
        return self

def _scripted(srv):
    from http.server import BaseHTTPRequestHandler
    class H(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        def log_message(self, *a): pass
        def any(self):
            n = int(self.headers.get('content-length') or 0)
            body = self.rfile.read(n) if n else b''
            with srv.lock: srv.n += 1; srv.seen.append((self.command, self.path, body))
            code,ct,chunks = srv.answer
            self.send_response(code)
            self.send_header('content-type', ct)
            self.send_header('transfer-encoding', 'chunked')
            self.end_headers()
            for c in chunks:
                self.wfile.write(b'%x\r\n%s\r\n' % (len(c), c))
                self.wfile.flush()
            self.wfile.write(b'0\r\n\r\n')
            self.wfile.flush()
        do_GET = do_POST = any
    return H

@pytest.fixture(scope='module')
def scripted():
    s = Scripted().start()
    yield s
    s.stop()

@pytest.fixture
def sc(scripted): return scripted.reset()

# 1. A replay is what the provider said, for exactly that request

class AddsVersion(httpx.Auth):
    "An auth flow, as Azure and gateway clients write them, that adds a query parameter after `send` was called"
    def auth_flow(self, request):
        request.url = request.url.copy_add_param('api-version', '2024-10-21')
        yield request

def test_auth_flow_rewrites_url(srv, on, cfile):
    "An httpx auth flow changes the URL after cachy keyed the request: the record's `url` is the URL that was keyed, so a later miss still finds it as the closest call"
    on()
    url = srv.url+'/v1/chat/completions'
    with httpx.Client(auth=AddsVersion()) as c:
        live = c.post(url, json={'model': 'm', 'messages': msgs('hi')}).json()
        assert c.post(url, json={'model': 'm', 'messages': msgs('hi')}).json() == live
    assert srv.total == 1
    assert srv.reqs[0]['query'] == {'api-version': '2024-10-21'}
    assert recs(cfile)[0]['url'] == url
    on(mode='replay')
    with httpx.Client(auth=AddsVersion()) as c, pytest.raises(ReplayMiss) as e: c.post(url, json={'model': 'm', 'messages': msgs('ho')})
    assert 'the one entry' in str(e.value), str(e.value)
    assert srv.total == 1

_word = st.one_of(st.sampled_from(['0xDEADBEEF', '0xCAFEBABE', 'line 3,', 'line 4,', '/home/ann/x.py', '/home/bob/x.py', '1.0', '1',
                                   'at 0x7f00', 'at 0x7f01', 'File', 'in', '<object>', 'site-packages/a.py']), st.text(min_size=1, max_size=6))

@quick
@given(a=st.lists(_word, min_size=1, max_size=6).map(' '.join), b=st.lists(_word, min_size=1, max_size=6).map(' '.join))
def test_two_prompts_two_answers(a, b, srv, cached):
    "Whatever two prompts hold (hex numbers, line numbers, paths, reprs, any text), each gets the answer to itself, never the other's"
    with httpx.Client() as c:
        for p in (a, b, a):
            got = c.post(srv.url+'/stable/ask', json={'messages': msgs(p)}).json()
            assert json.loads(got['body'])['messages'][0]['content'] == p

@quick
@given(body=st.text(alphabet=st.characters(blacklist_categories=['Cs']), max_size=200))
def test_text_replayed_byte_for_byte(body, sc, cached):
    "A text answer holding any characters (U+2028, NEL, lone CR, control characters, NUL) replays byte for byte, from memory and from a fresh read of the file"
    from cachy.store import Store
    import cachy.core
    sc.answer = (200, 'text/plain; charset=utf-8', [body.encode()])
    q = f'{sc.url}/t?i={sc.n}'
    with httpx.Client() as c: live,hit = c.get(q).content,c.get(q).content
    cachy.core._cfg.store = Store(cached)
    with httpx.Client() as c: fresh = c.get(q).content
    assert live == hit == fresh == body.encode()

def _events(fmt):
    "`(path, body, [good events], error event)` of a stream in provider format `fmt`"
    if fmt == 'anthropic':
        good = [sse('message_start', {'type': 'message_start', 'message': {'id': 'm', 'content': []}}),
                sse('content_block_delta', {'type': 'content_block_delta', 'index': 0, 'delta': {'type': 'text_delta', 'text': 'hi'}}),
                sse('message_stop', {'type': 'message_stop'})]
        return '/v1/messages',{'stream': True},good,sse('error', {'type': 'error', 'error': {'type': 'overloaded_error', 'message': 'Overloaded'}})
    if fmt == 'responses':
        good = [sse('response.created', {'type': 'response.created', 'response': {'id': 'r', 'status': 'in_progress'}}),
                sse('response.output_text.delta', {'type': 'response.output_text.delta', 'delta': 'hi'}),
                sse('response.completed', {'type': 'response.completed', 'response': {'id': 'r', 'status': 'completed'}})]
        return '/v1/responses',{'stream': True},good,sse('response.failed', {'type': 'response.failed', 'response': {'id': 'r', 'status': 'failed', 'error': {'code': 'server_error', 'message': 'x'}}})
    if fmt == 'chat':
        good = [sse(None, {'id': 'c', 'object': 'chat.completion.chunk', 'choices': [{'index': 0, 'delta': {'content': 'hi'}}]}), sse(None, '[DONE]')]
        return '/v1/chat/completions',{'stream': True},good,sse(None, {'id': 'c', 'object': 'chat.completion.chunk', 'error': {'code': 502, 'message': 'upstream'}, 'choices': []})
    good = [f'data: {json.dumps({"candidates": [{"content": {"parts": [{"text": w}]}}]})}\r\n\r\n' for w in ('a', 'b')]
    return '/v1beta/models/g:streamGenerateContent?alt=sse',{},good,f'data: {json.dumps({"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}})}\r\n\r\n'

def _variant(ev, how):
    "Error event `ev` written as SSE allows: as it is, its data on two lines, without the space after `data:`"
    if how == 'two_lines': return ev.replace(', "', ',\ndata: "', 1)
    if how == 'no_space': return ev.replace('data: ', 'data:').replace('event: ', 'event:')
    return ev

@pytest.mark.parametrize('how', ['plain', 'two_lines', 'no_space', 'bytewise'])
@pytest.mark.parametrize('fmt', ['anthropic', 'responses', 'chat', 'gemini'])
def test_error_event_mid_stream(fmt, how, sc, cached):
    "An error that may pass, sent in the middle of a 200 stream that then goes on to its normal end (its data split over lines, written tersely, or sent a byte at a time): never recorded"
    path,body,good,err = _events(fmt)
    text = ''.join([good[0], _variant(err, how), *good[1:]])
    sc.answer = (200, 'text/event-stream', [bytes([b]) for b in text.encode()] if how == 'bytewise' else [e.encode() for e in text.split('\n\n') if e])
    if how != 'bytewise': sc.answer = (200, 'text/event-stream', [text.encode()])
    def ask():
        with httpx.Client() as c, c.stream('POST', sc.url+path, json=body | {'model': 'm'}) as r: return r.read()
    assert ask() == ask() == text.encode()
    assert sc.n == 2
    assert recs(cached) == []

# 2. A stream is recorded only when it was read to its real end

def test_stall_then_timeout_requests(srv, cached):
    "requests with a read timeout shorter than the provider's stall: the timeout reaches the caller as without cachy, nothing is recorded, the next call asks again"
    def get(): return list(requests.get(f'{srv.url}/sse?k=5&stall=1', stream=True, timeout=(2, 0.3)).iter_lines())
    with no_cachy(): plain = raised(get)
    assert plain is requests.exceptions.ConnectionError
    assert [raised(get) for _ in range(2)] == [plain]*2
    assert srv.total == 3
    assert recs(cached) == []

def test_stall_then_timeout_aiohttp(srv, cached):
    "aiohttp with `sock_read` shorter than the stall: the same timeout as without cachy, nothing recorded, asked again"
    import aiohttp
    async def get():
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(sock_read=0.3)) as s, s.get(f'{srv.url}/sse?k=5&stall=1') as r:
            return [l async for l in r.content]
    with no_cachy(): plain = raised(lambda: asyncio.run(get()))
    assert plain is not None and issubclass(plain, asyncio.TimeoutError)
    assert [raised(lambda: asyncio.run(get())) for _ in range(2)] == [plain]*2
    assert srv.total == 3
    assert recs(cached) == []

_forked = '''
import os,sys,httpx
from cachy import enable_cachy
from helpers import ours
d,url = sys.argv[1:3]
enable_cachy(cache_dir=d, doms=ours)
c = httpx.Client()
r = c.send(c.build_request('GET', url+'/sse?k=30'), stream=True)
it = r.iter_lines()
first = next(it)
pid = os.fork()
if pid == 0:
    httpx.get(url+'/echo?child=1')
    sys.exit(0)
_,st = os.waitpid(pid, 0)
rest = list(it)
r.close()
print(os.waitstatus_to_exitcode(st), len([l for l in [first, *rest] if l]))
'''

@pytest.mark.skipif(not hasattr(os, 'fork'), reason='fork is POSIX only')
def test_fork_while_a_stream_is_read(srv, tmp_path):
    "A child forked while the parent reads a stream, which makes its own call and exits normally (running its exit handlers), takes nothing of the parent's stream: the parent reads it whole, and it is recorded once, whole"
    r = py(_forked, tmp_path, srv.url, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-2:] == ['0', '30'], r.stdout
    rs = recs(tmp_path/'cachy.jsonl')
    assert sorted(r['url'].split('?')[1] for r in rs) == ['child=1', 'k=30']
    assert next(r for r in rs if 'k=30' in r['url'])['response'].count('data: ') == 30

_halfread = '''
import sys
from cachy import enable_cachy
from helpers import ours
d,url,client = sys.argv[1:4]
enable_cachy(cache_dir=d, doms=ours)
u = url+'/sse?k=40'
if client == 'requests':
    import requests
    kept = requests.get(u, stream=True)
    it = kept.iter_lines()
    print(next(it).decode())
else:
    import httpx2
    c = httpx2.Client()
    kept = c.send(c.build_request('GET', u), stream=True)
    it = kept.iter_lines()
    print(next(it))
'''

@pytest.mark.slow
@pytest.mark.parametrize('client', ['requests', 'httpx2'])
def test_exit_with_half_read_stream(client, srv, tmp_path):
    "The interpreter exits with a requests or httpx2 stream half read: it ends at once with status 0, printing only what the program printed, and the stream is recorded whole"
    t = time.monotonic()
    r = py(_halfread, tmp_path, srv.url, client)
    assert (r.returncode, r.stderr) == (0, '')
    assert r.stdout == 'data: {"n": 1, "i": 0}\n'
    assert time.monotonic()-t < 10
    rec, = recs(tmp_path/'cachy.jsonl')
    assert rec['response'].count('data: ') == 40

@pytest.mark.slow
def test_exit_waits_at_most_ten_seconds(srv, tmp_path):
    "With cachy's own exit wait, a stream half read and stalled for a minute holds the interpreter's exit back 10 s at the most, printing nothing, and is not recorded"
    t = time.monotonic()
    r = py(_halfread.replace("'/sse?k=40'", "'/sse?k=40&stall=60'"), tmp_path, srv.url, 'requests', timeout=60)
    took = time.monotonic()-t
    assert (r.returncode, r.stderr) == (0, '')
    assert took < 13, took
    assert recs(tmp_path/'cachy.jsonl') == []

# 5. No secrets in the file

def test_key_in_a_prompt(sc, on, cfile):
    "A user pastes an API key at the start of a prompt the provider answers without repeating: the file holds only the preview's 30 characters of it, and `cachy check` flags them"
    key = 'sk-ant-api03-' + 'Xy7_'*20
    on()
    sc.answer = (200, 'application/json', [b'{"ok": true}'])
    with httpx.Client() as c: c.post(sc.url+'/v1/messages', json={'model': 'm', 'messages': msgs(f'{key} is my key, why does it fail?')})
    t = cfile.read_text()
    assert key[:30] in t and key[:31] not in t
    rc,o,_ = cli('check', '--cache-dir', cfile.parent)
    assert rc == 1 and o.startswith(f'{cfile}:1: looks like an Anthropic key: sk-ant-api03…'), o

@quick
@given(name=st.from_regex(r'[a-z][a-z0-9-]{0,20}', fullmatch=True), value=st.from_regex(r'[A-Za-z0-9]{8,30}', fullmatch=True))
def test_no_request_header_stored(name, value, srv, cached):
    "A request header of any name cachy does not key, with any value: the value is nowhere in the file"
    import cachy
    if name in cachy.key_hdrs or name in ('host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'accept', 'accept-encoding', 'user-agent'): return
    secret = 'HDR' + value
    with httpx.Client() as c: c.post(srv.url+'/v1/chat/completions', json={'model': 'm', 'messages': msgs('hi')}, headers={name: secret})
    assert secret not in cached.read_text()

def test_token_in_url_fragment(srv, on, cfile):
    "An OAuth token in a URL's fragment (the implicit flow puts it there) never reaches the file"
    on()
    with httpx.Client() as c: c.get(srv.url+'/v1/models#access_token=tok-SECRET-frag')
    assert 'SECRET' not in cfile.read_text()


def test_key_in_a_sent_frame(ws_srv, on, cfile):
    "A WebSocket client that authenticates in its first frame (ElevenLabs' `xi_api_key`): the frames sent are kept only as a sketch, which hides the key; only the echo server's own answer, which quotes the frame, holds it"
    from websockets.sync.client import connect
    on()
    with connect(ws_srv.url+'/echo') as c:
        c.send(json.dumps({'text': ' ', 'xi_api_key': 'sk_SECRET_eleven_1234567890'}))
        c.recv(), c.recv()
    rs = recs(cfile)
    assert any('SECRET' in f for r in rs for f in r['frames'] if isinstance(f, str))
    assert [json.dumps({k:v for k,v in r.items() if k != 'frames'}).count('SECRET') for r in rs] == [0]*len(rs)

@pytest.fixture(scope='module')
def ws_srv():
    from ws_server import WSServer
    s = WSServer().start()
    yield s
    s.stop()

# 6. Many processes, one file

_writer = '''
import sys,httpx
from cachy import enable_cachy
from helpers import ours
enable_cachy(cache_dir=sys.argv[1], doms=ours)
httpx.get(sys.argv[2]+'/bytes?size=60000000')
'''

_reader = '''
import sys,httpx,warnings
from cachy import enable_cachy
from helpers import ours
warnings.simplefilter('always')
enable_cachy(cache_dir=sys.argv[1], doms=ours, mode=sys.argv[3])
print(httpx.get(sys.argv[2]+'/echo?after=kill').json()['n'])
'''

@pytest.mark.slow
def test_killed_mid_append(srv, tmp_path):
    "kill -9 of a process while it appends a 60 MB record: another process records after the torn line, on a line of its own, and a third replays that record"
    p = tmp_path/'cachy.jsonl'
    pr = subprocess.Popen([sys.executable, '-c', _writer, str(tmp_path), srv.url], env=child_env())
    t = time.monotonic()
    while not (p.exists() and p.stat().st_size) and time.monotonic()-t < 30: time.sleep(0.0002)
    pr.send_signal(signal.SIGKILL)
    pr.wait()
    torn = p.stat().st_size
    assert 0 < torn and not p.read_bytes().endswith(b'\n')
    a = py(_reader, tmp_path, srv.url, 'record')
    assert a.returncode == 0, a.stderr
    b = py(_reader, tmp_path, srv.url, 'replay')
    assert b.returncode == 0, b.stderr
    assert a.stdout == b.stdout and srv.count('/echo') == 1

def test_torn_line_by_hand(srv, on, cfile):
    "A record whose append was cut short (a full disk, a kill): the next record starts on a line of its own, and a fresh process replays it"
    on()
    with httpx.Client() as c: first = c.get(srv.url+'/echo?i=1').json()
    with open(cfile, 'a') as f: f.write('{"key": "0123456789abcdef01234567", "response": "cut sh')
    with httpx.Client() as c, pytest.warns(UserWarning, match=r'skipping torn \(incomplete\) line 2 of'): second = c.get(srv.url+'/echo?i=2').json()
    r = py('''import sys,httpx,json
from cachy import enable_cachy
from helpers import ours
enable_cachy(cache_dir=sys.argv[1], doms=ours, mode='replay')
print(json.dumps([httpx.get(sys.argv[2]+f'/echo?i={i}').json() for i in (1, 2)]))''', cfile.parent, srv.url)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [first, second]
    assert srv.total == 2

# 7. Bad input loses nothing

def test_lines_appended_by_hand(srv, on, cfile, tmp_path):
    "Lines a person or a tool appended: raw UTF-8 with U+2028 and NEL, 3 MB long, after a byte-order mark, in Latin-1: the good ones hit in a fresh process; the bad one, asked for, is named and answered live; new records follow"
    on()
    with httpx.Client() as c: c.get(srv.url+'/echo?i=0')
    import cachy
    from cachy.core import _key
    def key(i): return _key(httpx.Client().build_request('GET', srv.url+f'/echo?i={i}'))
    bodies = {1: 'naïve \u2028 line\x85sep ✓', 2: 'x'*3_000_000, 3: 'after a BOM'}
    lines = {i: json.dumps(dict(key=key(i), response=json.dumps({'hand': b}), status_code=200, headers={'content-type': 'application/json'}), ensure_ascii=False).encode('utf-8') for i,b in bodies.items()}
    lines[3] = b'\xef\xbb\xbf' + lines[3]
    lines[4] = json.dumps(dict(key=key(4), response=json.dumps({'hand': 'café'}, ensure_ascii=False)), ensure_ascii=False).encode('latin-1')
    assert b'caf\xe9' in lines[4]
    with open(cfile, 'ab') as f: f.write(b'\n'.join(lines[i] for i in (1, 2, 3, 4)) + b'\n')
    disable_cachy()
    r = py('''import sys,httpx,json,warnings
from cachy import enable_cachy
from helpers import ours
warnings.simplefilter('always')
enable_cachy(cache_dir=sys.argv[1], doms=ours)
print(json.dumps([httpx.get(sys.argv[2]+f'/echo?i={i}').json() for i in (1, 2, 3, 4, 6)]))''', cfile.parent, srv.url)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert [g.get('hand') for g in got[:3]] == [bodies[i] for i in (1, 2, 3)]
    assert [g['n'] for g in got[3:]] == [2, 3] and srv.total == 3
    assert f'line 5 of {cfile}' in r.stderr
    assert len(cfile.read_bytes().splitlines()) == 7


def test_last_line_without_newline(srv, on, cfile):
    "A whole record as the last line, saved without a final newline (editors, `echo -n`, a merge tool): it hits, and is not recorded again"
    on()
    with httpx.Client() as c: live = c.get(srv.url+'/echo?i=1').json()
    cfile.write_bytes(cfile.read_bytes().rstrip(b'\n'))
    r = py('''import sys,httpx
from cachy import enable_cachy
from helpers import ours
enable_cachy(cache_dir=sys.argv[1], doms=ours)
print(httpx.get(sys.argv[2]+'/echo?i=1').text)''', cfile.parent, srv.url)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == live
    assert srv.total == 1 and len(recs(cfile)) == 1

@contextmanager
def frozen(p):
    "`p` (a file or folder) made unwritable, also for root: immutable while inside"
    if os.geteuid() == 0:
        subprocess.run(['chattr', '+i', str(p)], check=True)
        try: yield
        finally: subprocess.run(['chattr', '-i', str(p)], check=True)
    else:
        m = p.stat().st_mode
        p.chmod(0o555 if p.is_dir() else 0o444)
        try: yield
        finally: p.chmod(m)

@pytest.mark.parametrize('what', ['file', 'folder'])
def test_read_only(what, srv, tmp_path):
    "A `cachy.jsonl` that cannot be written, or a folder where it cannot be made: every call answers, live when not recorded, one warning; what is recorded still hits"
    d = tmp_path/'ro'
    d.mkdir()
    if what == 'file':
        enable_cachy(cache_dir=d, doms=ours)
        with httpx.Client() as c: c.get(srv.url+'/echo?i=0')
        disable_cachy()
    with frozen(d/'cachy.jsonl' if what == 'file' else d), warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        enable_cachy(cache_dir=d, doms=ours)
        with httpx.Client() as c: ns = [c.get(srv.url+f'/echo?i={i}').json()['n'] for i in (0, 1, 1)]
        disable_cachy()
    assert ns == [1, 2, 3] and srv.total == 3
    ws = [str(w.message) for w in ws if str(w.message).startswith('cachy')]
    assert len(ws) == 1 and 'could not write' in ws[0], ws

def test_dangling_symlink(srv, on, tmp_path):
    "`cachy.jsonl`, a symlink to a file not made yet in a shared folder: the first record makes the file it points to, the link stays, and a fresh process hits through it"
    (tmp_path/'shared').mkdir()
    (tmp_path/'a').mkdir()
    (tmp_path/'a'/'cachy.jsonl').symlink_to('../shared/cachy.jsonl')
    enable_cachy(cache_dir=tmp_path/'a', doms=ours)
    with httpx.Client() as c: c.get(srv.url+'/echo?i=1')
    disable_cachy()
    assert (tmp_path/'a'/'cachy.jsonl').is_symlink() and len(recs(tmp_path/'shared'/'cachy.jsonl')) == 1

def test_symlink_loop(srv, tmp_path):
    "`cachy.jsonl`, a symlink to itself: calls answer live, one warning names the file"
    (tmp_path/'cachy.jsonl').symlink_to('cachy.jsonl')
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        enable_cachy(cache_dir=tmp_path, doms=ours)
        with httpx.Client() as c: ns = [c.get(srv.url+'/echo?i=1').json()['n'] for _ in range(2)]
        disable_cachy()
    assert ns == [1, 2]
    ws = [str(w.message) for w in ws if str(w.message).startswith('cachy')]
    assert len(ws) == 1 and str(tmp_path/'cachy.jsonl') in ws[0], ws

# 8. Misses explain themselves

def test_miss_names_a_behaviour_header(srv, on):
    "A call that differs from the recorded one only in `anthropic-beta`: the miss, sent nowhere, names that header"
    def ask(beta):
        with httpx.Client() as c: return c.post(srv.url+'/v1/messages', json={'model': 'm', 'max_tokens': 9, 'messages': msgs('hi')}, headers={'anthropic-beta': beta})
    on()
    ask('files-api-2025-04-14')
    on(mode='replay')
    with pytest.raises(ReplayMiss) as e: ask('context-1m-2025-08-07')
    assert 'anthropic-beta' in str(e.value), str(e.value)
    assert srv.total == 1

def test_miss_aiohttp_stream_sends_nothing(srv, on):
    "An unrecorded aiohttp stream in replay mode raises `ReplayMiss` before a byte is sent"
    import aiohttp
    on(mode='replay')
    async def go():
        async with aiohttp.ClientSession() as s, s.post(srv.url+'/v1/chat/completions', json={'model': 'm', 'stream': True, 'messages': msgs('hi')}) as r:
            return await r.read()
    with pytest.raises(ReplayMiss): asyncio.run(go())
    assert srv.total == 0
