"What users do by accident, on real files and the loopback server: nothing lost, nothing silent"
import json,os,subprocess,sys,warnings
from pathlib import Path
import httpx,pytest
from cachy import enable_cachy,disable_cachy,doms
from cachy.store import Store
from server import recs

ours = doms+('127.0.0.1',)

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
    assert ns == [1, 2, 3] and srv.total == 3
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
    "A folder that does not exist is made when the first response is recorded; `~` is the home folder"
    ns,ws = calls(srv, tmp_path/'new'/'sub')
    assert ns == [1, 2, 1] and ws == [] and len(recs(tmp_path/'new'/'sub'/'cachy.jsonl')) == 2
    monkeypatch.setenv('HOME', str(tmp_path))
    ns,ws = calls(srv, '~/cache')
    assert ns == [3, 4, 3] and len(recs(tmp_path/'cache'/'cachy.jsonl')) == 2
