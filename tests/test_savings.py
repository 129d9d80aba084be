"""Issue 17: each record keeps what its live call cost, and a hit adds it to what cachy saved. The loopback server answers
every provider's format after a known delay, with known usage (5 input and 7 output tokens, as its builders send)."""
import json,re
from pathlib import Path
import httpx,pytest
from cachy import enable_cachy,cachy_stats
from cachy.answer import price
from helpers import msgs,recs

DELAY = 0.2

def litellm_map():
    "The price map litellm ships, read as the test's own reference"
    import importlib.util
    return json.loads((Path(importlib.util.find_spec('litellm').origin).parent/'model_prices_and_context_window_backup.json').read_text())

def calls(oai, ant, model, gem):
    "One call of each provider's format, JSON and stream, through the real SDKs: what each returned"
    from google import genai
    from google.genai import types
    g = genai.Client(api_key='AIza-test', http_options=types.HttpOptions(base_url=gem))
    return [oai.chat.completions.create(model=model, messages=msgs('json')).choices[0].message.content,
            ''.join(c.choices[0].delta.content or '' for c in oai.chat.completions.create(model=model, messages=msgs('stream'), stream=True,
                                                                                          stream_options={'include_usage': True}) if c.choices),
            oai.responses.create(model=model, input='json').output_text,
            [e.type for e in oai.responses.create(model=model, input='stream', stream=True)][-1],
            ant.messages.create(model=model, max_tokens=9, messages=msgs('json')).content[0].text,
            [e.type for e in ant.messages.create(model=model, max_tokens=9, messages=msgs('stream'), stream=True)][-1],
            g.models.generate_content(model=model, contents='json').text,
            ''.join(x.text for x in g.models.generate_content_stream(model=model, contents='stream'))]

@pytest.mark.slow
def test_every_format_records_its_cost(srv, cached, oai, ant):
    "Each record keeps how long its call took and the tokens its answer reports; each hit adds exactly those"
    srv.delay = DELAY
    first = calls(oai, ant, 'gpt-4o', srv.url)
    rs = recs(cached)
    assert len(rs) == 8
    assert srv.total == 8
    assert [r['usage'] for r in rs] == [dict(model=r['usage']['model'], input=5, output=7, cached=0, written=0) for r in rs]
    assert all(DELAY <= r['took'] < DELAY+2 for r in rs), [r['took'] for r in rs]
    s0 = cachy_stats()
    again = calls(oai, ant, 'gpt-4o', srv.url)
    st = cachy_stats()
    assert again == first
    assert srv.total == 8
    assert st['hit']-s0['hit'] == 8
    assert st['saved_tokens']-s0['saved_tokens'] == 8*12
    assert abs((st['saved_s']-s0['saved_s']) - sum(r['took'] for r in rs)) < 1e-6

def test_price_from_litellm_map(srv, cached, oai):
    "A model the map knows is priced from the map's own numbers; one it does not know adds tokens but no price"
    m = litellm_map()['gpt-4o']
    want = 5*m['input_cost_per_token'] + 7*m['output_cost_per_token']
    for model in ('gpt-4o', 'gpt-x'): oai.chat.completions.create(model=model, messages=msgs('priced?'))
    s0 = cachy_stats()
    oai.chat.completions.create(model='gpt-x', messages=msgs('priced?'))
    s1 = cachy_stats()
    oai.chat.completions.create(model='gpt-4o', messages=msgs('priced?'))
    s2 = cachy_stats()
    assert srv.total == 2
    assert (s1['saved_tokens']-s0['saved_tokens'], s2['saved_tokens']-s1['saved_tokens']) == (12, 12)
    assert (s1['saved_usd'] or 0) == (s0['saved_usd'] or 0)
    assert s2['saved_usd']-(s1['saved_usd'] or 0) == pytest.approx(want, rel=1e-9)
    assert price('gpt-x', 5, 7) is None

def test_old_entries_add_nothing(srv, tmp_path):
    "An entry recorded before costs were kept (pycachy's, or an earlier cachy's) is a hit that adds zero"
    from cachy.core import _key
    r = httpx.Request('POST', srv.url+'/v1/embeddings', json={'input': 'old'})
    r.read()
    (tmp_path/'cachy.jsonl').write_text(json.dumps(dict(key=_key(r), response='{"data": []}', headers={'content-type': 'application/json'}, status_code=200, binary=False))+'\n')
    enable_cachy(cache_dir=tmp_path, doms=('127.0.0.1',))
    s0 = cachy_stats()
    with httpx.Client() as c: assert c.send(r).json() == {'data': []}
    s1 = cachy_stats()
    assert (s1['hit']-s0['hit'], s1['saved_s']-s0['saved_s'], s1['saved_tokens']-s0['saved_tokens']) == (1, 0, 0)
    assert srv.total == 0

def test_debug_line_says_what_a_hit_saved(srv, on, oai, capsys):
    srv.delay = DELAY
    on(debug=True)
    for _ in range(2): oai.chat.completions.create(model='gpt-x', messages=msgs('say'))
    hit = capsys.readouterr().out.splitlines()[2]
    assert re.fullmatch(r"cachy HIT \w{24} POST http://127\.0\.0\.1:\d+/v1/chat/completions gpt-x 'say' \(saved [2-9]\d\d ms, 12 tokens\)", hit), hit

def test_summary_reads_in_a_notebook(srv, tmp_path, oai):
    "`cachy_stats()` shows as one line that says what the hits saved and which file"
    enable_cachy(cache_dir=tmp_path, doms=('127.0.0.1',))
    oai.chat.completions.create(model='gpt-x', messages=msgs('once'))
    s = repr(cachy_stats())
    assert s.startswith('cachy: ') and s.endswith(f"; {tmp_path/'cachy.jsonl'}")
    assert re.search(r'[\d,]+ recorded, [\d,]+ miss', s)

def test_odd_figures_never_break_stats(srv, on, cached, oai, capsys):
    "A record whose took or usage is not a figure (a string, a list, an endless number: a hand edit, a merge) is hit, and cachy_stats() and the debug line still read"
    for t in ('a', 'b', 'c'): oai.chat.completions.create(model='gpt-4o', messages=msgs(t))
    rs = recs(cached)
    odd = [dict(took='1.5', usage=rs[0]['usage'] | dict(input='5')), dict(took=float('inf'), usage=rs[1]['usage'] | dict(cached=[2])),
           dict(took=1e308, usage=rs[2]['usage'] | dict(output=-7))]
    cached.write_text(''.join(json.dumps(r | o)+'\n' for r,o in zip(rs, odd)))
    on(debug=True)
    s0 = cachy_stats()
    for t in ('a', 'b', 'c'): oai.chat.completions.create(model='gpt-4o', messages=msgs(t))
    st = cachy_stats()
    assert srv.total == 3
    assert (st['hit']-s0['hit'], st['saved_s']-s0['saved_s'], st['saved_tokens']-s0['saved_tokens']) == (3, 0, 12)
    assert repr(st).startswith('cachy: ')
    assert len([l for l in capsys.readouterr().out.splitlines() if l.startswith('cachy HIT')]) == 3

# What a hit saves is computed once: `cachy_stats()` (core) and `cachy stats` (cli) agree on the same records

from hypothesis import given,settings,strategies as st

_figure = st.one_of(st.integers(-5, 1<<54), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3), st.booleans(), st.none(), st.lists(st.integers(0, 9), max_size=2))
_usage = st.one_of(_figure, st.fixed_dictionaries({}, optional=dict(model=st.sampled_from(['gpt-4o', 'claude-sonnet-4-5', 'no-such-model', None, 3]),
                                                                  input=_figure, output=_figure, cached=_figure, written=_figure)))
_rec = st.fixed_dictionaries({}, optional=dict(took=_figure, usage=_usage))

class _Recorded:
    "Records by key, read as `cachy_stats()` reads a store"
    def __init__(self, rs): self.rs = rs
    def get(self, k, whole=True): return self.rs[k]

@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_rec, st.integers(1, 3)), max_size=6))
def test_stats_and_cli_agree_on_savings(rs):
    "For any records, hit any number of times, what `cachy_stats()` says the hits saved is what `cachy stats` says recording them again takes, as many times"
    from cachy.core import _saved
    from cachy.cli import _priced_saving,_tally
    store = _Recorded({f'k{i}': r for i,(r,_) in enumerate(rs)})
    core = _saved([((store, f'k{i}'), h) for i,(_,h) in enumerate(rs)])
    _,_,s,n,usd = _tally([(0, *_priced_saving(r)) for r,h in rs for _ in range(h)])
    assert core['saved_tokens'] == n
    assert core['saved_s'] == pytest.approx(s, abs=1e-3)
    assert (core['saved_usd'] is None) == (usd is None)
    if usd is not None: assert core['saved_usd'] == pytest.approx(usd)
