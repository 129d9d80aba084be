"The store under load and damage: many processes, threads and tasks on one file, broken lines, unwritable caches, compaction, git merges"
import re,asyncio,json,os,signal,subprocess,sys,time,warnings
from concurrent.futures import ThreadPoolExecutor
import httpx,httpx2,pytest
from cachy import enable_cachy,disable_cachy
from cachy.store import Store
from envs import script
from helpers import ours,child_env,recs,py

def post(c, url, b):
    "The request body that the server saw for `b`, parsed"
    return json.loads(c.post(url, json=b).json()['body'])

def check_file(p, n):
    "Every line of `p` is a whole JSON record, `n` of them, each key once; returns the keys"
    data = p.read_bytes()
    assert data.endswith(b'\n')
    ks = [json.loads(l)['key'] for l in data.splitlines()]
    assert len(ks) == len(set(ks)) == n
    return set(ks)

def record(d, url, bodies, **kw):
    "Send `bodies` to `url` through cachy on the cache in `d`"
    enable_cachy(cache_dir=d, doms=ours, **kw)
    with httpx.Client(trust_env=False) as c: out = [post(c, url, b) for b in bodies]
    disable_cachy()
    return out

# Many writers: each process, thread or task sends its own requests, or all send the same ones

_worker = '''
import json,os,sys,time,httpx
from pathlib import Path
from cachy import enable_cachy,cachy_stats
from helpers import ours
a = json.loads(sys.argv[1])
enable_cachy(cache_dir=a['dir'], doms=ours, mode=a['mode'])
if a['ready']: Path(a['ready']).touch()
while a['go'] and not os.path.exists(a['go']): time.sleep(0.002)
with httpx.Client(trust_env=False, timeout=60) as c: out = [json.loads(c.post(a['url'], json=b).json()['body']) for b in a['bodies']]
print(json.dumps(dict(stats=cachy_stats(), out=out)))
'''

def spawn(d, url, bodies, mode='record', ready=None, go=None):
    a = dict(dir=str(d), url=url, bodies=bodies, mode=mode, ready=ready and str(ready), go=go and str(go))
    return subprocess.Popen([sys.executable, '-c', _worker, json.dumps(a)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())

def result(p):
    out,err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    return json.loads(out)

def start_together(tmp_path, d, url, groups):
    "Start one process per list of bodies in `groups`, all loaded before any sends; their results"
    ready = [tmp_path/f'ready{i}' for i in range(len(groups))]
    go = tmp_path/'go'
    ps = [spawn(d, url, g, ready=r, go=go) for g,r in zip(groups, ready)]
    t0 = time.time()
    while not all(r.exists() for r in ready):
        assert time.time()-t0 < 60, [p.communicate() for p in ps]
        assert all(p.poll() is None for p in ps), [p.communicate() for p in ps]
        time.sleep(0.01)
    go.touch()
    return [result(p) for p in ps]

def replay(d, url, bodies):
    "Replay `bodies` in a fresh process in replay mode: its hit count"
    r = result(spawn(d, url, bodies, mode='replay'))
    assert r['out'] == bodies
    return r['stats']['hit']

@pytest.mark.slow
def test_processes_distinct(srv, tmp_path):
    url = srv.url+'/stable/p?pad=20000'
    groups = [[{'proc': p, 'i': i} for i in range(50)] for p in range(4)]
    n0 = srv.total
    res = start_together(tmp_path, tmp_path, url, groups)
    assert [r['out'] for r in res] == [g for g in groups]
    assert [r['stats']['recorded'] for r in res] == [50]*4
    assert srv.total-n0 == 200
    check_file(tmp_path/'cachy.jsonl', 200)
    assert replay(tmp_path, url, sum(groups, [])) == 200
    assert srv.total-n0 == 200

@pytest.mark.slow
def test_processes_same(srv, tmp_path):
    "Processes racing on the same requests record each one once"
    url = srv.url+'/stable/same?pad=5000'
    bodies = [{'i': i} for i in range(30)]
    res = start_together(tmp_path, tmp_path, url, [bodies]*4)
    assert all(r['out'] == bodies for r in res)
    assert sum(r['stats']['recorded'] for r in res) == 30
    check_file(tmp_path/'cachy.jsonl', 30)

@pytest.mark.slow
def test_process_sees_later_appends(srv, tmp_path):
    "A process that loaded the file before another recorded reads the new tail instead of going to the network"
    url = srv.url+'/stable/tail'
    bodies = [{'i': i} for i in range(30)]
    ready,go = tmp_path/'ready',tmp_path/'go'
    late = spawn(tmp_path, url, bodies, ready=ready, go=go)
    while not ready.exists(): time.sleep(0.01)
    n0 = srv.total
    assert result(spawn(tmp_path, url, bodies))['stats']['recorded'] == 30
    go.touch()
    r = result(late)
    assert r['out'] == bodies
    assert (r['stats']['hit'],r['stats']['miss'],srv.total-n0) == (30,0,30)
    check_file(tmp_path/'cachy.jsonl', 30)

def test_threads(srv, tmp_path):
    url = srv.url+'/stable/t?pad=3000'
    bodies = [{'thread': t, 'i': i} for t in range(8) for i in range(25)]
    n0 = srv.total
    enable_cachy(cache_dir=tmp_path, doms=ours)
    with httpx.Client(trust_env=False) as c, ThreadPoolExecutor(8) as ex: out = list(ex.map(lambda b: post(c, url, b), bodies))
    assert out == bodies
    assert srv.total-n0 == 200
    check_file(tmp_path/'cachy.jsonl', 200)
    assert replay(tmp_path, url, bodies) == 200
    assert srv.total-n0 == 200

def test_threads_same(srv, tmp_path):
    url = srv.url+'/stable/ts'
    bodies = [{'i': i} for i in range(20)]
    enable_cachy(cache_dir=tmp_path, doms=ours)
    with httpx.Client(trust_env=False) as c, ThreadPoolExecutor(8) as ex: out = list(ex.map(lambda b: post(c, url, b), bodies*8))
    assert out == bodies*8
    check_file(tmp_path/'cachy.jsonl', 20)

@pytest.mark.parametrize('mod', [httpx, httpx2], ids=['httpx', 'httpx2'])
def test_gather(mod, srv, tmp_path):
    url = srv.url+f'/stable/g/{mod.__name__}?pad=3000'
    bodies = [{'task': i} for i in range(100)]
    async def go(bs):
        async with mod.AsyncClient(trust_env=False) as c: return [json.loads(r.json()['body']) for r in await asyncio.gather(*[c.post(url, json=b) for b in bs])]
    n0 = srv.total
    enable_cachy(cache_dir=tmp_path, doms=ours)
    assert asyncio.run(go(bodies+bodies[:10])) == bodies+bodies[:10]
    assert 100 <= srv.total-n0 <= 110
    check_file(tmp_path/'cachy.jsonl', 100)
    n1 = srv.total
    assert replay(tmp_path, url, bodies) == 100
    assert asyncio.run(go(bodies)) == bodies
    assert srv.total == n1

# Damage

def cachy_warnings(ws): return [str(w.message) for w in ws if str(w.message).startswith('cachy')]

def test_damage(srv, tmp_path):
    url,p,src = srv.url+'/stable/dmg',tmp_path/'cachy.jsonl',tmp_path/'src'
    bodies = [{'i': i} for i in range(5)]
    src.mkdir()
    record(src, url, bodies[:4])
    l0,l1,l2,l3 = (src/'cachy.jsonl').read_bytes().splitlines()
    future = json.loads(l1) | {'added_by_a_later_version': {'x': [1, 2]}}
    p.write_bytes(b'\n'.join([l0, b'not json at all', json.dumps(future).encode(), b'<<<<<<< HEAD', l2, l3[:len(l3)//2]]))
    n0 = srv.total
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        out = record(tmp_path, url, bodies)
    assert out == bodies
    assert srv.total-n0 == 2
    msgs = cachy_warnings(ws)
    assert len(msgs) == 3, msgs
    for m,n in zip(msgs, (2, 4, 6)): assert f' line {n} of {p}' in m, m
    lines = p.read_bytes().split(b'\n')
    assert len(lines) == 9
    assert lines[-1] == b''
    assert lines[5] == l3[:len(l3)//2]
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        s = Store(p)
    assert [m.split(' line ')[1] for m in cachy_warnings(ws)] == [f'{n} of {p}' for n in (2, 4, 6)]
    assert set(s.recs) == {json.loads(l)['key'] for l in (l0,l1,l2,l3)} | {json.loads(lines[7])['key']}
    assert s.get(future['key'])['added_by_a_later_version'] == {'x': [1, 2]}
    n1 = srv.total
    assert replay(tmp_path, url, bodies) == 5
    assert srv.total == n1

def test_damaged_record_found_on_hit(srv, tmp_path):
    "A line that looks like a record but can't be replayed: one warning with its line number, the call goes live and is recorded again"
    url,p,src = srv.url+'/stable/bad',tmp_path/'cachy.jsonl',tmp_path/'src'
    src.mkdir()
    record(src, url, [{'a': 1}, {'a': 2}])
    l0,l1 = (src/'cachy.jsonl').read_bytes().splitlines()
    p.write_bytes(l0 + b'\n' + json.dumps(json.loads(l1) | {'response': 5}).encode() + b'\n')
    n0 = srv.total
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        assert record(tmp_path, url, [{'a': 1}, {'a': 2}, {'a': 2}]) == [{'a': 1}, {'a': 2}, {'a': 2}]
    assert srv.total-n0 == 1
    assert cachy_warnings(ws) == [f'cachy: skipping damaged line 2 of {p}']
    assert len(Store(p)) == 2

# Compaction and git

def test_compact(srv, tmp_path):
    a,b = tmp_path/'a',tmp_path/'b'
    a.mkdir(); b.mkdir()
    url = srv.url+'/stable/c'
    bodies = [{'i': i} for i in range(10)]
    record(a, url, bodies)
    record(b, url, bodies[::-1])
    pa,pb = a/'cachy.jsonl',b/'cachy.jsonl'
    assert pa.read_bytes() != pb.read_bytes()
    assert Store(pa).compact()['lines'] == Store(pb).compact()['lines'] == (10, 10)
    untimed = lambda p: [re.sub(rb'"took": [0-9.e-]+, ', b'', l) for l in p.read_bytes().splitlines()]
    assert untimed(pa) == untimed(pb), 'the same calls, recorded in another order, compact to the same lines, but for how long each took'
    assert all(b'"took": ' in l for l in pa.read_bytes().splitlines())
    ks = check_file(pa, 10)
    assert [json.loads(l)['key'] for l in pa.read_bytes().splitlines()] == sorted(ks)
    before,st = pa.read_bytes(),pa.stat()
    assert Store(pa).compact()['lines'] == (10, 10)
    assert pa.read_bytes() == before and pa.stat().st_ino == st.st_ino and pa.stat().st_mtime_ns == st.st_mtime_ns

def test_compact_superseded_and_keep(srv, tmp_path):
    url,p = srv.url+'/stable/s',tmp_path/'cachy.jsonl'
    bodies = [{'i': i} for i in range(10)]
    srv.salt = 'v1'
    record(tmp_path, url, bodies)
    srv.salt = 'v2'
    record(tmp_path, url, bodies[:3], mode='refresh')
    assert len(p.read_bytes().splitlines()) == 13
    c = Store(p).compact()
    assert c['entries'] == (10, 10) and c['lines'] == (13, 10) and c['bytes'][0] > c['bytes'][1]
    check_file(p, 10)
    salts = [json.loads(Store(p).get(k)['response'])['salt'] for k in sorted(Store(p).recs)]
    assert sorted(salts) == ['v1']*7 + ['v2']*3
    srv.salt = 'v3'
    n0 = srv.total
    assert record(tmp_path, url, bodies) == bodies
    assert srv.total == n0
    keep = set(sorted(Store(p).recs)[:4])
    assert Store(p).compact(keep=keep)['entries'] == (10, 4)
    assert check_file(p, 4) == keep

def git(d, *args):
    return subprocess.run(['git', '-c', 'user.name=cachy', '-c', 'user.email=cachy@example.com', *args], cwd=d, capture_output=True, text=True)

def branches(srv, d, union):
    "A repo in `d` whose branches `a` and `main` each recorded 3 calls after a common base of 2; returns all bodies"
    url = srv.url+'/stable/git'
    d.mkdir()
    git(d, 'init', '-q', '-b', 'main')
    if union: (d/'.gitattributes').write_text('cachy.jsonl merge=union\n')
    base,on_a,on_main = [{'base': i} for i in range(2)],[{'a': i} for i in range(3)],[{'main': i} for i in range(3)]
    record(d, url, base)
    git(d, 'add', '.'); git(d, 'commit', '-qm', 'base')
    git(d, 'checkout', '-qb', 'a')
    record(d, url, on_a)
    git(d, 'commit', '-qam', 'a')
    git(d, 'checkout', '-q', 'main')
    record(d, url, on_main)
    git(d, 'commit', '-qam', 'main')
    return url,base+on_a+on_main

def test_git_union_merge(srv, tmp_path):
    d = tmp_path/'repo'
    url,bodies = branches(srv, d, union=True)
    r = git(d, 'merge', '-q', '--no-edit', 'a')
    assert r.returncode == 0, r.stdout+r.stderr
    check_file(d/'cachy.jsonl', 8)
    n0 = srv.total
    assert replay(d, url, bodies) == 8
    assert srv.total == n0
    assert Store(d/'cachy.jsonl').compact()['entries'] == (8, 8)
    check_file(d/'cachy.jsonl', 8)

def test_git_merge_without_union_conflicts(srv, tmp_path):
    "Why the README asks for `merge=union`: without it the same merge conflicts"
    d = tmp_path/'repo'
    branches(srv, d, union=False)
    assert git(d, 'merge', '-q', '--no-edit', 'a').returncode != 0
    assert b'<<<<<<<' in (d/'cachy.jsonl').read_bytes()

# Processes that do not share a temp folder: containers on one checkout, CI jobs with their own TMPDIR, PrivateTmp

@pytest.mark.slow
def test_processes_with_own_temp_folders(srv, tmp_path):
    "Writers whose temp folders differ take one lock, beside the file: every record of over 1 MB arrives whole"
    url = srv.url+'/stable/own-tmp?pad=1200000'
    groups = [[{'proc': p, 'i': i} for i in range(5)] for p in range(4)]
    ready,go = [tmp_path/f'ready{i}' for i in range(4)],tmp_path/'go'
    ps = []
    for i,(g,r) in enumerate(zip(groups, ready)):
        (t := tmp_path/f'tmp{i}').mkdir()
        a = dict(dir=str(tmp_path), url=url, bodies=g, mode='record', ready=str(r), go=str(go))
        ps.append(subprocess.Popen([sys.executable, '-c', _worker, json.dumps(a)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env=child_env(TMPDIR=str(t), TEMP=str(t), TMP=str(t))))
    while not all(r.exists() for r in ready):
        assert all(p.poll() is None for p in ps), [p.communicate() for p in ps]
        time.sleep(0.01)
    go.touch()
    res = [result(p) for p in ps]
    assert [r['out'] for r in res] == groups
    assert [r['stats']['recorded'] for r in res] == [5]*4
    check_file(tmp_path/'cachy.jsonl', 20)
    assert (tmp_path/'.cachy.jsonl.lock').exists()
    assert replay(tmp_path, url, sum(groups, [])) == 20

# A byte-order mark at the start of a line inside the file, from a record pasted or merged from a file that began with one

def test_bom_inside_file(srv, tmp_path):
    "Each line may start with a byte-order mark, read as nothing as at the start of the file: the record hits, check notes it, compact keeps it"
    from helpers import run_cachy
    url,p = srv.url+'/stable/bom',tmp_path/'cachy.jsonl'
    bodies = [{'i': i} for i in range(3)]
    record(tmp_path, url, bodies)
    ls = p.read_bytes().splitlines(keepends=True)
    bom = b'\xef\xbb\xbf'
    p.write_bytes(bom+ls[0]+bom+ls[1]+bom+ls[2])
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        assert len(Store(p)) == 3
        n0 = srv.total
        assert record(tmp_path, url, bodies) == bodies
    assert cachy_warnings(ws) == []
    assert srv.total == n0
    r = run_cachy('check', '--cache-dir', tmp_path)
    assert r.returncode == 0, r.stdout
    assert r.stdout.splitlines() == [f'{p}:{n}: note: a byte-order mark starts the line (harmless; cachy compact removes it)' for n in (2, 3)] + [f'cachy check: {p} OK']
    r = run_cachy('compact', '--cache-dir', tmp_path)
    assert r.returncode == 0, r.stderr
    assert bom not in p.read_bytes()
    check_file(p, 3)
    assert replay(tmp_path, url, bodies) == 3

# A damaged line never hides a good record

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

# A cachy.jsonl that is not a regular file: refused at once, never read

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

# A child forked while another thread held the store's lock records as any process does

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

# A compact killed mid-write leaves no temporary file behind for long

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
