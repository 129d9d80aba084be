"""Where the tests (and the benchmark) keep what they build and download: outside the work tree, in a cache folder.

That is `CACHY_TEST_CACHE` if set, else `cachy-tests` in the user's cache folder: `$XDG_CACHE_HOME/cachy-tests`
(`~/.cache/cachy-tests` by default), on Windows `%LOCALAPPDATA%\\cachy-tests`. It holds the pycachy releases
`test_pycachy.py` downloads (`pycachy/wheels`, `pycachy/src`) and the virtual environments the tests make
(`pycachy/venv-*`, `legacy-*`, `bench-pycachy`). Deleting the folder is always safe: what is needed is made again.

`venv` makes a virtual environment there that holds only what it is asked to install, never the packages of the
interpreter it is made from (no `--system-site-packages`), so the tests pass wherever the dev dependencies live: in
the base Python, a virtual environment, user site-packages. It is reused while its stamp (the requirements and the
Python it was made from) is unchanged, and made under a lock, so that runs from two clones can share the cache."""
import json,os,shutil,subprocess,sys,sysconfig
from pathlib import Path
from filelock import FileLock

def cache_dir():
    "The folder for the tests' environments and downloads: `CACHY_TEST_CACHE`, else the user's cache folder's `cachy-tests`"
    if p := os.environ.get('CACHY_TEST_CACHE'): return Path(p).expanduser().resolve()
    if os.name == 'nt': base = os.environ.get('LOCALAPPDATA') or Path.home()/'AppData'/'Local'
    else: base = os.environ.get('XDG_CACHE_HOME') or Path.home()/'.cache'
    return Path(base).expanduser().resolve()/'cachy-tests'

def script(name):
    "Console script `name` of the environment running the tests (found without its bin/ on PATH), else the one on PATH"
    return shutil.which(name, path=sysconfig.get_path('scripts')) or shutil.which(name)

def clean_env(**kw):
    "This process's environment for a subprocess of another Python: no cachy settings, nothing added to its import path"
    return {k:v for k,v in os.environ.items() if not k.startswith(('CACHY_', 'PYTHONPATH'))} | kw

def lock(path):
    "An inter-process lock beside `path`, for making it"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path)+'.lock')

def python(d): return Path(d)/('Scripts/python.exe' if os.name == 'nt' else 'bin/python')

def venv(d, reqs):
    "The Python of virtual environment `d` holding exactly `reqs` (pip arguments) and their dependencies, made unless it already is"
    d = Path(d)
    py,stamp = python(d),d/'cachy-reqs.json'
    want = json.dumps({'reqs': list(reqs), 'python': sys.version, 'base': sys.base_prefix})
    with lock(d):
        if py.exists() and stamp.exists() and stamp.read_text() == want: return py
        print(f'\nmaking {d} with {" ".join(reqs)}', file=sys.stderr, flush=True)
        subprocess.run([sys.executable, '-m', 'venv', '--clear', str(d)], check=True, env=clean_env())
        subprocess.run([str(py), '-m', 'pip', 'install', '-q', '--disable-pip-version-check', *reqs], check=True, env=clean_env())
        stamp.write_text(want)
    return py
