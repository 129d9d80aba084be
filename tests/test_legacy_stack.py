"""The SDK tests again on the older, httpx-based majors (openai 2.x, anthropic 0.x), without httpx2.

The current SDKs send through httpx2, their predecessors through httpx: both stacks must be cached. The
second stack lives in a virtual environment that this test builds (once; it is reused while its
requirements do not change) in `.venv-legacy`, and the SDK test modules run there in a subprocess."""
import json,os,subprocess,sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
vdir = root/'.venv-legacy'
reqs = ['openai>=2,<3', 'anthropic<1', 'pytest']
mods = ['tests/test_sdks.py', 'tests/test_modes.py']

def _py(): return vdir/('Scripts/python.exe' if os.name=='nt' else 'bin/python')

def _build():
    "Create `.venv-legacy` with `reqs` and cachy (editable), unless it already has them"
    stamp = vdir/'cachy-reqs.json'
    if _py().exists() and stamp.exists() and stamp.read_text()==json.dumps(reqs): return
    subprocess.run([sys.executable, '-m', 'venv', '--clear', str(vdir)], check=True)
    subprocess.run([str(_py()), '-m', 'pip', 'install', '-q', '--disable-pip-version-check', *reqs, '-e', str(root)], check=True)
    stamp.write_text(json.dumps(reqs))

def _run(*args):
    return subprocess.run([str(_py()), *args], cwd=root, capture_output=True, text=True, timeout=600)

def test_legacy_stack_is_httpx_only():
    _build()
    code = "import openai,anthropic,httpx,importlib.util as u; print(openai.__version__, anthropic.__version__, u.find_spec('httpx2') is None, isinstance(openai.OpenAI(api_key='x')._client, httpx.Client))"
    opv,anv,no_h2,on_httpx = _run('-c', code).stdout.split()
    assert (opv.split('.')[0], anv.split('.')[0], no_h2, on_httpx) == ('2', '0', 'True', 'True')

def test_sdk_suites_on_legacy_stack():
    _build()
    r = _run('-m', 'pytest', '-q', '-p', 'no:cacheprovider', *mods)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert ' passed' in r.stdout.splitlines()[-1]
