"The `cachy` console script, run as users run it: the installed command in a subprocess"
import json,os,subprocess,sys
import httpx,pytest
from cachy.core import enable_cachy,disable_cachy,doms
from cachy.store import Store
from server import _message_events
from envs import script

CACHY = script('cachy')
SUBS = 'stats','ls','show','compact','prune','check'
CALLS = dict(mini=('POST', '/v1/chat/completions', dict(model='gpt-4o-mini', messages=[])),
             big=('POST', '/v1/chat/completions', dict(model='gpt-4o', messages=[dict(role='user', content='hi')])),
             img=('GET', '/bytes?ct=image/png&size=2008', None),
             nope=('GET', '/nope?status=404', None))

def _record(d, url, mode='record'):
    "Make the `CALLS` and a stream through cachy into `d/cachy.jsonl`; returns their keys by name"
    enable_cachy(cache_dir=d, doms=doms+('127.0.0.1',), mode=mode)
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

def cachy(*args, cwd=None):
    "Run the installed `cachy` console script"
    assert CACHY, "the `cachy` console script is not installed: pip install -e ."
    env = {k:v for k,v in os.environ.items() if k not in ('CACHY_MODE','CACHY_USED')}
    return subprocess.run([CACHY, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=60)

def _one_line_error(r, code, text):
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == ''
    assert len(r.stderr.splitlines()) == 1 and text in r.stderr and 'Traceback' not in r.stderr, r.stderr

def _args(sub, d, tmp):
    "Arguments for subcommand `sub` on folder `d`; `prune` runs a command that would leave `tmp/ran`"
    extra = dict(show=['0123456789abcdef'], prune=['--', sys.executable, '-c', f'open({str(tmp/"ran")!r}, "w")']).get(sub, [])
    return [sub, '--cache-dir', d, *extra]

def test_help():
    r = cachy('--help')
    assert r.returncode == 0 and all(s in r.stdout for s in SUBS)
    for s in SUBS:
        r = cachy(s, '--help')
        assert r.returncode == 0 and '--cache-dir DIR' in r.stdout and r.stdout.startswith(f'usage: cachy {s} '), r.stdout
    assert '-- CMD [ARGS ...]' in cachy('prune', '--help').stdout
    r = cachy()
    assert r.returncode == 2 and 'usage: cachy' in r.stderr

def test_missing_file(tmp_path):
    for s in SUBS: _one_line_error(cachy(*_args(s, tmp_path, tmp_path)), 2, f"cachy: no cache file {tmp_path/'cachy.jsonl'}")
    assert not (tmp_path/'ran').exists()
    _one_line_error(cachy('ls', '--cache-dir', tmp_path/'no'/'such'/'dir'), 2, 'no cache file')

def test_unreadable_file(tmp_path):
    "A file that cannot be read (here one that fails with EIO, which even root cannot read) is one line, before anything runs"
    (tmp_path/'cachy.jsonl').symlink_to('/proc/self/mem')
    for s in SUBS: _one_line_error(cachy(*_args(s, tmp_path, tmp_path)), 2, f"cachy: cannot read {tmp_path/'cachy.jsonl'}")
    assert not (tmp_path/'ran').exists()

@pytest.mark.parametrize('how', ['folder', 'file', 'under_file'])
def test_wrong_cache_dir(how, tmp_path):
    "A cachy.jsonl that is a folder, or a --cache-dir that is (or is under) a file, is named in one line"
    d = {'folder': tmp_path, 'file': tmp_path/'f', 'under_file': tmp_path/'f'/'sub'}[how]
    if how == 'folder': (tmp_path/'cachy.jsonl').mkdir()
    else: (tmp_path/'f').write_text('')
    text = f"{tmp_path/'cachy.jsonl'} is a folder" if how == 'folder' else f"{tmp_path/'f'} is"
    for s in SUBS: _one_line_error(cachy(*_args(s, d, tmp_path)), 2, text)
    assert not (tmp_path/'ran').exists()

def test_finds_the_project_file(tmp_path, srv):
    (tmp_path/'pyproject.toml').write_text('[project]\nname = "x"\n')
    (tmp_path/'nbs').mkdir()
    keys = _record(tmp_path, srv.url)
    r = cachy('ls', cwd=tmp_path/'nbs')
    assert r.returncode == 0, r.stderr
    assert [l.split()[0] for l in r.stdout.splitlines()] == list(keys.values())

def test_ls(rec, srv):
    d,keys = rec
    with open(d/'cachy.jsonl', 'a') as f: f.write(json.dumps(dict(key='0'*16, response='{}', headers={}, status_code=200, binary=False))+'\n')
    r = cachy('ls', '--cache-dir', d)
    assert r.returncode == 0 and r.stderr == ''
    ls = r.stdout.splitlines()
    assert [l.split()[:2] for l in ls] == [[keys['mini'],'200'], [keys['big'],'200'], [keys['img'],'200'], [keys['nope'],'404'], [keys['sse'],'200'], ['0'*16,'200']]
    assert ls[0].endswith(f'  POST {srv.url}/v1/chat/completions')
    assert ls[3].endswith(f'  GET {srv.url}/nope?status=404')
    assert ls[5].endswith('  -')
    sizes = [int(l.split()[2].replace(',', '')) for l in ls]
    assert sizes == [len(l) for l in (d/'cachy.jsonl').read_bytes().splitlines(keepends=True)]

def test_stats(rec, srv):
    d,keys = rec
    r = cachy('stats', '--cache-dir', d, '-n', 2)
    assert r.returncode == 0 and r.stderr == ''
    out = r.stdout
    assert out.startswith(f"{d/'cachy.jsonl'}: 5 entries, {(d/'cachy.jsonl').stat().st_size:,} bytes\n")
    hosts,rest = out.split('by host:\n')[1].split('by model:\n')
    models,largest = rest.split('largest:\n')
    host = srv.url.split('//')[1]
    assert [l.split()[0::4] for l in hosts.splitlines()] == [['5', host]]
    assert sorted(l.split()[-1] for l in models.splitlines()) == ['claude-test', 'gpt-4o', 'gpt-4o-mini']
    assert [l.split()[0] for l in largest.splitlines()] == [keys['img'], keys['sse']]

def test_show(rec):
    d,keys = rec
    r = cachy('show', keys['big'], '--cache-dir', d)
    assert r.returncode == 0 and r.stderr == ''
    assert json.loads(r.stdout)['model'] == 'gpt-4o' and r.stdout.startswith('{\n  "id": "chatcmpl-2",\n')
    r = cachy('show', keys['sse'], '--cache-dir', d)
    evs = [e.removeprefix('event: ').replace('\ndata: ', ': ').strip() for e in _message_events(5, 'claude-test', 'reply 5: hi')]
    assert evs[0].startswith('message_start: {"type": "message_start", "message": {"id": "msg_5"') and evs[-1] == 'message_stop: {"type": "message_stop"}'
    assert r.stdout.splitlines() == evs
    r = cachy('show', keys['img'], '--cache-dir', d)
    assert r.stdout == 'binary response: image/png, 2,008 bytes\n'
    _one_line_error(cachy('show', 'ffffffffffffffff', '--cache-dir', d), 1, 'no entry with key ffffffffffffffff')

def test_show_prefix(rec):
    "The start of a key will do, when no other key starts the same way"
    d,keys = rec
    assert cachy('show', keys['big'][:7], '--cache-dir', d).stdout == cachy('show', keys['big'], '--cache-dir', d).stdout
    with open(d/'cachy.jsonl', 'a') as f:
        for k in ('abc0000000000000000a', 'abc0000000000000000b'): f.write(json.dumps(dict(key=k, response='{}'))+'\n')
    _one_line_error(cachy('show', 'abc0', '--cache-dir', d), 1, 'abc0 is the start of 2 keys')

def test_version():
    import cachy as c
    r = cachy('--version')
    assert (r.returncode, r.stdout) == (0, f'cachy {c.__version__}\n')

def test_plurals(rec, srv, tmp_path):
    "1 entry, 2 entries: counts read right"
    d,keys = rec
    child = _script(tmp_path/'one.py', d, srv.url, [CALLS['mini']])
    r = cachy('prune', '--cache-dir', d, '--', sys.executable, child)
    assert r.returncode == 0 and r.stdout.startswith('cachy prune: removed 4 entries (') and r.stdout.endswith(f"; 1 entry left in {d/'cachy.jsonl'}\n"), r.stdout
    assert cachy('stats', '--cache-dir', d).stdout.startswith(f"{d/'cachy.jsonl'}: 1 entry, ")

def test_check(rec):
    d,keys = rec
    p = d/'cachy.jsonl'
    r = cachy('check', '--cache-dir', d)
    assert (r.returncode, r.stdout) == (0, f'cachy check: {p} OK\n')
    good = p.read_bytes()
    leak = json.dumps(dict(key='1'*16, response='your key is sk-proj-' + 'Ab3'*15, headers={}, status_code=200, binary=False))
    p.write_bytes(good + b'{"key": "broken\n' + leak.encode() + b'\n')
    r = cachy('check', '--cache-dir', d)
    assert r.returncode == 1, r.stdout
    assert r.stdout.splitlines() == [f'{p}:6: damaged: not JSON', f'{p}:7: looks like an OpenAI key: sk-proj-Ab3A…', f'cachy check: 2 problems in {p}']
    assert 'Ab3'*4 not in r.stdout
    p.write_bytes(good + b'{"key": "2", "response": "Authorization: Bearer abcdef0123456789xyz"}\n'
                  b'{"key": "3", "response": "AIza' + b'x'*35 + b' sk-ant-api03-' + b'y'*30 + b'"}\n')
    r = cachy('check', '--cache-dir', d)
    assert r.returncode == 1
    assert [l.split(': ', 1)[1] for l in r.stdout.splitlines()[:-1]] == [
        'looks like a bearer token: Bearer abcde…', 'looks like a Google API key: AIzaxxxxxxxx…', 'looks like an Anthropic key: sk-ant-api03…']
    assert [l.split(':')[1] for l in r.stdout.splitlines()[:-1]] == ['6', '7', '7']

def test_check_credential_in_url(rec):
    "An entry recorded before cachy removed every credential parameter from URLs is flagged, with the parameter's name only"
    d,keys = rec
    p = d/'cachy.jsonl'
    old = dict(key='2'*16, response='{}', headers={}, status_code=200, binary=False, method='GET', url='https://api.x.ai/v1/models?api_key=xai-SECRET-1&alt=json')
    with open(p, 'a') as f: f.write(json.dumps(old)+'\n')
    r = cachy('check', '--cache-dir', d)
    assert r.returncode == 1 and r.stdout.splitlines()[0] == f'{p}:6: the URL carries a credential: api_key' and 'SECRET' not in r.stdout

def test_compact(rec, srv):
    d,keys = rec
    p = d/'cachy.jsonl'
    _record(d, srv.url, mode='refresh')
    assert len(p.read_bytes().splitlines()) == 10
    r = cachy('check', '--cache-dir', d)
    assert r.returncode == 1 and r.stdout.count('with another answer; line') == 5
    r = cachy('compact', '--cache-dir', d)
    assert r.returncode == 0 and r.stderr == ''
    assert r.stdout.startswith(f'cachy compact: removed 5 of 10 lines; {p} now holds 5 entries in ')
    lines = p.read_bytes().splitlines()
    assert lines == sorted(lines) and [json.loads(l)['key'] for l in lines] == sorted(keys.values())
    assert cachy('check', '--cache-dir', d).returncode == 0
    n = srv.total
    _record(d, srv.url, mode='replay')
    assert srv.total == n, 'after compact every call is still a hit'

def _script(path, d, url, calls, child=None):
    "A Python script at `path` making `calls` through cachy, then running script `child`"
    path.write_text(f'''import subprocess,sys,httpx
from cachy.core import enable_cachy,doms
enable_cachy(cache_dir={str(d)!r}, doms=doms+('127.0.0.1',))
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
    r = cachy('prune', '--cache-dir', d, '--', sys.executable, parent)
    assert r.returncode == 0, r.stderr
    assert [q['path'] for q in srv.reqs[n:]] == ['/v1/chat/completions'], 'only the new call goes to the server'
    s = Store(p)
    assert len(s) == 3 and {keys['mini'], keys['img']} < set(s.recs)
    assert s.get((set(s.recs) - {keys['mini'], keys['img']}).pop())['url'].endswith('/v1/chat/completions')
    assert r.stdout.startswith('cachy prune: removed 3 entries (') and r.stdout.endswith(f'3 entries left in {p}\n')

def test_prune_failing_command(rec, srv, tmp_path):
    d,keys = rec
    p = d/'cachy.jsonl'
    before = p.read_bytes()
    r = cachy('prune', '--cache-dir', d, '--', sys.executable, '-c', 'import sys; sys.exit(3)')
    assert r.returncode == 3 and 'exited with 3; nothing removed' in r.stderr
    assert p.read_bytes() == before
    script = _script(tmp_path/'s.py', d, srv.url, [CALLS['mini']])
    with open(script, 'a') as f: f.write('sys.exit(5)\n')
    r = cachy('prune', '--cache-dir', d, '--', sys.executable, script)
    assert r.returncode == 5 and p.read_bytes() == before

def test_prune_refuses_when_nothing_was_used(rec):
    d,keys = rec
    before = (d/'cachy.jsonl').read_bytes()
    _one_line_error(cachy('prune', '--cache-dir', d, '--', sys.executable, '-c', 'pass'), 1, 'used none of the 5 entries')
    assert (d/'cachy.jsonl').read_bytes() == before

def test_prune_usage(rec, tmp_path):
    d,keys = rec
    before = (d/'cachy.jsonl').read_bytes()
    for a in ([], ['--'], [sys.executable, '-c', 'pass']):
        r = cachy('prune', '--cache-dir', d, *a)
        assert r.returncode == 2 and r.stderr.startswith('usage: cachy prune [-h] [--cache-dir DIR] -- CMD [ARGS ...]'), r.stderr
    r = cachy('ls', '--cache-dir', d, '--', 'x')
    assert r.returncode == 2 and 'unrecognized arguments: -- x' in r.stderr
    _one_line_error(cachy('prune', '--cache-dir', d, '--', 'no-such-command-for-cachy'), 127, 'cannot run no-such-command-for-cachy')
    assert (d/'cachy.jsonl').read_bytes() == before
