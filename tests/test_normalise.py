"What is keyed and what is stored, normalised: `norm_pats` on requests, `resp_keep` and `resp_norm_pats` on responses"
import re
import pytest
import cachy.core
from server import recs

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
