"""The README's table of SDKs, generated from the tests that passed (a plugin, loaded by conftest.py's `pytest_plugins`).

`@pytest.mark.sdk(dist, *ways)` says that a test proves cachy caches distribution `dist` in `ways` (sync, async, stream);
`api=` names a row of its own for one API of it, and `via=` what it sends through where its requirements do not say
(`@pytest.mark.sdk('openai', 'sync', api='realtime.connect', via='websockets')`);
each pytest run writes what passed to build/sdk-matrix/ (one file per environment, updated for the SDKs it ran; with
pytest-xdist, the controller writes what all its workers found), and
`python tools/readme.py --sdk-table` puts it in the README.

A framework runs in a virtual environment of its own, so its test says what ran there: a user property
`('framework', dict(dist=, version=, via=[SDKs that sent its calls], ways=[runs replayed offline]))`. Those rows carry
`kind: 'framework'`."""
import hashlib,json,re,sys
from importlib.metadata import requires,version
from pathlib import Path
import pytest

_matrix,_frameworks = {},{}

def pytest_configure(config):
    config.addinivalue_line('markers', 'sdk(dist, *ways, api=None, via=None): the test proves that SDK `dist` (its API `api`) is cached in `ways` (sync, async, stream)')

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    rep = (yield).get_result()
    if rep.when != 'call': return
    for m in item.iter_markers('sdk'):
        dist,*ways = m.args
        d = _matrix.setdefault(' '.join(filter(None, (dist, m.kwargs.get('api')))), {'ways': set(), 'failed': False, 'via': m.kwargs.get('via')})
        if rep.passed: d['ways'].update(ways)
        else: d['failed'] = True
    for k,v in item.user_properties:
        if k != 'framework': continue
        d = _frameworks.setdefault(v['dist'], {'ways': set(), 'failed': False, 'version': None, 'via': set()})
        d['version'] = v['version'] or d['version']
        if rep.passed: d['ways'].update(v['ways']); d['via'].update(v['via'])
        else: d['failed'] = True

def _via(dist):
    "The HTTP clients that `dist` requires (without extras), which cachy patches beneath it"
    names = {re.split(r'[ ;<>=!~\[(]', r)[0].lower() for r in requires(dist) or () if 'extra ==' not in r}
    return ', '.join(c for c in ('httpx2', 'httpx', 'aiohttp', 'requests', 'botocore') if c in names) or dist

@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    "A pytest-xdist worker's findings, added to the controller's, which alone writes the file"
    out = getattr(node, 'workeroutput', {})
    for k,v in out.get('sdk_matrix', {}).items():
        d = _matrix.setdefault(k, {'ways': set(), 'failed': False, 'via': v.get('via')})
        d['ways'].update(v['ways'])
        d['failed'] |= v['failed']
    for k,v in out.get('frameworks', {}).items():
        d = _frameworks.setdefault(k, {'ways': set(), 'failed': False, 'version': None, 'via': set()})
        d['version'] = v['version'] or d['version']
        d['ways'].update(v['ways']); d['via'].update(v['via'])
        d['failed'] |= v['failed']

def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, 'workeroutput'):
        session.config.workeroutput['sdk_matrix'] = {k: dict(ways=sorted(v['ways']), failed=v['failed'], via=v.get('via')) for k,v in _matrix.items()}
        session.config.workeroutput['frameworks'] = {k: v | dict(ways=sorted(v['ways']), via=sorted(v['via'])) for k,v in _frameworks.items()}
        return
    if not _matrix and not _frameworks: return
    out = Path(__file__).resolve().parent.parent/'build'/'sdk-matrix'
    out.mkdir(parents=True, exist_ok=True)
    f = out/f'{hashlib.sha256(sys.prefix.encode()).hexdigest()[:12]}.json'
    rows = {r['sdk']:r for r in json.loads(f.read_text())} if f.exists() else {}
    rows |= {k:dict(sdk=k, version=version(k.split()[0]), via=v.get('via') or _via(k.split()[0]), ways=sorted(v['ways'] if not v['failed'] else ()),
                    python=sys.version.split()[0]) for k,v in _matrix.items()}
    rows |= {k:dict(sdk=k, kind='framework', version=v['version'], via=', '.join(sorted(v['via'])), ways=sorted(v['ways'] if not v['failed'] else ()),
                    python=sys.version.split()[0]) for k,v in _frameworks.items()}
    f.write_text(json.dumps(sorted(rows.values(), key=lambda r: r['sdk']), indent=1))
