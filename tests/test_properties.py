"""Properties over open-ended input (issue 22), with hypothesis: keys that change exactly when the request does, header
bytes that pass through untouched to hosts outside `doms`, a `cachy.jsonl` that no appended bytes can cost a record, and
credentials that never leave a URL or a sketch. The profile in conftest draws the same examples on every run (`ci`);
`HYPOTHESIS_PROFILE=explore pytest tests/test_properties.py` draws fresh ones, ten times as many."""
import asyncio,base64,gzip,json,random,re,socket,threading,zlib
from functools import partial
from urllib.parse import quote,quote_plus
import httpx,pytest
from hypothesis import given,settings,assume,reject,example,note,strategies as st
import cachy.core as core
import cachy.key as keying
from cachy import enable_cachy,disable_cachy
from cachy.core import _key

def scaled(n):
    "`n` examples under the `ci` profile (which keeps hypothesis's default of 100), ten times as many under `explore`"
    return settings(max_examples=max(1, n*settings.default.max_examples//100))

# Requests: JSON values, their spellings, URLs, headers

chars = st.characters(exclude_categories=('Cs',))  # any text a client can send as UTF-8
texts = st.text(chars, max_size=12)
ints = st.one_of(st.integers(-10, 10), st.integers(-2**53-2, 2**53+2), st.sampled_from([2**53-1, 2**53, 2**53+1, -2**53, 2**63, 10**300]), st.integers())
floats = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.one_of(st.none(), st.booleans(), ints, floats, texts)
_linkish = {'tool_call_id', 'tool_use_id', 'call_id', 'toolUseId', 'id', 'type', 'functionCall', 'functionResponse', 'prompt_cache_key'}
names = st.one_of(texts, st.sampled_from(['model', 'messages', 'role', 'content', 'text', 'stream', 'n'])).filter(lambda k: k not in _linkish)
def values(keys=names): return st.recursive(scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(keys, c, max_size=4), max_leaves=12)
json_values = values()
bodies = st.dictionaries(names, json_values, max_size=5)
# for the properties that must hold whatever the body holds: also the names that `_links` and `_json` treat apart
any_names = names | st.sampled_from(sorted(_linkish))
any_bodies = st.dictionaries(any_names, values(any_names), max_size=5)

def same(a, b):
    "Whether JSON values `a` and `b` are equal as values: numbers by value, but `true` is not `1`"
    if isinstance(a, bool) or isinstance(b, bool): return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)): return a == b
    if type(a) is not type(b): return False
    if isinstance(a, dict): return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list): return len(a) == len(b) and all(map(same, a, b))
    return a == b

def spell(o, r):
    "JSON text of `o` as some client may write it, choices from random `r`: key order, spacing, escapes, `1.0` for `1`, float digits"
    sep,comma = r.choice([(':', ','), (': ', ', '), (' : ', ' ,\n  ')])
    asc,slash = r.random() < .5, r.random() < .3
    def w(o):
        if o is None or isinstance(o, bool): return json.dumps(o)
        if isinstance(o, int):
            return r.choice([str(o), f'{o}.0', f'{o}e0', f'{o}.000E+0']) if abs(o) < 2**53 else str(o)
        if isinstance(o, float):  # a whole float from 2**53 up stays a float, as `_num` keeps it: written as an int, it is another key
            return r.choice([repr(o), '%.17g' % o, '%.17e' % o]) if abs(o) < 2**53 or not o.is_integer() else repr(o)
        if isinstance(o, str):
            s = json.dumps(o, ensure_ascii=asc)
            return s.replace('/', '\\/') if slash else s
        if isinstance(o, list): return '[' + comma.join(map(w, o)) + ']'
        ks = list(o)
        r.shuffle(ks)
        return '{' + comma.join(w(k) + sep + w(o[k]) for k in ks) + '}'
    return r.choice(['', ' ', '\n']) + w(o) + r.choice(['', '\n', ' \r\n'])

def pack(b, r):
    "`(bytes, content-encoding)`: body `b` sent as is, gzip-compressed (any level and time) or deflate-compressed"
    how = r.choice(['identity', 'gzip', 'deflate'])
    if how == 'gzip': return gzip.compress(b, compresslevel=r.randint(0, 9), mtime=r.randint(0, 2**31)),how
    if how == 'deflate': return zlib.compress(b, r.randint(0, 9)),how
    return b,None

key_hdrs = st.fixed_dictionaries({}, optional={
    'anthropic-beta': st.lists(st.text('abcdefghij-0123456789', min_size=1, max_size=8), min_size=1, max_size=3, unique=True),
    'anthropic-version': st.sampled_from(['2023-06-01', '2026-10-21']), 'openai-beta': st.sampled_from(['assistants=v2', 'responses=v1'])})
segments = st.lists(st.text('abcxyz0189-_.~', min_size=1, max_size=6).filter(lambda s: s not in ('.', '..')), min_size=1, max_size=3)
param_names = st.text(chars, min_size=1, max_size=6).filter(lambda k: not core.secret_param(k))
params = st.lists(st.tuples(param_names, st.text(chars, max_size=6)), max_size=4)
methods = st.sampled_from(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])

@st.composite
def specs(draw, body=bodies):
    "What a request is made of: method, host, path, query, key headers and JSON body"
    return dict(method=draw(methods), host=draw(st.sampled_from(['api.openai.com', 'api.anthropic.com', 'eu.api.x.ai'])),
                path=draw(segments), params=draw(params), hdrs=draw(key_hdrs), body=draw(body))

def query(ps, r):
    "The query string of pairs `ps`, each character encoded as some client may encode it"
    def enc(s):
        how = r.choice(['quote', 'plus', 'all'])
        if how == 'all': return ''.join('%%%02X' % b for b in s.encode())
        return quote_plus(s) if how == 'plus' else quote(s, safe='')
    return '&'.join(f'{enc(k)}={enc(v)}' for k,v in ps)

def request(spec, r=None, base=None):
    "The httpx request of `spec` (to `base`, else its host): written plainly, or, given random `r`, spelled as some other client may send the same request"
    ps,hs = list(spec['params']),[('content-type', 'application/json')]
    for k,v in spec['hdrs'].items():
        v = ','.join(v) if isinstance(v, list) else v
        hs.append((k, v))
    body = spec['body']
    if r is None: return httpx.Request(spec['method'], f"{base or 'https://'+spec['host']}/{'/'.join(spec['path'])}" + ('?'+query(ps, random.Random(0)) if ps else ''),
                                       headers=hs, content=json.dumps(body).encode())
    for n in range(r.randint(0, 2)): ps.insert(r.randint(0, len(ps)), (r.choice(['key', 'api_key', 'API-KEY', 'apiKey', 'sig', 'X-Amz-Signature']), r.choice(['s3cr3t', 'x'*40])))
    ps = shuffled_by_name(ps, r)
    hs = []
    for k,v in spec['hdrs'].items():
        if isinstance(v, list): v = r.choice([',', ', ', ' ,']).join(r.sample(v, len(v)))
        hs.append((r.choice([k, k.upper(), k.title()]), r.choice(['', ' ']) + v))
    hs += [('Content-Type', r.choice(['application/json', 'application/json; charset=utf-8'])),
           ('user-agent', f'SDK/{r.randint(0, 99)}'), ('x-stainless-retry-count', str(r.randint(0, 3))), ('authorization', f'Bearer sk-{r.random()}')]
    r.shuffle(hs)
    if isinstance(body, dict) and r.random() < .5: body = body | {'prompt_cache_key': str(r.random())}
    content,enc = pack(spell(body, r).encode(), r)
    if enc: hs.append(('content-encoding', enc))
    return httpx.Request(spec['method'], f"{base or 'https://'+spec['host']}/{'/'.join(spec['path'])}" + ('?'+query(ps, r) if ps else ''), headers=hs, content=content)

def shuffled_by_name(ps, r):
    "Pairs `ps` in another order, those with the same name kept in their order (a repeated parameter's order can matter)"
    order = list(dict.fromkeys(k for k,_ in ps))
    r.shuffle(order)
    return [p for k in order for p in ps if p[0] == k]

# Keys: the same for every spelling of one request

_schema = {'type': 'object', 'properties': {'id': {'type': 'string'}, 'type': {'type': ['string', 'null']}}}  # found: `_links` raised on it

@scaled(100)
@given(specs(any_bodies), st.randoms(use_true_random=False))
@example(dict(method='POST', host='api.openai.com', path=['v1'], params=[], hdrs={}, body={'tools': [{'type': 'function', 'parameters': _schema}]}), random.Random(1))
def test_one_request_one_key(spec, r):
    "Key order, JSON spacing and escapes, `1.0` for `1`, float digits, compression, query order and encoding, header case and "
    "list order, credentials in the query, volatile headers and `prompt_cache_key`: none changes the key"
    a,b = request(spec),request(spec, r)
    note(b.content)
    assert _key(a) == _key(b)

def test_one_request_one_entry(server, tmp_path):
    "Through a real client and server: the same request spelled another way is answered from the file, the server asked once"
    n = iter(range(10**6))
    @scaled(30)
    @given(specs(any_bodies), st.randoms(use_true_random=False))
    def prop(spec, r):
        (d := tmp_path/str(next(n))).mkdir()
        enable_cachy(cache_dir=d, doms=('127.0.0.1',))
        try:
            n0 = server.total
            a = c.send(request(spec, base=server.url))
            b = c.send(request(spec, r, base=server.url))
            assert server.total == n0+1
            assert (a.status_code,a.content) == (b.status_code,b.content)
        finally: disable_cachy()
    with httpx.Client() as c: prop()

# Keys: another for any other change

def places(o, at=()):
    "The paths of keys and indexes to every value in `o`, `o` itself first"
    yield at
    for k,v in (o.items() if isinstance(o, dict) else enumerate(o) if isinstance(o, list) else ()): yield from places(v, (*at, k))

def get_at(o, at):
    for k in at: o = o[k]
    return o

def put_at(o, at, v):
    "A copy of `o` with the value at path `at` replaced by `v`"
    if not at: return v
    o = json.loads(json.dumps(o))
    get_at(o, at[:-1])[at[-1]] = v
    return o

@st.composite
def changed(draw, o):
    "`o` with one change that makes it another JSON value: a value replaced, a key renamed, an item dropped, added or moved"
    at = draw(st.sampled_from(list(places(o))))
    v = get_at(o, at)
    kinds = ['replace'] + (['rename', 'drop', 'add'] if isinstance(v, dict) and v else ['add'] if isinstance(v, (dict, list)) else [])
    kinds += ['drop', 'swap'] if isinstance(v, list) and v else []
    kind = draw(st.sampled_from(kinds))
    if kind == 'replace': new = draw(json_values.filter(lambda n: not same(n, v)))
    elif kind == 'rename':
        k = draw(st.sampled_from(list(v)))
        n = draw(names.filter(lambda n: n not in v))
        new = {n if a == k else a: b for a,b in v.items()}
    elif kind == 'drop':
        i = draw(st.sampled_from(list(v) if isinstance(v, dict) else range(len(v))))
        new = {a:b for a,b in v.items() if a != i} if isinstance(v, dict) else v[:i]+v[i+1:]
    elif kind == 'add':
        if isinstance(v, dict): new = v | {draw(names.filter(lambda n: n not in v)): draw(json_values)}
        else:
            i = draw(st.integers(0, len(v)))
            new = v[:i] + [draw(json_values)] + v[i:]
    else:
        i,j = draw(st.permutations(range(len(v))).map(lambda p: p[:2]).filter(lambda p: len(p) == 2))
        new = list(v)
        new[i],new[j] = v[j],v[i]
    assume(not same(new, v) and (at or isinstance(new, dict)))
    return put_at(o, at, new)

@st.composite
def two_specs(draw):
    "Two specs of requests that differ in one thing: the body, method, host, path, a query parameter, or a header of `key_hdrs`"
    a = draw(specs())
    what = draw(st.sampled_from(['body', 'body', 'method', 'host', 'path', 'params', 'hdrs']))
    b = dict(a)
    if what == 'body': b['body'] = draw(changed(a['body']))
    elif what == 'params':
        ps = list(a['params'])
        how = draw(st.sampled_from(['add', 'value', 'name', 'drop'] if ps else ['add']))
        i = draw(st.integers(0, len(ps) - (how != 'add')))
        if how == 'add': ps.insert(i, (draw(param_names), draw(texts)))
        elif how == 'drop': del ps[i]
        elif how == 'value': ps[i] = (ps[i][0], draw(st.text(chars, max_size=6).filter(lambda v: v != ps[i][1])))
        else: ps[i] = (draw(param_names.filter(lambda k: k != ps[i][0])), ps[i][1])
        b['params'] = ps
    else:
        strat = dict(method=methods, host=st.sampled_from(['api.openai.com', 'api.anthropic.com', 'eu.api.x.ai']), path=segments, hdrs=key_hdrs)[what]
        b[what] = draw(strat.filter(lambda v: v != a[what]))
    if what == 'hdrs' and 'anthropic-beta' in a['hdrs'] and 'anthropic-beta' in b['hdrs']:
        assume(set(a['hdrs']['anthropic-beta']) != set(b['hdrs']['anthropic-beta']) or a['hdrs'] | {'anthropic-beta': 0} != b['hdrs'] | {'anthropic-beta': 0})
    note(what)
    return a,b

@scaled(80)
@given(two_specs())
def test_another_request_another_key(ab):
    "A changed string, number, key, list order, method, host, path, query parameter or `key_hdrs` header: another key"
    a,b = ab
    assert _key(request(a)) != _key(request(b))

# Keys: the ids that link a tool call to its result

def conversation(fmt, calls, links, ids, args):
    "A tool loop in provider format `fmt`: calls named `calls`, with ids `ids[i]`, and results that link to calls `links`"
    if fmt == 'chat':
        return {'messages': [{'role': 'user', 'content': 'go'},
                             {'role': 'assistant', 'content': None, 'tool_calls': [{'id': ids[i], 'type': 'function', 'function': {'name': n, 'arguments': args}} for i,n in enumerate(calls)]},
                             *[{'role': 'tool', 'tool_call_id': ids[j], 'content': f'result {k}'} for k,j in enumerate(links)]]}
    if fmt == 'anthropic':
        return {'messages': [{'role': 'user', 'content': 'go'},
                             {'role': 'assistant', 'content': [{'type': 'tool_use', 'id': ids[i], 'name': n, 'input': {'a': args}} for i,n in enumerate(calls)]},
                             {'role': 'user', 'content': [{'type': 'tool_result', 'tool_use_id': ids[j], 'content': f'result {k}'} for k,j in enumerate(links)]}]}
    if fmt == 'responses':
        return {'input': [{'role': 'user', 'content': 'go'},
                          *[{'type': 'function_call', 'id': 'fc_'+ids[i], 'call_id': ids[i], 'name': n, 'arguments': args} for i,n in enumerate(calls)],
                          *[{'type': 'function_call_output', 'call_id': ids[j], 'output': f'result {k}'} for k,j in enumerate(links)]]}
    if fmt == 'gemini':
        return {'contents': [{'role': 'user', 'parts': [{'text': 'go'}]},
                             {'role': 'model', 'parts': [{'functionCall': {'id': ids[i], 'name': n, 'args': {'a': args}}} for i,n in enumerate(calls)]},
                             {'role': 'user', 'parts': [{'functionResponse': {'id': ids[j], 'name': calls[j], 'response': {'k': k}}} for k,j in enumerate(links)]}]}
    return {'messages': [{'role': 'user', 'content': [{'text': 'go'}]},
                         {'role': 'assistant', 'content': [{'toolUse': {'toolUseId': ids[i], 'name': n, 'input': {'a': args}}} for i,n in enumerate(calls)]},
                         {'role': 'user', 'content': [{'toolResult': {'toolUseId': ids[j], 'content': [{'text': f'result {k}'}]}} for k,j in enumerate(links)]}]}

formats = st.sampled_from(['chat', 'anthropic', 'responses', 'gemini', 'bedrock'])
id_lists = st.lists(st.text('abcdefXYZ0189_-', min_size=1, max_size=8), min_size=3, max_size=3, unique=True)

@st.composite
def loops(draw):
    "`(format, calls, links, args)`: a tool loop of 1-3 calls, each result linking to one of them"
    calls = draw(st.lists(st.sampled_from(['weather', 'time', 'add']), min_size=1, max_size=3))
    links = draw(st.lists(st.integers(0, len(calls)-1), min_size=1, max_size=3))
    return draw(formats),calls,links,draw(st.sampled_from(['{}', '{"x": 1}']))

def chat(body): return httpx.Request('POST', 'https://api.openai.com/v1/chat/completions', json=body)

@scaled(100)
@given(loops(), id_lists, id_lists)
def test_link_ids_are_renamed(loop, ids1, ids2):
    "Invented ids change nothing: the same loop with any other ids has the same key"
    fmt,calls,links,args = loop
    assert _key(chat(conversation(fmt, calls, links, ids1, args))) == _key(chat(conversation(fmt, calls, links, ids2, args)))

@scaled(100)
@given(loops(), id_lists, st.data())
def test_which_call_a_result_answers(loop, ids, data):
    "Two loops that differ only in which call a result links to, or in a call's arguments, have different keys"
    fmt,calls,links,args = loop
    if len(calls) > 1 and data.draw(st.booleans()):
        j = data.draw(st.integers(0, len(links)-1))
        other = links[:j] + [data.draw(st.integers(0, len(calls)-1).filter(lambda i: i != links[j]))] + links[j+1:]
        b = conversation(fmt, calls, other, ids, args)
    else: b = conversation(fmt, calls, links, ids, '{"x": 2}' if args == '{}' else '{}')
    assert _key(chat(conversation(fmt, calls, links, ids, args))) != _key(chat(b))

@scaled(60)
@given(loops(), id_lists, st.randoms(use_true_random=False))
def test_link_ids_in_any_key_order(loop, ids, r):
    "A loop written with its keys in any order, and wrapped in other fields written before or after it, has one key"
    fmt,calls,links,args = loop
    body = conversation(fmt, calls, links, ids, args)
    wrapped = {'a_meta': {'call_id': 'm-'+ids[0]}, **body, 'z_meta': {'tool_call_id': 'm-'+ids[1]}}
    a = httpx.Request('POST', 'https://api.openai.com/v1/responses', content=json.dumps(wrapped).encode(), headers={'content-type': 'application/json'})
    b = httpx.Request('POST', 'https://api.openai.com/v1/responses', content=spell(wrapped, r).encode(), headers={'content-type': 'application/json'})
    assert _key(a) == _key(b)

# Keys: the noise of tracebacks and reprs, and nothing else

words = st.text('abcdefghijklmnopqrstuvwxyz_', min_size=1, max_size=8)
hexes = st.text('0123456789abcdef', min_size=6, max_size=12)
nums = st.integers(0, 99999).map(str)

@st.composite
def machines(draw, windows=st.booleans()):
    "The folders a traceback names on one machine, and the numbers of one run: what must not change a key"
    u,v = draw(words),str(draw(st.integers(8, 14)))
    w = draw(windows)
    site = draw(st.sampled_from([f'C:\\Users\\{u}\\venv\\Lib\\site-packages', f'C:\\Python3{v}\\Lib\\site-packages'] if w else
                                [f'/home/{u}/.venv/lib/python3.{v}/site-packages', f'/opt/conda/envs/{u}/lib/python3.{v}/site-packages',
                                 f'/Users/{u}/Library/Python/3.{v}/lib/python/site-packages', f'/usr/lib/python3/dist-packages']))
    std = draw(st.sampled_from([f'C:\\Python3{v}\\Lib'] if w else [f'/usr/lib/python3.{v}', f'/home/{u}/.pyenv/versions/3.{v}.1/lib/python3.{v}']))
    home = draw(st.sampled_from([f'C:\\Users\\{u}'] if w else [f'/home/{u}', f'/Users/{u}', '/root']))
    tmp = draw(st.sampled_from(['/tmp', f'/var/folders/{draw(words)}/{draw(words)}/T'])) + '/tmp' + draw(st.text('abcdefghij0123456789_', min_size=6, max_size=10))
    return dict(site=site, std=std, home=home, tmp=tmp, sep='\\' if w else '/', kernel=f'/tmp/ipykernel_{draw(nums)}/{draw(nums)}.py',
                cell=draw(nums), input=f'<ipython-input-{draw(nums)}-{draw(hexes)}>', lines=draw(st.lists(nums, min_size=7, max_size=7)),
                addrs=draw(st.lists(hexes, min_size=2, max_size=2)))

@st.composite
def failures(draw):
    "What a traceback says that is part of the question: functions, files of the project, code, the error"
    return dict(fs=draw(st.lists(words, min_size=4, max_size=4)), mod=draw(words), code=draw(st.text(chars, max_size=20)),
                err=draw(st.sampled_from(['KeyError', 'ValueError', 'TypeError'])), msg=draw(st.text(chars, max_size=20)), **{"def": draw(nums)})

def traceback(f, m):
    "A traceback quoted in a prompt, of failure `f` on machine `m`, as CPython and IPython print it"
    s,(a,b,c,d),l = m['sep'],f['fs'],m['lines']
    return '\n'.join([
        f"Cell In[{m['cell']}], line {l[0]}", f"    {f['code']}",
        f'  File "{m["kernel"]}", line {l[1]}, in {a}',
        f'  File "{m["site"]}{s}httpx{s}_client.py", line {l[2]}, in {b}',
        f'  File "{m["std"]}{s}json{s}decoder.py", line {l[3]}, in {c}',
        f'  File "{m["home"]}{s}proj{s}{f["mod"]}.py", line {l[4]}, in {d}',
        f'  File "{m["tmp"]}/{f["mod"]}.py", line {l[5]}, in {a}',
        f'  File "{m["input"]}", line {l[6]}, in <module>',
        f"{f['err']}: {f['msg']} <{b} object at 0x{m['addrs'][0]}> <code object {c} at 0x{m['addrs'][1]}, file \"{m['home']}{s}x.py\", line {f['def']}>"])

def asked(text): return chat({'model': 'gpt-x', 'messages': [{'role': 'user', 'content': f'Why does this fail?\n{text}\nThanks.'}]})

@scaled(60)
@given(failures(), st.booleans().flatmap(lambda w: st.tuples(machines(st.just(w)), machines(st.just(w)))))
def test_traceback_noise_one_key(f, ms):
    "One failure, quoted from any two machines of one kind (POSIX or Windows) and runs (folders, kernel files, cells, line numbers, addresses): one key"
    m1,m2 = ms
    assert _key(asked(traceback(f, m1))) == _key(asked(traceback(f, m2)))

@scaled(60)
@given(failures(), failures(), machines())
def test_traceback_content_keyed(f1, f2, m):
    "Two failures that differ in a function, a project file, a line of code, the error or its message: two keys, on one machine"
    assume(f1 != f2)
    assert _key(asked(traceback(f1, m))) != _key(asked(traceback(f2, m)))

_ipython = {'frame': lambda m,f: f"File {m['site']}/httpx/_client.py:{m['lines'][2]}, in Client.send(self, request)",
            'input': lambda m,f: f"Input In [{m['cell']}], in <cell line: {m['lines'][0]}>()",
            'windows-kernel': lambda m,f: f'File "{m["kernel"].replace("/tmp/", "C:/Users/ann/AppData/Local/Temp/").replace("/", chr(92))}", line 3, in {f["fs"][0]}'}

@pytest.mark.parametrize('form', list(_ipython))
def test_ipython_traceback_noise_one_key(form):
    "IPython's own frames and a kernel file on Windows change between runs and machines as CPython's do: one key"
    @scaled(30)
    @given(failures(), machines(st.just(False)), machines(st.just(False)))
    def prop(f, m1, m2): assert _key(asked(_ipython[form](m1, f))) == _key(asked(_ipython[form](m2, f)))
    prop()

def _prose_kinds():
    u = words.filter(lambda w: w != 'ann')
    return dict(home=(st.sampled_from(['/home/{}', '/Users/{}', 'C:\\Users\\{}']), u),
                site=(st.sampled_from(['/opt/{}/lib/python3.12/site-packages', '/home/ann/{}/lib/python3.12/site-packages']), u),
                stdlib=(st.sampled_from(['/opt/{}/lib/python3.12', 'C:\\Python3{}\\Lib']), st.integers(10, 13).map(str)))

# A temporary folder's random name (/tmp/tmpab12cd, /var/folders/…/T/) is noise wherever it stands, by design (00_core)
@pytest.mark.parametrize('kind', ['home', 'site', 'stdlib'])
def test_paths_in_prose_keyed(kind):
    "A folder named in a plain prompt, not a traceback, is part of the question: two folders, two keys"
    form,part = _prose_kinds()[kind]
    @scaled(30)
    @given(form, part, part, st.sampled_from(['Summarise {}{}notes.txt.', 'cd {}{}proj && ls', 'Is {}{}x.py the file to edit?']))
    def prop(form, a, b, say):
        assume(a != b)
        sep = '\\' if '\\' in form else '/'
        assert _key(asked(say.format(form.format(a), sep))) != _key(asked(say.format(form.format(b), sep)))
    prop()

@scaled(50)
@given(st.sampled_from(['What is 0x{} in decimal?', 'Translate line {}, in the poem.', 'Is Foo at 0x{} in memory?', 'File {}.txt, line 3']), hexes, hexes)
def test_numbers_in_prose_keyed(say, a, b):
    "A hex number, a line number or an address outside a traceback frame or a repr is part of the question"
    assume(a != b)
    assert _key(asked(say.format(a))) != _key(asked(say.format(b)))

# Keys: what `ignore_fields` and compression leave out, and only that

plain_names = names.filter(lambda k: '.' not in k and k != '*')

@scaled(50)
@given(st.dictionaries(plain_names, values(plain_names), min_size=1, max_size=5), st.data())
def test_ignore_fields_drop_that_only(body, data):
    "A change under a path of `ignore_fields` (exact, or with `*` for a key or index) changes nothing; a change elsewhere, the key"
    at = data.draw(st.sampled_from([p for p in places(body) if p]))
    path = [str(k) for k in at]
    if data.draw(st.booleans()): path[data.draw(st.integers(0, len(path)-1))] = '*'
    inside = data.draw(changed(get_at(body, at)))
    outside = [p for p in places(body) if p and p[:len(at)] != at and at[:len(p)] != p]
    old = keying.ignore_fields
    keying.ignore_fields = ['.'.join(path)]
    try:
        assert _key(chat(put_at(body, at, inside))) == _key(chat(body))
        if outside and '*' not in path:
            o = data.draw(st.sampled_from(outside))
            assert _key(chat(put_at(body, o, data.draw(json_values.filter(lambda v: not same(v, get_at(body, o))))))) != _key(chat(body))
    finally: keying.ignore_fields = old

def sent(content, enc):
    return httpx.Request('POST', 'https://api.openai.com/v1/chat/completions', content=content, headers={'content-type': 'application/json', 'content-encoding': enc})

@scaled(50)
@given(bodies, st.binary(min_size=1, max_size=20), st.binary(min_size=1, max_size=20), st.sampled_from(['gzip', 'deflate']))
@example({}, b'\x00', b'\x01', 'gzip')  # found: bytes after the stream were dropped
def test_compressed_bodies_keyed_whole(body, t1, t2, enc):
    "Bodies that are one compressed JSON text followed by different bytes (more gzip members, garbage) are different requests"
    assume(t1 != t2)
    z = partial(gzip.compress, mtime=0) if enc == 'gzip' else zlib.compress
    c = z(json.dumps(body).encode())
    assert _key(sent(c+t1, enc)) != _key(sent(c+t2, enc))
    assert _key(sent(c+z(t1), enc)) != _key(sent(c+z(t2), enc))

@scaled(100)
@given(st.binary(max_size=40), st.binary(max_size=40), st.sampled_from(['gzip', 'deflate']))
def test_undecodable_bodies_keyed_as_sent(b1, b2, enc):
    "Bytes that say they are compressed but are not (they start like gzip or zlib, or not at all) are keyed as sent"
    assume(b1 != b2)
    head = b'\x1f\x8b' if enc == 'gzip' else b'\x78\x9c'
    assert _key(sent(head+b1, enc)) != _key(sent(head+b2, enc))

# Headers: to a host outside `doms`, what the client would send without cachy

class Raw:
    "A loopback HTTP/1.1 server that keeps each request's head and body as the bytes that arrived, and answers `{}`"
    def __init__(self):
        self.sock = socket.create_server(('127.0.0.1', 0))
        self.url,self.got = f'http://127.0.0.1:{self.sock.getsockname()[1]}',[]
        threading.Thread(target=self.serve, daemon=True).start()
    def serve(self):
        while True:
            try: c,_ = self.sock.accept()
            except OSError: return
            threading.Thread(target=self.talk, args=(c,), daemon=True).start()
    def talk(self, c):
        buf = b''
        with c:
            while True:
                while b'\r\n\r\n' not in buf:
                    if not (d := c.recv(65536)): return
                    buf += d
                head,buf = buf.split(b'\r\n\r\n', 1)
                n = int(m[1]) if (m := re.search(rb'(?im)^content-length:[ \t]*(\d+)', head)) else 0
                while len(buf) < n: buf += c.recv(65536)
                self.got.append((head, buf[:n]))
                buf = buf[n:]
                c.sendall(b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}')
    def stop(self): self.sock.close()

@pytest.fixture(scope='module')
def raw():
    r = Raw()
    yield r
    r.stop()

token = st.text('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&\'*+-.^_`|~', min_size=1, max_size=8)
hvals = st.one_of(st.text(st.characters(min_codepoint=0x20, max_codepoint=0xff), max_size=12),
                  st.text(st.characters(min_codepoint=0x09, max_codepoint=0x2fff, exclude_categories=('Cs',)), max_size=8),
                  st.binary(max_size=12))
hnames = st.one_of(token.map(lambda t: 'x-p-'+t), st.sampled_from(['accept', 'authorization', 'user-agent', 'cookie', 'anthropic-beta', 'X-Api-Key', 'content-type']))
header_sets = st.lists(st.tuples(hnames, hvals), min_size=1, max_size=4)

class Clients:
    "One client of each kind, kept open across examples: `send(kind, url, headers)` makes a GET and returns its status"
    def __init__(self):
        import requests,aiohttp
        self.loop = asyncio.new_event_loop()
        self.cs = dict(requests=requests.Session(), httpx=httpx.Client(), httpx_async=httpx.AsyncClient())
        self.cs['aiohttp'] = self.loop.run_until_complete(self._session(aiohttp))
        try:
            import httpx2
            self.cs['httpx2'] = httpx2.Client()
        except ImportError: pass
    async def _session(self, aiohttp): return aiohttp.ClientSession()
    def send(self, kind, url, hs):
        c = self.cs[kind]
        if kind == 'aiohttp': return self.loop.run_until_complete(self._aio(c, url, {k:(v.decode('latin-1') if isinstance(v, bytes) else v) for k,v in hs}))
        if kind == 'httpx_async': return self.loop.run_until_complete(c.get(url, headers=hs)).status_code
        return c.get(url, headers=dict(hs) if kind == 'requests' else hs).status_code
    async def _aio(self, c, url, hs):
        async with c.get(url, headers=hs) as r: return r.status
    def close(self):
        for k,c in self.cs.items():
            if k in ('aiohttp', 'httpx_async'): self.loop.run_until_complete(c.close() if k == 'aiohttp' else c.aclose())
            else: c.close()
        self.loop.close()

@pytest.fixture(scope='module')
def clients():
    cs = Clients()
    yield cs
    cs.close()

@pytest.mark.parametrize('client', ['requests', 'aiohttp', 'httpx', 'httpx_async', 'httpx2'])
def test_headers_pass_through(client, raw, clients, tmp_path):
    "Any headers a client accepts reach a host outside `doms` byte for byte as they do without cachy, and the call succeeds as it does"
    send = partial(clients.send, client)
    @scaled(40)
    @given(header_sets)
    def prop(hs):
        disable_cachy()
        try: want = send(raw.url+'/h', hs)
        except Exception: reject()
        before = raw.got[-1]
        enable_cachy(cache_dir=tmp_path)
        try:
            try: got = send(raw.url+'/h', hs)
            except Exception as e: raise AssertionError(f"the call failed with cachy on: {e!r}") from e
            assert got == want
            assert raw.got[-1] == before
        finally: disable_cachy()
    prop()

# The store: no bytes appended to `cachy.jsonl` cost a record, raise, or pass `cachy check` unreported

import warnings
import cachy.store as store_mod
from cachy.store import Store,_dumps,is_record
from cachy.cli import _problems

BOM = b'\xef\xbb\xbf'
hexkeys = st.one_of(st.text('0123456789abcdef', min_size=24, max_size=24), st.text('0123456789abcdef', min_size=8, max_size=8),
                    st.text('0123456789abcdef', min_size=20, max_size=20))

def rec(key, response, status=200):
    return dict(key=key, response=response, headers={'content-type': 'application/json'}, status_code=status, binary=False,
                method='POST', url='https://api.openai.com/v1/chat/completions', req={'stream': False, 'hdrs': {}, 'shape': {}, 'parts': {}})

records = st.builds(rec, hexkeys, st.text(chars, max_size=150), st.sampled_from([200, 400]))
# records added later: keys of this cachy and the one before; pycachy's 8-digit keys (the first line of a key wins) only in the
# file appended to (see test_damaged_line_hides_no_pycachy_record)
later = st.builds(rec, st.sampled_from([20, 24]).flatmap(lambda n: st.text('0123456789abcdef', min_size=n, max_size=n)),
                  st.text(chars, max_size=150), st.sampled_from([200, 400]))
def line(r): return b''.join(_dumps(r))

def _old(f, *a):
    "A piece made by `f` from one of the records already in the file, and `a`"
    return st.builds(lambda i,*b: lambda rs: f(rs[i % len(rs)], *b), st.integers(0, 3), *a)

_piece = st.one_of(
    st.binary(max_size=30), st.sampled_from([b'\r', b'\x00', b'\n', b'\r\n', b'\n\n', b'\xff\xfe', b' \t', b'\x0c']),
    st.binary(max_size=8).map(lambda g: BOM + g + b'\n'),
    st.tuples(later.map(line), st.floats(0, 1, exclude_max=True)).map(lambda t: t[0][:int(len(t[0])*t[1])]),
    json_values.map(lambda v: json.dumps(v).encode() + b'\n'),
    _old(lambda r,f,v: json.dumps(r | {f: v}).encode() + b'\n', st.sampled_from(['response', 'status_code', 'binary', 'headers', 'key']),
         st.one_of(st.integers(), st.none(), st.just({'a': 1}), st.just('200'))),
    _old(lambda r,t: line(r | {'response': t}), st.text(chars, max_size=40)),
    _old(lambda r,g: b'{"key": "' + r['key'].encode() + b'", ' + g + b'}\n', st.binary(max_size=12)),
    st.builds(lambda n,c: c*n + b'\n', st.integers(0, 300), st.sampled_from([b'x', b'{', b'\x00'])),
    later.map(line), later.map(lambda r: line(r)[:-1] + b'\r\n'))

# Bytes to append to a file (given its records): garbage, control bytes, byte-order marks, torn and damaged records, JSON
# that is no record, long lines, answers recorded twice, new records
tails = st.lists(_piece, min_size=1, max_size=6)
def tail_bytes(ps, rs): return b''.join(p(rs) if callable(p) else p for p in ps)

def expected(data):
    "What a store of the file holding `data` must serve, by key, read line by line by the format's rules (a record per whole "
    "line, the last of a key wins but the first for pycachy's 8-digit keys; a byte-order mark only at the start of the file), "
    "and the numbers of the lines `cachy check` must report"
    *ls,last = data.split(b'\n')
    want,bad,seen = {},set(),{}
    for n,l in enumerate(ls, 1):
        l = (l.removeprefix(BOM) if n == 1 else l).removesuffix(b'\r')
        if not l.strip(): continue
        try: r = json.loads(l.decode())
        except (ValueError, RecursionError): r = None
        if not is_record(r): bad.add(n); continue
        k = r['key']
        if l not in seen.setdefault(k, {l}): bad.add(n)
        seen[k].add(l)
        if len(k) != 8 or k not in want: want[k] = r
    if last.strip(): bad.add(len(ls)+1)
    return want,bad

@pytest.fixture
def small_lines(monkeypatch):
    "Every path the store takes for lines over a megabyte, taken by lines over 100 bytes, read 64 bytes at a time"
    def f(on):
        monkeypatch.setattr(store_mod, '_big', 100 if on else 1<<20)
        monkeypatch.setattr(store_mod, '_chunk', 64 if on else 1<<20)
    return f

def quiet(f, *a, **kw):
    "`f(*a, **kw)`, with the warnings it gives"
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        return f(*a, **kw),[str(w.message) for w in ws]

def check_store(p, s):
    "Store `s` of file `p` serves what the file holds, by `expected`"
    want,_ = expected(p.read_bytes())
    for k in set(want) | set(s.recs):
        assert quiet(s.find, k)[0] == want.get(k), k
        assert quiet(s.find, k, False)[0] == ({f:v for f,v in want[k].items() if f != 'req'} if k in want else None), k

def test_appended_bytes_cost_no_record(tmp_path, small_lines):
    "Whatever bytes are appended to a valid file, every record is served as the file holds it, nothing raises, `cachy check` "
    "reports exactly the lines it must, and recording goes on"
    p = tmp_path/'cachy.jsonl'
    @scaled(100)
    @given(st.lists(records, min_size=1, max_size=4, unique_by=lambda r: r['key']), tails, st.booleans(), later)
    def prop(rs, ps, small, new):
        tail = tail_bytes(ps, rs)
        note(tail)
        small_lines(small)
        p.write_bytes(b''.join(map(line, rs)))
        before,_ = quiet(Store, p)
        with open(p, 'ab') as f: f.write(tail)
        fresh,_ = quiet(Store, p)
        quiet(before.refresh)
        for s in (fresh, before): check_store(p, s)
        assert all(quiet(fresh.find, r['key'])[0] is not None for r in rs)
        assert {n for n,_,b in _problems(fresh.lines()) if b} == expected(p.read_bytes())[1]
        assert quiet(fresh.put, new)[0] in (True, False)
        for s in (quiet(Store, p)[0], fresh): check_store(p, s)
    prop()

# Credentials: never out of a URL, never previewed in a sketch

from cachy.core import _url,_sketch,_within,_dom_set
from cachy.creds import secret_params
from cachy.explain import path_str,path_keys,_value_at

@st.composite
def styled(draw, name):
    "Parameter or field `name` in some case style: `api_key`, `apiKey`, `API-KEY`, `Api.Key`, `api key`"
    ws = re.split(r'[-_]', name)
    case = draw(st.sampled_from([str.lower, str.upper, str.title]))
    sep = draw(st.sampled_from(['', '_', '-', '.', ' ']))
    ws = [case(w) for w in ws]
    if sep == '' and draw(st.booleans()): ws = [ws[0].lower()] + [w.title() for w in ws[1:]]
    return sep.join(ws)

secret = st.text('0123456789abcdef', min_size=8, max_size=8).map(lambda h: 'SeCrEt'+h)

@scaled(50)
@given(st.lists(st.tuples(st.sampled_from(secret_params).flatmap(styled), secret), min_size=1, max_size=3), params, st.booleans(), st.data())
def test_url_keeps_no_credential(creds, others, user, data):
    "A credential in the query, under any of `secret_params` in any case style and among any other parameters, or a user "
    "name and password, is in neither the URL a record keeps nor the one the key hashes"
    ps = data.draw(st.permutations(creds + others))
    r = httpx.Request('GET', f"https://{'ann:'+creds[0][1]+'@' if user else ''}api.openai.com/v1/x", params=ps)
    for u in (_url(r), _url(r, key=True)):
        assert not any(v in u for _,v in creds), u

secret_fields = st.sampled_from(['api_key', 'access_token', 'client_secret', 'password', 'authorization', 'session_token', 'auth',
                                 'cookie', 'signature', 'x_api_key', 'refresh_token', 'private_key', 'credentials']).flatmap(styled)

@st.composite
def hiding(draw):
    "A JSON body with secrets under credential-named fields, at any depth, any shape below them"
    body = draw(st.dictionaries(names, json_values, min_size=1, max_size=4))
    marks = []
    for _ in range(draw(st.integers(1, 3))):
        mark = draw(secret)
        marks.append(mark)
        held = draw(st.sampled_from([mark, [mark], {'value': mark}, {'a': [{'b': mark}]}, [1, {'v': mark}]]))
        at = draw(st.sampled_from([p for p in places(body) if isinstance(get_at(body, p), dict)] or [()]))
        body = put_at(body, at, get_at(body, at) | {draw(secret_fields): held})
    return body,marks

@scaled(60)
@given(hiding(), st.sampled_from([12, 3, 1]))
@example(({'q': 1, 'auth': {'value': 'SeCrEt00000000'}}, ['SeCrEt00000000']), 12)  # found: a part under a credential's name was opened
@example(({'q': 1, 'accesstoken': 'SeCrEt00000000'}, ['SeCrEt00000000']), 12)  # found: a credential's name written as one word
@example(({'': None, 'xapikey': 'SeCrEt00000000'}, ['SeCrEt00000000']), 1)  # found: X-API-Key written as one word
def test_sketch_shows_no_credential(bm, n):
    "The sketch a record keeps shows no value held under a credential's name, however deep, and keeps no digest of one"
    body,marks = bm
    s = core.sketch(body, {}, False, core._norm, n=n)
    text = json.dumps(s, ensure_ascii=False)
    assert not any(m in text for m in marks), text
    for p,(d,_) in s['parts'].items():
        if any(m in json.dumps(_value_at(body, path_keys(p)) if p else body) for m in marks): assert d == '', p

labels = st.text('abcdefghijklmnopqrstuvwxyz0123456789-', min_size=1, max_size=10)
hosts = st.sampled_from([d for d in core.doms if '*' not in d])

@scaled(100)
@given(hosts, labels, labels)
def test_hosts_matched_by_label(d, a, b):
    "A host of `doms` and its subdomains are cached; a host that only ends with its name, or has more labels after it, is not, but where a pattern of `doms` names it"
    ds = _dom_set(core.doms)
    def listed(h): return any(h.endswith('.'+e) or h == e if '*' not in e else re.fullmatch(re.escape(e).replace(r'\*', '[^.]*'), h) for e in core.doms)
    assert _within(d, 443, ds) and _within(f'{a}.{d}', 443, ds)
    assert _within(f'{d}.{b}', 443, ds) == listed(f'{d}.{b}')
    assert _within(f'{a}{d}', 443, ds) == listed(f'{a}{d}')

@scaled(100)
@given(labels, labels, st.sampled_from([('bedrock-runtime.{}.amazonaws.com', True), ('{}-aiplatform.googleapis.com', True),
                                        ('bedrock-runtime.{}.{}.amazonaws.com', False), ('bedrock-runtime.{}.amazonaws.com.{}', False)]))
def test_host_patterns_match_one_label(a, b, form):
    "A `*` in a pattern of `doms` stands for one label or part of one, never for a dot"
    f,ok = form
    h = f.format(a, b)
    assert _within(h, 443, _dom_set(core.doms)) == ok, h

# The record format: every record reads back as written

@scaled(60)
@given(hexkeys, st.one_of(st.text(st.characters(), min_size=4, max_size=90), st.binary(min_size=4, max_size=90)), st.booleans(),
       st.sampled_from([4, 5, 6, 7, 9, 1<<20]), st.dictionaries(st.sampled_from(['took', 'usage', 'seq', 'polling', 'method', 'url', 'extra']), json_values, max_size=3))
@example('0'*24, bytes(range(20)), True, 4, {})
@example('0'*24, 'ünïcödé 😀 text', False, 5, {})
@example('0'*24, 'ünïcödé 😀 text'.encode(), False, 4, {})
def test_record_lines_read_back(key, resp, b64, chunk, extra):
    "A record, written in pieces of any size (text, UTF-8 bytes or base64), is one line that reads back as the record"
    r = rec(key, resp) | extra | {'binary': isinstance(resp, bytes) and b64}
    if isinstance(resp, bytes) and not b64: r['response'] = resp = resp.decode('utf-8', 'replace').encode()
    old = store_mod._chunk
    store_mod._chunk = chunk
    try: l = line(r)
    finally: store_mod._chunk = old
    assert l.endswith(b'\n') and l.count(b'\n') == 1
    want = json.loads(json.dumps(r | {'response': (base64.b64encode(resp).decode() if b64 else resp.decode()) if isinstance(resp, bytes) else resp}))
    assert store_mod._parse(l[:-1]) == want
    assert store_mod._parse(l[:-1], whole=False) == {k:v for k,v in want.items() if k != 'req'}
    assert store_mod._line_key(l[:-1]) == key

@scaled(100)
@given(st.lists(st.one_of(st.text(chars, max_size=8), st.integers(0, 99)), max_size=6))
def test_paths_read_back(ks):
    "The path of any keys and indexes, as `differences` names it, reads back as those keys and indexes"
    assert path_keys(path_str(ks)) == ks

def test_record_after_a_bom_served_or_reported(tmp_path):
    "A record line that starts with a byte-order mark, in the middle of the file (files joined by `cat`): served, or reported by `cachy check`"
    p = tmp_path/'cachy.jsonl'
    @scaled(30)
    @given(st.lists(records, min_size=1, max_size=3, unique_by=lambda r: r['key']), records)
    def prop(rs, new):
        assume(new['key'] not in {r['key'] for r in rs})
        p.write_bytes(b''.join(map(line, rs)) + BOM + line(new))
        s,_ = quiet(Store, p)
        served = quiet(s.find, new['key'])[0] == new
        reported = len(rs)+1 in {n for n,_,b in _problems(s.lines()) if b}
        assert served != reported
    prop()

def test_appended_bytes_cost_no_hit(server, tmp_path):
    "Through a real client and server: after any bytes are appended to the file, every call recorded before is a hit in replay "
    "mode, answered as the file says (the last answer of its key)"
    n = iter(range(10**6))
    @scaled(25)
    @given(st.lists(bodies, min_size=1, max_size=3), tails)
    def prop(bs, ps):
        d,url = tmp_path/str(next(n)),server.url+'/stable/props'
        d.mkdir()
        enable_cachy(cache_dir=d, doms=('127.0.0.1',))
        try:
            for b in bs: c.post(url, json=b)
            rs = [json.loads(l) for l in (d/'cachy.jsonl').read_bytes().splitlines()]
            with open(d/'cachy.jsonl', 'ab') as f: f.write(tail_bytes(ps, rs))
            want,_ = expected((d/'cachy.jsonl').read_bytes())
            n0 = server.total
            quiet(enable_cachy, cache_dir=d, doms=('127.0.0.1',), mode='replay')
            got = quiet(lambda: [c.post(url, json=b).text for b in bs])[0]
            assert got == [want[_key(c.build_request('POST', url, json=b))]['response'] for b in bs]
            assert server.total == n0
        finally: disable_cachy()
    with httpx.Client() as c: prop()

@pytest.mark.slow
def test_cachy_check_reports_appended_bytes(tmp_path):
    "The `cachy check` command exits 1 and names each line that `expected` says it must, whatever bytes were appended"
    from helpers import run_cachy as run
    @scaled(10)
    @given(st.lists(records, min_size=1, max_size=3, unique_by=lambda r: r['key']), tails)
    def prop(rs, ps):
        p = tmp_path/'cachy.jsonl'
        p.write_bytes(b''.join(map(line, rs)) + tail_bytes(ps, rs))
        bad = expected(p.read_bytes())[1]
        r = run('check', '--cache-dir', tmp_path)
        assert r.returncode == (1 if bad else 0), r.stdout+r.stderr
        assert {int(m) for m in re.findall(rf'^{re.escape(str(p))}:(\d+): (?!note)', r.stdout, re.M)} == bad, r.stdout
    prop()

def test_damaged_line_hides_no_pycachy_record(tmp_path, small_lines):
    "A torn or damaged line of a pycachy key, then a good record of that key: the good one is served"
    p = tmp_path/'cachy.jsonl'
    @scaled(30)
    @given(records.filter(lambda r: len(r['key']) == 8), st.sampled_from([b'', b'x', b'"x": 1}']), st.booleans())
    def prop(r, junk, small):
        small_lines(small)
        p.write_bytes(b'{"key": "' + r['key'].encode() + b'", ' + junk + b'\n' + line(r))
        assert quiet(quiet(Store, p)[0].find, r['key'])[0] == r
    prop()

# Credentials in a line

key_parts = st.sampled_from(['sk-', 'sk-ant-', 'sk-or-v1-', 'gsk_', 'AIza', 'AKIA', 'eyJ', 'Bearer ', 'ya29.', '-', '_', '.', ' ', '\\n', 'x', 'Q', '7', 'é', 'abcdefghij'*2])

@scaled(200)
@given(st.lists(key_parts, max_size=30).map(''.join))
def test_credentials_found_at_word_starts(s):
    "`secret_values_in` finds exactly what its patterns find behind a lookbehind for a word character or `-`"
    import re
    from cachy.creds import secret_values,secret_values_in
    t = re.sub(r'\\[nrt]', ' ', s)
    want = sorted((m.start(), what, m.group()[:12]+'…') for what,p in secret_values for m in re.finditer(r'(?<![\w-])'+p, t))
    assert secret_values_in(s) == [w[1:] for w in want]
