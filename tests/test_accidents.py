"What users do by accident, on real files and the loopback server: nothing lost, nothing silent"
import json,os,subprocess,sys,warnings
from pathlib import Path
import httpx,pytest
from cachy import enable_cachy,disable_cachy
from cachy.store import Store
from helpers import ours,cli,py,child_env,recs

def cachy_warnings(ws): return [w for w in ws if str(w.message).startswith('cachy')]

def calls(srv, d, n=3, **kw):
    "Three GETs (two alike) through cachy on folder `d`: the server's numbers, and cachy's warnings"
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        enable_cachy(cache_dir=d, doms=ours, **kw)
        with httpx.Client() as c: ns = [c.get(srv.url+f'/echo?i={i%2}').json()['n'] for i in range(n)]
    disable_cachy()
    return ns,cachy_warnings(ws)

# A cache that cannot be written, or read, never breaks the user's call

@pytest.mark.parametrize('how,says', [('proc', 'could not write'), ('device', 'cannot read'), ('eio', 'cannot read')])
def test_unusable_file(how, says, srv, tmp_path):
    "Every call goes live and answers; one warning, that says what is wrong, names the file, and points at the user's line"
    if how == 'proc': d = Path('/proc/self')
    else:
        (tmp_path/'cachy.jsonl').symlink_to({'device': '/dev/full', 'eio': '/proc/self/mem'}[how])
        d = tmp_path
    ns,ws = calls(srv, d)
    assert ns == [1, 2, 3]
    assert srv.total == 3
    assert len(ws) == 1, [str(w.message) for w in ws]
    assert says in str(ws[0].message) and str(d/'cachy.jsonl') in str(ws[0].message)
    assert ws[0].filename == __file__

@pytest.mark.parametrize('how', ['folder', 'file', 'under_file', 'the_file'])
def test_wrong_cache_dir(how, tmp_path):
    "A cache_dir that cannot hold cachy.jsonl is an error at enable_cachy, naming the path, and cachy stays off"
    if how == 'folder': (tmp_path/'cachy.jsonl').mkdir()
    else: (tmp_path/'f').write_text('')
    d = {'folder': tmp_path, 'file': tmp_path/'f', 'under_file': tmp_path/'f'/'sub', 'the_file': tmp_path/'cachy.jsonl'}[how]
    want = {'folder': f"{tmp_path/'cachy.jsonl'} is a folder", 'file': f"{tmp_path/'f'} is not a folder",
            'under_file': f"{tmp_path/'f'} is a file", 'the_file': f"not the file: give {tmp_path}"}[how]
    disable_cachy()
    send = httpx.Client.send
    with pytest.raises(ValueError, match=want): enable_cachy(cache_dir=d)
    assert httpx.Client.send is send

def test_new_folder_and_home(srv, tmp_path, monkeypatch):
    "A folder that does not exist (a typo) is refused, naming it, before any call, and nothing is made; `~` is the home folder"
    with pytest.raises(ValueError, match=f"cachy: cache_dir {tmp_path/'new'/'sub'} does not exist"): enable_cachy(cache_dir=tmp_path/'new'/'sub', doms=ours)
    assert not (tmp_path/'new').exists() and srv.total == 0
    monkeypatch.setenv('HOME', str(tmp_path))
    (tmp_path/'cache').mkdir()
    ns,ws = calls(srv, '~/cache')
    assert ns == [1, 2, 1]
    assert len(recs(tmp_path/'cache'/'cachy.jsonl')) == 2

# Large streams

_mem = '''
import sys,json,httpx
from cachy import enable_cachy
from helpers import ours
url,d,on = sys.argv[1],sys.argv[2],sys.argv[3] == 'on'
def peak(): return int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])*1024
with httpx.Client(timeout=120) as c:
    with c.stream('GET', url+'/sse?k=10&pad=100') as r: r.read()
    if on: enable_cachy(cache_dir=d, doms=ours)
    p0,n = peak(),0
    with c.stream('GET', url+'/sse?k=2000&pad=10000') as r:
        for b in r.iter_bytes(): n += len(b)
    print(json.dumps(dict(extra=peak()-p0, size=n)))
'''

@pytest.mark.slow
def test_memory_recording_a_large_stream(srv, tmp_path):
    "Recording a 20 MB stream costs little more than its size in memory (1.3 times, at most 1.6), beyond what the same call costs without cachy"
    srv.pace = 0
    def run(on):
        r = py(_mem, srv.url, tmp_path, on, timeout=300)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)
    off,on = run('off'),run('on')
    size = on['size']
    assert size > 20e6 and off['size'] == size
    assert on["extra"]-off["extra"] <= 1.6*size, (on["extra"]-off["extra"])/size
    s = Store(tmp_path/'cachy.jsonl')
    assert len(s) == 1
    assert type(s.recs[next(iter(s))]) is tuple
    assert s.get(next(iter(s)))['response'].count('data: ') == 2000

# A byte-order mark, and lines that look like records

def test_bom(srv, tmp_path):
    "A file a Windows editor saved with a byte-order mark: the library hits its first line, and every command agrees"
    ns,ws = calls(srv, tmp_path)
    p = tmp_path/'cachy.jsonl'
    p.write_bytes(b'\xef\xbb\xbf' + p.read_bytes() + b'{"key": "abc"}\n')
    ns,ws = calls(srv, tmp_path)
    assert ns == [1, 2, 1]
    assert srv.total == 2
    assert ws == []
    rc,o,e = cli('check', '--cache-dir', tmp_path)
    assert rc == 1, o
    assert o.splitlines() == [f'{p}:3: damaged: not a cachy record', f'cachy check: 1 problem in {p}'], o
    assert len(cli('ls', '--cache-dir', tmp_path)[1].splitlines()) == 2
    assert cli('stats', '--cache-dir', tmp_path)[1].startswith(f'{p}: 2 entries, ')
    rc,o,e = cli('compact', '--cache-dir', tmp_path)
    assert rc == 0, o
    assert o.startswith('cachy compact: removed 1 of 3 lines; '), o
    assert ' now holds 2 entries ' in o, o
    assert not p.read_bytes().startswith(b'\xef')
    assert len(Store(p)) == 2
    assert calls(srv, tmp_path)[0] == [1, 2, 1]
    assert srv.total == 2

# A symlinked cachy.jsonl, shared by two projects

def test_symlink(srv, tmp_path):
    shared,a = tmp_path/'shared',tmp_path/'a'
    shared.mkdir(); a.mkdir()
    (a/'cachy.jsonl').symlink_to(shared/'cachy.jsonl')
    calls(srv, a)
    with open(shared/'cachy.jsonl', 'ab') as f: f.write(b'not json\n')
    with pytest.warns(UserWarning, match='damaged line 3 of') as ws:
        assert Store(a/'cachy.jsonl').lock.lock_file == Store(shared/'cachy.jsonl').lock.lock_file
    assert len(ws) == 2
    rc,o,e = cli('compact', '--cache-dir', a)
    assert rc == 0, o+e
    assert (a/'cachy.jsonl').is_symlink()
    assert b'not json' not in (shared/'cachy.jsonl').read_bytes()
    assert calls(srv, shared)[0] == [1, 2, 1]
    assert srv.total == 2

# A stream abandoned

_abandon = '''
import sys,gc,json
from openai import OpenAI
from cachy import enable_cachy
from helpers import ours
url,d,when = sys.argv[1:4]
enable_cachy(cache_dir=d, doms=ours)
c = OpenAI(api_key='sk-test', base_url=url+'/v1')
s = c.chat.completions.create(model='gpt-x', messages=[{'role': 'user', 'content': 'a long story '*40}], stream=True)
for chunk in s: break
if when == 'alive':
    import os,time
    del s,chunk
    gc.collect()
    p,until = d+'/cachy.jsonl',time.monotonic() + 20
    while not (os.path.exists(p) and open(p).read().endswith(chr(10))) and time.monotonic() < until: time.sleep(0.05)
    print(len(open(p).readlines()))
'''

@pytest.mark.parametrize('when', ['exit', 'alive'])
def test_abandoned_stream(when, srv, tmp_path):
    "A stream left half read is read to its end and recorded whole, printing nothing: in the background once it is collected (a loaded machine may take more than the 0.1 s `close` waits), or at exit"
    r = py(_abandon, srv.url, tmp_path, when, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ''
    assert r.stdout == ('1\n' if when == 'alive' else '')
    rec, = recs(tmp_path/'cachy.jsonl')
    assert rec['response'].rstrip().endswith('data: [DONE]')
    assert rec['response'].count('"content": "story "') == 40

_saving_at_exit = '''
import sys,httpx
from cachy import enable_cachy
from helpers import ours
url,d = sys.argv[1:3]
enable_cachy(cache_dir=d, doms=ours)
c = httpx.Client(timeout=60)
r = c.send(c.build_request('GET', url+'/sse?k=2000&pad=20000'), stream=True)
for b in r.iter_bytes(): break
r.close()
'''

@pytest.mark.slow
def test_exit_while_saving(srv, tmp_path):
    "A 40 MB stream closed half read, read to its end in the background and still being written when the script ends, is written whole"
    srv.pace = 0
    r = py(_saving_at_exit, srv.url, tmp_path, timeout=60)
    assert r.returncode == 0 and r.stderr == '', r.stderr
    rc,o,e = cli('check', '--cache-dir', tmp_path)
    assert rc == 0, o+e
    s = Store(tmp_path/'cachy.jsonl')
    assert len(s) == 1
    assert s.get(next(iter(s)))['response'].count('data: ') == 2000

# After a merge: a key on two lines

def test_merged_duplicates(srv, tmp_path):
    "The same entry twice is a note; two answers for one key fail the check, which says which line is replayed, and the last one is"
    calls(srv, tmp_path, n=1)
    p = tmp_path/'cachy.jsonl'
    line = p.read_bytes()
    p.write_bytes(line*2)
    rc,o,e = cli('check', '--cache-dir', tmp_path)
    assert rc == 0, o+e
    assert o.splitlines() == [f'{p}:2: note: the same entry as line 1 (harmless; cachy compact removes it)', f'cachy check: {p} OK']
    other = json.loads(line) | {'response': json.dumps({'n': 99})}
    p.write_bytes(line + json.dumps(other).encode() + b'\n')
    rc,o,e = cli('check', '--cache-dir', tmp_path)
    assert rc == 1, o+e
    assert o.splitlines()[0] == f"{p}:2: key {other['key']} also on line 1, with another answer; line 2 is the one replayed"
    assert calls(srv, tmp_path, n=1)[0] == [99]
    assert srv.total == 1

# What works today and must keep working

_rec3 = '''
import sys,json,httpx
from cachy import enable_cachy
from helpers import ours
url,d,who = sys.argv[1:4]
enable_cachy(cache_dir=d, doms=ours)
with httpx.Client(timeout=60) as c:
    for i in range(60): c.post(url+'/stable/w', json={'who': who, 'i': i})
'''

@pytest.mark.slow
def test_compact_while_recording(srv, tmp_path):
    "cachy compact, run again and again while three processes record: no entry is lost"
    ps = [subprocess.Popen([sys.executable, '-c', _rec3, srv.url, str(tmp_path), str(w)], stderr=subprocess.PIPE, text=True, env=child_env()) for w in range(3)]
    n = 0
    while any(p.poll() is None for p in ps):
        if (tmp_path/'cachy.jsonl').exists(): assert cli('compact', '--cache-dir', tmp_path)[0] == 0
        n += 1
    assert all(p.wait() == 0 for p in ps), [p.stderr.read() for p in ps]
    assert cli('compact', '--cache-dir', tmp_path)[0] == 0
    assert n > 1
    ks = [json.loads(l)['key'] for l in (tmp_path/'cachy.jsonl').read_bytes().splitlines()]
    assert len(ks) == len(set(ks)) == 180 == srv.total

def test_file_replaced_under_a_running_process(srv, tmp_path):
    "A git checkout of another branch replaces cachy.jsonl: the running process sees the new file on its next lookup"
    a,b = tmp_path/'a',tmp_path/'b'
    for d,i in ((a, 0), (b, 1)):
        d.mkdir()
        enable_cachy(cache_dir=d, doms=ours)
        with httpx.Client() as c: c.get(srv.url+f'/echo?branch={i}')
    disable_cachy()
    enable_cachy(cache_dir=a, doms=ours)
    with httpx.Client() as c:
        assert c.get(srv.url+'/echo?branch=0').json()['n'] == 1
        os.replace(b/'cachy.jsonl', a/'cachy.jsonl')
        assert c.get(srv.url+'/echo?branch=1').json()['n'] == 2
        assert c.get(srv.url+'/echo?branch=0').json()['n'] == 3
    assert srv.total == 3
