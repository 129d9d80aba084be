"`cachy.answer` on the bodies providers send: the loopback server's builders, records that cachy wrote, Bedrock's binary stream, and garbage"
import base64,collections,importlib.util,json,random,re,tracemalloc,unittest.mock,zlib
from pathlib import Path
import httpx,pytest
from hypothesis import given,settings,strategies as st
import cachy.answer as cu
import cachy.core as core
from cachy.store import _dumps
from cachy.answer import events,usage,price,has_prices,error
from helpers import ours,py,recs,msgs,raised
from server import sse,_chat,_chat_chunks,_response,_response_events,_message,_message_events,_cand,_cand_chunks

def c5(model, i, o, c=0, w=0): return dict(model=model, input=i, output=o, cached=c, written=w)

def _usage_chunks(n, model, text, u):
    "`_chat_chunks` as OpenAI sends them with `stream_options={'include_usage': True}`: `usage` null, then a last chunk with it"
    *cs,done = [c.replace('"logprobs"', '"usage": null, "logprobs"') for c in _chat_chunks(n, model, text)]
    return ''.join(cs) + sse(None, {'id': f'chatcmpl-{n}', 'object': 'chat.completion.chunk', 'model': model, 'choices': [], 'usage': u}) + done

# Real shapes of usage objects with prompt caching, from the providers' documentation
oai_u = {'prompt_tokens': 2006, 'completion_tokens': 300, 'total_tokens': 2306,
         'prompt_tokens_details': {'cached_tokens': 1920, 'audio_tokens': 0}, 'completion_tokens_details': {'reasoning_tokens': 128}}
resp_u = {'input_tokens': 2006, 'output_tokens': 300, 'total_tokens': 2306,
          'input_tokens_details': {'cached_tokens': 1920}, 'output_tokens_details': {'reasoning_tokens': 128}}
ant_u = {'input_tokens': 21, 'cache_creation_input_tokens': 188086, 'cache_read_input_tokens': 0, 'output_tokens': 393,
         'cache_creation': {'ephemeral_5m_input_tokens': 188086, 'ephemeral_1h_input_tokens': 0}, 'service_tier': 'standard'}
gem_u = {'promptTokenCount': 2006, 'candidatesTokenCount': 300, 'thoughtsTokenCount': 128, 'totalTokenCount': 2434,
         'cachedContentTokenCount': 1920, 'promptTokensDetails': [{'modality': 'TEXT', 'tokenCount': 2006}]}

def test_builders():
    "Every body the loopback server sends, plain and streamed"
    text = 'a few words of reply'
    assert usage(json.dumps(_chat(1, 'gpt-4o-2024-08-06', text))) == c5('gpt-4o-2024-08-06', 5, 7)
    assert usage(''.join(_chat_chunks(1, 'gpt-4o', text))) is None
    assert usage(_usage_chunks(1, 'gpt-4o', text, oai_u)) == c5('gpt-4o', 2006, 300, 1920)
    assert usage(json.dumps(_response(1, 'gpt-5', text))) == c5('gpt-5', 5, 7)
    assert usage(''.join(_response_events(1, 'gpt-5', text))) == c5('gpt-5', 5, 7)
    assert usage(json.dumps(_message(1, 'claude-sonnet-4-5-20250929', text))) == c5('claude-sonnet-4-5-20250929', 5, 7)
    assert usage(''.join(_message_events(1, 'claude-sonnet-4-5-20250929', text)), 'text/event-stream') == c5('claude-sonnet-4-5-20250929', 5, 7)
    assert usage(json.dumps(_cand(1, 'gemini-2.5-flash', text))) == c5('gemini-2.5-flash', 5, 7)
    assert usage(''.join(_cand_chunks(1, 'gemini-2.5-flash', text))) == c5('gemini-2.5-flash', 5, 7)
    assert usage(json.dumps([_cand(1, 'gemini-2.5-flash', w, False) for w in text.split()])) == c5('gemini-2.5-flash', 5, 7)

def test_caching_and_reasoning():
    "`input` holds every prompt token, `cached` and `written` among them; `output` holds reasoning"
    assert usage(json.dumps(_chat(1, 'o3', 'x') | {'usage': oai_u})) == c5('o3', 2006, 300, 1920)
    assert usage(json.dumps(_response(1, 'o3', 'x') | {'usage': resp_u})) == c5('o3', 2006, 300, 1920)
    assert usage(json.dumps(_message(1, 'claude-x', 'x') | {'usage': ant_u})) == c5('claude-x', 188107, 393, 0, 188086)
    assert usage(json.dumps(_cand(1, 'gemini-x', 'x') | {'usage': gem_u})) == c5('gemini-x', 2006, 428, 1920)

def test_anthropic_stream_later_counts_win():
    "`message_delta`'s counts replace `message_start`'s; those it lacks are kept"
    start = {'input_tokens': 3, 'cache_creation_input_tokens': 0, 'cache_read_input_tokens': 5000, 'output_tokens': 1}
    evs = [e.replace('"usage": {"input_tokens": 5, "output_tokens": 1}', f'"usage": {json.dumps(start)}')
           .replace('"usage": {"output_tokens": 7}', '"usage": {"output_tokens": 61, "input_tokens": 4, "cache_read_input_tokens": null}')
           for e in _message_events(1, 'claude-x', 'some reply')]
    assert usage(''.join(evs)) == c5('claude-x', 5004, 61, 5000)

def test_recorded(tmp_path, srv):
    "The responses as cachy writes them in `cachy.jsonl`, read back"
    from cachy import enable_cachy,disable_cachy
    enable_cachy(cache_dir=tmp_path, doms=ours)
    try:
        with httpx.Client(base_url=srv.url) as c:
            for p,j in (('/v1/chat/completions', dict(model='gpt-4o', messages=[dict(role='user', content='hi')])),
                        ('/v1/responses', dict(model='gpt-5', input='hi')),
                        ('/v1/messages', dict(model='claude-x', messages=[dict(role='user', content='hi')])),
                        ('/v1beta/models/gemini-2.5-flash:generateContent', dict(contents=[dict(parts=[dict(text='hi')])]))):
                c.post(p, json=j)
                with c.stream('POST', p.replace(':generate', ':streamGenerate'), json=j | dict(stream=True)) as r: r.read()
            c.get('/bytes?ct=image/png')
    finally: disable_cachy()
    rs = recs(tmp_path/'cachy.jsonl')
    got = [usage(base64.b64decode(r['response']) if r['binary'] else r['response'], (r.get('headers') or {}).get('content-type', ''), r['url']) for r in rs]
    assert got == [c5('gpt-4o', 5, 7), None, c5('gpt-5', 5, 7), c5('gpt-5', 5, 7), c5('claude-x', 5, 7), c5('claude-x', 5, 7),
                   c5('gemini-2.5-flash', 5, 7), c5('gemini-2.5-flash', 5, 7), None]

def _frame(event, payload, typ='event'):
    "An AWS event-stream message, as Bedrock's `converse-stream` sends it"
    def hdr(k, v): return bytes([len(k)]) + k.encode() + b'\x07' + len(v).to_bytes(2, 'big') + v.encode()
    h = hdr(':event-type', event) + hdr(':content-type', 'application/json') + hdr(':message-type', typ)
    h += bytes([3]) + b':id' + b'\x04' + (7).to_bytes(4, 'big')
    p = json.dumps(payload).encode()
    m = (16+len(h)+len(p)).to_bytes(4, 'big') + len(h).to_bytes(4, 'big')
    m += zlib.crc32(m).to_bytes(4, 'big') + h + p
    return m + zlib.crc32(m).to_bytes(4, 'big')

bed_u = {'inputTokens': 12, 'outputTokens': 40, 'totalTokens': 1652, 'cacheReadInputTokens': 1500, 'cacheWriteInputTokens': 100}
bed_stream = b''.join([_frame('messageStart', {'role': 'assistant', 'p': 'abcd'}),
                       *[_frame('contentBlockDelta', {'contentBlockIndex': 0, 'delta': {'text': w}, 'p': 'ab'}) for w in ('Hel', 'lo')],
                       _frame('contentBlockStop', {'contentBlockIndex': 0}), _frame('messageStop', {'stopReason': 'end_turn'}),
                       _frame('metadata', {'usage': bed_u, 'metrics': {'latencyMs': 420}, 'p': 'abcdefgh'})])
bed_url = 'https://bedrock-runtime.us-east-1.amazonaws.com/model/us.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse'

def test_bedrock():
    "`converse` JSON and the `converse-stream` event stream; the model comes from the URL"
    conv = {'output': {'message': {'role': 'assistant', 'content': [{'text': 'Hello'}]}}, 'stopReason': 'end_turn',
            'usage': bed_u, 'metrics': {'latencyMs': 420}}
    want = c5('us.anthropic.claude-3-5-sonnet-20240620-v1:0', 1612, 40, 1500, 100)
    assert usage(json.dumps(conv), 'application/json', bed_url) == want
    assert usage(bed_stream, 'application/vnd.amazon.eventstream', bed_url+'-stream') == want
    assert usage(bytearray(bed_stream), url=httpx.URL(bed_url+'-stream')) == want
    assert usage(bed_stream)['model'] is None
    assert usage(bed_stream[:-1]) is None

def test_frames_parse_as_botocore_does():
    "The event stream made above is what botocore reads, and `_frames` reads it alike"
    es = pytest.importorskip('botocore.eventstream')
    buf = es.EventStreamBuffer()
    buf.add_data(bed_stream)
    ms = list(buf)
    assert [(m.headers[':event-type'], m.payload) for m in ms] == cu._frames(bed_stream)
    assert ms[-1].headers[':id'] == 7

def _exception(name, hs=None):
    "The message that ends a Bedrock stream failing with exception `name` (or with other headers `hs`)"
    def hdr(k, v): return bytes([len(k)]) + k.encode() + b'\x07' + len(v).to_bytes(2, 'big') + v.encode()
    h = b''.join(hdr(k, v) for k,v in (hs or {':exception-type': name, ':content-type': 'application/json', ':message-type': 'exception'}).items())
    p = b'{"message": "it failed"}'
    m = (16+len(h)+len(p)).to_bytes(4, 'big') + len(h).to_bytes(4, 'big')
    m += zlib.crc32(m).to_bytes(4, 'big') + h + p
    return m + zlib.crc32(m).to_bytes(4, 'big')

@pytest.mark.parametrize('name,want', [('throttlingException', 429), ('internalServerException', 500), ('serviceUnavailableException', 503),
                                       ('modelStreamErrorException', 500), ('modelTimeoutException', 408), ('validationException', 400), ('newException', 500)])
def test_bedrock_exception(name, want):
    "An exception ending Bedrock's event stream is the error it names, as botocore reads it; the answer before it is no error"
    b = _frame('messageStart', {'role': 'assistant'}) + _exception(name)
    assert error(b, 'application/vnd.amazon.eventstream') == error(bytearray(b)) == (want, name)
    es = pytest.importorskip('botocore.eventstream')
    buf = es.EventStreamBuffer()
    buf.add_data(b)
    assert list(buf)[-1].headers[':exception-type'] == name
    assert error(bed_stream, 'application/vnd.amazon.eventstream') is None

def test_bedrock_error_message():
    "A protocol `error` message is a 500; a stream cut or flipped anywhere is never an exception"
    e = _exception(None, {':message-type': 'error', ':error-code': 'InternalFailure', ':error-message': 'x'})
    assert error(bed_stream + e) == (500, 'InternalFailure')
    b,rnd = bed_stream + _exception('throttlingException'),random.Random(3)
    for n in range(0, len(b), 5): assert error(b[:n]) in (None, (429, 'throttlingException'))
    for _ in range(300):
        i = rnd.randrange(len(b))
        assert error(b[:i] + bytes([rnd.randrange(256)]) + b[i+1:], 'application/vnd.amazon.eventstream') in (None, (429, 'throttlingException'))

def _bodies():
    "Bodies of every kind, as text and bytes"
    text = 'a reply of several words'
    bs = [json.dumps(_chat(1, 'gpt-4o', text)), _usage_chunks(1, 'gpt-4o', text, oai_u), json.dumps(_response(1, 'gpt-5', text)),
          ''.join(_response_events(1, 'gpt-5', text)), json.dumps(_message(1, 'claude-x', text) | {'usage': ant_u}),
          ''.join(_message_events(1, 'claude-x', text)), json.dumps(_cand(1, 'gemini-x', text) | {'usage': gem_u}),
          ''.join(_cand_chunks(1, 'gemini-x', text))]
    return bs + [b.encode() for b in bs] + [bed_stream]

def _ok(r):
    "Whether `r` is what `usage` may return"
    return r is None or (set(r) == {'model', 'input', 'output', 'cached', 'written'} and (r['model'] is None or isinstance(r['model'], str))
                         and all(type(r[k]) is int and r[k] >= 0 for k in ('input', 'output', 'cached', 'written')) and r['cached'] + r['written'] <= r['input'])

def _long(events):
    "A body of over 5 MB made of `events` (a list, or one text), their middle repeated: a long streamed answer as `_save` sees it"
    if isinstance(events, str): events = [e for e in re.split(r'(?<=\n\n)', events) if e]
    first,*mid,last = events
    return bytearray((first + ''.join(mid)*(6_000_000//len(''.join(mid))) + last).encode())

@pytest.mark.parametrize('kind', ['chat', 'responses', 'anthropic', 'gemini', 'bedrock'])
def test_checks_copy_no_body(kind):
    "What is read of a long recorded stream (its usage, error, end, blame), and its record and line, cost at most 4 MB of memory beyond the body itself, not a copy of it"
    text = ' '.join(['word']*50)
    b = {'chat': lambda: _long(_usage_chunks(1, 'gpt-4o', text, oai_u)), 'responses': lambda: _long(_response_events(1, 'gpt-5', text)),
         'anthropic': lambda: _long(_message_events(1, 'claude-sonnet-4-5', text)), 'gemini': lambda: _long(_cand_chunks(1, 'gemini-2.5-flash', text)),
         'bedrock': lambda: bytearray(_frame('messageStart', {'role': 'assistant'}) + _frame('contentBlockDelta', {'delta': {'text': text}})*40000 + bed_stream)}[kind]()
    ct = 'application/vnd.amazon.eventstream' if kind == 'bedrock' else 'text/event-stream'
    req = httpx.Request('POST', 'https://api.openai.com/v1/responses', json={'model': 'gpt-5', 'input': 'hi', 'stream': True})
    record = lambda: collections.deque(_dumps(core._record({'content-type'}, 'k', req, 200, {'content-type': ct}, b)), maxlen=0)
    checks = dict(usage=lambda: usage(b, ct, bed_url+'-stream'), error=lambda: error(b, ct), unended=lambda: cu.unended(b, ct),
                  blames_account=lambda: cu.blames_account(b), unfinished=lambda: cu.unfinished(b, 200, ct), record=record)
    assert len(b) > 5_000_000 and usage(b, ct, bed_url+'-stream') is not None
    costs = {}
    for name,f in checks.items():
        tracemalloc.start()
        try: f(); costs[name] = tracemalloc.get_traced_memory()[1]
        finally: tracemalloc.stop()
    assert all(c < 4_000_000 for c in costs.values()), str(costs)

def _ends(text, eol):
    "Server-sent events `text`, written with `\\n`, with each line ended by `eol` instead"
    return text.replace('\r\n', '\n').replace('\n', eol)

@pytest.mark.parametrize('eol', ['\n', '\r\n', '\r'])
def test_any_line_end(eol):
    "An SSE stream may end its lines with LF, CRLF or a bare CR (all three are the standard's): its usage, its errors and its end are read alike"
    text = 'a few words'
    streams = {'chat': _usage_chunks(1, 'gpt-4o', text, oai_u), 'responses': ''.join(_response_events(1, 'gpt-5', text)),
               'anthropic': ''.join(_message_events(1, 'claude-sonnet-4-5', text)), 'gemini': ''.join(_cand_chunks(1, 'gemini-2.5-flash', text))}
    got = {k: usage(_ends(v, eol).encode(), 'text/event-stream') for k,v in streams.items()}
    assert got == {k: usage(v.encode(), 'text/event-stream') for k,v in streams.items()} and None not in got.values()
    errors = {'chat': sse(None, {'error': {'message': 'upstream died', 'type': 'server_error', 'code': 502}}),
              'responses': sse('response.failed', {'type': 'response.failed', 'response': {'status': 'failed', 'error': {'code': 'server_error'}}}),
              'anthropic': sse('error', {'type': 'error', 'error': {'type': 'overloaded_error', 'message': 'Overloaded'}}),
              'gemini': sse(None, {'error': {'code': 503, 'message': 'overloaded', 'status': 'UNAVAILABLE'}})}
    assert {k: error(_ends(v, eol).encode(), 'text/event-stream') for k,v in errors.items()} == \
           {'chat': (502, 'server_error'), 'responses': (500, 'server_error'), 'anthropic': (529, 'overloaded_error'), 'gemini': (503, 'UNAVAILABLE')}
    assert cu.events(_ends('event: a\ndata: 1\ndata: 2\n\n: note\ndata: 3\n\n', eol)) == [('a', '1\n2'), (None, '3')]

def test_fuzz():
    "Truncated, mutated and ill-typed bodies: never an exception, always `None` or sound counts"
    rnd = random.Random(17)
    for b in _bodies():
        for n in sorted({rnd.randrange(len(b)) for _ in range(150)}): assert _ok(usage(b[:n]))
        for _ in range(150):
            i = rnd.randrange(len(b))
            m = b[:i] + (bytes([rnd.randrange(256)]) if isinstance(b, bytes) else rnd.choice('{}[]":,\n\r 0-9x\ufffd')) + b[i+1:]
            assert _ok(usage(m))
    vals = [None, True, False, -3, 2.5, '7', [], {}, [7], {'a': 1}, 10**30, float('nan')]
    for u in (oai_u, resp_u, ant_u, gem_u, bed_u):
        for k in u:
            for v in vals:
                for wrap in ({'model': 'm', 'usage': u | {k: v}}, {'modelVersion': 'm', 'usageMetadata': u | {k: v}}):
                    s = json.dumps(wrap)
                    assert _ok(usage(s))
                    assert _ok(usage(f'data: {s}\n\ndata: [DONE]\n\n'))
    for b in (None, 3, 2.5, [], {}, object(), 'x'*(1<<22) + 'usage', '{"usage": {' * 50000, b'\0'*64 + b'usage', memoryview(b'{"usage": {}}')):
        assert usage(b) is None

def test_fuzz_frames():
    "Bedrock's stream cut or flipped anywhere"
    rnd = random.Random(5)
    for n in range(0, len(bed_stream), 7): assert _ok(usage(bed_stream[:n]))
    for _ in range(300):
        i = rnd.randrange(len(bed_stream))
        assert _ok(usage(bed_stream[:i] + bytes([rnd.randrange(256)]) + bed_stream[i+1:]))
        hs = bytes(rnd.randrange(256) for _ in range(rnd.randrange(40)))
        assert isinstance(cu._headers(hs), dict)

def _litellm_map():
    "litellm's price map, read here the plain way"
    s = importlib.util.find_spec('litellm')
    return json.loads((Path(s.submodule_search_locations[0])/'model_prices_and_context_window_backup.json').read_text())

needs_map = pytest.mark.skipif(importlib.util.find_spec('litellm') is None, reason='litellm is not installed')

@needs_map
def test_price_from_the_map():
    m = _litellm_map()
    g,a = m['gpt-4o-2024-08-06'],m['claude-sonnet-4-5-20250929']
    assert has_prices()
    assert price('gpt-4o-2024-08-06', 2006, 300, 1920) == pytest.approx(86*g['input_cost_per_token'] + 1920*g['cache_read_input_token_cost'] + 300*g['output_cost_per_token'], rel=1e-12)
    u = usage(json.dumps(_message(1, 'claude-sonnet-4-5-20250929', 'x') | {'usage': ant_u | {'cache_read_input_tokens': 1000}}))
    assert price(**u) == pytest.approx(21*a['input_cost_per_token'] + 1000*a['cache_read_input_token_cost'] + 188086*a['cache_creation_input_token_cost'] + 393*a['output_cost_per_token'], rel=1e-12)
    assert price('no-such-model-anywhere', 10, 10) is None
    assert price('us.anthropic.claude-3-5-sonnet-20240620-v1:0', 1, 0) == m['us.anthropic.claude-3-5-sonnet-20240620-v1:0']['input_cost_per_token']

@needs_map
def test_price_names():
    "Prefixes, ARNs and fine-tunes reach their entry; a dated name not in the map its undated one; a region prefix is never dropped"
    m = _litellm_map()
    assert price('openai/gpt-4o', 1000, 10) == price('gpt-4o', 1000, 10)
    assert price('models/gemini-2.5-flash', 1000, 10) == price('gemini-2.5-flash', 1000, 10)
    assert price('gpt-4o-2031-01-01', 1000, 10) == price('gpt-4o', 1000, 10)
    assert price('arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0', 1000, 10) == price('anthropic.claude-3-5-sonnet-20240620-v1:0', 1000, 10)
    ft = m['ft:gpt-4o-mini-2024-07-18']
    assert price('ft:gpt-4o-mini-2024-07-18:acme::abc123', 1000, 0) == pytest.approx(1000*ft['input_cost_per_token'])
    assert 'xx.anthropic.claude-3-5-sonnet-20240620-v1:0' not in m and price('xx.anthropic.claude-3-5-sonnet-20240620-v1:0', 1, 1) is None
    assert price('sample_spec', 1, 1) is None

@needs_map
def test_price_tiers():
    "A long prompt is priced at the tier it exceeds, as the map says"
    e = _litellm_map()['gemini-2.5-pro']
    assert price('gemini-2.5-pro', 200_000, 10) == pytest.approx(200_000*e['input_cost_per_token'] + 10*e['output_cost_per_token'])
    assert price('gemini-2.5-pro', 300_000, 10, 100_000) == pytest.approx(200_000*e['input_cost_per_token_above_200k_tokens'] + 10*e['output_cost_per_token_above_200k_tokens']
                                                                          + 100_000*e['cache_read_input_token_cost_above_200k_tokens'])

@pytest.fixture
def no_map(monkeypatch):
    "No litellm price map to be found"
    monkeypatch.setattr(cu, '_price_file', lambda: None)
    cu._prices.cache_clear()
    yield
    cu._prices.cache_clear()

def test_no_map(no_map):
    assert not has_prices()
    assert price('gpt-4o', 10, 10) is None

def test_bad_map(monkeypatch, tmp_path):
    "A map that is not JSON, or not an object, is no map"
    for s in ('{"gpt-4o": ', '[1, 2]', '{"gpt-4o": {"input_cost_per_token": "1", "output_cost_per_token": 1}}'):
        (tmp_path/'m.json').write_text(s)
        monkeypatch.setattr(cu, '_price_file', lambda: tmp_path/'m.json')
        cu._prices.cache_clear()
        assert price('gpt-4o', 10, 10) is None
    cu._prices.cache_clear()

def test_first_name_in_the_map_decides(monkeypatch, tmp_path):
    "A dated name the map prices by `tiered_pricing`, or not at all, gets no price, not its undated alias's"
    m = {'m': {'input_cost_per_token': 1, 'output_cost_per_token': 2}, 'm-2024-01-01': {'tiered_pricing': [{'input_cost_per_token': 5, 'range': [0, 10]}]},
         'm-2025-01-01': {'mode': 'chat'}, 'n': {'input_cost_per_token': 1}, 'sample_spec': {'input_cost_per_token': 0, 'output_cost_per_token': 0}}
    (tmp_path/'m.json').write_text(json.dumps(m))
    monkeypatch.setattr(cu, '_price_file', lambda: tmp_path/'m.json')
    cu._prices.cache_clear()
    try:
        assert [price(k, 10, 1) for k in ('m', 'm-2026-01-01', 'm-2024-01-01', 'm-2025-01-01', 'sample_spec')] == [12.0, 12.0, None, None, None]
        assert (price('n', 10, 0), price('n', 10, 1)) == (10.0, None)
        assert type(price('n', 10, 0)) is float
    finally: cu._prices.cache_clear()

def _run(code):
    r = py(code, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1])

def test_imports():
    "`import cachy` leaves `cachy.answer` alone; `import cachy.answer` reads no map and imports neither litellm nor cachy's core; nor does finding the map"
    assert _run('import sys,json,cachy; print(json.dumps("cachy.answer" in sys.modules))') is False
    got = _run('''
import sys,json
import cachy.answer as cu
a = [m in sys.modules for m in ("litellm", "cachy.core")] + [cu._prices.cache_info().currsize]
cu.has_prices()
print(json.dumps(a + ["litellm" in sys.modules]))''')
    assert got == [False, False, 0, False]

# An error inside a 200 stream

@pytest.mark.parametrize('kind', ['overloaded', 'api'])
def test_anthropic_error_event_not_recorded(kind, srv, cached, ant):
    import anthropic
    def go(): return list(ant.messages.create(model=f'inband-{kind}', max_tokens=9, messages=msgs('hi'), stream=True))
    assert [raised(go) for _ in range(2)] == [anthropic.APIStatusError]*2
    assert srv.total == 2
    assert recs(cached) == []

def test_anthropic_invalid_request_event_recorded(srv, cached, ant):
    "A request the provider rejects as invalid, inside the stream, is a deterministic answer: recorded, and replayed"
    import anthropic
    def go(): return list(ant.messages.create(model='inband-invalid', max_tokens=9, messages=msgs('hi'), stream=True))
    assert [raised(go) for _ in range(2)] == [anthropic.APIStatusError]*2
    assert srv.total == 1
    assert len(recs(cached)) == 1

def test_stream_ended_early_not_recorded(srv, cached, oai, ant, capsys):
    "A stream that ends cleanly before its last event (a proxy closing it early) is not recorded: Anthropic's without message_stop, Responses' without response.completed, chat's without [DONE]"
    import cachy
    cachy.enable_cachy(cache_dir=cached.parent, doms=ours, debug='miss')
    calls = [lambda: [e.type for e in ant.messages.create(model='early', max_tokens=9, messages=msgs('hi'), stream=True)],
             lambda: [e.type for e in oai.responses.create(model='early', input='hi', stream=True)],
             lambda: [c.id for c in oai.chat.completions.create(model='early', messages=msgs('hi'), stream=True)]]
    for f in calls:
        for _ in range(2): f()
    assert srv.total == 6
    assert recs(cached) == []
    out = capsys.readouterr().out
    assert [out.count(f'the stream ended before its {e}: cut short') for e in ('message_stop', 'response.completed', '[DONE]')] == [2, 2, 2], out

@pytest.mark.parametrize('kind', ['failed', 'error'])
def test_responses_failure_not_recorded(kind, srv, cached, oai):
    def go(): return [e.type for e in oai.responses.create(model=f'inband-{kind}', input='hi', stream=True)]
    evs = [go() for _ in range(2)]
    assert evs[0] == evs[1] and evs[0][-1] == ('response.failed' if kind == 'failed' else 'error')
    assert srv.total == 2
    assert recs(cached) == []

def test_chat_error_chunk_not_recorded(srv, cached, oai):
    import openai
    def go(): return list(oai.chat.completions.create(model='inband-error', messages=msgs('hi'), stream=True))
    assert [raised(go) for _ in range(2)] == [openai.APIError]*2
    assert srv.total == 2
    assert recs(cached) == []

def test_gemini_error_object_not_recorded(srv, cached):
    from google import genai
    from google.genai import types
    c = genai.Client(api_key='AIza-test', http_options=types.HttpOptions(base_url=srv.url))
    def go(): return [x.text for x in c.models.generate_content_stream(model='inband-x', contents='hi')]
    assert [raised(go) for _ in range(2)] == [raised(go)]*2
    assert srv.total == 3
    assert recs(cached) == []

@pytest.mark.parametrize('eol', ['\r', '\r\n'])
def test_line_ends_through_the_sdks(eol, srv, cached, ant, oai):
    "Streams whose lines end in a bare CR, or CRLF, as the SDKs read them: one with an error is not recorded, a whole one is, with its tokens"
    import anthropic,openai
    from google import genai
    from google.genai import types
    srv.eol = eol
    gem = genai.Client(api_key='AIza-test', http_options=types.HttpOptions(base_url=srv.url))
    calls = dict(chat=lambda m: list(oai.chat.completions.create(model=m, messages=msgs('hi'), stream=True, stream_options={'include_usage': True})),
                 responses=lambda m: [e.type for e in oai.responses.create(model=m, input='hi', stream=True)],
                 anthropic=lambda m: list(ant.messages.create(model=m, max_tokens=9, messages=msgs('hi'), stream=True)),
                 gemini=lambda m: [x.text for x in gem.models.generate_content_stream(model=m, contents='hi')])
    assert raised(lambda: calls['chat']('inband-error')) is openai.APIError
    assert calls['responses']('inband-failed')[-1] == 'response.failed'
    assert raised(lambda: calls['anthropic']('inband-overloaded')) is anthropic.APIStatusError
    assert raised(lambda: calls['gemini']('inband-x')) is not None
    assert recs(cached) == []
    for f in calls.values(): f('m')
    rs = recs(cached)
    assert len(rs) == 4 and all(eol in r['response'] for r in rs)
    assert sorted(r['usage']['output'] for r in rs) == [7]*4
    n = srv.total
    for f in calls.values(): f('m')
    assert srv.total == n

def test_whole_stream_still_recorded(srv, cached, ant, oai):
    "The same streams without an error are recorded and replayed, as before"
    a = [list(ant.messages.create(model='m', max_tokens=9, messages=msgs('hi'), stream=True)) for _ in range(2)]
    b = [[e.type for e in oai.responses.create(model='m', input='hi', stream=True)] for _ in range(2)]
    assert a[0] == a[1] and b[0] == b[1]
    assert srv.total == 2
    assert len(recs(cached)) == 2

# An error of the account (its key, credits, quota, region) passes once the account is fixed: never recorded

def _gemini(srv):
    from google import genai
    from google.genai import types
    return genai.Client(api_key='AIza-test', http_options=types.HttpOptions(base_url=srv.url, retry_options=types.HttpRetryOptions(attempts=1)))

_account = {'openrouter-credits': (402, 'openai'), 'deepseek-balance': (402, 'openai'), 'groq-flex': (498, 'openai'), 'xai-key': (400, 'openai'),
            'azure-deployment': (404, 'azure'), 'anthropic-credits': (400, 'anthropic'), 'gemini-key': (400, 'gemini'), 'gemini-country': (400, 'gemini')}

@pytest.mark.parametrize('kind', list(_account))
def test_account_errors_not_recorded(kind, srv, on, cfile, oai, ant, capsys):
    "Each provider's way of saying the key, the credits or the region is wrong: raised as without cachy, asked again every time, never in the file"
    import openai,anthropic
    from google.genai import errors
    code,sdk = _account[kind]
    on(debug=True)
    def go():
        m = f'acct-{kind}'
        if sdk == 'openai': return oai.with_options(max_retries=0).chat.completions.create(model=m, messages=msgs('hi'))
        if sdk == 'azure':
            with openai.AzureOpenAI(azure_endpoint=srv.url, api_key='dummy', api_version='2024-10-21', max_retries=0) as az:
                return az.chat.completions.create(model=m, messages=msgs('hi'))
        if sdk == 'anthropic': return ant.with_options(max_retries=0).messages.create(model=m, max_tokens=9, messages=msgs('hi'))
        c = _gemini(srv)
        return c.models.generate_content(model=m, contents='hi')
    errs = []
    for _ in range(2):
        with pytest.raises((openai.APIStatusError, anthropic.APIStatusError, errors.APIError)) as e: go()
        errs.append(getattr(e.value, 'status_code', None) or e.value.code)
    assert errs == [code, code]
    assert srv.total == 2
    assert recs(cfile) == []
    assert capsys.readouterr().out.count('cachy NOT RECORDED') == 2

def test_request_errors_still_recorded(srv, on, cfile, oai):
    "An error the request earns, whoever sends it (a 400 about the request itself), is recorded and replayed as before"
    import openai
    on()
    for _ in range(2):
        with pytest.raises(openai.BadRequestError): oai.with_options(max_retries=0).chat.completions.create(model='status-400', messages=msgs('hi'))
    assert srv.total == 1
    assert [r['status_code'] for r in recs(cfile)] == [400]

# Reading in pieces

sse_text = st.lists(st.sampled_from(['\n', '\r', '\r\n', '\n\n', 'data: ', 'data:', 'event: ', ':', 'usage', 'x', '{}', ' ', '\ufeff', 'é']), max_size=60).map(''.join)

@settings(max_examples=300)
@given(sse_text, st.integers(1, 20), st.booleans())
def test_pieces_read_as_the_whole(text, n, raw):
    "Events read a few characters at a time, forward or from the last, are the events of the whole body, text or bytes"
    body = text.encode() if raw else text
    whole = cu.events(text)
    with unittest.mock.patch.object(cu, '_piece', n):
        assert cu.events(body) == whole
        assert [e for b in cu._holding(body, last=True) if (e := cu._block(b))] == whole[::-1]
