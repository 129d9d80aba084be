"""Drop-in for pycachy: every release's key reproduced, and the files pycachy wrote replayed through the real SDKs.

Three levels, from the key up:
- every pycachy release on PyPI (downloaded into `pycachy/` in the tests' cache folder, see `envs.py`) computes, with
  its own `_key`, a key that `pycachy_keys` finds and labels with that release;
- pycachy 0.0.22 (httpx2 SDKs) and 0.0.15 (httpx SDKs), installed from PyPI into virtual environments this module
  makes (in the same folder), record a project's calls through the real SDKs; this project replays the file with
  zero requests;
- the files recorded that way are kept in tests/fixtures/ and replayed on every run, in replay and record mode.

A recording environment holds only what it is given, never the packages of the Python running the tests: pycachy, the
SDKs it patches and the clients `pycachy_calls` drives itself (httpx, requests); the current SDKs and those clients at
the versions this environment has, so that pycachy records the very requests the replay here sends. Not
`--system-site-packages`: it gives the base interpreter's packages, not those of the virtual environment the tests
run in. Not a `.pth` naming this environment's site-packages: it misses packages in user site or on PYTHONPATH,
layers two environments that pip resolved apart, and puts this project's editable install beside pycachy, both
imported as `cachy`. Installed explicitly, the environment is the same wherever the dev dependencies live; its stamp
(the requirements with their versions, the Python it was made from) tells when it is stale, so that an SDK upgraded
here makes it again.

`python tests/test_pycachy.py` records tests/fixtures/ again."""
import json,re,shutil,subprocess,sys,zipfile
import importlib.util
from importlib.metadata import version
from concurrent.futures import ThreadPoolExecutor
import httpx,pytest
import pycachy_calls
from envs import cache_dir,clean_env,lock,venv
from cachy import enable_cachy,disable_cachy,cachy_stats
from cachy.legacy import pycachy_keys
from cachy.store import Store
from helpers import here,msgs,run_cachy,ours,recs
from server import Server

work = cache_dir()/'pycachy'
fixtures = here/'fixtures'
releases = ['0.0.1', '0.0.2', '0.0.2.post1', '0.0.3', '0.0.4', '0.0.5', '0.0.6', '0.0.7', '0.0.8', '0.0.9', '0.0.10',
            '0.0.11', '0.0.12', '0.0.13', '0.0.14', '0.0.15', '0.0.16', '0.0.17', '0.0.18', '0.0.19', '0.0.20', '0.0.21', '0.0.22']
# The SDKs each recording environment installs besides pycachy: 0.0.19 and later patch httpx2, which the current SDKs
# use; earlier releases patch httpx only, which the previous SDK majors use. Every one also installs `clients`, which
# `pycachy_calls` drives directly. A bare name is installed at the version this environment has.
stacks = {'0.0.22': ['openai', 'anthropic', 'httpx2'], '0.0.15': ['openai>=2,<3', 'anthropic<1']}
clients = ['httpx', 'requests']

def _vt(v): return tuple(int(x) for x in v.split('.')[:3])

# Every release's key

def _fetch(v):
    "The source folder of pycachy release `v`, downloaded and unpacked on first use"
    d = work/'src'/v
    with lock(d):
        if not (d/'cachy'/'core.py').exists():
            wd = work/'wheels'/v
            subprocess.run([sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', '--disable-pip-version-check',
                            '--only-binary', ':all:', '-d', str(wd), f'pycachy=={v}'], check=True, capture_output=True, env=clean_env())
            with zipfile.ZipFile(next(wd.glob('*.whl'))) as z: z.extractall(d)
    return d

@pytest.fixture(scope='module')
def sources():
    with ThreadPoolExecutor(8) as ex: return dict(zip(releases, ex.map(_fetch, releases)))

def _load(d, v):
    "pycachy release `v`'s `cachy.core`, loaded from folder `d` under a name of its own"
    spec = importlib.util.spec_from_file_location(f"pycachy_{v.replace('.', '_')}", d/'cachy'/'core.py')
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m

def _flag(v, stream):
    "The stream flag release `v`'s `send` passed to its `_key`, given the `stream` keyword `send` received"
    return False if _vt(v) <= (0,0,11) else stream if _vt(v) == (0,0,12) else bool(stream)

def _labelled(ks, v):
    "The keys in `pycachy_keys`' answer `ks` whose label covers release `v`"
    def covers(lbl):
        a,_,b = lbl.partition('-')
        return _vt(a) <= _vt(v) <= _vt(b or a)
    return [k for k,lbls in ks for l in lbls.split(', ') if covers(l)]

C = 'https://api.openai.com/v1/chat/completions'
tb = 'File "/tmp/ipykernel_4242/123.py", line 7, in f <x at 0x7f3a2c1b9e50> /var/folders/ab/cd/T/x /tmp/tmpab12'
samples = dict(
    chat=lambda: httpx.Request('POST', C, json={'model': 'gpt-4o', 'messages': msgs('héllo 🌍')}, headers={'accept': 'application/json'}),
    traceback=lambda: httpx.Request('POST', C, json={'messages': msgs(tb), 'prompt_cache_key': 'nb-1'}),
    gemini_key=lambda: httpx.Request('POST', 'https://generativelanguage.googleapis.com/v1beta/models/g:streamGenerateContent?alt=sse&key=AIzaSECRET', json={'contents': []}),
    multipart=lambda: httpx.Request('POST', 'https://api.openai.com/v1/audio/transcriptions', files={'file': ('a.wav', b'RIFF\xff\xfe\x00\x80')}, data={'model': 'w'}),
    tmp_in_url=lambda: httpx.Request('GET', 'https://api.openai.com/v1/files/tmp/tmpabc123/content'),
    bad_json=lambda: httpx.Request('POST', C, content=b'{bad json', headers={'content-type': 'application/json'}),
    query=lambda: httpx.Request('GET', 'https://api.openai.com/v1/models?b=2&a=x y&b=3', headers={'accept': 'text/event-stream'}),
    latin1=lambda: httpx.Request('POST', C, content=b'caf\xe9 /tmp/tmpzz', headers={'content-type': 'text/plain'}))

@pytest.mark.slow
@pytest.mark.index
@pytest.mark.parametrize('v', releases)
def test_key_of_release(v, sources):
    "Release `v`'s own `_key` gives, for every sample request and stream keyword, the key `pycachy_keys` labels `v`"
    m = _load(sources[v], v)
    n = 0
    for name,mk in samples.items():
        r = mk()
        r.read()
        for stream in (None, False, True):
            want,ks = m._key(r, is_stream=_flag(v, stream)),pycachy_keys(r, stream)
            assert _labelled(ks, v) == [want], (name, stream, want, ks)
            n += 1
    assert n == 24

@pytest.mark.slow
@pytest.mark.index
def test_public_names(sources):
    "Every public name of pycachy's newest release imports from cachy"
    import cachy
    names = _load(sources['0.0.22'], '0.0.22').__all__
    assert {'enable_cachy', 'disable_cachy', 'doms', 'norm_pats', 'resp_norm_pats', 'resp_keep', 'cachy', 'no_cachy'} <= set(names)
    assert [n for n in names if not hasattr(cachy, n)] == []

# Files pycachy wrote, replayed

def _reqs(v):
    "What the recording environment of pycachy `v` installs: a bare name at the version this environment has"
    return [f'pycachy=={v}', *(r if any(c in r for c in '<>=!~[') else f'{r}=={version(r)}' for r in stacks[v]+clients)]

def _pycachy_python(v):
    "The Python of a virtual environment with pycachy `v`, the SDKs it patches and `clients`, made on first use"
    return venv(work/f'venv-{v}', _reqs(v))

def record_with_pycachy(v, srv, d):
    "Make `pycachy_calls`' calls with pycachy `v` recording into folder `d`: what they returned"
    out = d/'out.json'
    r = subprocess.run([str(_pycachy_python(v)), str(here/'pycachy_calls.py'), srv.url, str(d), str(out)],
                       capture_output=True, text=True, timeout=300, env=clean_env(LITELLM_LOCAL_MODEL_COST_MAP='True'))
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(out.read_text())

def replay(srv, d, mode='replay'):
    "Make the same calls with this project's cachy on folder `d`: what they returned; none may reach the server"
    pycachy_calls.via(srv.url)
    n = srv.total
    enable_cachy(cache_dir=d, mode=mode)
    try: out = pycachy_calls.run()
    finally: disable_cachy()
    assert srv.total == n, f'{srv.total-n} request(s) reached the server'
    return out

@pytest.fixture
def proxied(monkeypatch):
    "The proxy settings the calls make are undone after the test"
    for k in ('HTTP_PROXY', 'http_proxy'):
        monkeypatch.setenv(k, '')
        monkeypatch.delenv(k)

@pytest.mark.slow
@pytest.mark.index
@pytest.mark.parametrize('v', list(stacks))
def test_record_with_pycachy_replay_here(v, srv, tmp_path, proxied):
    d = tmp_path/'cache'
    d.mkdir()
    want = record_with_pycachy(v, srv, d)
    assert srv.total == len(want) == 11
    keys = [r['key'] for r in recs(d/'cachy.jsonl')]
    assert len(keys) == 11
    assert all(len(k) == 8 for k in keys)
    assert replay(srv, d) == want

# The fixtures: files recorded so, committed

def _fixture(v, tmp_path):
    "A copy of the fixture folder recorded by pycachy `v`, and what its calls returned"
    d = tmp_path/v
    shutil.copytree(fixtures/f'pycachy-{v}', d)
    return d,json.loads((d/'out.json').read_text())

@pytest.mark.parametrize('v', list(stacks))
def test_fixture_replays(v, srv, tmp_path, proxied):
    d,want = _fixture(v, tmp_path)
    before = (d/'cachy.jsonl').read_bytes()
    s0 = cachy_stats()
    assert replay(srv, d) == want
    assert cachy_stats()['hit']-s0['hit'] == 11
    assert (d/'cachy.jsonl').read_bytes() == before, 'replay mode wrote to the file'

@pytest.mark.parametrize('v', list(stacks))
def test_fixture_migrates(v, srv, tmp_path, proxied):
    "Record mode copies each pycachy entry under our key, with only the headers we keep; the next run hits those"
    d,want = _fixture(v, tmp_path)
    old = recs(d/'cachy.jsonl')
    assert replay(srv, d, mode='record') == want
    new = recs(d/'cachy.jsonl')[len(old):]
    assert len(new) == 11
    assert all(len(r['key']) == 24 and set(r['headers']) <= {'content-type', 'x-amzn-errortype'} for r in new)
    assert {r['url'].split('/')[2] for r in new} == {'api.openai.com', 'api.anthropic.com', 'generativelanguage.googleapis.com'}
    assert not any(pycachy_calls.GKEY in r['url'] for r in new)
    only_ours = tmp_path/'ours'
    only_ours.mkdir()
    (only_ours/'cachy.jsonl').write_text(''.join(json.dumps(r)+'\n' for r in new))
    assert replay(srv, only_ours) == want

@pytest.mark.slow
def test_fixture_prune_drops_migrated(srv, tmp_path, proxied):
    "`cachy prune` over a run in record mode leaves only our own entries, and they replay"
    d,want = _fixture('0.0.15', tmp_path)
    code = (f'import sys; sys.path.insert(0, {str(here)!r}); import pycachy_calls as p; p.via({srv.url!r}); '
            f'from cachy import enable_cachy; enable_cachy(cache_dir={str(d)!r}); p.run()')
    r = run_cachy('prune', '--cache-dir', d, '--', sys.executable, '-c', code, env=dict(LITELLM_LOCAL_MODEL_COST_MAP='True'), timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('cachy prune: removed 11 entries'), r.stdout
    assert all(len(k) == 24 for k in Store(d/'cachy.jsonl').recs)
    assert replay(srv, d) == want

# What a pycachy entry may answer: what its key pinned down (the URL, the stream flag, the accept header, the body), no more

def _entry(req, answer, status=200, release='0.0.22'):
    "The line pycachy `release` wrote for `req` answered with `answer` (a dict, sent as JSON) and `status`"
    req.read()
    k = _labelled(pycachy_keys(req, False), release)[0]
    return dict(key=k, response=json.dumps(answer), headers={'content-type': 'application/json'}, status_code=status, binary=False)

def _pinned(srv, c):
    "Requests to the loopback server, by name: those a pycachy entry answers, and those it must not"
    msg = dict(model='claude-x', max_tokens=9, messages=msgs('hi'))
    gem = lambda m: c.build_request('POST', f'/v1beta/models/{m}:generateContent', json={'contents': [{'parts': [{'text': 'hi'}]}]})
    return dict(get=c.build_request('GET', '/v1/responses/resp_1'),
                plain=c.build_request('POST', '/v1/messages', json=msg, headers={'anthropic-version': '2023-06-01'}),
                gemini_a=gem('gemini-a'),
                snapshot=c.build_request('POST', '/v1/chat/completions', json=dict(model='gpt-4o', messages=msgs('snapshot'))),
                delete=c.build_request('DELETE', '/v1/responses/resp_1'),
                beta=c.build_request('POST', '/v1/messages', json=msg, headers={'anthropic-version': '2023-06-01', 'anthropic-beta': 'tools-x'}),
                denied=c.build_request('POST', '/v1/chat/completions', json=dict(model='gpt-x', messages=msgs('who am I?'))),
                poll=c.build_request('GET', '/v1/batches/batch_1'),
                gemini_c=gem('gemini-c'))

_refusals = dict(delete="pycachy's key holds no method, so its entries answer only a POST with a body or a GET without one, and this is a DELETE without a body",
                 beta="pycachy's key holds no request header, and this call sends anthropic-beta: tools-x",
                 denied="its answer has status 401, which may differ next time",
                 poll="its answer says the work is still under way, and pycachy kept no later answer",
                 gemini_c="its answer is from model 'gemini-a', and this call asks for 'gemini-c'")

@pytest.mark.parametrize('mode', ['replay', 'record'])
def test_pycachy_entry_answers_only_what_its_key_pinned(mode, srv, tmp_path):
    """A pycachy entry answers a POST with a body or a GET without one, with no behaviour header, when its status would be
    recorded, its answer is final and names the model asked for (or a snapshot of it); any other call misses, in every mode"""
    from cachy import ReplayMiss
    with httpx.Client(base_url=srv.url) as c:
        rs = _pinned(srv, c)
        served = dict(get={'id': 'resp_1', 'object': 'response', 'status': 'completed', 'model': 'gpt-x'},
                      plain={'id': 'msg_1', 'type': 'message', 'model': 'claude-x', 'content': [{'type': 'text', 'text': 'no beta'}]},
                      gemini_a={'candidates': [], 'modelVersion': 'gemini-a'},
                      snapshot={'id': 'chatcmpl-1', 'object': 'chat.completion', 'model': 'gpt-4o-2024-08-06', 'choices': []})
        lines = [_entry(rs[n], a) for n,a in served.items() if n != 'gemini_a'] + [
            _entry(rs['gemini_a'], served['gemini_a'], release='0.0.2'),
            _entry(rs['denied'], {'error': {'message': 'bad key', 'type': 'invalid_api_key'}}, 401),
            _entry(rs['poll'], {'id': 'batch_1', 'object': 'batch', 'status': 'in_progress'})]
        (tmp_path/'cachy.jsonl').write_text(''.join(json.dumps(l)+'\n' for l in lines))
        enable_cachy(cache_dir=tmp_path, doms=ours, mode=mode)
        for n,want in served.items(): assert c.send(rs[n]).json() == want, n
        assert srv.total == 0
        for n,why in _refusals.items():
            k = _entry(rs[n], {}, release='0.0.2' if n == 'gemini_c' else '0.0.22')['key']
            if mode == 'replay':
                with pytest.raises(ReplayMiss) as e: c.send(rs[n])
                assert re.search(rf"^An entry that pycachy [\d., -]+ recorded for this call \(key {k}\) is not served: {re.escape(why)}\.$", str(e.value), re.M), str(e.value)
            else:
                n0 = srv.total
                for _ in range(5):
                    if c.send(rs[n]).json().get('status') != 'in_progress': break
                assert srv.total == n0+1, n
    disable_cachy()

def test_pycachy_miss_opens_with_what_is_true(srv, tmp_path):
    "On a file pycachy wrote, a replay miss does not say that nothing is recorded for the method and URL: pycachy kept neither"
    from cachy import ReplayMiss
    with httpx.Client(base_url=srv.url) as c:
        rs = _pinned(srv, c)
        (tmp_path/'cachy.jsonl').write_text(json.dumps(_entry(rs['get'], {'id': 'resp_1'}))+'\n')
        enable_cachy(cache_dir=tmp_path, doms=ours, mode='replay')
        with pytest.raises(ReplayMiss) as e: c.post('/v1/embeddings', json={'input': 'never recorded'})
    why = str(e.value).splitlines()[1]
    assert why == "Nothing that cachy recorded is for this method and URL. The 1 entry that pycachy recorded keeps no method or URL to compare with this call.", why
    assert srv.total == 0

if __name__ == '__main__':
    srv = Server().start()
    for v in stacks:
        d = fixtures/f'pycachy-{v}'
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        srv.reset()
        print(v, len(record_with_pycachy(v, srv, d)), 'calls recorded in', d)
    srv.stop()
