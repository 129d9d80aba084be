import pytest
from cachy import enable_cachy,disable_cachy,doms
from server import Server,OKEY,AKEY

_env = ('CACHY_MODE', 'CACHY_USED', 'OPENAI_API_KEY', 'OPENAI_BASE_URL', 'OPENAI_ORG_ID', 'OPENAI_PROJECT_ID',
        'ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'ANTHROPIC_BASE_URL', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY',
        'http_proxy', 'https_proxy', 'all_proxy')

@pytest.fixture(scope='session')
def server():
    s = Server().start()
    yield s
    s.stop()

@pytest.fixture
def srv(server):
    "The loopback server, with its counts reset"
    server.reset()
    return server

@pytest.fixture(autouse=True)
def _isolate(monkeypatch):
    "No cachy environment or provider credentials leak in; cachy is off after every test"
    for k in _env: monkeypatch.delenv(k, raising=False)
    disable_cachy()
    yield
    disable_cachy()

@pytest.fixture
def on(tmp_path):
    "Enable cachy on a fresh `cachy.jsonl` in `tmp_path`, with the loopback host allowed"
    def f(**kw): enable_cachy(**{'cache_dir': tmp_path, 'doms': doms+('127.0.0.1',)} | kw)
    return f

@pytest.fixture
def cfile(tmp_path): return tmp_path/'cachy.jsonl'

@pytest.fixture
def cached(on, cfile):
    "`cachy.jsonl` in a fresh folder, with cachy on for the loopback host"
    on()
    return cfile

@pytest.fixture
def oai(srv):
    from openai import OpenAI
    with OpenAI(api_key=OKEY, base_url=srv.url+'/v1') as c: yield c

@pytest.fixture
def ant(srv):
    from anthropic import Anthropic
    with Anthropic(api_key=AKEY, base_url=srv.url) as c: yield c

# The README's table of SDKs is generated from the tests that passed: `@pytest.mark.sdk(dist, *ways)` says that a
# test proves cachy caches distribution `dist` in `ways` (sync, async, stream); each pytest run writes what passed
# to build/sdk-matrix/ (one file per environment, updated for the SDKs it ran), and `python tools/readme.py --sdk-table`
# puts it in the README.
import hashlib,json,re,sys
from importlib.metadata import requires,version
from pathlib import Path

_matrix = {}

def pytest_configure(config):
    config.addinivalue_line('markers', 'sdk(dist, *ways): the test proves that SDK `dist` is cached in `ways` (sync, async, stream)')

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    rep = (yield).get_result()
    if rep.when != 'call': return
    for m in item.iter_markers('sdk'):
        dist,*ways = m.args
        d = _matrix.setdefault(dist, {'ways': set(), 'failed': False})
        if rep.passed: d['ways'].update(ways)
        else: d['failed'] = True

def _via(dist):
    "The HTTP clients that `dist` requires (without extras), which cachy patches beneath it"
    names = {re.split(r'[ ;<>=!~\[(]', r)[0].lower() for r in requires(dist) or () if 'extra ==' not in r}
    return ', '.join(c for c in ('httpx2', 'httpx', 'aiohttp', 'requests', 'botocore') if c in names) or dist

def pytest_sessionfinish(session, exitstatus):
    if not _matrix: return
    out = Path(__file__).resolve().parent.parent/'build'/'sdk-matrix'
    out.mkdir(parents=True, exist_ok=True)
    f = out/f'{hashlib.sha256(sys.prefix.encode()).hexdigest()[:12]}.json'
    rows = {r['sdk']:r for r in json.loads(f.read_text())} if f.exists() else {}
    rows |= {k:dict(sdk=k, version=version(k), via=_via(k), ways=sorted(v['ways'] if not v['failed'] else ()),
                    python=sys.version.split()[0]) for k,v in _matrix.items()}
    f.write_text(json.dumps(sorted(rows.values(), key=lambda r: r['sdk']), indent=1))
