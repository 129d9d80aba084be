"""Issue 16, beyond one chat call: the providers' own hosts cached by default (Azure OpenAI, Vertex AI, Bedrock) with
dummy credentials, the hosts never cached, what replay lets through, the sealed offline mode, the miss message on a
pycachy file, and pycachy's helpers. Provider hosts are reached over plain HTTP through the loopback test server acting
as an HTTP proxy (`pycachy_calls.via`), so the URLs are the providers' own and nothing leaves 127.0.0.1."""
import re,shutil
import httpx,pytest
from cachy import enable_cachy,cachy_stats,doms,no_cachy,ReplayMiss
from helpers import here,ours,py,recs

def replayed(code, tmp_path, *args):
    "What `code` printed run in a fresh process recording, then in another replaying; both must succeed and print the same"
    a,b = [py(code, tmp_path, mode, *args) for mode in ('record', 'replay')]
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    assert a.stdout == b.stdout
    return a.stdout

# 3. The providers most teams use are cached by default, and replay in CI with dummy credentials

_azure = '''
import sys,openai
from cachy import enable_cachy
enable_cachy(cache_dir=sys.argv[1], mode=sys.argv[2])
c = openai.AzureOpenAI(azure_endpoint='http://my-res.openai.azure.com', api_key='dummy-azure-key-0123456789', api_version='2024-10-21')
print(c.chat.completions.create(model='my-deployment', messages=[{'role': 'user', 'content': 'hi azure'}]).choices[0].message.content)
'''

@pytest.mark.slow
def test_azure_openai_default_doms(proxy, tmp_path):
    "Azure OpenAI is cached with the default doms; a dummy api-key replays it; the api-key header is never stored"
    assert replayed(_azure, tmp_path) == 'reply 1: hi azure\n'
    assert proxy.total == 1
    assert proxy.reqs[0]['headers']['api-key'] == 'dummy-azure-key-0123456789'
    rec, = recs(tmp_path/'cachy.jsonl')
    assert rec['url'] == 'http://my-res.openai.azure.com/openai/deployments/my-deployment/chat/completions?api-version=2024-10-21'
    assert 'dummy-azure-key' not in (tmp_path/'cachy.jsonl').read_text()

_vertex = '''
import sys
from google import genai
from google.genai import types
from google.oauth2.credentials import Credentials
from cachy import enable_cachy
enable_cachy(cache_dir=sys.argv[1], mode=sys.argv[2])
c = genai.Client(vertexai=True, project='my-project', location='us-central1', credentials=Credentials(token='dummy-token'),
                 http_options=types.HttpOptions(base_url='http://us-central1-aiplatform.googleapis.com/'))
print(c.models.generate_content(model='gemini-x', contents='hi vertex').text)
'''

@pytest.mark.slow
def test_vertex_default_doms(proxy, tmp_path):
    "Vertex AI is cached with the default doms; a static dummy token needs no refresh, so the replay needs no Google account"
    assert replayed(_vertex, tmp_path) == 'reply 1: hi vertex\n'
    assert proxy.total == 1
    assert proxy.reqs[0]['host'] == 'us-central1-aiplatform.googleapis.com'
    rec, = recs(tmp_path/'cachy.jsonl')
    assert rec['url'].startswith('http://us-central1-aiplatform.googleapis.com/v1beta1/projects/my-project/locations/us-central1/publishers/google/models/gemini-x:')
    assert 'dummy-token' not in (tmp_path/'cachy.jsonl').read_text()

_bedrock = '''
import sys,boto3
from botocore.config import Config
from cachy import enable_cachy
enable_cachy(cache_dir=sys.argv[1], mode=sys.argv[2])
c = boto3.client('bedrock-runtime', region_name='eu-west-1', endpoint_url='http://bedrock-runtime.eu-west-1.amazonaws.com',
                 aws_access_key_id='AKIAIOSFODNN7EXAMPLE', aws_secret_access_key='dummy-secret', config=Config(proxies={'http': sys.argv[3]}))
r = c.converse(modelId='anthropic.claude-x', messages=[{'role': 'user', 'content': [{'text': 'hi bedrock'}]}])
print(r['output']['message']['content'][0]['text'])
'''

def test_bedrock_default_doms(aws, tmp_path):
    "Bedrock's runtime in any region is cached with the default doms; dummy keys sign locally, so the replay needs no AWS account"
    from bedrock_server import Bedrock
    b = Bedrock().start()
    try: out = replayed(_bedrock, tmp_path, b.url)
    finally: b.stop()
    assert out.strip()
    assert b.total == 1
    rec, = recs(tmp_path/'cachy.jsonl')
    assert rec['url'] == 'http://bedrock-runtime.eu-west-1.amazonaws.com/model/anthropic.claude-x/converse'
    assert 'AKIAIOSFODNN7EXAMPLE' not in (tmp_path/'cachy.jsonl').read_text()

@pytest.mark.parametrize('url', ['http://s3.amazonaws.com/bucket/k', 'http://bucket.s3.us-east-1.amazonaws.com/k', 'http://sts.amazonaws.com/',
                                 'http://oauth2.googleapis.com/token', 'http://login.microsoftonline.com/t/oauth2/v2.0/token'])
def test_never_cached(url, proxy, tmp_path):
    "Token services and S3 go live whatever doms says, and nothing of theirs reaches the file"
    enable_cachy(cache_dir=tmp_path, doms=doms+('amazonaws.com', 'googleapis.com', 'microsoftonline.com'))
    with httpx.Client() as c: ns = [c.get(url).json()['n'] for _ in range(2)]
    assert ns == [1, 2]
    assert recs(tmp_path/'cachy.jsonl') == []

def test_pattern_in_doms(proxy, tmp_path):
    "A doms entry with a `*` label caches every host it names, and no other"
    enable_cachy(cache_dir=tmp_path, doms=('*.llm.example',))
    with httpx.Client() as c:
        a = [c.get(f'http://{h}.llm.example/v1/x').json()['n'] for h in ('eu', 'eu', 'us')]
        b = [c.get('http://llm.example/v1/x').json()['n'] for _ in range(2)]
    assert (a, b) == ([1, 1, 2], [3, 4])

# 4. Replay names what it let through; offline lets nothing out

def test_replay_names_what_passed(proxy, tmp_path, capsys):
    enable_cachy(cache_dir=tmp_path, mode='replay', debug=True)
    s0 = cachy_stats()
    with httpx.Client() as c:
        for _ in range(2): c.get('http://api.github.com/repos/x')
    st = cachy_stats()
    assert st['passed']['api.github.com'] - s0['passed'].get('api.github.com', 0) == 2
    assert proxy.total == 2
    assert capsys.readouterr().out.splitlines() == [f"cachy ON replay: {tmp_path/'cachy.jsonl'}, a new file, made on the first recording",
                                                    *['cachy PASS - GET http://api.github.com/repos/x (not in doms)']*2]
    assert '2 passed through live: api.github.com' in repr(stats_like(st, s0))

def stats_like(st, s0):
    "The stats `st` since `s0`, as `cachy_stats()` would give them for that stretch"
    from cachy.core import _Stats
    d = {k: st[k]-s0[k] for k in ('hit', 'miss', 'recorded', 'pass', 'replay_failure', 'saved_tokens')}
    return _Stats(d | dict(passed={h: n-s0['passed'].get(h, 0) for h,n in st['passed'].items() if n-s0['passed'].get(h, 0)},
                           saved_s=st['saved_s']-s0['saved_s'], saved_usd=None, file=None))

def test_offline(proxy, srv, tmp_path, oai):
    "A recorded call is answered; an unrecorded one, a host not in doms, and no_cachy() raise ReplayMiss naming the host; loopback passes"
    enable_cachy(cache_dir=tmp_path, doms=ours)
    with httpx.Client() as c: first = c.post('http://api.openai.com/v1/embeddings', json={'input': 'x'}).json()
    enable_cachy(cache_dir=tmp_path, offline=True)
    n = srv.total
    with httpx.Client() as c:
        assert c.post('http://api.openai.com/v1/embeddings', json={'input': 'x'}).json() == first
        with pytest.raises(ReplayMiss, match=r'no recorded response for POST http://api.openai.com/v1/embeddings'): c.post('http://api.openai.com/v1/embeddings', json={'input': 'y'})
        with pytest.raises(ReplayMiss, match=r'cachy \(offline\): GET http://api.github.com/x would reach api.github.com, which is not in doms'): c.get('http://api.github.com/x')
        with no_cachy(), pytest.raises(ReplayMiss, match='inside no_cachy'): c.get('http://api.openai.com/v1/models')
    assert srv.total == n
    with httpx.Client(trust_env=False) as c: assert c.get(srv.url+'/echo').json()['n'] == n+1
    with pytest.raises(ReplayMiss, match='would reach api.github.com'): pycachy_calls_requests('http://api.github.com/y')
    with pytest.raises(ValueError, match="offline is replay mode, sealed; mode='record'"): enable_cachy(cache_dir=tmp_path, offline=True, mode='record')

@pytest.mark.parametrize('host', ['127.telemetry.example.com', '127.0.0.1.nip.io', 'localhost.example.com', '127.1', '0.0.0.0'])
def test_offline_seals_names_that_look_local(host, proxy, tmp_path):
    "A name that only starts like a loopback address, or an address only C's inet_aton reads as one, is refused without a request"
    enable_cachy(cache_dir=tmp_path, offline=True)
    with httpx.Client() as c, pytest.raises(ReplayMiss, match=f'would reach {re.escape(host)}, which is not in doms'): c.get(f'http://{host}/x')
    assert proxy.total == 0

@pytest.mark.parametrize('host', ['localhost', 'LOCALHOST.', 'localhost.', '[0:0:0:0:0:0:0:1]', '[::1]', '127.8.9.10', '[::ffff:127.0.0.1]'])
def test_offline_lets_loopback_out(host, proxy, tmp_path):
    "Loopback however it is written passes the seal (here to the proxy that stands in for it)"
    enable_cachy(cache_dir=tmp_path, offline=True)
    with httpx.Client() as c: assert c.get(f'http://{host}:9/echo').json()['path'] == '/echo'
    assert proxy.total == 1

def test_offline_loopback_mapped_into_ipv6(srv, tmp_path):
    "127.0.0.1 written as an IPv4-mapped IPv6 address reaches the loopback server itself, through the seal"
    enable_cachy(cache_dir=tmp_path, offline=True)
    with httpx.Client(trust_env=False) as c:
        for h in ('[::ffff:127.0.0.1]', '[0:0:0:0:0:ffff:7f00:1]'): assert c.get(f'http://{h}:{srv.port}/echo').json()['path'] == '/echo'
    assert srv.total == 2

def pycachy_calls_requests(url):
    import requests
    return requests.get(url)

def test_offline_from_the_environment(proxy, tmp_path):
    r = py('''import httpx
from cachy import enable_cachy,ReplayMiss,cachy_stats
enable_cachy(cache_dir=__import__('sys').argv[1])
try: httpx.get('http://api.github.com/x')
except ReplayMiss as e: print(e)
print(cachy_stats()['replay_failure'])''', tmp_path, env={'CACHY_OFFLINE': '1'})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ['cachy (offline): GET http://api.github.com/x would reach api.github.com, which is not in doms; offline mode lets no request out but to loopback hosts.',
                                     "To record it, add 'api.github.com' to doms, as enable_cachy(doms=doms+('api.github.com',)) does, and run this call once with network access in record mode: unset CACHY_OFFLINE and CACHY_MODE.",
                                     '1']
    assert proxy.total == 0

# 5. The miss message on a pycachy file

def test_miss_on_a_pycachy_file(proxy, tmp_path):
    d = tmp_path/'cache'
    shutil.copytree(here/'fixtures'/'pycachy-0.0.22', d)
    enable_cachy(cache_dir=d, mode='replay')
    with httpx.Client() as c, pytest.raises(ReplayMiss) as e: c.post('http://api.openai.com/v1/embeddings', json={'model': 'e', 'input': ['z']})
    why = str(e.value).splitlines()[1]
    assert why == 'Nothing that cachy recorded is for this method and URL. The 11 entries that pycachy recorded keep no method or URL to compare with this call.'
    assert proxy.total == 0

# 6. pycachy's helpers

def test_pycachy_helpers(proxy, tmp_path):
    "`from cachy.core import _cache, _key, _write_cache`, as projects that used pycachy do: an entry written by hand is replayed"
    from cachy.core import _cache,_key,_write_cache
    r = httpx.Request('POST', 'http://api.openai.com/v1/embeddings', json={'input': 'seeded'})
    r.read()
    _write_cache(_key(r, is_stream=False), '{"data": [1]}', tmp_path/'cachy.jsonl', {'content-type': 'application/json'})
    enable_cachy(cache_dir=tmp_path, mode='replay')
    with httpx.Client() as c: assert c.send(r).json() == {'data': [1]}
    assert _cache(_key(r), tmp_path/'cachy.jsonl')['status_code'] == 200
    assert proxy.total == 0
