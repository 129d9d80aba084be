import gc,os,sys
import pytest
from hypothesis import settings
from cachy import enable_cachy,disable_cachy
from helpers import ours
from server import Server,OKEY,AKEY

pytest_plugins = ['sdk_matrix']  # the README's table of SDKs, from the tests that passed

# Property tests: the same examples on every run, no example database, no deadline (2 shared cores); `HYPOTHESIS_PROFILE=explore`
# draws fresh examples, ten times as many, to look for new failures (see tests/test_properties.py)
settings.register_profile('ci', derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile('explore', max_examples=1000, database=None, deadline=None, print_blob=True)
settings.load_profile(os.environ.get('HYPOTHESIS_PROFILE', 'ci'))

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
    def f(**kw): enable_cachy(**{'cache_dir': tmp_path, 'doms': ours} | kw)
    return f

@pytest.fixture
def cfile(tmp_path): return tmp_path/'cachy.jsonl'

@pytest.fixture
def cached(on, cfile):
    "`cachy.jsonl` in a fresh folder, with cachy on for the loopback host"
    on()
    return cfile

@pytest.fixture
def proxy(srv, monkeypatch):
    "Plain-HTTP requests to any host go to the loopback server, as to a proxy; undone after the test"
    import pycachy_calls
    for k in ('HTTP_PROXY', 'http_proxy'): monkeypatch.setenv(k, '')
    pycachy_calls.via(srv.url)
    return srv

@pytest.fixture
def oai(srv):
    from openai import OpenAI
    with OpenAI(api_key=OKEY, base_url=srv.url+'/v1') as c: yield c

@pytest.fixture
def ant(srv):
    from anthropic import Anthropic
    with Anthropic(api_key=AKEY, base_url=srv.url) as c: yield c

@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    "A test marked `index` (it installs from the package index) must be marked `slow` too, so that `-m 'not slow'` never installs"
    bad = [i.nodeid for i in items if i.get_closest_marker('index') and not i.get_closest_marker('slow')]
    if bad: raise pytest.UsageError(f'marked index but not slow: {", ".join(bad)}')

_imported = 0

def pytest_runtest_setup(item):
    "Modules imported since the last test (at first, the SDKs the test modules import: half a million objects) are frozen out of the cyclic collector, so that a test's `gc.collect()` walks what tests made, not them (0.4 s a call)"
    global _imported
    if len(sys.modules) > _imported: gc.freeze(); _imported = len(sys.modules)

@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    "With `-n` and xdist's default `--dist load`, each test file runs in one worker: the SDKs a file imports lazily and its module fixtures load once, not in every worker (the quick subset with `-n 2`: 75-80 s, against 150 s)"
    if config.getoption('dist') != 'load': return None
    from xdist.scheduler import LoadFileScheduling
    return LoadFileScheduling(config, log)

@pytest.fixture
def aws(monkeypatch, tmp_path):
    "No AWS configuration, credentials or metadata server of this machine reaches botocore"
    for k in [k for k in os.environ if k.startswith('AWS_')]: monkeypatch.delenv(k)
    monkeypatch.setenv('AWS_EC2_METADATA_DISABLED', 'true')
    monkeypatch.setenv('AWS_CONFIG_FILE', str(tmp_path/'no-aws-config'))
    monkeypatch.setenv('AWS_SHARED_CREDENTIALS_FILE', str(tmp_path/'no-aws-credentials'))
