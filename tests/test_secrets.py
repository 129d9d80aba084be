"""No credential reaches `cachy.jsonl`, however its name is written or its value encoded, and `cachy check` finds the key of
every default provider that has a format (issue 22). Hypothesis draws the names, the values and the keys; requests go
through httpx to the loopback server, with cachy on as a user runs it."""
import base64,contextlib,io,json,string,tempfile
from pathlib import Path
from urllib.parse import quote,quote_plus,urlencode
import httpx,pytest
from hypothesis import HealthCheck,given,settings,strategies as st
from cachy import enable_cachy,disable_cachy,ReplayMiss
from cachy.cli import main
from cachy.creds import secret_name,secret_param
from helpers import msgs,ours,recs,cli

settings.register_profile('cachy', database=None, deadline=None)  # no example database in the clone; requests take a few ms
settings.load_profile('cachy')
fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

# Names: what a word means, in any case style

creds = ['key', 'token', 'secret', 'password', 'passwd', 'passphrase', 'signature', 'credentials', 'creds', 'auth', 'authorization', 'cookie', 'sig']
quals = [[], ['api'], ['access'], ['client'], ['refresh'], ['session'], ['subscription'], ['private'], ['secret'], ['bearer'], ['id'], ['x', 'api'],
         ['ocp', 'apim', 'subscription'], ['x', 'amz', 'security'], ['db'], ['my', 'app']]
harmless = [['max', 'tokens'], ['input', 'tokens'], ['page', 'token'], ['next', 'page', 'token'], ['next', 'token'], ['continuation', 'token'],
            ['prompt', 'cache', 'key'], ['idempotency', 'key'], ['thought', 'signature'], ['cache', 'key'], ['sort', 'key'], ['keywords'],
            ['monkey'], ['key', 'hdrs'], ['secret', 'name'], ['tokens'], ['keys'], ['stop', 'token'], ['public', 'key'], ['token', 'count'], ['model']]

def styled(ws, style):
    "Words `ws` written in one of the case styles clients use"
    if style == 'snake': return '_'.join(ws)
    if style == 'kebab': return '-'.join(ws)
    if style == 'upper': return '_'.join(ws).upper()
    if style == 'header': return '-'.join(w.capitalize() for w in ws)
    if style == 'camel': return ws[0] + ''.join(w.capitalize() for w in ws[1:])
    return ''.join(w.capitalize() for w in ws)

styles = st.sampled_from(['snake', 'kebab', 'upper', 'header', 'camel', 'pascal'])
cred_names = st.builds(lambda q,c,s,n: styled([*q, c], s) + n, st.sampled_from(quals), st.sampled_from(creds), styles, st.sampled_from(['', '1', '2']))

@given(cred_names)
def test_credential_names_in_any_style(name):
    "A qualifier and a credential word, in any case style, with a number after it or not: a credential, in a body and in a URL"
    assert secret_name(name) and secret_param(name), name

@given(st.sampled_from(harmless), styles)
def test_harmless_names_in_any_style(ws, style):
    "A count, a page cursor, a routing key or a model's thought signature is no credential, however it is written: it stays in the key and in previews"
    name = styled(ws, style)
    assert not secret_name(name) and not secret_param(name), name

# Values: none reaches the file, in any encoding

def encodings(v):
    "The ways `v` can be written in a line of `cachy.jsonl`"
    return {v, quote(v, safe=''), quote_plus(v), json.dumps(v)[1:-1], base64.b64encode(v.encode()).decode().rstrip('='), v.encode().hex()}

values = st.text(string.ascii_letters + string.digits + '-_.~+/=%&', min_size=14, max_size=40).filter(lambda v: any(c.isdigit() for c in v) and any(c.isalpha() for c in v))

@pytest.fixture(scope='module')
def client():
    with httpx.Client() as c: yield c

@settings(fixture_ok, max_examples=40)
@given(name=cred_names, value=values, where=st.sampled_from(['query', 'field', 'container', 'list']))
def test_no_credential_reaches_the_file(name, value, where, srv, client):
    "A credential sent in the query, as a field, under a container named like a credential, or in a list under one: in no encoding in the file"
    body = {'model': 'm', 'messages': msgs('hi')}
    if where == 'field': body['settings'] = {name: value}
    if where == 'container': body[name] = {'type': 'basic', 'value': value}
    if where == 'list': body['config'] = {name: [value, {'value': value}]}
    q = urlencode({'alt': 'json', name: value} if where == 'query' else {'alt': 'json'})
    with tempfile.TemporaryDirectory() as d:
        enable_cachy(cache_dir=d, doms=ours)
        try:
            client.post(f'{srv.url}/v1/chat/completions?{q}', json=body).raise_for_status()
        finally: disable_cachy()
        text = (Path(d)/'cachy.jsonl').read_text()
    assert text.count('\n') == 1
    assert not [e for e in encodings(value) if e in text], (name, value, where)
    assert '/v1/chat/completions?alt=json"' in text

# Keys: each default provider's format is flagged by `cachy check`

alnum = string.ascii_letters + string.digits
def key(prefix, alphabet, n): return st.text(alphabet, min_size=n, max_size=n).map(lambda s: prefix + s)
provider_keys = {
    'an Anthropic key': key('sk-ant-api03-', alnum + '-_', 93), 'an OpenRouter key': key('sk-or-v1-', '0123456789abcdef', 64),
    'an OpenAI key (or DeepSeek, Moonshot)': st.one_of(key('sk-proj-', alnum + '-_', 120), key('sk-', '0123456789abcdef', 32), key('sk-', alnum, 48)),
    'a Groq key': key('gsk_', alnum, 52), 'an xAI key': key('xai-', alnum, 80), 'a Fireworks key': key('fw_', alnum, 24),
    'a Together key': key('tgp_v1_', alnum + '-_', 43), 'a Google API key': key('AIza', alnum + '-_', 35),
    'a Vertex AI express key': key('AQ.Ab8RN6', alnum + '-_', 44), 'a Google OAuth token': key('ya29.', alnum + '-_', 100),
    'an Amazon Bedrock API key': st.one_of(key('ABSKQmVkcm9ja0FQSUtleS', alnum + '+/', 100), key('bedrock-api-key-', alnum + '+/', 200)),
    'an AWS access key id': key('AKIA', string.ascii_uppercase + string.digits, 16)}

def check(tmp, lines):
    "`cachy check`'s exit code and output on a `cachy.jsonl` of `lines`"
    (tmp/'cachy.jsonl').write_text(''.join(json.dumps(l) + '\n' for l in lines))
    out = io.StringIO()
    with contextlib.redirect_stdout(out): rc = main(['check', '--cache-dir', tmp])
    return rc,out.getvalue()

@fixture_ok
@given(st.sampled_from(list(provider_keys)).flatmap(lambda k: st.tuples(st.just(k), provider_keys[k])), st.sampled_from(['', 'my key is ', '\n', 'key=']))
def test_check_flags_provider_keys(tmp_path, kind_key, before):
    "A key of any default provider's format, anywhere in a record, fails the check, named by its kind; only its first 12 characters are printed"
    kind,k = kind_key
    rc,out = check(tmp_path, [dict(key='k'*24, response=f'{before}{k}')])
    assert rc == 1
    assert f': looks like {kind}: {k[:12]}…' in out, out
    assert k[:13] not in out

@fixture_ok
@given(st.text(string.ascii_lowercase + ' .,;:!?\n', max_size=300))
def test_check_passes_prose(tmp_path, text):
    "Prose holds nothing that looks like a key"
    assert check(tmp_path, [dict(key='k'*24, response=text)])[0] == 0

# A password in the URL never reaches the file, the key, or what cachy prints

def test_userinfo_removed(srv, on, cfile, capsys):
    u = srv.url.replace('http://', 'http://ann:PW-SECRET@')
    on(debug=True)
    with httpx.Client() as c: a,b = c.get(u+'/echo?q=1').json(),c.get(srv.url+'/echo?q=1').json()
    assert a == b
    assert srv.total == 1
    enable_cachy(cache_dir=cfile.parent, doms=ours, mode='replay')
    with httpx.Client() as c, pytest.raises(ReplayMiss) as e: c.get(u+'/echo?q=2')
    assert 'PW-SECRET' not in cfile.read_text()
    assert 'PW-SECRET' not in capsys.readouterr().out
    assert 'PW-SECRET' not in str(e.value)
    assert 'ann' not in recs(cfile)[0]['url']

def test_check_flags_userinfo(tmp_path):
    (tmp_path/'cachy.jsonl').write_text(json.dumps(dict(key='k', response='', url='https://ann:pw@api.x.ai/v1')) + '\n')
    rc,o,_ = cli('check', '--cache-dir', tmp_path)
    assert rc == 1
    assert f"{tmp_path/'cachy.jsonl'}:1: the URL carries a user name or password" in o.splitlines()

# Credentials named in any case style are never previewed

def test_credential_fields_hidden(srv, on, cfile, oai):
    on()
    creds = dict(accessToken='tok-SECRET-1', authToken='tok-SECRET-2', clientSecret='SECRET-3', privateKey='SECRET-4',
                 sessionToken='tok-SECRET-5', apiKey='SECRET-6', password='SECRET-7', API_KEY='SECRET-8', **{'x-api-key': 'SECRET-9'})
    oai.chat.completions.create(model='m', messages=msgs('hi'), extra_body={'metadata': creds})
    txt = cfile.read_text()
    assert 'SECRET' not in txt
    parts = recs(cfile)[0]['req']['parts']
    assert parts['metadata.accessToken'] == ['', '(hidden)']
    rc,o,_ = cli('check', '--cache-dir', cfile.parent)
    assert rc == 0, o

def test_credential_containers_hidden(srv, on, cfile, oai):
    "Values under a container named like a credential (`auth.value`, `credentials[0].value`, `password[0]`) get neither preview nor digest"
    on()
    extra = {'auth': {'type': 'basic', 'value': 'SECRET-1'}, 'credentials': [{'value': 'SECRET-2', 'kind': 'x'}], 'password': ['SECRET-3'],
             'config': {'oauth': {'client': {'id': 'SECRET-4'}}}, 'metadata': {'run': 'visible'}}
    oai.chat.completions.create(model='m', messages=msgs('hi'), extra_body=extra)
    assert 'SECRET' not in cfile.read_text()
    parts = recs(cfile)[0]['req']['parts']
    assert {p: v for p,v in parts.items() if p.startswith(('auth', 'credentials', 'password', 'config'))} and \
           all(v == ['', '(hidden)'] for p,v in parts.items() if p.startswith(('auth', 'credentials', 'password', 'config')))
    assert "'visible'" in json.dumps(parts)
    rc,o,_ = cli('check', '--cache-dir', cfile.parent)
    assert rc == 0, o

_keys = {'a Groq key': 'gsk_' + 'aB3dE6'*9, 'an xAI key': 'xai-' + 'Zq9Wm2'*14, 'an OpenRouter key': 'sk-or-v1-' + '0f3a'*16,
         'a Fireworks key': 'fw_' + 'Qm8Rt2'*4, 'a Together key': 'tgp_v1_' + 'Ab_9-z'*7, 'an Amazon Bedrock API key': 'ABSKQmVkcm9ja0FQSUtleS1' + 'YWJj'*20,
         'a Vertex AI express key': 'AQ.Ab8RN6' + 'Lx_2-9'*8, 'a Google OAuth token': 'ya29.a0AfB_' + 'byC9xz'*10,
         'an OpenAI key (or DeepSeek, Moonshot)': 'sk-' + '5e1d'*8, 'an Anthropic key': 'sk-ant-api03-' + 'Xy7_'*20}

def test_check_flags_every_provider_key(tmp_path):
    "A key of each default provider that has a format, pasted into a prompt, fails `cachy check`, which names its kind and prints its first characters only"
    p = tmp_path/'cachy.jsonl'
    p.write_text(''.join(json.dumps(dict(key=f'k{i}', response=f'you said: my key is {k}')) + '\n' for i,k in enumerate(_keys.values())))
    rc,o,_ = cli('check', '--cache-dir', tmp_path)
    assert rc == 1
    assert o.splitlines()[:-1] == [f'{p}:{i+1}: looks like {w}: {k[:12]}…' for i,(w,k) in enumerate(_keys.items())]
    assert not any(k[12:] in o for k in _keys.values())

def test_check_flags_what_an_earlier_cachy_let_through(tmp_path):
    "A record written before names were read by meaning: a `subscription-key` or `password` in its URL, a value previewed under `auth`"
    p = tmp_path/'cachy.jsonl'
    sk = {'stream': False, 'hdrs': {}, 'shape': {'auth': '{value}'}, 'parts': {'auth.value': ['1a2b3c4d', "'hunter2'"], 'password[0]': ['5e6f7a8b', "'hunter3'"], 'q': ['9c0d1e2f', "'hi'"]}}
    p.write_text(json.dumps(dict(key='k'*24, response='', url='https://apim.azure-api.net/openai/x?subscription-key=abc&password=pw&pageToken=2', req=sk)) + '\n')
    rc,o,_ = cli('check', '--cache-dir', tmp_path)
    assert rc == 1
    assert o.splitlines() == [f"{p}:1: the URL carries a credential: password, subscription-key",
                              f"{p}:1: the request's sketch shows a value under a credential's name: auth.value, password[0]", f'cachy check: 2 problems in {p}']
