"The notebooks are the source: their tests pass under nbdev's runner, and `cachy/` is what they export"
import filecmp,json,os,shutil,subprocess,sys
from pathlib import Path
import pytest

pytestmark = pytest.mark.slow  # nbdev's commands, in subprocesses

root = Path(__file__).parent.parent
bin_ = Path(sys.executable).parent

def run(*args, cwd=root):
    exe = bin_/args[0]
    return subprocess.run([str(exe) if exe.exists() else args[0], *args[1:]], cwd=cwd, capture_output=True, text=True, timeout=300)

def test_nbdev_test():
    r = run('nbdev-test', '--n-workers', '1', '--do-print')
    assert r.returncode == 0, r.stdout + r.stderr
    done = {l.split()[-1] for l in r.stdout.splitlines() if l.startswith('- Completed')}
    assert {str(p) for p in (root/'nbs').glob('*.ipynb')} <= done

def _nb(src):
    cells = [dict(cell_type='code', id=f'{i:08x}', metadata={}, outputs=[], execution_count=None, source=s) for i,s in enumerate(src)]
    return json.dumps(dict(cells=cells, metadata={}, nbformat=4, nbformat_minor=5))

def test_nbdev_test_can_fail(tmp_path):
    "The runner used above does report a failing cell"
    (tmp_path/'bad.ipynb').write_text(_nb(['from fastcore.test import test_eq', 'test_eq(1, 2)']))
    assert run('nbdev-test', str(tmp_path/'bad.ipynb')).returncode != 0

def _diff(a, b):
    "Files that differ between folders `a` and `b`, ignoring `__pycache__`"
    c = filecmp.dircmp(a, b, ignore=['__pycache__'])
    res = [str(Path(a)/f) for f in c.left_only + c.right_only + c.diff_files + c.funny_files]
    for d in c.common_dirs: res += _diff(Path(a)/d, Path(b)/d)
    return res

def test_export_changes_nothing(tmp_path):
    "Running `nbdev-export` on a copy of the project leaves `cachy/` as it is"
    dst = tmp_path/'repo'
    shutil.copytree(root, dst, ignore=shutil.ignore_patterns('.git', '__pycache__', '_docs', '*.egg-info', '.pytest_cache', 'cachy.jsonl', '.venv*', 'build'))
    r = run('nbdev-export', cwd=dst)
    assert r.returncode == 0, r.stdout + r.stderr
    c = filecmp.dircmp(root/'cachy', dst/'cachy', ignore=['__pycache__'])
    assert _diff(root/'cachy', dst/'cachy') == [], 'cachy/ differs from what nbdev-export makes of nbs/: run nbdev-export'
    assert c.common_files

def test_clean_changes_nothing(tmp_path):
    "The notebooks are committed as `nbdev-clean` leaves them"
    dst = tmp_path/'repo'
    shutil.copytree(root, dst, ignore=shutil.ignore_patterns('.git', '__pycache__', '_docs', '*.egg-info', '.pytest_cache', '.venv*', 'build'))
    r = run('nbdev-clean', cwd=dst)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _diff(root/'nbs', dst/'nbs') == [], 'nbs/ differs from what nbdev-clean makes of it: run nbdev-clean'

def _proc(cwd):
    "Run nbdev's docs processing (the half of `nbdev-docs` before quarto) in `cwd`"
    code = 'from nbdev.serve import proc_nbs; proc_nbs(n_workers=1, force=True)'
    return subprocess.run([sys.executable, '-c', code], cwd=cwd, capture_output=True, text=True, timeout=600)

def test_docs_process(tmp_path):
    "The docs build's processing step runs every notebook's import cells and show_doc without an error or a warning"
    dst = tmp_path/'repo'
    shutil.copytree(root, dst, ignore=shutil.ignore_patterns('.git', '__pycache__', '_docs', '_proc', '*.egg-info', '.pytest_cache', '.venv*', 'build'))
    r = _proc(dst)
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'Found cells containing imports' not in r.stderr, r.stderr
    assert {p.name for p in (root/'nbs').glob('*.ipynb')} <= {p.name for p in (dst/'_proc').glob('*.ipynb')}

def test_docs_process_can_fail(tmp_path):
    "The processing step runs a cell that imports, so a name it uses from a cell it does not run fails the build"
    shutil.copy(root/'pyproject.toml', tmp_path)
    (tmp_path/'nbs').mkdir()
    for f in ('_quarto.yml', 'nbdev.yml'): shutil.copy(root/'nbs'/f, tmp_path/'nbs'/f)
    (tmp_path/'nbs'/'bad.ipynb').write_text(_nb(['#| default_exp bad', '#| export\ndef f(): "A function with docs"', 'x = 1', 'import json\nprint(x)']))
    r = _proc(tmp_path)
    assert r.returncode != 0 and "name 'x' is not defined" in r.stderr, r.stdout + r.stderr

def test_index_replays_offline():
    "The front page runs sealed, with no API key: every call on it is answered from the committed cachy.jsonl"
    env = {k:v for k,v in os.environ.items() if not k.startswith(('CACHY_', 'OPENAI_', 'ANTHROPIC_'))} | {'CACHY_OFFLINE': '1'}
    r = subprocess.run([str(bin_/'nbdev-test'), str(root/'nbs'/'index.ipynb')], cwd=root, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
