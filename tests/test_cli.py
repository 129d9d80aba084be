"The `cachy` console script, run as users run it: the installed command in a subprocess"
import json,os,sys
import httpx,pytest
from cachy.core import enable_cachy,disable_cachy
from cachy.explain import sketch
from cachy.store import Store
from helpers import ours,run_cachy,cli
from server import _message_events

SUBS = 'stats','ls','show','compact','prune','check'
CALLS = dict(mini=('POST', '/v1/chat/completions', dict(model='gpt-4o-mini', messages=[])),
             big=('POST', '/v1/chat/completions', dict(model='gpt-4o', messages=[dict(role='user', content='hi')])),
             img=('GET', '/bytes?ct=image/png&size=2008', None),
             nope=('GET', '/nope?status=404', None))

def _record(d, url, mode='record'):
    "Make the `CALLS` and a stream through cachy into `d/cachy.jsonl`; returns their keys by name"
    enable_cachy(cache_dir=d, doms=ours, mode=mode)
    try:
        with httpx.Client(base_url=url) as c:
            for m,p,j in CALLS.values(): c.request(m, p, json=j)
            with c.stream('POST', '/v1/messages', json=dict(model='claude-test', stream=True, messages=[dict(role='user', content='hi')])) as r: r.read()
    finally: disable_cachy()
    ks = [json.loads(l)['key'] for l in open(d/'cachy.jsonl')]
    return dict(zip([*CALLS,'sse'], ks[-5:]))

@pytest.fixture
def rec(tmp_path, srv):
    "A folder with a `cachy.jsonl` recorded from the loopback server; `rec.keys` by call name"
    d = tmp_path/'cache'
    d.mkdir()
    keys = _record(d, srv.url)
    assert len(set(keys.values())) == 5
    yield d, keys
    disable_cachy()

def _one_line_error(r, code, text):
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == ''
    assert len(r.stderr.splitlines()) == 1, r.stderr
    assert text in r.stderr, r.stderr
    assert 'Traceback' not in r.stderr, r.stderr

def _args(sub, d, tmp):
    "Arguments for subcommand `sub` on folder `d`; `prune` runs a command that would leave `tmp/ran`"
    extra = dict(show=['0123456789abcdef'], prune=['--', sys.executable, '-c', f'open({str(tmp/"ran")!r}, "w")']).get(sub, [])
    return [sub, '--cache-dir', d, *extra]

def test_help():
    r = run_cachy('--help')
    assert r.returncode == 0, r.stderr
    assert all(s in r.stdout for s in SUBS)
    for s in SUBS:
        r = run_cachy(s, '--help')
        assert r.returncode == 0, r.stdout
        assert '--cache-dir DIR' in r.stdout, r.stdout
        assert r.stdout.startswith(f'usage: cachy {s} '), r.stdout
    assert '-- CMD [ARGS ...]' in run_cachy('prune', '--help').stdout
    r = run_cachy()
    assert r.returncode == 2, r.stderr
    assert r.stdout.startswith('usage: cachy') and all(s in r.stdout for s in SUBS)

def test_missing_file(tmp_path):
    for s in SUBS: _one_line_error(run_cachy(*_args(s, tmp_path, tmp_path)), 2, f"cachy: no cache file {tmp_path/'cachy.jsonl'}")
    assert not (tmp_path/'ran').exists()
    _one_line_error(run_cachy('ls', '--cache-dir', tmp_path/'no'/'such'/'dir'), 2, f"cache_dir {tmp_path/'no'/'such'/'dir'} does not exist")

def test_unreadable_file(tmp_path):
    "A file that cannot be read (here one that fails with EIO, which even root cannot read) is one line, before anything runs"
    (tmp_path/'cachy.jsonl').symlink_to('/proc/self/mem')
    for s in SUBS: _one_line_error(run_cachy(*_args(s, tmp_path, tmp_path)), 2, f"cachy: cannot read {tmp_path/'cachy.jsonl'}")
    assert not (tmp_path/'ran').exists()

@pytest.mark.parametrize('how', ['folder', 'file', 'under_file'])
def test_wrong_cache_dir(how, tmp_path):
    "A cachy.jsonl that is a folder, or a --cache-dir that is (or is under) a file, is named in one line"
    d = {'folder': tmp_path, 'file': tmp_path/'f', 'under_file': tmp_path/'f'/'sub'}[how]
    if how == 'folder': (tmp_path/'cachy.jsonl').mkdir()
    else: (tmp_path/'f').write_text('')
    text = f"{tmp_path/'cachy.jsonl'} is a folder" if how == 'folder' else f"{tmp_path/'f'} is"
    for s in SUBS: _one_line_error(run_cachy(*_args(s, d, tmp_path)), 2, text)
    assert not (tmp_path/'ran').exists()

def test_finds_the_project_file(tmp_path, srv):
    (tmp_path/'pyproject.toml').write_text('[project]\nname = "x"\n')
    (tmp_path/'nbs').mkdir()
    keys = _record(tmp_path, srv.url)
    r = run_cachy('ls', cwd=tmp_path/'nbs')
    assert r.returncode == 0, r.stderr
    assert [l.split()[0] for l in r.stdout.splitlines()] == list(keys.values())

def test_ls(rec, srv):
    d,keys = rec
    with open(d/'cachy.jsonl', 'a') as f: f.write(json.dumps(dict(key='0'*16, response='{}', headers={}, status_code=200, binary=False))+'\n')
    r = run_cachy('ls', '--cache-dir', d)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ''
    ls = r.stdout.splitlines()
    assert [l.split()[:2] for l in ls] == [[keys['mini'],'200'], [keys['big'],'200'], [keys['img'],'200'], [keys['nope'],'404'], [keys['sse'],'200'], ['0'*16,'200']]
    assert ls[0].endswith(f'  gpt-4o-mini  -     POST {srv.url}/v1/chat/completions')
    assert ls[1].endswith(f"  gpt-4o       'hi'  POST {srv.url}/v1/chat/completions")
    assert ls[3].endswith(f'  -            -     GET {srv.url}/nope?status=404')
    assert ls[4].endswith(f"  claude-test  'hi'  POST {srv.url}/v1/messages")
    assert ls[5].endswith('  -            -     -')
    sizes = [int(l.split()[2].replace(',', '')) for l in ls]
    assert sizes == [len(l) for l in (d/'cachy.jsonl').read_bytes().splitlines(keepends=True)]

def test_stats(rec, srv):
    d,keys = rec
    r = run_cachy('stats', '--cache-dir', d, '-n', 2)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ''
    out = r.stdout
    rs = [json.loads(l) for l in open(d/'cachy.jsonl')]
    tokens = sum(r['usage']['input']+r['usage']['output'] for r in rs if 'usage' in r)
    assert tokens and all(type(r['took']) is float for r in rs)
    head = f"{d/'cachy.jsonl'}: 5 entries, {(d/'cachy.jsonl').stat().st_size:,} bytes; to record again: "
    assert out.startswith(head), out
    assert out.split('\n')[0].split(', ')[-2] == f'{tokens:,} tokens', out
    hosts,rest = out.split('by host:\n')[1].split('by model:\n')
    models,largest = rest.split('largest:\n')
    host = srv.url.split('//')[1]
    assert [l.split()[0::2][:2] + l.split()[-1:] for l in hosts.splitlines()] == [['5', f'{(d/"cachy.jsonl").stat().st_size:,}', host]]
    assert [l.split()[-1] for l in models.splitlines()] == ['-', 'gpt-4o-mini', 'gpt-4o', 'claude-test']
    assert [l.split()[:2] for l in models.splitlines()][:2] == [['2', 'entries'], ['1', 'entry']]
    assert [l.split()[0] for l in largest.splitlines()] == [keys['img'], keys['sse']]
    assert largest.splitlines()[1].split()[3:5] == ['claude-test', "'hi'"]

def test_show(rec):
    d,keys = rec
    r = run_cachy('show', keys['big'], '--cache-dir', d)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ''
    assert json.loads(r.stdout)['model'] == 'gpt-4o'
    assert r.stdout.startswith('{\n  "id": "chatcmpl-2",\n')
    r = run_cachy('show', keys['sse'], '--cache-dir', d)
    evs = [e.removeprefix('event: ').replace('\ndata: ', ': ').strip() for e in _message_events(5, 'claude-test', 'reply 5: hi')]
    assert evs[0].startswith('message_start: {"type": "message_start", "message": {"id": "msg_5"') and evs[-1] == 'message_stop: {"type": "message_stop"}'
    assert r.stdout.splitlines() == evs
    r = run_cachy('show', keys['img'], '--cache-dir', d)
    assert r.stdout == 'binary response: image/png, 2,008 bytes\n'
    _one_line_error(run_cachy('show', 'ffffffffffffffff', '--cache-dir', d), 1, 'no entry with key ffffffffffffffff')

def test_show_prefix(rec):
    "The start of a key will do, when no other key starts the same way"
    d,keys = rec
    assert run_cachy('show', keys['big'][:7], '--cache-dir', d).stdout == run_cachy('show', keys['big'], '--cache-dir', d).stdout
    with open(d/'cachy.jsonl', 'a') as f:
        for k in ('abc0000000000000000a', 'abc0000000000000000b'): f.write(json.dumps(dict(key=k, response='{}'))+'\n')
    _one_line_error(run_cachy('show', 'abc0', '--cache-dir', d), 1, 'abc0 is the start of 2 keys')

def test_version():
    import cachy as c
    r = run_cachy('--version')
    assert (r.returncode, r.stdout) == (0, f'cachy {c.__version__}\n')

def test_plurals(rec, srv, tmp_path):
    "1 entry, 2 entries: counts read right"
    d,keys = rec
    child = _script(tmp_path/'one.py', d, srv.url, [CALLS['mini']])
    r = run_cachy('prune', '--cache-dir', d, '--', sys.executable, child)
    assert r.returncode == 0, r.stdout
    assert r.stdout.startswith('cachy prune: removed 4 entries ('), r.stdout
    assert r.stdout.endswith(f"; 1 entry left in {d/'cachy.jsonl'}\n"), r.stdout
    assert run_cachy('stats', '--cache-dir', d).stdout.startswith(f"{d/'cachy.jsonl'}: 1 entry, ")

def test_check(rec):
    d,keys = rec
    p = d/'cachy.jsonl'
    r = run_cachy('check', '--cache-dir', d)
    assert (r.returncode, r.stdout) == (0, f'cachy check: {p} OK\n')
    good = p.read_bytes()
    leak = json.dumps(dict(key='1'*16, response='your key is sk-proj-' + 'Ab3'*15, headers={}, status_code=200, binary=False))
    p.write_bytes(good + b'{"key": "broken\n' + leak.encode() + b'\n')
    r = run_cachy('check', '--cache-dir', d)
    assert r.returncode == 1, r.stdout
    assert r.stdout.splitlines() == [f'{p}:6: damaged: not JSON', f'{p}:7: looks like an OpenAI key (or DeepSeek, Moonshot): sk-proj-Ab3A…', f'cachy check: 2 problems in {p}']
    assert 'Ab3'*4 not in r.stdout
    p.write_bytes(good + b'{"key": "2", "response": "Authorization: Bearer abcdef0123456789xyz"}\n'
                  b'{"key": "3", "response": "AIza' + b'x'*35 + b' sk-ant-api03-' + b'y'*30 + b'"}\n')
    r = run_cachy('check', '--cache-dir', d)
    assert r.returncode == 1, r.stderr
    assert [l.split(': ', 1)[1] for l in r.stdout.splitlines()[:-1]] == [
        'looks like a bearer token: Bearer abcde…', 'looks like a Google API key: AIzaxxxxxxxx…', 'looks like an Anthropic key: sk-ant-api03…']
    assert [l.split(':')[1] for l in r.stdout.splitlines()[:-1]] == ['6', '7', '7']

def test_check_credential_in_url(rec):
    "An entry recorded before cachy removed every credential parameter from URLs is flagged, with the parameter's name only"
    d,keys = rec
    p = d/'cachy.jsonl'
    old = dict(key='2'*16, response='{}', headers={}, status_code=200, binary=False, method='GET', url='https://api.x.ai/v1/models?api_key=xai-SECRET-1&alt=json')
    with open(p, 'a') as f: f.write(json.dumps(old)+'\n')
    r = run_cachy('check', '--cache-dir', d)
    assert r.returncode == 1, r.stderr
    assert r.stdout.splitlines()[0] == f'{p}:6: the URL carries a credential: api_key'
    assert 'SECRET' not in r.stdout

def test_compact(rec, srv):
    d,keys = rec
    p = d/'cachy.jsonl'
    _record(d, srv.url, mode='refresh')
    assert len(p.read_bytes().splitlines()) == 10
    r = run_cachy('check', '--cache-dir', d)
    assert r.returncode == 1, r.stderr
    assert r.stdout.count('with another answer; line') == 5
    r = run_cachy('compact', '--cache-dir', d)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ''
    assert r.stdout.startswith(f'cachy compact: removed 5 of 10 lines; {p} now holds 5 entries in ')
    lines = p.read_bytes().splitlines()
    assert lines == sorted(lines) and [json.loads(l)['key'] for l in lines] == sorted(keys.values())
    assert run_cachy('check', '--cache-dir', d).returncode == 0
    n = srv.total
    _record(d, srv.url, mode='replay')
    assert srv.total == n, 'after compact every call is still a hit'

def _script(path, d, url, calls, child=None):
    "A Python script at `path` making `calls` through cachy, then running script `child`"
    path.write_text(f'''import subprocess,sys,httpx
from cachy.core import enable_cachy
from helpers import ours
enable_cachy(cache_dir={str(d)!r}, doms=ours)
with httpx.Client(base_url={url!r}) as c:
    for m,p,j in {calls!r}: c.request(m, p, json=j).raise_for_status()
if {str(child)!r} != 'None': sys.exit(subprocess.run([sys.executable, {str(child)!r}]).returncode)
''')
    return path

def test_prune(rec, srv, tmp_path):
    d,keys = rec
    p = d/'cachy.jsonl'
    new = ('POST', '/v1/chat/completions', dict(model='gpt-new', messages=[]))
    child = _script(tmp_path/'child.py', d, srv.url, [CALLS['img']])
    parent = _script(tmp_path/'parent.py', d, srv.url, [CALLS['mini'], new], child)
    n = srv.total
    r = run_cachy('prune', '--cache-dir', d, '--', sys.executable, parent)
    assert r.returncode == 0, r.stderr
    assert [q['path'] for q in srv.reqs[n:]] == ['/v1/chat/completions'], 'only the new call goes to the server'
    s = Store(p)
    assert len(s) == 3
    assert {keys['mini'], keys['img']} < set(s.recs)
    assert s.get((set(s.recs) - {keys['mini'], keys['img']}).pop())['url'].endswith('/v1/chat/completions')
    assert r.stdout.startswith('cachy prune: removed 3 entries (')
    assert r.stdout.endswith(f'3 entries left in {p}\n')

def test_prune_failing_command(rec, srv, tmp_path):
    d,keys = rec
    p = d/'cachy.jsonl'
    before = p.read_bytes()
    r = run_cachy('prune', '--cache-dir', d, '--', sys.executable, '-c', 'import sys; sys.exit(3)')
    assert r.returncode == 3, r.stderr
    assert 'exited with 3; nothing removed' in r.stderr
    assert p.read_bytes() == before
    script = _script(tmp_path/'s.py', d, srv.url, [CALLS['mini']])
    with open(script, 'a') as f: f.write('sys.exit(5)\n')
    r = run_cachy('prune', '--cache-dir', d, '--', sys.executable, script)
    assert r.returncode == 5, r.stderr
    assert p.read_bytes() == before

def test_prune_refuses_when_nothing_was_used(rec):
    d,keys = rec
    before = (d/'cachy.jsonl').read_bytes()
    _one_line_error(run_cachy('prune', '--cache-dir', d, '--', sys.executable, '-c', 'pass'), 1, 'used none of the 5 entries')
    assert (d/'cachy.jsonl').read_bytes() == before

def test_prune_usage(rec, tmp_path):
    d,keys = rec
    before = (d/'cachy.jsonl').read_bytes()
    for a in ([], ['--'], [sys.executable, '-c', 'pass']):
        r = run_cachy('prune', '--cache-dir', d, *a)
        assert r.returncode == 2, r.stderr
        assert r.stderr.startswith('usage: cachy prune [-h] [--cache-dir DIR] -- CMD [ARGS ...]'), r.stderr
    r = run_cachy('ls', '--cache-dir', d, '--', 'x')
    assert r.returncode == 2, r.stderr
    assert 'unrecognized arguments: -- x' in r.stderr
    _one_line_error(run_cachy('prune', '--cache-dir', d, '--', 'no-such-command-for-cachy'), 127, 'cannot run no-such-command-for-cachy')
    assert (d/'cachy.jsonl').read_bytes() == before

ASK = dict(model='gpt-4o', messages=[dict(role='system', content='Be brief.'), dict(role='user', content='tell me about topic 7')])
CLAUDE = dict(model='claude-sonnet-4-5', max_tokens=100, messages=[dict(role='user', content=[dict(type='text', text='summarise the attached report in three bullets')])])
HAIKU = dict(model='no-such-model-xyz', input='write a haiku')

def _entry(key, url, body, took, model, i, o, c=0):
    "A record as cachy writes it, with `took` seconds and `i` input (`c` cached) and `o` output tokens of `model`"
    return dict(key=key, response='{}', headers={'content-type': 'application/json'}, status_code=200, binary=False, method='POST', took=took,
                url=url, usage=dict(model=model, input=i, output=o, cached=c, written=0), req=sketch(body, {}, False))

COSTLY = [_entry('a1'*10, 'https://api.openai.com/v1/chat/completions', ASK, 75.5, 'gpt-4o', 100_000, 20_000),
          _entry('b2'*10, 'https://api.anthropic.com/v1/messages', CLAUDE, 2.5, 'claude-sonnet-4-5', 5_000, 100, 4_000),
          _entry('c3'*10, 'https://llm.example.com/v1/responses', HAIKU, 0.25, 'no-such-model-xyz', 10, 5),
          dict(key='12345678', response='{"model": "gpt-3.5-turbo"}', headers={}, status_code=200, binary=False)]

@pytest.fixture
def costly(tmp_path):
    "A folder whose `cachy.jsonl` holds `COSTLY`, the last entry as pycachy wrote them"
    (tmp_path/'cachy.jsonl').write_text(''.join(json.dumps(r)+'\n' for r in COSTLY))
    return tmp_path

def _prices():
    "litellm's price map, as the test reads it, or skip"
    import importlib.util
    from pathlib import Path
    s = importlib.util.find_spec('litellm')
    p = s and Path(s.submodule_search_locations[0])/'model_prices_and_context_window_backup.json'
    if not p or not p.is_file(): pytest.skip('litellm and its price map are not installed')
    return json.loads(p.read_text())

def _usd(v): return f"${v:,.2f}" if v >= 0.01 else f"${v:.4f}"

def test_stats_costs(costly):
    "Per host and per model: entries, bytes, seconds, tokens and the price the map gives; no price for an unknown model, nothing from a pycachy entry"
    m = _prices()
    g,c = m['gpt-4o'],m['claude-sonnet-4-5']
    p1 = 100_000*g['input_cost_per_token'] + 20_000*g['output_cost_per_token']
    p2 = 1_000*c['input_cost_per_token'] + 100*c['output_cost_per_token'] + 4_000*c['cache_read_input_token_cost']
    assert 'no-such-model-xyz' not in m
    w = max(len(_usd(p1)), len(_usd(p2)))
    u1,u2,u0 = _usd(p1).rjust(w),_usd(p2).rjust(w),'–'.rjust(w)
    r = run_cachy('stats', '--cache-dir', costly)
    assert (r.returncode, r.stderr) == (0, ''), r.stderr
    rows = [f"  1 entry    797 bytes  1 min 16 s  120,000 tokens  {u1}  ", f"  1 entry    889 bytes       2.5 s    5,100 tokens  {u2}  ",
            f"  1 entry    518 bytes      250 ms       15 tokens  {u0}  ", f"  1 entry    118 bytes         0 s        0 tokens  {u0}  "]
    assert r.stdout.splitlines()[:11] == [
        f"{costly/'cachy.jsonl'}: 4 entries, 2,322 bytes; to record again: 1 min 18 s, 125,115 tokens, ~{_usd(p1+p2)}",
        'by host:', *[a+b for a,b in zip(rows, ['api.openai.com', 'api.anthropic.com', 'llm.example.com', '-'])],
        'by model:', *[a+b for a,b in zip(rows, ['gpt-4o', 'claude-sonnet-4-5', 'no-such-model-xyz', 'gpt-3.5-turbo'])]]
    assert r.stdout.splitlines()[11:] == ['largest:',
        "  b2b2b2b2b2b2b2b2b2b2  200  889  claude-sonnet-4-5  'summarise the attached report …'  POST https://api.anthropic.com/v1/messages",
        "  a1a1a1a1a1a1a1a1a1a1  200  797  gpt-4o             'tell me about topic 7'            POST https://api.openai.com/v1/chat/completions",
        "  c3c3c3c3c3c3c3c3c3c3  200  518  no-such-model-xyz  'write a haiku'                    POST https://llm.example.com/v1/responses",
        "  12345678              200  118  gpt-3.5-turbo      -                                  -"]

def test_stats_old_entries_add_nothing(tmp_path):
    "A file of pycachy's entries: no seconds, no tokens, no price"
    (tmp_path/'cachy.jsonl').write_text(json.dumps(COSTLY[-1])+'\n' + json.dumps(COSTLY[-1] | dict(key='87654321'))+'\n')
    r = run_cachy('stats', '--cache-dir', tmp_path)
    assert r.stdout.splitlines()[:3] == [f"{tmp_path/'cachy.jsonl'}: 2 entries, 236 bytes; to record again: 0 s, 0 tokens, no price known",
                                         'by host:', '  2 entries  236 bytes  0 s  0 tokens  –  -']

def test_stats_without_price_map(costly, tmp_path):
    "Where litellm (so its price map) cannot be found, no price is shown, and a note says why"
    fake = tmp_path/'fake'
    (fake/'litellm').mkdir(parents=True)
    (fake/'litellm'/'__init__.py').write_text('')
    r = run_cachy('stats', '--cache-dir', costly, env=dict(PYTHONPATH=os.pathsep.join([str(fake), *filter(None, [os.environ.get('PYTHONPATH')])])))
    assert r.returncode == 0, r.stderr
    ls = r.stdout.splitlines()
    assert ls[0].endswith('; to record again: 1 min 18 s, 125,115 tokens, no price known') and '$' not in r.stdout
    assert [l.split()[-2] for l in ls[2:6]] == ['–']*4
    assert ls[-1] == "note: no prices without litellm's price map: pip install litellm"

def test_ls_model_and_prompt(costly):
    "Each entry's model and the start of its last message, in aligned columns"
    r = run_cachy('ls', '--cache-dir', costly)
    assert r.stdout.splitlines() == [
        "a1a1a1a1a1a1a1a1a1a1  200  797  gpt-4o             'tell me about topic 7'            POST https://api.openai.com/v1/chat/completions",
        "b2b2b2b2b2b2b2b2b2b2  200  889  claude-sonnet-4-5  'summarise the attached report …'  POST https://api.anthropic.com/v1/messages",
        "c3c3c3c3c3c3c3c3c3c3  200  518  no-such-model-xyz  'write a haiku'                    POST https://llm.example.com/v1/responses",
        "12345678              200  118  gpt-3.5-turbo      -                                  -"]

@pytest.mark.parametrize('sub', ['ls', 'stats', 'check'])
def test_cache_dir_before_or_after(costly, sub):
    "`--cache-dir DIR` goes before the subcommand or after it, and `.` is the working folder"
    after = run_cachy(sub, '--cache-dir', costly)
    assert after.returncode == 0, after.stderr
    assert after.stdout
    assert run_cachy('--cache-dir', costly, sub).stdout == after.stdout
    assert run_cachy(f'--cache-dir={costly}', sub).stdout == after.stdout
    assert run_cachy('--cache-dir', costly/'nbs', sub, '--cache-dir', costly).stdout == after.stdout, 'the one after the subcommand wins'
    here = run_cachy('--cache-dir', '.', sub, cwd=costly)
    assert here.returncode == 0, here.stderr
    assert here.stdout == after.stdout.replace(f"{costly}/", '')

def test_cache_dir_before_prune(rec, tmp_path):
    d,keys = rec
    r = run_cachy('--cache-dir', d, 'prune', '--', sys.executable, '-c', 'pass')
    assert r.returncode == 1, r.stderr
    assert 'used none of the 5 entries' in r.stderr

def test_show_stream_keeps_line_separators(tmp_path):
    "A stream is split into events at blank lines and into lines at `\\n` or `\\r\\n` only: a U+2028 inside data stays"
    txt = 'event: delta\r\ndata: {"text": "a\u2028b"}\r\n\r\n: ping\n\ndata: [DONE]\n\n'
    rec = dict(key='d'*20, response=txt, headers={'content-type': 'text/event-stream'}, status_code=200, binary=False)
    (tmp_path/'cachy.jsonl').write_text(json.dumps(rec)+'\n')
    r = run_cachy('show', 'd'*20, '--cache-dir', tmp_path)
    assert r.returncode == 0, repr(r.stdout)
    assert r.stdout == 'delta: {"text": "a\u2028b"}\n[DONE]\n', repr(r.stdout)

def test_bare_cachy_lists_commands(tmp_path):
    "Bare `cachy`, as a newcomer first types it, prints the help with every command, and exits 2"
    import re,subprocess
    from envs import script
    r = subprocess.run([script('cachy')], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr == ''
    assert [c for c in ('ls', 'stats', 'show', 'check', 'compact', 'prune') if not re.search(rf'^ +{c}\b', r.stdout, re.M)] == []

# A cachy.jsonl that is not a regular file: refused at once, never read

@pytest.mark.parametrize('kind', ['fifo', 'zero'])
@pytest.mark.parametrize('cmd', ['ls', 'stats', 'check', 'compact', 'show'])
def test_cli_refuses_non_files(kind, cmd, tmp_path):
    p = tmp_path/'cachy.jsonl'
    if kind == 'fifo': os.mkfifo(p)
    else: p.symlink_to('/dev/zero')
    rc,o,e = cli(cmd, *(['k'] if cmd == 'show' else []), '--cache-dir', tmp_path, timeout=10)
    assert (rc, o) == (2, '')
    assert e == f"cachy: {p} is {'a FIFO' if kind == 'fifo' else 'a device'}, not a regular file\n"
