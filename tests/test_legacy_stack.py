"""The SDK tests again on the older, httpx-based majors (openai 2.x, anthropic 0.x), without httpx2.

The current SDKs send through httpx2, their predecessors through httpx: both stacks must be cached. The
second stack lives in a virtual environment that this test builds in the tests' cache folder (see `envs.py`), once
per clone, since it holds this clone's cachy installed editable; it is reused while its requirements and Python do
not change. The SDK test modules run there in a subprocess."""
import hashlib,subprocess
from pathlib import Path
import pytest
from envs import cache_dir,clean_env,venv

pytestmark = [pytest.mark.slow, pytest.mark.index]  # a virtual environment installed from the package index

root = Path(__file__).resolve().parent.parent
vdir = cache_dir()/f'legacy-{hashlib.sha256(str(root).encode()).hexdigest()[:12]}'
reqs = ['openai>=2,<3', 'anthropic<1', 'pytest', 'hypothesis']
files = ['tests/test_sdks.py', 'tests/test_modes.py']

def _build():
    "The Python of the legacy environment: `reqs` and this clone's cachy (editable), made unless it already has them"
    return venv(vdir, [*reqs, '-e', str(root)])

def _run(*args):
    return subprocess.run([str(_build()), *args], cwd=root, capture_output=True, text=True, timeout=600, env=clean_env())

def test_legacy_stack_is_httpx_only():
    code = "import openai,anthropic,httpx,importlib.util as u; print(openai.__version__, anthropic.__version__, u.find_spec('httpx2') is None, isinstance(openai.OpenAI(api_key='x')._client, httpx.Client))"
    opv,anv,no_h2,on_httpx = _run('-c', code).stdout.split()
    assert (opv.split('.')[0], anv.split('.')[0], no_h2, on_httpx) == ('2', '0', 'True', 'True')

def test_sdk_suites_on_legacy_stack():
    r = _run('-m', 'pytest', '-q', '-p', 'no:cacheprovider', *files)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert ' passed' in r.stdout.splitlines()[-1]
