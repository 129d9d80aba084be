"Modes (record, replay, refresh), `CACHY_MODE`, and `cachy_stats`, through the real SDKs"
import asyncio,re,textwrap,time
import httpx,openai,pytest
from cachy import enable_cachy,cachy_stats
from cachy.core import ReplayMiss
from cachy.store import Store
from helpers import msgs,py,recs,stats_since as delta
from server import aoai,aant,OKEY

def chat(c, text='hi'): return c.chat.completions.create(model='gpt-x', messages=msgs(text)).choices[0].message.content

def test_record_default(srv, on, oai, cfile):
    on()
    assert chat(oai) == chat(oai) == 'reply 1: hi'
    assert srv.total == 1
    assert len(recs(cfile)) == 1

def test_replay_hits(srv, on, oai, cfile):
    on()
    chat(oai)
    on(mode='replay')
    assert chat(oai) == 'reply 1: hi'
    assert srv.total == 1

def _oai_stream(oai, ant, srv): list(oai.chat.completions.create(model='gpt-x', messages=msgs('hi'), stream=True))
def _ant(oai, ant, srv): ant.messages.create(model='claude-x', max_tokens=5, messages=msgs('hi'))
def _ant_stream(oai, ant, srv):
    with ant.messages.stream(model='claude-x', max_tokens=5, messages=msgs('hi')) as s: s.get_final_text()
def _oai_async(oai, ant, srv):
    async def run():
        async with aoai(srv) as c: await c.chat.completions.create(model='gpt-x', messages=msgs('hi'))
    asyncio.run(run())
def _ant_async(oai, ant, srv):
    async def run():
        async with aant(srv) as c: await c.messages.create(model='claude-x', max_tokens=5, messages=msgs('hi'))
    asyncio.run(run())

# A call through the real SDK, with default retries (2), by name: (the path it posts to, the call)
misses = dict(openai=('/v1/chat/completions', lambda oai, ant, srv: chat(oai)), openai_stream=('/v1/chat/completions', _oai_stream),
              openai_async=('/v1/chat/completions', _oai_async), anthropic=('/v1/messages', _ant),
              anthropic_stream=('/v1/messages', _ant_stream), anthropic_async=('/v1/messages', _ant_async))

@pytest.mark.parametrize('call', misses)
def test_replay_miss(call, srv, on, oai, ant, cfile):
    "The miss fails at once, before any request, with cachy's message, despite the SDK's retries; the key it names is the one the call records"
    path,f = misses[call]
    on(mode='replay')
    t = time.perf_counter()
    with pytest.raises(ReplayMiss) as e: f(oai, ant, srv)
    dt,msg = time.perf_counter()-t,str(e.value)
    assert srv.total == 0, 'a replay miss reached the server'
    assert dt < 0.5, f'a replay miss took {dt:.2f}s'
    assert 'cachy' in msg
    assert 'replay' in msg
    assert f'POST {srv.url}{path}' in msg
    assert 'record' in msg
    assert 'The file does not exist: nothing is recorded there yet' in msg
    key = re.search(r'key ([0-9a-f]{24})', msg)[1]
    on(mode='record')
    f(oai, ant, srv)
    assert recs(cfile)[0]['key'] == key

def test_replay_names_closest_same_url(srv, on, oai, cfile):
    "The message compares with what is recorded for the same method and URL, and only that"
    on()
    chat(oai, 'about apples'), chat(oai, 'about pears')
    oai.responses.create(model='gpt-x', input='about apples!')
    k = recs(cfile)[0]['key']
    on(mode='replay')
    with pytest.raises(ReplayMiss) as e: chat(oai, 'about apples!')
    msg = str(e.value)
    assert f'the closest of the 2 entries recorded for this method and URL (key {k})' in msg, msg
    assert "messages[0].content: recorded 'about apples', sent 'about apples!'" in msg
    assert srv.total == 3

def test_replay_miss_raw_httpx(srv, on):
    on(mode='replay')
    with httpx.Client() as c, pytest.raises(ReplayMiss) as e: c.get(srv.url+'/echo?key=AIzaSECRET')
    assert srv.total == 0
    assert f'GET {srv.url}/echo ' in str(e.value)
    assert 'AIza' not in str(e.value)

def test_replay_passes_other_hosts(srv, tmp_path):
    "Replay only concerns allow-listed hosts"
    enable_cachy(cache_dir=tmp_path, mode='replay')
    with httpx.Client() as c: assert c.get(srv.url+'/echo').status_code == 200
    assert srv.total == 1

def test_refresh(srv, on, oai, cfile):
    on()
    assert chat(oai) == 'reply 1: hi'
    key = recs(cfile)[0]['key']
    on(mode='refresh')
    assert chat(oai) == 'reply 2: hi'
    assert srv.total == 2
    assert 'reply 2: hi' in Store(cfile).get(key)['response']
    on()
    assert chat(oai) == 'reply 2: hi'
    assert srv.total == 2
    on(mode='replay')
    assert chat(oai) == 'reply 2: hi'
    assert srv.total == 2

def test_refresh_errors_not_recorded(srv, on, oai, cfile):
    "Refresh sends live, but a 5xx still doesn't replace what was recorded"
    on()
    chat(oai)
    on(mode='refresh')
    with openai.OpenAI(api_key=OKEY, base_url=srv.url+'/v1', max_retries=0) as c, pytest.raises(openai.InternalServerError):
        c.chat.completions.create(model='status-500', messages=msgs('hi'))
    assert srv.total == 2
    assert len(recs(cfile)) == 1

# The environment variable

@pytest.mark.parametrize('mode', ['replay', 'refresh', 'record'])
def test_env_mode(mode, srv, on, oai, monkeypatch):
    on()
    chat(oai)
    monkeypatch.setenv('CACHY_MODE', mode)
    on()
    if mode == 'replay':
        assert chat(oai) == 'reply 1: hi'
        with pytest.raises(ReplayMiss): chat(oai, 'new')
        assert srv.total == 1
    elif mode == 'refresh':
        assert chat(oai) == 'reply 2: hi'
        assert srv.total == 2
    else:
        assert chat(oai) == 'reply 1: hi'
        assert srv.total == 1

def test_arg_beats_env(srv, on, oai, monkeypatch):
    monkeypatch.setenv('CACHY_MODE', 'replay')
    on(mode='record')
    assert chat(oai) == chat(oai) == 'reply 1: hi'
    assert srv.total == 1
    monkeypatch.setenv('CACHY_MODE', 'record')
    on(mode='replay')
    with pytest.raises(ReplayMiss): chat(oai, 'new')
    assert srv.total == 1

def test_unknown_mode(on, monkeypatch):
    with pytest.raises(ValueError) as e: on(mode='replai')
    assert all(m in str(e.value) for m in ('replai', 'record', 'replay', 'refresh'))
    monkeypatch.setenv('CACHY_MODE', 'bogus')
    with pytest.raises(ValueError, match='bogus'): on()

script = textwrap.dedent('''
    import sys
    from cachy import enable_cachy
    from helpers import ours
    from openai import OpenAI
    enable_cachy(cache_dir=sys.argv[1], doms=ours)
    c = OpenAI(api_key=sys.argv[3], base_url=sys.argv[2])
    print(c.chat.completions.create(model='gpt-x', messages=[{'role': 'user', 'content': sys.argv[4]}]).choices[0].message.content)
''')

@pytest.mark.slow
def test_env_mode_subprocess(srv, on, oai, tmp_path):
    "CI runs notebooks with `CACHY_MODE=replay` and no code change: hits replay, a miss fails loudly offline"
    on()
    chat(oai, 'recorded')
    run = lambda text: py(script, tmp_path, srv.url+'/v1', OKEY, text, env={'CACHY_MODE': 'replay'}, timeout=60)
    hit,miss = run('recorded'),run('missing')
    assert hit.returncode == 0, hit.stderr
    assert hit.stdout == 'reply 1: recorded\n', hit.stderr
    assert miss.returncode != 0, miss.stderr
    assert 'ReplayMiss' in miss.stderr
    assert 'cachy (replay mode)' in miss.stderr
    assert srv.total == 1

# Stats

def test_stats(srv, on, oai, tmp_path):
    s0 = cachy_stats()
    assert set(s0) == {'hit', 'miss', 'recorded', 'pass', 'replay_failure', 'passed', 'saved_s', 'saved_tokens', 'saved_usd', 'file'}
    p0 = s0['passed'].get('127.0.0.1', 0)
    on()
    chat(oai), chat(oai), chat(oai, 'b')
    assert delta(s0) == {'hit': 1, 'miss': 2, 'recorded': 2, 'pass': 0, 'replay_failure': 0}
    enable_cachy(cache_dir=tmp_path)
    chat(oai)
    assert delta(s0)['pass'] == 1
    assert cachy_stats()['passed']['127.0.0.1'] == p0+1
    on(mode='replay')
    with pytest.raises(ReplayMiss): chat(oai, 'c')
    assert delta(s0) == {'hit': 1, 'miss': 2, 'recorded': 2, 'pass': 1, 'replay_failure': 1}
    on()
    with openai.OpenAI(api_key=OKEY, base_url=srv.url+'/v1', max_retries=0) as c, pytest.raises(openai.RateLimitError):
        c.chat.completions.create(model='status-429', messages=msgs('hi'))
    assert delta(s0)['miss'] == 3
    assert delta(s0)['recorded'] == 2
