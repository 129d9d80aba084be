"""Keys that change exactly when the answer can (issue 10), through the real SDKs and the loopback server: headers that
select behaviour, credentials in the URL, fields a client invents, machine paths in tracebacks, replay misses that say
what changed, and files recorded by the previous version of cachy."""
import json,shutil
import httpx,openai,anthropic,pytest
import cachy.core
import pycachy_calls
from cachy import enable_cachy,disable_cachy,ReplayMiss
from helpers import here,msgs,py,recs
from server import OKEY,AKEY

def claude(ant, text='hi', **kw): return ant.messages.create(model='claude-x', max_tokens=20, messages=msgs(text), **kw).content[0].text

def test_anthropic_beta(srv, on, ant, cfile):
    "Calls that differ only in `anthropic-beta` get their own answers, and replay them; the order of betas does not matter"
    on()
    a = claude(ant, extra_headers={'anthropic-beta': 'context-1m-2025-08-07'})
    b = claude(ant, extra_headers={'anthropic-beta': 'files-api-2025-04-14'})
    plain = claude(ant)
    assert srv.total == 3
    assert a.endswith('[with context-1m-2025-08-07]')
    assert b.endswith('[with files-api-2025-04-14]')
    assert '[with' not in plain
    both = claude(ant, extra_headers={'anthropic-beta': 'context-1m-2025-08-07,files-api-2025-04-14'})
    assert srv.total == 4
    on(mode='replay')
    assert claude(ant, extra_headers={'anthropic-beta': 'files-api-2025-04-14'}) == b
    assert claude(ant, extra_headers={'anthropic-beta': 'context-1m-2025-08-07'}) == a
    assert claude(ant) == plain
    assert claude(ant, extra_headers={'anthropic-beta': 'files-api-2025-04-14, context-1m-2025-08-07'}) == both
    assert srv.total == 4
    assert [r['req']['hdrs'].get('anthropic-beta') for r in recs(cfile)] == ["'context-1m-2025-08-07'", "'files-api-2025-04-14'", None,
                                                                             "'context-1m-2025-08-07,files-api-2025-04-14'"]

def test_anthropic_version_in_key(srv, on, cfile):
    on()
    for v in ('2023-06-01', '2026-10-21', '2023-06-01'):
        with anthropic.Anthropic(api_key=AKEY, base_url=srv.url, default_headers={'anthropic-version': v}) as a: claude(a)
    assert srv.total == 2

def test_volatile_headers_share_an_entry(srv, on, cfile):
    "Another OS, runtime, SDK patch release, retry count or timeout: one entry"
    on()
    hs = [{'user-agent': 'OpenAI/Python 3.57.0', 'x-stainless-os': 'Linux', 'x-stainless-runtime-version': '3.11.7'},
          {'user-agent': 'OpenAI/Python 3.57.1', 'x-stainless-os': 'Windows', 'x-stainless-runtime-version': '3.13.1',
           'x-stainless-arch': 'arm64', 'x-stainless-retry-count': '1', 'x-stainless-read-timeout': '30', 'x-request-id': 'r-9'}]
    outs = []
    for h in hs:
        with openai.OpenAI(api_key=OKEY, base_url=srv.url+'/v1', default_headers=h) as o:
            outs.append(o.chat.completions.create(model='gpt-x', messages=msgs('same')).choices[0].message.content)
    assert srv.total == 1
    assert outs[0] == outs[1]
    assert srv.reqs[0]['headers']['x-stainless-os'] == 'Linux'

@pytest.mark.parametrize('name,values', [('x-vertex-ai-llm-request-type', ('dedicated', 'shared')), ('X-Vertex-AI-LLM-Shared-Request-Type', ('priority', 'flex')),
                                         ('extra-parameters', ('pass-through', 'drop')), ('azureml-model-deployment', ('mistral-large', 'llama-3')),
                                         ('x-policy-id', ('strict-filter', 'lenient-filter')), ('Groq-Model-Version', ('latest', '2025-07-23'))])
def test_provider_headers(name, values, srv, on, oai, cfile):
    "A header by which Vertex AI, Azure or Groq selects the model, tier, filter or parameter handling: each value gets its own answer, which replays"
    on()
    def ask(v=None): return oai.chat.completions.create(model='m', messages=msgs('hi'), extra_headers={name: v} if v else None).choices[0].message.content
    live = [ask(), *map(ask, values)]
    assert srv.total == 3
    assert [srv.headers[i].get(name.lower()) for i in range(3)] == [None, *values]
    on(mode='replay')
    assert [ask(), *map(ask, values)] == live
    assert srv.total == 3
    assert [r['req']['hdrs'] for r in recs(cfile)] == [{}, *({name.lower(): repr(v)} for v in values)]

@pytest.mark.parametrize('param', ['api_key', 'key', 'access_token', 'sig', 'API_KEY', 'subscription-key', 'Ocp-Apim-Subscription-Key', 'password',
                                   'client_secret', 'refreshToken', 'X-Goog-Api-Key', 'sas_token', 'accessKey'])
def test_secret_param(param, srv, on, cfile):
    "A credential in the URL is not part of the key and never reaches the file"
    on()
    with httpx.Client() as c:
        a = c.get(srv.url+f'/v1/models?alt=json&{param}=SECRET-one').json()
        b = c.get(srv.url+f'/v1/models?{param}=SECRET-two&alt=json').json()
    assert a == b
    assert srv.total == 1
    assert srv.reqs[0]['query'][param] == 'SECRET-one'
    assert 'SECRET' not in cfile.read_text() and recs(cfile)[0]['url'] == srv.url+'/v1/models?alt=json'

@pytest.mark.parametrize('param', ['pageToken', 'page_token', 'nextToken', 'continuation-token', 'max_tokens', 'cache_key', 'keywords', 'monkey'])
def test_cursor_params_keyed(param, srv, on, cfile):
    "A parameter whose name only sounds like a credential (a page cursor, a count, a routing key) stays in the key: each page its own answer"
    on()
    with httpx.Client() as c: a,b = [c.get(srv.url+f'/v1/models?{param}={v}').json() for v in ('one', 'two')]
    assert a != b
    assert srv.total == 2
    assert [r['url'] for r in recs(cfile)] == [srv.url+f'/v1/models?{param}={v}' for v in ('one', 'two')]

def test_azure_sas(srv, on, cfile):
    "A signed Azure URL keeps its api-version, and loses its SAS token, whose start and expiry change every time"
    on()
    with httpx.Client() as c:
        for st,sig in (('2026-11-27T10:00Z', 'abc'), ('2026-11-27T11:00Z', 'def')):
            c.get(srv.url+f'/openai/files?api-version=2024-10-21&sv=2022-11-02&st={st}&se=2026-11-28&sr=b&sp=r&sig={sig}')
    assert srv.total == 1
    assert recs(cfile)[0]['url'] == srv.url+'/openai/files?api-version=2024-10-21'

def test_link_ids_share_an_entry(srv, on, oai, cfile):
    "Ids a client invents to link a tool call to its result (LiteLLM's, pydantic-ai's) change nothing: one entry, which replays"
    on()
    def ask(i):
        m = [{'role': 'user', 'content': 'weather?'},
             {'role': 'assistant', 'content': None, 'tool_calls': [{'id': f'call_{i}', 'type': 'function', 'function': {'name': 'w', 'arguments': '{}'}}]},
             {'role': 'tool', 'tool_call_id': f'call_{i}', 'content': 'sunny'}]
        return oai.chat.completions.create(model='gpt-x', messages=m).choices[0].message.content
    a,b = ask(1),ask(2)
    assert srv.total == 1
    assert a == b
    on(mode='replay')
    assert ask(3) == a
    assert srv.total == 1

def test_tool_schema_with_id_and_type(srv, on, oai, cfile):
    "A tool whose parameters are named `id` and `type` (found by tests/test_properties.py): the call is cached, and a tool loop's ids still link"
    on()
    tools = [{'type': 'function', 'function': {'name': 'ticket', 'parameters': {'type': 'object', 'properties': {'id': {'type': 'string'}, 'type': {'type': ['string', 'null']}}}}}]
    def ask(): return oai.chat.completions.create(model='gpt-x', messages=msgs('open one'), tools=tools).choices[0].message.content
    a,b = ask(),ask()
    assert srv.total == 1 and a == b
    assert json.loads(srv.reqs[0]['body'])['tools'] == tools

def test_ignore_fields(srv, on, oai, monkeypatch):
    "A field a client invents per run, left out of the key with a `*` path, no longer makes every run miss"
    on()
    def ask(i): return oai.chat.completions.create(model='gpt-x', messages=msgs('hi'), extra_body={'metadata': {'run': f'r{i}', 'app': 'x'}}).choices[0].message.content
    ask(1), ask(2)
    assert srv.total == 2
    monkeypatch.setattr(cachy.key, 'ignore_fields', ['metadata.run'])
    a,b = ask(3),ask(4)
    assert srv.total == 3
    assert a == b
    assert ask(1) == a
    assert srv.total == 3

_mod = '''
def fail(x):
    return x["missing"]
'''

def _traceback(root):
    "A real traceback through a package installed under folder `root`"
    (root).mkdir(parents=True)
    (root/'helper_pkg.py').write_text(_mod)
    code = f'''import sys,traceback
sys.path.insert(0, {str(root)!r})
import helper_pkg
try: helper_pkg.fail({{}})
except KeyError: print(traceback.format_exc())'''
    r = py(code)
    assert r.returncode == 0, r.stderr
    return r.stdout

def test_traceback_from_two_machines(srv, on, oai, tmp_path):
    "The same failure in two environments (a venv under a home folder, a conda env elsewhere) is one request"
    tbs = [_traceback(tmp_path/'home'/'ann'/'.venv'/'lib'/'python3.12'/'site-packages'),
           _traceback(tmp_path/'opt'/'conda'/'envs'/'ci'/'lib'/'python3.11'/'site-packages')]
    assert tbs[0] != tbs[1] and all('helper_pkg.py' in t and 'KeyError' in t for t in tbs)
    on()
    outs = [oai.chat.completions.create(model='gpt-x', messages=msgs(f'Why does this fail?\n{t}')).choices[0].message.content for t in tbs]
    assert srv.total == 1
    assert outs[0] == outs[1]
    assert str(tmp_path/'home') in srv.reqs[0]['body'].decode().replace('\\\\', '\\')

@pytest.mark.slow
def test_miss_names_the_change(srv, on, oai, cfile):
    "One changed word among 300 recorded prompts: a short message that names the path and the closest entry"
    on()
    for i in range(300):
        oai.chat.completions.create(model='gpt-x', messages=[{'role': 'system', 'content': 'Be brief.'}, *msgs(f'tell me about topic {i}')])
    key7 = recs(cfile)[7]['key']
    on(mode='replay')
    with pytest.raises(ReplayMiss) as e:
        oai.chat.completions.create(model='gpt-x', messages=[{'role': 'system', 'content': 'Be brief.'}, *msgs('TELL ME ABOUT topic 7')])
    m = str(e.value)
    assert len(m) <= 1500, len(m)
    assert f'closest of the 300 entries recorded for this method and URL (key {key7})' in m, m
    assert "messages[1].content: recorded 'tell me about topic 7', sent 'TELL ME ABOUT topic 7'" in m
    assert srv.total == 300

def test_record_adds_at_most_a_kilobyte(srv, on, oai, cfile):
    "What a record keeps of a large request (long instructions, many tools) stays under about a kilobyte"
    on()
    tools = [{'type': 'function', 'function': {'name': f't{i}', 'description': 'does things '*50,
              'parameters': {'type': 'object', 'properties': {f'p{j}': {'type': 'string'} for j in range(30)}}}} for i in range(40)]
    oai.chat.completions.create(model='gpt-x', messages=[{'role': 'system', 'content': 'You are careful. '*2000}, *msgs('go')], tools=tools)
    assert len(json.dumps(recs(cfile)[0]['req'])) <= 1000

def test_key1_file_replays(srv, tmp_path, monkeypatch):
    "A file recorded by the previous version of cachy (key 1) replays in replay mode, then migrates in record mode"
    for k in ('HTTP_PROXY', 'http_proxy'):
        monkeypatch.setenv(k, '')
        monkeypatch.delenv(k)
    d = tmp_path/'cache'
    shutil.copytree(here/'fixtures'/'cachy-key1', d)
    want = json.loads((d/'out.json').read_text())
    pycachy_calls.via(srv.url)
    for mode in ('replay', 'record', 'replay'):
        enable_cachy(cache_dir=d, mode=mode)
        try: assert pycachy_calls.run() == want
        finally: disable_cachy()
    assert srv.total == 0
    ks = [len(r['key']) for r in recs(d/'cachy.jsonl')]
    assert ks == [16]*11 + [24]*11

# Two different questions never share one answer; tracebacks still hit, and files recorded before still replay

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
