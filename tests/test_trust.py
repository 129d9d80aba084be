"""Issue 15: a replay is what the provider said for exactly that request, nothing secret reaches the file, and faults
lose nothing and hang nothing. Loopback servers that reset, stall and send error events; the real SDKs; subprocesses
for exit, fork and kill."""
import asyncio,json,os,shutil,signal,subprocess,time
import httpx,httpx2,pytest,requests
from cachy import enable_cachy,disable_cachy,no_cachy,ReplayMiss
from cachy.store import Store
from envs import script
from helpers import here,msgs,ours,cli,py
from server import recs

mods = pytest.mark.parametrize('mod', [httpx, httpx2], ids=['httpx', 'httpx2'])

def raised(f):
    "The type of what `f()` raises, or `None`"
    try: f()
    except BaseException as e: return type(e)

# 1. A stream cut by the network, or stalled past the client's timeout, is never recorded

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

# 2. An error inside a 200 stream

@pytest.mark.parametrize('kind', ['overloaded', 'api'])
def test_anthropic_error_event_not_recorded(kind, srv, cached, ant):
    import anthropic
    def go(): return list(ant.messages.create(model=f'inband-{kind}', max_tokens=9, messages=msgs('hi'), stream=True))
    assert [raised(go) for _ in range(2)] == [anthropic.APIStatusError]*2
    assert srv.total == 2
    assert recs(cached) == []

def test_anthropic_invalid_request_event_recorded(srv, cached, ant):
    "A request the provider rejects as invalid, inside the stream, is a deterministic answer: recorded, and replayed"
    import anthropic
    def go(): return list(ant.messages.create(model='inband-invalid', max_tokens=9, messages=msgs('hi'), stream=True))
    assert [raised(go) for _ in range(2)] == [anthropic.APIStatusError]*2
    assert srv.total == 1
    assert len(recs(cached)) == 1

@pytest.mark.parametrize('kind', ['failed', 'error'])
def test_responses_failure_not_recorded(kind, srv, cached, oai):
    def go(): return [e.type for e in oai.responses.create(model=f'inband-{kind}', input='hi', stream=True)]
    evs = [go() for _ in range(2)]
    assert evs[0] == evs[1] and evs[0][-1] == ('response.failed' if kind == 'failed' else 'error')
    assert srv.total == 2
    assert recs(cached) == []

def test_chat_error_chunk_not_recorded(srv, cached, oai):
    import openai
    def go(): return list(oai.chat.completions.create(model='inband-error', messages=msgs('hi'), stream=True))
    assert [raised(go) for _ in range(2)] == [openai.APIError]*2
    assert srv.total == 2
    assert recs(cached) == []

def test_gemini_error_object_not_recorded(srv, cached):
    from google import genai
    from google.genai import types
    c = genai.Client(api_key='AIza-test', http_options=types.HttpOptions(base_url=srv.url))
    def go(): return [x.text for x in c.models.generate_content_stream(model='inband-x', contents='hi')]
    assert [raised(go) for _ in range(2)] == [raised(go)]*2
    assert srv.total == 3
    assert recs(cached) == []

def test_whole_stream_still_recorded(srv, cached, ant, oai):
    "The same streams without an error are recorded and replayed, as before"
    a = [list(ant.messages.create(model='m', max_tokens=9, messages=msgs('hi'), stream=True)) for _ in range(2)]
    b = [[e.type for e in oai.responses.create(model='m', input='hi', stream=True)] for _ in range(2)]
    assert a[0] == a[1] and b[0] == b[1]
    assert srv.total == 2
    assert len(recs(cached)) == 2

# 2b. An error of the account (its key, credits, quota, region) passes once the account is fixed: never recorded

def _gemini(srv):
    from google import genai
    from google.genai import types
    return genai.Client(api_key='AIza-test', http_options=types.HttpOptions(base_url=srv.url, retry_options=types.HttpRetryOptions(attempts=1)))

_account = {'openrouter-credits': (402, 'openai'), 'deepseek-balance': (402, 'openai'), 'groq-flex': (498, 'openai'), 'xai-key': (400, 'openai'),
            'azure-deployment': (404, 'azure'), 'anthropic-credits': (400, 'anthropic'), 'gemini-key': (400, 'gemini'), 'gemini-country': (400, 'gemini')}

@pytest.mark.parametrize('kind', list(_account))
def test_account_errors_not_recorded(kind, srv, on, cfile, oai, ant, capsys):
    "Each provider's way of saying the key, the credits or the region is wrong: raised as without cachy, asked again every time, never in the file"
    import openai,anthropic
    from google.genai import errors
    code,sdk = _account[kind]
    on(debug=True)
    def go():
        m = f'acct-{kind}'
        if sdk == 'openai': return oai.with_options(max_retries=0).chat.completions.create(model=m, messages=msgs('hi'))
        if sdk == 'azure':
            with openai.AzureOpenAI(azure_endpoint=srv.url, api_key='dummy', api_version='2024-10-21', max_retries=0) as az:
                return az.chat.completions.create(model=m, messages=msgs('hi'))
        if sdk == 'anthropic': return ant.with_options(max_retries=0).messages.create(model=m, max_tokens=9, messages=msgs('hi'))
        c = _gemini(srv)
        return c.models.generate_content(model=m, contents='hi')
    errs = []
    for _ in range(2):
        with pytest.raises((openai.APIStatusError, anthropic.APIStatusError, errors.APIError)) as e: go()
        errs.append(getattr(e.value, 'status_code', None) or e.value.code)
    assert errs == [code, code]
    assert srv.total == 2
    assert recs(cfile) == []
    assert capsys.readouterr().out.count('cachy NOT RECORDED') == 2

def test_request_errors_still_recorded(srv, on, cfile, oai):
    "An error the request earns, whoever sends it (a 400 about the request itself), is recorded and replayed as before"
    import openai
    on()
    for _ in range(2):
        with pytest.raises(openai.BadRequestError): oai.with_options(max_retries=0).chat.completions.create(model='status-400', messages=msgs('hi'))
    assert srv.total == 1
    assert [r['status_code'] for r in recs(cfile)] == [400]

# 3. Two different questions never share one answer; tracebacks still hit, and files recorded before still replay

def test_hex_and_line_numbers_are_part_of_the_question(srv, cached, oai):
    ask = lambda p: oai.chat.completions.create(model='m', messages=msgs(p)).choices[0].message.content
    a,b = ask('What is 0xDEADBEEF in decimal?'),ask('What is 0xCAFEBABE in decimal?')
    c,d = ask('Translate line 3, in the poem'),ask('Translate line 4, in the poem')
    assert srv.total == 4
    assert (a, b, c, d) == ('reply 1: What is 0xDEADBEEF in decimal?', 'reply 2: What is 0xCAFEBABE in decimal?',
                            'reply 3: Translate line 3, in the poem', 'reply 4: Translate line 4, in the poem')

def test_traceback_noise_still_hits(srv, cached, oai):
    import noise_calls
    assert noise_calls.tracebacks(oai, 1) == noise_calls.tracebacks(oai, 2)
    assert srv.total == len(noise_calls.frames)

def test_key2_file_replays(srv, tmp_path, monkeypatch):
    "A file recorded by cachy before norm_pats were narrowed (commit f0d8964) replays, tracebacks and reprs included"
    import pycachy_calls,noise_calls
    for k in ('HTTP_PROXY', 'http_proxy'): monkeypatch.setenv(k, '')
    d = tmp_path/'cache'
    shutil.copytree(here/'fixtures'/'cachy-key2', d)
    want = json.loads((d/'out.json').read_text())
    before = (d/'cachy.jsonl').read_bytes()
    pycachy_calls.via(srv.url)
    enable_cachy(cache_dir=d, mode='replay')
    try: got = noise_calls.run()
    finally: disable_cachy()
    assert got == want
    assert srv.total == 0
    assert (d/'cachy.jsonl').read_bytes() == before

def test_key2_file_migrates(srv, tmp_path, monkeypatch, capsys):
    "In record mode the key-2 file, recorded when keys hashed `send`'s stream flag (anthropic 2.17 now sends every request with `stream=True`), is answered and copied under key 3"
    import pycachy_calls,noise_calls
    for k in ('HTTP_PROXY', 'http_proxy'): monkeypatch.setenv(k, '')
    d = tmp_path/'cache'
    shutil.copytree(here/'fixtures'/'cachy-key2', d)
    want = json.loads((d/'out.json').read_text())
    old = {r['key']: r for r in recs(d/'cachy.jsonl')}
    pycachy_calls.via(srv.url)
    for mode in ('record', 'replay'):
        enable_cachy(cache_dir=d, mode=mode, debug=True)
        try: assert noise_calls.run() == want
        finally: disable_cachy()
        out = capsys.readouterr().out
        if mode == 'record': assert out.count('cachy key 2') == len(noise_calls.frames)+2, out
        else: assert 'cachy key 2' not in out, out
    assert srv.total == 0
    new = [r for r in recs(d/'cachy.jsonl') if r['key'] not in old]
    assert len(new) == len(noise_calls.frames)+2
    assert all(len(r['key']) == 24 for r in new)
    assert {r['response'] for r in new} <= {r['response'] for r in old.values()}

def test_key2_merged_entry_is_not_served(srv, tmp_path, monkeypatch):
    "An entry that the earlier, broader patterns keyed (a bare 0x number) is not served; the miss says why"
    import pycachy_calls,noise_calls
    for k in ('HTTP_PROXY', 'http_proxy'): monkeypatch.setenv(k, '')
    d = tmp_path/'cache'
    shutil.copytree(here/'fixtures'/'cachy-key2', d)
    pycachy_calls.via(srv.url)
    enable_cachy(cache_dir=d, mode='replay')
    try:
        with pytest.raises(ReplayMiss) as e: noise_calls.ambiguous()
    finally: disable_cachy()
    assert srv.total == 0
    assert 'an earlier cachy' in str(e.value) and '0x' in str(e.value)

# 4. A stream the caller stops reading is recorded when closed, collected, or at the latest at exit

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

# 5. A password in the URL never reaches the file, the key, or what cachy prints

def test_userinfo_removed(srv, on, cfile, capsys):
    u = srv.url.replace('http://', 'http://ann:PW-SECRET@')
    on(debug=True)
    with httpx.Client() as c: a,b = c.get(u+'/echo?q=1').json(),c.get(srv.url+'/echo?q=1').json()
    assert a == b
    assert srv.total == 1
    enable_cachy(cache_dir=cfile.parent, doms=ours, mode='replay')
    with httpx.Client() as c, pytest.raises(ReplayMiss) as e: c.get(u+'/echo?q=2')
    assert 'PW-SECRET' not in cfile.read_text()
    assert 'PW-SECRET' not in capsys.readouterr().out
    assert 'PW-SECRET' not in str(e.value)
    assert 'ann' not in recs(cfile)[0]['url']

def test_check_flags_userinfo(tmp_path):
    (tmp_path/'cachy.jsonl').write_text(json.dumps(dict(key='k', response='', url='https://ann:pw@api.x.ai/v1')) + '\n')
    rc,o,_ = cli('check', '--cache-dir', tmp_path)
    assert rc == 1
    assert f"{tmp_path/'cachy.jsonl'}:1: the URL carries a user name or password" in o.splitlines()

# 6. Credentials named in any case style are never previewed

def test_credential_fields_hidden(srv, on, cfile, oai):
    on()
    creds = dict(accessToken='tok-SECRET-1', authToken='tok-SECRET-2', clientSecret='SECRET-3', privateKey='SECRET-4',
                 sessionToken='tok-SECRET-5', apiKey='SECRET-6', password='SECRET-7', API_KEY='SECRET-8', **{'x-api-key': 'SECRET-9'})
    oai.chat.completions.create(model='m', messages=msgs('hi'), extra_body={'metadata': creds})
    txt = cfile.read_text()
    assert 'SECRET' not in txt
    parts = recs(cfile)[0]['req']['parts']
    assert parts['metadata.accessToken'] == ['', '(hidden)']
    rc,o,_ = cli('check', '--cache-dir', cfile.parent)
    assert rc == 0, o

def test_credential_containers_hidden(srv, on, cfile, oai):
    "Values under a container named like a credential (`auth.value`, `credentials[0].value`, `password[0]`) get neither preview nor digest"
    on()
    extra = {'auth': {'type': 'basic', 'value': 'SECRET-1'}, 'credentials': [{'value': 'SECRET-2', 'kind': 'x'}], 'password': ['SECRET-3'],
             'config': {'oauth': {'client': {'id': 'SECRET-4'}}}, 'metadata': {'run': 'visible'}}
    oai.chat.completions.create(model='m', messages=msgs('hi'), extra_body=extra)
    assert 'SECRET' not in cfile.read_text()
    parts = recs(cfile)[0]['req']['parts']
    assert {p: v for p,v in parts.items() if p.startswith(('auth', 'credentials', 'password', 'config'))} and \
           all(v == ['', '(hidden)'] for p,v in parts.items() if p.startswith(('auth', 'credentials', 'password', 'config')))
    assert "'visible'" in json.dumps(parts)
    rc,o,_ = cli('check', '--cache-dir', cfile.parent)
    assert rc == 0, o

_keys = {'a Groq key': 'gsk_' + 'aB3dE6'*9, 'an xAI key': 'xai-' + 'Zq9Wm2'*14, 'an OpenRouter key': 'sk-or-v1-' + '0f3a'*16,
         'a Fireworks key': 'fw_' + 'Qm8Rt2'*4, 'a Together key': 'tgp_v1_' + 'Ab_9-z'*7, 'an Amazon Bedrock API key': 'ABSKQmVkcm9ja0FQSUtleS1' + 'YWJj'*20,
         'a Vertex AI express key': 'AQ.Ab8RN6' + 'Lx_2-9'*8, 'a Google OAuth token': 'ya29.a0AfB_' + 'byC9xz'*10,
         'an OpenAI key (or DeepSeek, Moonshot)': 'sk-' + '5e1d'*8, 'an Anthropic key': 'sk-ant-api03-' + 'Xy7_'*20}

def test_check_flags_every_provider_key(tmp_path):
    "A key of each default provider that has a format, pasted into a prompt, fails `cachy check`, which names its kind and prints its first characters only"
    p = tmp_path/'cachy.jsonl'
    p.write_text(''.join(json.dumps(dict(key=f'k{i}', response=f'you said: my key is {k}')) + '\n' for i,k in enumerate(_keys.values())))
    rc,o,_ = cli('check', '--cache-dir', tmp_path)
    assert rc == 1
    assert o.splitlines()[:-1] == [f'{p}:{i+1}: looks like {w}: {k[:12]}…' for i,(w,k) in enumerate(_keys.items())]
    assert not any(k[12:] in o for k in _keys.values())

def test_check_flags_what_an_earlier_cachy_let_through(tmp_path):
    "A record written before names were read by meaning: a `subscription-key` or `password` in its URL, a value previewed under `auth`"
    p = tmp_path/'cachy.jsonl'
    sk = {'stream': False, 'hdrs': {}, 'shape': {'auth': '{value}'}, 'parts': {'auth.value': ['1a2b3c4d', "'hunter2'"], 'password[0]': ['5e6f7a8b', "'hunter3'"], 'q': ['9c0d1e2f', "'hi'"]}}
    p.write_text(json.dumps(dict(key='k'*24, response='', url='https://apim.azure-api.net/openai/x?subscription-key=abc&password=pw&pageToken=2', req=sk)) + '\n')
    rc,o,_ = cli('check', '--cache-dir', tmp_path)
    assert rc == 1
    assert o.splitlines() == [f"{p}:1: the URL carries a credential: password, subscription-key",
                              f"{p}:1: the request's sketch shows a value under a credential's name: auth.value, password[0]", f'cachy check: 2 problems in {p}']

# 7. A damaged line never hides a good record

def test_damaged_line_after_good_record(srv, on, cfile):
    on()
    with httpx.Client() as c: first = c.get(srv.url+'/echo?q=1').json()
    k = recs(cfile)[0]['key']
    with open(cfile, 'a') as f: f.write(json.dumps(dict(key=k, response=12)) + '\n')
    r = py('''import sys,httpx,warnings
from cachy import enable_cachy
from helpers import ours
warnings.simplefilter('always')
enable_cachy(cache_dir=sys.argv[1], doms=ours, mode='replay')
print(httpx.get(sys.argv[2]+'/echo?q=1').text)''', cfile.parent, srv.url)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == first
    assert srv.total == 1
    assert f'cachy: skipping damaged line 2 of {cfile}' in r.stderr

# 8. A cachy.jsonl that is not a regular file: refused at once, never read

@pytest.mark.parametrize('kind', ['fifo', 'zero'])
@pytest.mark.parametrize('cmd', ['ls', 'stats', 'check', 'compact', 'show'])
def test_cli_refuses_non_files(kind, cmd, tmp_path):
    p = tmp_path/'cachy.jsonl'
    if kind == 'fifo': os.mkfifo(p)
    else: p.symlink_to('/dev/zero')
    rc,o,e = cli(cmd, *(['k'] if cmd == 'show' else []), '--cache-dir', tmp_path, timeout=10)
    assert (rc, o) == (2, '')
    assert e == f"cachy: {p} is {'a FIFO' if kind == 'fifo' else 'a device'}, not a regular file\n"

def test_library_refuses_fifo(srv, tmp_path):
    "Calls go live and answer; one warning names the file; nothing blocks"
    os.mkfifo(tmp_path/'cachy.jsonl')
    r = py('''import sys,httpx
from cachy import enable_cachy
from helpers import ours
enable_cachy(cache_dir=sys.argv[1], doms=ours)
print(httpx.get(sys.argv[2]+'/echo').json()['n'], httpx.get(sys.argv[2]+'/echo').json()['n'])''', tmp_path, srv.url, timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout == '1 2\n'
    assert f"cachy: cannot read {tmp_path/'cachy.jsonl'} ({tmp_path/'cachy.jsonl'} is a FIFO, not a regular file)" in r.stderr

# 9. A child forked while another thread held the store's lock records as any process does

@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, 'fork'), reason='fork is POSIX only')
def test_fork_while_a_thread_records(srv, tmp_path):
    r = py('''import os,sys,threading,time,httpx
from cachy import enable_cachy
from helpers import ours
import cachy.core
enable_cachy(cache_dir=sys.argv[1], doms=ours)
s,held = cachy.core._cfg.store,threading.Event()
def record():
    with s._tl:
        held.set()
        time.sleep(2)
threading.Thread(target=record).start()
held.wait()
pid = os.fork()
if pid == 0:
    httpx.get(sys.argv[2]+'/echo?child=1')
    os._exit(0)
_,st = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(st))''', tmp_path, srv.url, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == '0\n'
    assert len(recs(tmp_path/'cachy.jsonl')) == 1

# 10. A compact killed mid-write leaves no temporary file behind for long

def test_killed_compact_leaves_nothing(tmp_path):
    p = tmp_path/'cachy.jsonl'
    with open(p, 'w') as f:
        for i in range(300): f.write(json.dumps(dict(key=f'k{299-i:04}', response='x'*100_000)) + '\n')
    tmps = lambda: list(tmp_path.glob('.cachy.jsonl.*.tmp'))
    pr = subprocess.Popen([script('cachy'), 'compact', '--cache-dir', tmp_path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t = time.monotonic()
    while not any(f.stat().st_size for f in tmps()) and time.monotonic()-t < 10: time.sleep(0.0005)
    pr.send_signal(signal.SIGKILL)
    pr.wait()
    assert len(tmps()) == 1
    assert tmps()[0].stat().st_size > 0
    Store(p).put(dict(key='new', response=''))
    assert tmps() == []
    assert len(Store(p)) == 301

# 11. requests and aiohttp streams reach the caller live, and record when read to the end

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

def test_requests_raw_is_readable(srv, cached, tmp_path):
    "shutil.copyfileobj(r.raw, f) gets the whole body on a miss and on a hit, and the miss is recorded"
    out = []
    for i in range(2):
        with requests.get(f'{srv.url}/bytes?size=300000', stream=True) as r, open(tmp_path/f'{i}.bin', 'wb') as f: shutil.copyfileobj(r.raw, f)
        out.append((tmp_path/f'{i}.bin').read_bytes())
    assert len(out[0]) == 300000
    assert out[0] == out[1]
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

# 15. A hit never raises because of what a record holds

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

def test_resp_keep_none_keeps_everything(srv, cached, oai, monkeypatch):
    "`resp_keep = None`, pycachy's way to keep Responses bodies byte-exact, records them whole, and they replay"
    import cachy.core
    monkeypatch.setattr(cachy.core, 'resp_keep', None)
    ask = lambda: oai.responses.create(model='m', input='hi', instructions='Be brief.', temperature=0.5)
    live,hit = ask(),ask()
    assert srv.total == 1
    assert (hit.instructions, hit.temperature, hit.output_text) == (live.instructions, live.temperature, live.output_text) == ('Be brief.', 0.5, 'reply 1: hi')
    assert json.loads(recs(cached)[0]['response'])['instructions'] == 'Be brief.'
