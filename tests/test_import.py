"""`import cachy` loads none of requests, aiohttp and botocore; they are patched when the user imports them, before or after
`enable_cachy`, and only while cachy is on. Each case runs in a fresh interpreter, where nothing is imported yet."""
import json,textwrap
from helpers import py

def run(code, *args):
    "Run `code` in a fresh Python; what it printed, parsed as JSON"
    r = py(textwrap.dedent(code), *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1])

def test_import_cachy_loads_neither():
    assert run('''
        import sys,json,cachy
        print(json.dumps([m in sys.modules for m in ('requests', 'aiohttp', 'botocore', 'cachy.adapters')]))''') == [False]*4

_calls = '''
import sys,json,asyncio
from cachy import enable_cachy,disable_cachy
from helpers import ours
url,d = sys.argv[1],sys.argv[2]
def ns(r): return r.json()['n']
'''

def test_patched_when_imported_after_enable(srv, tmp_path):
    "`enable_cachy()` first, the client library three cells later: its calls are cached, and `disable_cachy` puts it back"
    out = run(_calls + '''
enable_cachy(cache_dir=d, doms=ours)
before = [m in sys.modules for m in ('requests', 'aiohttp', 'botocore', 'cachy.adapters')]
import requests
a = [ns(requests.get(url+'/v1/r')) for _ in range(2)]
import aiohttp
async def post():
    async with aiohttp.ClientSession() as s:
        async with s.post(url+'/v1/a', json={'q': 1}) as r: return (await r.json())['n']
b = [asyncio.run(post()) for _ in range(2)]
import boto3
on = sys.modules['botocore.httpsession'].URLLib3Session.send.__module__
disable_cachy()
print(json.dumps(dict(before=before, a=a, b=b, on=on, names=[requests.adapters.HTTPAdapter.send.__module__, aiohttp.ClientSession._request.__module__,
                                                              sys.modules['botocore.httpsession'].URLLib3Session.send.__module__])))
''', srv.url, tmp_path)
    assert out['before'] == [False]*4 and out['on'] == 'cachy.adapters'
    assert out['a'][0] == out['a'][1]
    assert out['b'][0] == out['b'][1]
    assert srv.total == 2
    assert out['names'] == ['requests.adapters', 'aiohttp.client', 'botocore.httpsession']

def test_patched_at_enable_when_imported_before(srv, tmp_path):
    out = run(_calls + '''
import requests
enable_cachy(cache_dir=d, doms=ours)
print(json.dumps([ns(requests.get(url+'/v1/r')) for _ in range(2)]))
''', srv.url, tmp_path)
    assert out[0] == out[1]
    assert srv.total == 1

def test_not_patched_while_off(srv, tmp_path):
    "A library imported while cachy is off is left alone, and patched when cachy is enabled again"
    out = run(_calls + '''
enable_cachy(cache_dir=d, doms=ours)
disable_cachy()
import requests
mod = requests.adapters.HTTPAdapter.send.__module__
live = [ns(requests.get(url+'/v1/r')) for _ in range(2)]
enable_cachy(cache_dir=d, doms=ours)
print(json.dumps(dict(mod=mod, live=live, hits=[ns(requests.get(url+'/v1/r')) for _ in range(2)], hook=any(type(f).__name__ == '_Hook' for f in sys.meta_path))))
''', srv.url, tmp_path)
    assert out['mod'] == 'requests.adapters' and out['live'] == [1, 2]
    assert out['hits'] == [3, 3]
    assert srv.total == 3
    assert out['hook']

def test_public_names():
    "`cachy` offers, lazily, exactly the public names of `cachy.core`"
    import cachy,cachy.core
    assert cachy.__all__ == cachy.core.__all__
    assert all(getattr(cachy, n) is getattr(cachy.core, n) for n in cachy.__all__)

def test_split_modules_reachable_from_core():
    "Every name of `cachy.key` and `cachy.streams` is importable from `cachy.core`, as the same object; the lists users extend are one list however reached"
    import types,cachy,cachy.core as core,cachy.key as key,cachy.streams as streams,cachy.creds as creds
    for m in (key, streams):
        ns = [n for n,v in vars(m).items() if not n.startswith(('__', '@')) and not isinstance(v, types.ModuleType) and getattr(v, '__module__', m.__name__) == m.__name__]
        assert ns and [n for n in ns if getattr(core, n, None) is not getattr(m, n)] == []
    for n,m in (('key_hdrs', key), ('ignore_fields', key), ('norm_pats', key), ('secret_params', creds)):
        assert getattr(cachy, n) is getattr(core, n) is getattr(m, n)
    from cachy.core import _cache,_key,_write_cache
    assert _key is key._key

def test_imports_only_downward():
    "The key imports only leaves, streams nothing of cachy, core neither adapters, sessions, cli nor the plugin: no module imports one above it"
    import ast,pathlib,cachy
    order = ['creds', 'store', 'answer', 'legacy', 'explain', 'key', 'streams', 'core', 'adapters', 'sessions', 'cli', 'pytest_plugin']
    for i,m in enumerate(order):
        t = ast.parse((pathlib.Path(cachy.__file__).parent/f'{m}.py').read_text())
        up = {n.module or a.name for n in ast.walk(t) if isinstance(n, ast.ImportFrom) and n.level == 1 for a in n.names}
        up = {u.split('.')[0] for u in up} & set(order[i:])
        assert up == set(), f'{m} imports {up}'
