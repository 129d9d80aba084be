"""`CACHY_LOG`, pycachy 0.0.22's knob: a JSON line per miss, written before the request goes out (and per replay miss,
and per request let through), with the fields pycachy wrote, and never a credential."""
import json,subprocess,sys,warnings
import httpx,pytest
from openai import OpenAI
from anthropic import Anthropic
from cachy import enable_cachy,disable_cachy,ReplayMiss
from envs import clean_env
from helpers import here,msgs,py,recs
from server import OKEY,AKEY

GKEY = 'AIza-test-SECRET-log-9e8d7c'

def lines(p): return [json.loads(l) for l in p.read_text().splitlines()] if p.exists() else []

@pytest.fixture
def log(tmp_path, monkeypatch):
    "The file `CACHY_LOG` names, in a fresh folder"
    p = tmp_path/'log'/'misses.jsonl'
    p.parent.mkdir()
    monkeypatch.setenv('CACHY_LOG', str(p))
    return p

def test_a_line_per_miss(srv, on, oai, ant, log, cfile):
    "Each miss writes a line with pycachy's fields, then cachy's; a hit writes none"
    on()
    oai.chat.completions.create(model='gpt-x', messages=msgs('héllo'), temperature=1.0)
    list(ant.messages.create(model='claude-x', max_tokens=5, messages=msgs('hi'), stream=True))
    oai.chat.completions.create(model='gpt-x', messages=msgs('héllo'), temperature=1.0)
    a,b = lines(log)
    assert list(a) == ['key', 'url', 'stream', 'accept', 'body', 'method', 'hdrs', 'replay']
    assert [a['key'], b['key']] == [r['key'] for r in recs(cfile)]
    assert (a['url'], a['stream'], a['accept'], a['method'], a['hdrs'], a['replay']) == (srv.url+'/v1/chat/completions', False, 'application/json', 'POST', {}, False)
    assert a['body'] == json.dumps({'messages': msgs('héllo'), 'model': 'gpt-x', 'temperature': 1}, sort_keys=True)
    assert (b['url'], b['stream'], b['hdrs']) == (srv.url+'/v1/messages', True, {'anthropic-version': srv.reqs[1]['headers']['anthropic-version']})

def test_logged_before_it_goes_out(on, log):
    "The line is there when the request fails to go out at all"
    import socket
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    on()
    with OpenAI(api_key=OKEY, base_url=f'http://127.0.0.1:{port}/v1', max_retries=0) as c, pytest.raises(Exception, match='Connection'):
        c.chat.completions.create(model='gpt-x', messages=msgs('hi'))
    assert [l['url'] for l in lines(log)] == [f'http://127.0.0.1:{port}/v1/chat/completions']

def test_replay_miss_logged(srv, on, oai, log):
    on(mode='replay')
    with pytest.raises(ReplayMiss): oai.chat.completions.create(model='gpt-x', messages=msgs('hi'))
    assert srv.total == 0
    assert [(l['replay'], l['url']) for l in lines(log)] == [(True, srv.url+'/v1/chat/completions')]

def test_pass_logged(srv, tmp_path, log):
    "A request to a host cachy does not cache: pycachy's `{key: null, url}`, with the method and why, the URL without credentials"
    enable_cachy(cache_dir=tmp_path)
    with httpx.Client() as c: c.get(srv.url+'/x?access_token=ghp_SECRET&b=2&a=1')
    assert lines(log) == [dict(key=None, url=srv.url+'/x?a=1&b=2', method='GET', why='not in doms')]

def test_no_credential(srv, on, log):
    "Keys in headers, in the URL, in a JSON body and in a form never reach the log"
    on()
    from google import genai
    from google.genai import types
    with OpenAI(api_key=OKEY, base_url=srv.url+'/v1') as o: o.chat.completions.create(model='gpt-x', messages=msgs('hi'), extra_body={'api_key': 'sk-body-SECRET'})
    with Anthropic(api_key=AKEY, base_url=srv.url) as a: a.messages.create(model='claude-x', max_tokens=5, messages=msgs('hi'), extra_headers={'anthropic-beta': 'x'})
    g = genai.Client(api_key=GKEY, http_options=types.HttpOptions(base_url=srv.url))
    g.models.generate_content(model='gemini-x', contents='hi')
    with httpx.Client() as c:
        c.post(srv.url+f'/v1beta/models/g:generateContent?key={GKEY}', json={'contents': [{'parts': [{'text': 'hi'}]}]})
        c.post(srv.url+'/token', data={'client_id': 'ann', 'client_secret': 'form-SECRET', 'password': 'hunter2'})
    text = log.read_text()
    assert len(lines(log)) == 5
    assert not any(s in text for s in (OKEY, AKEY, GKEY, 'sk-body-SECRET', 'form-SECRET', 'hunter2')), text
    assert '"api_key\\": \\"(hidden)\\"' in text and 'client_secret=%28hidden%29' in text

def test_binary_body(srv, on, oai, log):
    "An upload is logged as its size and digest"
    on()
    oai.audio.transcriptions.create(model='whisper-1', file=('a.wav', b'RIFF\x00\x01\xff\xfe' * 50))
    (l,) = lines(log)
    assert l['body'].startswith('(') and ' bytes, SHA-256 ' in l['body'], l['body']

def test_unwritable(srv, on, oai, tmp_path, monkeypatch):
    "A log that cannot be written warns once and changes nothing else"
    monkeypatch.setenv('CACHY_LOG', str(tmp_path))
    on()
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        for t in ('a', 'b'): oai.chat.completions.create(model='gpt-x', messages=msgs(t))
    assert [str(w.message).split(' (')[0] for w in ws if 'CACHY_LOG' in str(w.message)] == [f'cachy: cannot write to CACHY_LOG {tmp_path}']
    assert srv.total == 2

@pytest.mark.slow
def test_many_processes(srv, tmp_path, log):
    "Four processes logging large misses at once: every line whole"
    code = '''import sys,httpx
from cachy import enable_cachy
from helpers import ours
enable_cachy(cache_dir=sys.argv[1], doms=ours)
with httpx.Client() as c:
    for i in range(25): c.post(sys.argv[2]+'/stable/x', json={'n': sys.argv[3], 'i': i, 'pad': 'x'*50_000})'''
    for n in range(4): (tmp_path/f'c{n}').mkdir()
    ps = [subprocess.Popen([sys.executable, '-c', code, str(tmp_path/f'c{n}'), srv.url, str(n)], env=py.__globals__['child_env'](CACHY_LOG=str(log))) for n in range(4)]
    assert [p.wait(timeout=120) for p in ps] == [0]*4
    ls = lines(log)
    assert sorted((json.loads(l['body'])['n'], json.loads(l['body'])['i']) for l in ls) == sorted((str(n), i) for n in range(4) for i in range(25))

@pytest.mark.slow
@pytest.mark.index
def test_pycachy_lines(srv, tmp_path, monkeypatch):
    "The lines pycachy 0.0.22 writes for a project's calls, and cachy's for the same calls: the same URL, accept and body"
    import pycachy_calls
    from test_pycachy import _pycachy_python
    theirs,ours = tmp_path/'pycachy.jsonl',tmp_path/'cachy.jsonl'
    (tmp_path/'p').mkdir(), (tmp_path/'c').mkdir()
    r = subprocess.run([str(_pycachy_python('0.0.22')), str(here/'pycachy_calls.py'), srv.url, str(tmp_path/'p'), str(tmp_path/'p.json')],
                       capture_output=True, text=True, timeout=300, env=clean_env(CACHY_LOG=str(theirs), LITELLM_LOCAL_MODEL_COST_MAP='True'))
    assert r.returncode == 0, r.stderr[-3000:]
    for k in ('HTTP_PROXY', 'http_proxy'): monkeypatch.setenv(k, '')
    monkeypatch.setenv('CACHY_LOG', str(ours))
    pycachy_calls.via(srv.url)
    enable_cachy(cache_dir=tmp_path/'c')
    try: pycachy_calls.run()
    finally: disable_cachy()
    a,b = lines(theirs),lines(ours)
    assert len(a) == len(b) == 11
    assert all(set(x) <= set(y) for x,y in zip(a, b))
    same = lambda l: (l['url'], l['accept'], l['body'])
    upload = [i for i,l in enumerate(b) if l['url'].endswith('/audio/transcriptions')]
    assert [same(l) for i,l in enumerate(a) if i not in upload] == [same(l) for i,l in enumerate(b) if i not in upload]
    assert not any(pycachy_calls.GKEY in l['url'] for l in a+b)
