"What is keyed and what is stored, normalised: `norm_pats` on requests, `resp_keep` and `resp_norm_pats` on responses"
import json,re,subprocess,sys
import pytest
import cachy.core
from helpers import child_env,recs

R,C = '/v1/responses','/v1/chat/completions'
instr = 'You answer tersely and never apologise. ' * 200
tools = [{'type': 'function', 'name': f'tool_{i}', 'description': 'does a thing ' * 20,
          'parameters': {'type': 'object', 'properties': {}}} for i in range(5)]

@pytest.mark.sdk('openai', 'sync', 'stream')
def test_responses_echo_not_stored(srv, on, oai, cfile):
    on()
    call = lambda **kw: oai.responses.create(model='gpt-x', input='hello', instructions=instr, tools=tools, temperature=0.2, **kw)
    live,hit = call(),call()
    assert srv.count(R) == 1
    assert live.instructions == instr
    assert hit.instructions is None
    assert hit.tools is None
    assert hit.output_text == live.output_text
    assert hit.usage == live.usage
    assert hit.id == live.id
    ev_live,ev_hit = [[e for e in call(stream=True)] for _ in range(2)]
    assert srv.count(R) == 2
    assert [(e.type, getattr(e, 'delta', None)) for e in ev_live] == [(e.type, getattr(e, 'delta', None)) for e in ev_hit]
    assert ev_live[-1].response.instructions == instr and ev_hit[-1].response.output_text == ev_live[-1].response.output_text
    resps = ''.join(r['response'] for r in recs(cfile))
    assert 'never apologise' not in resps
    assert 'tool_0' not in resps
    assert len(cfile.read_text()) < len(instr)

def test_resp_keep_empty_keeps_all(srv, on, oai, cfile, monkeypatch):
    "As in pycachy, an empty `resp_keep` stores the Responses API's echo as it came"
    monkeypatch.setattr(cachy.core, 'resp_keep', {})
    on()
    oai.responses.create(model='gpt-x', input='hello', instructions=instr)
    assert 'never apologise' in cfile.read_text()

def test_traceback_prompt_hits(srv, on, oai):
    on()
    tb = lambda pid, cell, addr, ln: (f'Why does this fail?\n  File "/tmp/ipykernel_{pid}/{cell}.py", line {ln}, in f\n'
                                      f'Cell In[{cell}], line {ln}\n  <Model object at {addr}> in /tmp/tmp{pid}abcdef')
    ask = lambda p: oai.chat.completions.create(model='gpt-x', messages=[{'role': 'user', 'content': p}]).choices[0].message.content
    a = ask(tb(4242, 1234567, '0x7f3a2c1b9e50', 7))
    b = ask(tb(977, 88, '0x7f00aa00bb00', 9))
    assert srv.count(C) == 1
    assert a == b
    assert '/tmp/ipykernel_4242/1234567.py' in srv.reqs[0]['body'].decode()
    ask('Why does this fail? something else entirely')
    assert srv.count(C) == 2

def test_resp_norm_pats(srv, on, oai, cfile, monkeypatch):
    monkeypatch.setattr(cachy.core, 'resp_norm_pats', [(re.compile(r'chatcmpl-\d+'), 'chatcmpl-N')])
    on()
    live = oai.chat.completions.create(model='gpt-x', messages=[{'role': 'user', 'content': 'hi'}])
    hit = oai.chat.completions.create(model='gpt-x', messages=[{'role': 'user', 'content': 'hi'}])
    assert srv.count(C) == 1
    assert live.id == 'chatcmpl-1'
    assert hit.id == 'chatcmpl-N'
    assert recs(cfile)[0]['response'].count('chatcmpl-N') == 1

@pytest.mark.parametrize('a,b', [('Who can read /home/alice/.ssh/id_rsa?', 'Who can read /home/bob/.ssh/id_rsa?'),
                                 ('Is C:\\Users\\alice\\secrets.txt safe?', 'Is C:\\Users\\bob\\secrets.txt safe?'),
                                 ('What is in /opt/app/lib/python3.11/site-packages/foo/config.py?', 'What is in /srv/other/lib/python3.12/site-packages/foo/config.py?'),
                                 ('Explain /usr/lib/python3.11/json/decoder.py', 'Explain /usr/local/lib/python3.12/json/decoder.py'),
                                 ('Compare "/Users/ann/notes.md"\nand /root/notes.md', 'Compare "/Users/bob/notes.md"\nand /root/notes.md')])
def test_paths_in_a_prompt_are_the_question(a, b, srv, on, oai):
    "Outside a traceback's frames and reprs a path is part of the question: two users' files, two installed environments, two answers"
    on()
    ask = lambda p: oai.chat.completions.create(model='gpt-x', messages=[{'role': 'user', 'content': p}]).choices[0].message.content
    assert (ask(a), ask(b), ask(a)) == (f'reply 1: {a}', f'reply 2: {b}', f'reply 1: {a}')
    assert srv.count(C) == 2

_pytest_case = '''
import helper_pkg
def test_f():
    helper_pkg.fail({})
'''

def _pytest_traceback(root, env):
    "The traceback pytest prints for a test that fails inside a package installed in environment `env`, the project at folder `root`"
    env.mkdir(parents=True)
    (env/'helper_pkg.py').write_text('def fail(x):\n    return x["missing"]\n')
    (root/'tests').mkdir(parents=True)
    (root/'tests'/'test_x.py').write_text(_pytest_case)
    r = subprocess.run([sys.executable, '-m', 'pytest', '-q', '--tb=long', '-p', 'no:cacheprovider', '-p', 'no:cachy', 'tests/test_x.py'], cwd=root,
                       capture_output=True, text=True, env=child_env(PYTHONPATH=str(env)), timeout=120)
    out = r.stdout
    return out[out.index('___ test_f ___'):out.index('short test summary')]

@pytest.mark.slow
def test_pytest_traceback_from_two_machines(srv, on, oai, tmp_path):
    "pytest's frames (`path:line: in f`) from two environments, with the package's lines moved: one request"
    tbs = [_pytest_traceback(tmp_path/'ann'/'proj', tmp_path/'home'/'ann'/'.venv'/'lib'/'python3.12'/'site-packages'),
           _pytest_traceback(tmp_path/'ci'/'proj', tmp_path/'opt'/'conda'/'lib'/'python3.11'/'site-packages')]
    tbs[1] = tbs[1].replace('helper_pkg.py:2:', 'helper_pkg.py:7:')
    assert tbs[0] != tbs[1] and all('site-packages/helper_pkg.py:' in t and 'KeyError' in t for t in tbs)
    on()
    outs = [oai.chat.completions.create(model='gpt-x', messages=[{'role': 'user', 'content': f'Why does this fail?\n{t}'}]).choices[0].message.content for t in tbs]
    assert srv.count(C) == 1
    assert outs[0] == outs[1]

# `resp_keep = None` keeps a Responses body whole

def test_resp_keep_none_keeps_everything(srv, cached, oai, monkeypatch):
    "`resp_keep = None`, pycachy's way to keep Responses bodies byte-exact, records them whole, and they replay"
    import cachy.core
    monkeypatch.setattr(cachy.core, 'resp_keep', None)
    ask = lambda: oai.responses.create(model='m', input='hi', instructions='Be brief.', temperature=0.5)
    live,hit = ask(),ask()
    assert srv.total == 1
    assert (hit.instructions, hit.temperature, hit.output_text) == (live.instructions, live.temperature, live.output_text) == ('Be brief.', 0.5, 'reply 1: hi')
    assert json.loads(recs(cached)[0]['response'])['instructions'] == 'Be brief.'

def test_settings_set_on_the_package(srv, cached, oai):
    "`cachy.resp_keep = None` and `cachy.resp_norm_pats = [...]`, set on the package as a user writes them, are the settings cachy records by"
    import cachy
    kept,pats = cachy.core.resp_keep,cachy.core.resp_norm_pats
    try:
        cachy.resp_keep,cachy.resp_norm_pats = None,[(r'reply \d+', 'reply N')]
        assert (cachy.resp_keep, cachy.core.resp_keep) == (None, None)
        oai.responses.create(model='m', input='hi', instructions='Be brief.')
    finally: cachy.resp_keep,cachy.resp_norm_pats = kept,pats
    assert (cachy.core.resp_keep, cachy.core.resp_norm_pats) == (kept, pats)
    r = json.loads(recs(cached)[0]['response'])
    assert r['instructions'] == 'Be brief.' and 'reply N: hi' in json.dumps(r)

def test_pruned_stream_as_it_came(srv, cached, oai):
    "A Responses stream is pruned of its echo alone: the events that held it keep their spacing, and replay as they came but for the echo"
    live = [e for e in oai.responses.create(model='m', input='café ☕', instructions='Be brief.', stream=True)]
    assert live[-1].response.instructions == 'Be brief.'
    body = recs(cached)[0]['response']
    assert 'Be brief.' not in body
    datas = [l[6:] for l in body.split('\n') if l.startswith('data: ')]
    assert all(d.startswith('{"type": ') for d in datas), datas[:3]
    hit = [e for e in oai.responses.create(model='m', input='café ☕', instructions='Be brief.', stream=True)]
    assert srv.total == 1
    assert [e.model_dump(exclude={'response'}) for e in hit] == [e.model_dump(exclude={'response'}) for e in live]
    assert hit[-1].response.output_text == live[-1].response.output_text and hit[-1].response.instructions is None
