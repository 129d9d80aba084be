"""The project's own files: the nbdev 3 docs config that nbdev-new makes, and the pre-commit hook that cachy offers."""
import json,shutil,subprocess,sys
from pathlib import Path
import yaml
from envs import script

root = Path(__file__).resolve().parent.parent

def test_quarto_files_are_nbdevs(tmp_path):
    "nbs/_quarto.yml and nbs/nbdev.yml are what nbdev's refresh_quarto_yml makes of pyproject.toml, so nbdev-readme and nbdev-docs find them"
    for f in ('pyproject.toml', 'settings.ini'): shutil.copy(root/f, tmp_path/f)
    (tmp_path/'nbs').mkdir()
    r = subprocess.run([sys.executable, '-c', 'from nbdev.quarto import refresh_quarto_yml; refresh_quarto_yml()'], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for f in ('_quarto.yml', 'nbdev.yml'): assert (root/'nbs'/f).read_text() == (tmp_path/'nbs'/f).read_text(), f
    assert yaml.safe_load((root/'nbs'/'_quarto.yml').read_text())['format']['html']['css'] == 'styles.css'
    assert (root/'nbs'/'styles.css').exists()

def hook():
    "The one hook `.pre-commit-hooks.yaml` offers"
    hs = yaml.safe_load((root/'.pre-commit-hooks.yaml').read_text())
    assert isinstance(hs, list) and len(hs) == 1
    return hs[0]

def test_pre_commit_hook_manifest():
    "The fields pre-commit requires of a hook, and a file pattern that matches cachy.jsonl wherever it is"
    import re
    h = hook()
    assert {'id', 'name', 'entry', 'language'} <= set(h)
    assert h['id'] == 'cachy-check'
    assert h['language'] == 'python'
    assert [bool(re.search(h['files'], f)) for f in ('cachy.jsonl', 'nbs/cachy.jsonl', 'cachy.jsonl.bak', 'xcachy.jsonl')] == [True, True, False, False]

def test_pre_commit_hook_runs(tmp_path):
    "The hook's command, run as pre-commit runs it (from the repository root, no file names), passes a clean file and fails one holding a key"
    cmd = hook()['entry'].split()
    assert cmd[0] == 'cachy'
    (tmp_path/'pyproject.toml').write_text('')
    (tmp_path/'cachy.jsonl').write_text(json.dumps(dict(key='k', response='fine')) + '\n')
    run = lambda: subprocess.run([script('cachy'), *cmd[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run().returncode == 0
    (tmp_path/'cachy.jsonl').write_text(json.dumps(dict(key='k', response='my key is sk-proj-' + 'Q'*30)) + '\n')
    r = run()
    assert r.returncode == 1
    assert 'looks like an OpenAI key' in r.stdout
