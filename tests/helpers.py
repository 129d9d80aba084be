"""What many test modules, and the programs they run in fresh processes, share: `msgs`, the allow-list `ours`, the
records of a `cachy.jsonl` (`recs`), how `cachy_stats` moved (`stats_since`), what a call raised (`raised`), the httpx
and httpx2 parametrisation (`mods`), and the runners of the installed `cachy` command (`run_cachy`, `cli`) and of code in a
fresh Python (`py`), all in the environment `child_env` makes. A child has tests/ on its import path, so its code can
`from helpers import ours` too; so this module imports no client, nor pytest, at its top (the legacy stack has no httpx2)."""
import json,os,subprocess,sys
from pathlib import Path
from cachy import doms

here = Path(__file__).resolve().parent
ours = doms+('127.0.0.1',)  # cachy's default hosts and the loopback test servers

def msgs(text): return [{'role': 'user', 'content': text}]

def recs(path):
    "The records of the `cachy.jsonl` at `path`"
    return [json.loads(l) for l in path.read_text().splitlines() if l.strip()] if path.exists() else []

def stats_since(before):
    "How `cachy_stats()` moved since it returned `before`"
    from cachy import cachy_stats
    return {k: v-before[k] for k,v in cachy_stats().items() if k in ('hit', 'miss', 'recorded', 'pass', 'replay_failure')}

def raised(f):
    "The type of what `f()` raises, or `None`"
    try: f()
    except BaseException as e: return type(e)

def mods(f):
    "Test `f` with `mod` httpx, then httpx2"
    import httpx,httpx2,pytest
    return pytest.mark.parametrize('mod', [httpx, httpx2], ids=['httpx', 'httpx2'])(f)

def child_env(**kw):
    "This environment for a subprocess of this Python: no cachy or provider setting from outside, tests/ first on the import path (then PYTHONPATH's own entries), and `kw`"
    e = {k:v for k,v in os.environ.items() if not k.startswith(('CACHY_', 'OPENAI_', 'ANTHROPIC_'))}
    return e | {'PYTHONPATH': os.pathsep.join([str(here), *filter(None, [os.environ.get('PYTHONPATH')])])} | kw

def py(code, *args, timeout=120, env=None):
    "Run `code` in a fresh Python, `env` added to `child_env()`: the completed process"
    return subprocess.run([sys.executable, '-c', code, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=child_env(**(env or {})))

def run_cachy(*args, cwd=None, env=None, timeout=60):
    "Run the installed `cachy` console script, `env` added to `child_env()`: the completed process"
    from envs import script
    exe = script('cachy')
    assert exe, "the `cachy` console script is not installed: pip install -e ."
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=child_env(**(env or {})), timeout=timeout)

def cli(*args, timeout=60):
    "Run the installed `cachy` command: its exit code, stdout and stderr"
    r = run_cachy(*args, timeout=timeout)
    return r.returncode,r.stdout,r.stderr
