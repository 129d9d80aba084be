"""An SDK upgrade: what the SDK releases of a few months ago recorded replays with the newest releases, when only
their transport changed, and misses, saying what changed, when the request did.

The older releases live in virtual environments this module makes in the tests' cache folder (see `envs.py`), cached
by their pins: `sdks` holds openai, anthropic and google-genai as they were in September 2026 (google-genai 2.25, which
still sent Gemini calls to `/v1beta/`; the httpx and httpx2 of then), and `litellm` holds LiteLLM 1.100 (September
2026), with the openai 2.x it requires. Each environment's Python runs `upgrade_calls.py` with this checkout's cachy
on its import path, recording through the loopback server; then this environment's Python, with the newest releases,
runs the same calls in replay mode in a fresh process, and no request may reach the server."""
import json,os,subprocess,sys
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path
import pytest
import cachy
from envs import cache_dir,clean_env,venv
from helpers import here,recs

pytestmark = [pytest.mark.slow, pytest.mark.index]  # virtual environments installed from the package index

root = Path(cachy.__file__).resolve().parent.parent  # the checkout whose cachy the tests import
stacks = {'sdks': ['anthropic==2.8.0', 'openai==3.40.0', 'google-genai==2.25.0', 'httpx2==2.12.0', 'httpx==0.28.1'],
          'litellm': ['litellm==1.100.0', 'openai==2.54.0', 'httpx==0.28.1']}

def _reqs(g):
    "What environment `g` installs: its pins, and cachy's own dependencies at the versions this environment has"
    return [*stacks[g], *(f'{r}=={version(r)}' for r in ('fastcore', 'filelock'))]

def _dir(g): return cache_dir()/'upgrade'/g

@pytest.fixture(scope='module')
def pythons():
    "The Python of each older environment, made in parallel on first use"
    with ThreadPoolExecutor(len(stacks)) as ex: return dict(zip(stacks, ex.map(lambda g: venv(_dir(g), _reqs(g)), stacks)))

def calls(py, srv, d, mode, group):
    "Run `upgrade_calls.py`'s `group` with Python `py`, this checkout's cachy in `mode` on folder `d`: what the calls returned"
    out = d/f'{mode}-{group}.json'
    r = subprocess.run([str(py), str(here/'upgrade_calls.py'), srv.url, str(d), str(out), mode, group], capture_output=True, text=True,
                       timeout=300, env=clean_env(PYTHONPATH=os.pathsep.join([str(root), str(here)]), LITELLM_LOCAL_MODEL_COST_MAP='True'))
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(out.read_text())

@pytest.fixture
def proxied(monkeypatch):
    "The proxy settings `upgrade_calls` makes in this process, if any, are undone after the test"
    for k in ('HTTP_PROXY', 'http_proxy'): monkeypatch.delenv(k, raising=False)

def test_older_releases(pythons):
    "The older environments hold the releases pinned, older than the newest this environment has"
    code = ("import importlib.metadata as m, json\n"
            "def v(d):\n    try: return m.version(d)\n    except m.PackageNotFoundError: return None\n"
            "print(json.dumps({d: v(d) for d in ('openai', 'anthropic', 'google-genai', 'litellm', 'httpx', 'httpx2')}))")
    old = {g: json.loads(subprocess.run([str(py), '-c', code], capture_output=True, text=True, check=True, env=clean_env()).stdout) for g,py in pythons.items()}
    want = {g: dict(r.split('==') for r in stacks[g]) for g in stacks}
    assert {g: {d: old[g][d] for d in want[g]} for g in old} == want
    vt = lambda v: tuple(map(int, v.split('.')[:3]))
    assert all(vt(v) < vt(version(d)) for g in want for d,v in want[g].items())

def test_sdks_upgraded(pythons, srv, tmp_path, proxied):
    "openai 3.40 → 3.63 and anthropic 2.8 → 2.17 hit; google-genai 2.25 → 3.6 misses, saying the URL changed from /v1beta/ to /v1/; pinned to v1beta, it hits"
    was = calls(pythons['sdks'], srv, tmp_path, 'record', 'sdks')
    assert srv.total == len(was) == 9
    agents = ' '.join(h.get('user-agent', '') for h in srv.headers)
    assert all(a in agents for a in ('OpenAI/Python 3.40.0', 'Anthropic/Python 2.8.0', 'google-genai-sdk/2.25.0')), agents
    now = calls(sys.executable, srv, tmp_path, 'replay', 'sdks')
    assert srv.total == 9, f'{srv.total-9} request(s) reached the server'
    gem = ('gemini', 'gemini_stream')
    assert {k: now[k] for k in was if k not in gem} == {k: v for k,v in was.items() if k not in gem}
    for k,path in zip(gem, ('generateContent', 'streamGenerateContent?alt=sse')):
        msg = now[k]['miss'].splitlines()
        assert msg[1].endswith('): the URL changed.'), msg
        assert msg[2] == f'  URL: recorded …/v1beta/models/gemini-x:{path}, sent …/v1/models/gemini-x:{path}', msg
        assert now[k+'_v1beta'] == was[k]

def test_litellm_upgraded(pythons, srv, tmp_path, proxied):
    "LiteLLM 1.100 (over openai 2.x and httpx) → 1.110 (over openai 3.x and httpx2): every call hits"
    was = calls(pythons['litellm'], srv, tmp_path, 'record', 'litellm')
    n = srv.total
    assert n == len(was) == 4
    now = calls(sys.executable, srv, tmp_path, 'replay', 'litellm')
    assert srv.total == n, f'{srv.total-n} request(s) reached the server'
    assert now == was
