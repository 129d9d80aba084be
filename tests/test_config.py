"`[tool.nbdev]` in pyproject.toml is authoritative; settings.ini mirrors it and must not drift"
import configparser,tomllib
from pathlib import Path
import pytest
import cachy

root = Path(__file__).parent.parent
pp = tomllib.loads((root/'pyproject.toml').read_text())
ini = configparser.ConfigParser(interpolation=None)
ini.read(root/'settings.ini')
ini = ini['DEFAULT']
nbdev,proj = pp['tool']['nbdev'],pp['project']

def _norm(v):
    "A `[tool.nbdev]` value as settings.ini writes it"
    return str(v) if not isinstance(v, bool) else str(v).lower()

def test_nbdev_keys_present():
    for k in ('lib_path', 'nbs_path', 'doc_path', 'branch', 'tst_flags', 'readme_nb', 'jupyter_hooks'): assert k in nbdev, k

@pytest.mark.parametrize('k', sorted(nbdev))
def test_shared_nbdev_key(k):
    "Every `[tool.nbdev]` key is mirrored with the same value"
    assert k in ini, f'settings.ini lacks {k}'
    if isinstance(nbdev[k], bool): assert ini.getboolean(k) == nbdev[k]
    else: assert ini[k] == _norm(nbdev[k])

def test_ini_nbdev_keys_in_pyproject():
    "No nbdev setting lives only in settings.ini"
    known = {'repo', 'lib_name', 'version', 'description', 'license', 'min_python', 'requirements',
             'dev_requirements', 'console_scripts', 'user', 'author', 'author_email', 'keywords', 'copyright', 'language'}
    assert set(ini) - known - set(nbdev) == set()

def test_paths_exist():
    assert (root/nbdev['lib_path']/'__init__.py').exists() and (root/nbdev['nbs_path']).is_dir()
    assert ini['lib_name'] == proj['name'] == 'cachy-llm', 'the distribution: `cachy` on PyPI is another project'
    assert nbdev['lib_path'] == 'cachy'

def test_version():
    assert pp['tool']['setuptools']['dynamic']['version'] == {'attr': 'cachy.__version__'}
    assert 'version' in proj.get('dynamic', [])
    assert ini['version'] == cachy.__version__

def test_description_license():
    assert ini['description'] == proj['description']
    assert {'apache2': 'Apache-2.0', 'mit': 'MIT', 'bsd3': 'BSD-3-Clause'}[ini['license']] == proj['license']
    assert (root/'LICENSE').read_text().lstrip().startswith('Apache License') == (proj['license'] == 'Apache-2.0')

def test_python_and_requirements():
    assert proj['requires-python'] == '>=' + ini['min_python']
    assert set(ini['requirements'].split()) == set(proj['dependencies'])
    assert set(ini['dev_requirements'].split()) == set(proj['optional-dependencies']['dev'])
    assert dict(s.split('=', 1) for s in ini['console_scripts'].split()) == proj['scripts']
