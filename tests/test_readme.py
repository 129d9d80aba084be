"README.md and nbs/index.ipynb tell one story: the README is what tools/readme.py makes of the notebook"
import json,sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root/'tools'))
import readme

def test_readme_is_made_from_index():
    assert (root/'README.md').read_text() == readme.render(json.loads((root/'nbs'/'index.ipynb').read_text())), \
        'README.md differs from nbs/index.ipynb: edit the notebook, then run python tools/readme.py'

def test_check_fails_on_drift(tmp_path, monkeypatch):
    "The check used above does catch a README edited by hand"
    (tmp_path/'README.md').write_text((root/'README.md').read_text() + 'edited by hand\n')
    monkeypatch.setattr(readme, 'readme', tmp_path/'README.md')
    assert readme.main(['--check']) == 1
    monkeypatch.setattr(readme, 'readme', root/'README.md')
    assert readme.main(['--check']) == 0

def test_render():
    nb = dict(cells=[dict(cell_type='markdown', source=['# t\n', '\n', '> s']),
                     dict(cell_type='code', source=['#| hide\n', 'secret()'], outputs=[]),
                     dict(cell_type='code', source=['#| eval: false\n', 'f(1)'], outputs=[dict(output_type='execute_result', data={'text/plain': ['2']})])])
    assert readme.render(nb) == '# t\n\n> s\n\n```python\nf(1)\n```\n\n```\n2\n```\n'
