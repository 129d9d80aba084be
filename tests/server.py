"A loopback HTTP server speaking the OpenAI, Anthropic and Gemini wire formats, counting the requests it receives"
import gzip,hashlib,json,re,socket,struct,threading,time
from collections import Counter
from http.server import BaseHTTPRequestHandler,ThreadingHTTPServer
from urllib.parse import parse_qsl,urlsplit

OKEY = 'sk-test-SECRET-openai-4f1c2a9e7b'
AKEY = 'sk-ant-test-SECRET-anthropic-8d3e5f0a1c'

def aoai(srv, **kw):
    from openai import AsyncOpenAI
    return AsyncOpenAI(api_key=OKEY, base_url=srv.url+'/v1', **kw)

def aant(srv, **kw):
    from anthropic import AsyncAnthropic
    return AsyncAnthropic(api_key=AKEY, base_url=srv.url, **kw)

# Response headers a provider sends that must never land in `cachy.jsonl`
secret_hdrs = {'openai-organization': 'org-secret', 'openai-project': 'proj-secret',
               'set-cookie': 'sid=cookie-secret; Path=/; HttpOnly', 'x-request-id': 'req-secret'}

def audio(n, text, size=None):
    "The (non-UTF-8) bytes of speech number `n` for `text`, repeated or cut to `size` bytes when given"
    b = b'ID3\x04\x00\xff\xfe\x80' + n.to_bytes(4, 'big') + hashlib.sha256(text.encode()).digest() + bytes(range(256))
    return b if size is None else (b*(size//len(b)+1))[:size]

def sse(event, data):
    "One server-sent event, with an `event:` line when `event` is given"
    return (f'event: {event}\n' if event else '') + f'data: {json.dumps(data) if not isinstance(data, str) else data}\n\n'

def _file_part(body, ct):
    "The content of the `file` part of a multipart `body`"
    b = ct.split('boundary=')[1].strip('"').encode()
    for part in body.split(b'--'+b):
        head,_,data = part.partition(b'\r\n\r\n')
        if b'name="file"' in head: return data[:-2]
    return b''

def _text_of(content):
    "Text of a message `content`: a string or a list of blocks"
    if isinstance(content, str): return content
    return ''.join(b.get('text', '') for b in content or [] if isinstance(b, dict))

def _oai_err(code, n, model):
    typ = {400:'invalid_request_error', 401:'invalid_api_key', 404:'model_not_found', 429:'rate_limit_exceeded'}.get(code, 'server_error')
    return {'error': {'message': f'error {code} #{n} for model {model}', 'type': typ, 'param': None, 'code': typ}}

def _gem_err(code, n, model):
    st = {400:'INVALID_ARGUMENT', 401:'UNAUTHENTICATED', 403:'PERMISSION_DENIED', 404:'NOT_FOUND', 429:'RESOURCE_EXHAUSTED'}.get(code, 'INTERNAL')
    return {'error': {'code': code, 'message': f'error {code} #{n} for model {model}', 'status': st}}

def _ant_err(code, n, model):
    typ = {400:'invalid_request_error', 401:'authentication_error', 404:'not_found_error', 429:'rate_limit_error'}.get(code, 'api_error')
    return {'type': 'error', 'error': {'type': typ, 'message': f'error {code} #{n} for model {model}'}}

# Errors of the account, chosen by the model's name `acct-KIND`: `(status, body)` as each provider sends them
account_errors = {
    'gemini-key': (400, {'error': {'code': 400, 'message': 'API key not valid. Please pass a valid API key.', 'status': 'INVALID_ARGUMENT',
                                   'details': [{'@type': 'type.googleapis.com/google.rpc.ErrorInfo', 'reason': 'API_KEY_INVALID', 'domain': 'googleapis.com',
                                                'metadata': {'service': 'generativelanguage.googleapis.com'}}]}}),
    'gemini-country': (400, {'error': {'code': 400, 'status': 'FAILED_PRECONDITION',
                                       'message': 'Gemini API free tier is not available in your country. Please enable billing on your project in Google AI Studio.'}}),
    'anthropic-credits': (400, {'type': 'error', 'error': {'type': 'invalid_request_error',
                                'message': 'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.'}}),
    'xai-key': (400, {'code': 'Client specified an invalid argument', 'error': 'Incorrect API key provided: xa***Yk. You can obtain an API key from https://console.x.ai.'}),
    'azure-deployment': (404, {'error': {'code': 'DeploymentNotFound', 'message': 'The API deployment for this resource does not exist. If you created the deployment '
                                         'within the last 5 minutes, please wait a moment and try again.'}}),
    'openrouter-credits': (402, {'error': {'code': 402, 'message': 'Insufficient credits. Add more using https://openrouter.ai/settings/credits'}}),
    'deepseek-balance': (402, {'error': {'message': 'Insufficient Balance', 'type': 'unknown_error', 'param': None, 'code': 'invalid_request_error'}}),
    'groq-flex': (498, {'error': {'message': 'Flex tier capacity exceeded', 'type': 'capacity_exceeded', 'code': 'capacity_exceeded'}})}

def _chat(n, model, text):
    return {'id': f'chatcmpl-{n}', 'object': 'chat.completion', 'created': 1700000000+n, 'model': model,
            'choices': [{'index': 0, 'message': {'role': 'assistant', 'content': text, 'refusal': None},
                         'logprobs': None, 'finish_reason': 'stop'}],
            'usage': {'prompt_tokens': 5, 'completion_tokens': 7, 'total_tokens': 12}}

def _chat_chunks(n, model, text, usage=False):
    "A chat completion's stream; with `usage`, as sent with `stream_options={'include_usage': True}`: `usage` null, then a last chunk with it"
    base = {'id': f'chatcmpl-{n}', 'object': 'chat.completion.chunk', 'created': 1700000000+n, 'model': model} | ({'usage': None} if usage else {})
    def chunk(delta, fin=None): return sse(None, base | {'choices': [{'index': 0, 'delta': delta, 'logprobs': None, 'finish_reason': fin}]})
    yield chunk({'role': 'assistant', 'content': ''})
    for w in _words(text): yield chunk({'content': w})
    yield chunk({}, 'stop')
    if usage: yield sse(None, base | {'choices': [], 'usage': {'prompt_tokens': 5, 'completion_tokens': 7, 'total_tokens': 12}})
    yield sse(None, '[DONE]')

def _words(text):
    "`text` in pieces that join back to it"
    ws = text.split(' ')
    return [w + (' ' if i < len(ws)-1 else '') for i,w in enumerate(ws)]

def _msg_item(n, text, status='completed'):
    return {'type': 'message', 'id': f'msg_{n}', 'role': 'assistant', 'status': status,
            'content': [{'type': 'output_text', 'text': text, 'annotations': [], 'logprobs': []}] if text is not None else []}

def _response(n, model, text, status='completed', echo={}):
    "A Responses API `response`, echoing the request's configuration as OpenAI does"
    return {'id': f'resp_{n}', 'object': 'response', 'created_at': 1700000000+n, 'model': model, 'status': status,
            'output': [_msg_item(n, text)] if text is not None else [], 'parallel_tool_calls': True, 'tool_choice': 'auto',
            'tools': [], 'error': None, 'incomplete_details': None, 'instructions': None, 'metadata': {},
            'temperature': 1.0, 'top_p': 1.0, 'text': {'format': {'type': 'text'}},
            'usage': {'input_tokens': 5, 'output_tokens': 7, 'total_tokens': 12,
                      'input_tokens_details': {'cached_tokens': 0}, 'output_tokens_details': {'reasoning_tokens': 0}}} | echo

def _response_events(n, model, text, echo={}):
    seq = iter(range(100))
    def ev(typ, **kw): return sse(typ, {'type': typ, 'sequence_number': next(seq)} | kw)
    item = dict(item_id=f'msg_{n}', output_index=0, content_index=0)
    part = {'type': 'output_text', 'text': '', 'annotations': [], 'logprobs': []}
    yield ev('response.created', response=_response(n, model, None, 'in_progress', echo))
    yield ev('response.in_progress', response=_response(n, model, None, 'in_progress', echo))
    yield ev('response.output_item.added', output_index=0, item=_msg_item(n, None, 'in_progress'))
    yield ev('response.content_part.added', part=part, **item)
    for w in _words(text): yield ev('response.output_text.delta', delta=w, logprobs=[], **item)
    yield ev('response.output_text.done', text=text, logprobs=[], **item)
    yield ev('response.content_part.done', part=part | {'text': text}, **item)
    yield ev('response.output_item.done', output_index=0, item=_msg_item(n, text))
    yield ev('response.completed', response=_response(n, model, text, echo=echo))

def _message(n, model, text):
    return {'id': f'msg_{n}', 'type': 'message', 'role': 'assistant', 'model': model,
            'content': [{'type': 'text', 'text': text}], 'stop_reason': 'end_turn', 'stop_sequence': None,
            'usage': {'input_tokens': 5, 'output_tokens': 7}}

def _message_events(n, model, text):
    msg = _message(n, model, text) | {'content': [], 'stop_reason': None, 'usage': {'input_tokens': 5, 'output_tokens': 1}}
    yield sse('message_start', {'type': 'message_start', 'message': msg})
    yield sse('content_block_start', {'type': 'content_block_start', 'index': 0, 'content_block': {'type': 'text', 'text': ''}})
    yield sse('ping', {'type': 'ping'})
    for w in _words(text):
        yield sse('content_block_delta', {'type': 'content_block_delta', 'index': 0, 'delta': {'type': 'text_delta', 'text': w}})
    yield sse('content_block_stop', {'type': 'content_block_stop', 'index': 0})
    yield sse('message_delta', {'type': 'message_delta', 'delta': {'stop_reason': 'end_turn', 'stop_sequence': None},
                                'usage': {'output_tokens': 7}})
    yield sse('message_stop', {'type': 'message_stop'})

def _cand(n, model, text, fin=True):
    "A Gemini `GenerateContentResponse` holding `text`, finished when `fin`"
    c = {'content': {'parts': [{'text': text}], 'role': 'model'}, 'index': 0} | ({'finishReason': 'STOP'} if fin else {})
    return {'candidates': [c], 'usageMetadata': {'promptTokenCount': 5, 'candidatesTokenCount': 7, 'totalTokenCount': 12},
            'modelVersion': model, 'responseId': f'resp-{n}'}

def _cand_chunks(n, model, text):
    "`streamGenerateContent?alt=sse` events, separated by CRLF as Gemini sends them; the last one finishes"
    ws = _words(text)
    for i,w in enumerate(ws): yield f'data: {json.dumps(_cand(n, model, w, i == len(ws)-1))}\r\n\r\n'

# The agent: a model named `agent...` runs one tool loop, in each provider's wire format. Asked with tools and no
# tool result yet, it calls the first tool ('Paris' for each required argument); given a tool's result, it answers
# `done: <result>`. A DSPy prompt (its fields marked `[[ ## name ## ]]`) gets the same loop in DSPy's text format.
def _args(schema):
    "The arguments the agent gives a tool whose JSON schema is `schema`: 'Paris' for each required property"
    return {k: 'Paris' for k in (schema or {}).get('required', [])}

def _first_tool(path, data):
    "`(name, arguments)` of the first tool a request offers, or `None`"
    ts = data.get('tools') or []
    if not ts: return None
    t = ts[0]
    if path.endswith('/chat/completions'): return t['function']['name'],_args(t['function'].get('parameters'))
    if path == '/v1/messages': return t['name'],_args(t.get('input_schema'))
    if path == '/v1/responses': return t['name'],_args(t.get('parameters'))
    f = t['functionDeclarations'][0]
    return f['name'],_args(f.get('parameters') or f.get('parametersJsonSchema') or f.get('parameters_json_schema'))

def _result(path, data):
    "The tool result a request carries last, as text, or `None`"
    def text(v): return v if isinstance(v, str) else _text_of(v) if isinstance(v, list) else json.dumps(v)
    if path.endswith('/chat/completions'):
        m = data['messages'][-1]
        return text(m['content']) if m.get('role') == 'tool' else None
    if path == '/v1/messages':
        c = data['messages'][-1]['content']
        return next((text(b['content']) for b in c if b.get('type') == 'tool_result'), None) if isinstance(c, list) else None
    if path == '/v1/responses':
        inp = data.get('input')
        return next((text(i['output']) for i in inp[::-1] if i.get('type') == 'function_call_output'), None) if isinstance(inp, list) else None
    return next((text(p['functionResponse']['response']) for p in data['contents'][-1]['parts'] if 'functionResponse' in p), None)

def _dspy(prompt):
    "DSPy's text answer to `prompt`: each output field it asks for, a tool call first, then `finish`, then the answer from the observation"
    fields = re.findall(r'`\[\[ ## (\w+) ## \]\]`', prompt.rpartition('Respond with')[2])
    obs = re.search(r'\[\[ ## observation_0 ## \]\]\n(.*?)\n', prompt)
    tool = re.search(r"Literal\['(\w+)'", prompt)
    vals = dict(next_thought='thinking', next_tool_name='finish' if obs or not tool else tool[1], next_tool_args='{}' if obs else '{"city": "Paris"}',
                reasoning='read it')
    return ''.join(f'[[ ## {f} ## ]]\n{vals.get(f, "done: " + (obs[1] if obs else ""))}\n\n' for f in fields if f != 'completed') + '[[ ## completed ## ]]'

def _agent(n, path, data, model):
    "`(kind, payload)`: what the agent answers, `('call', (name, args))` or `('text', text)`"
    if (r := _result(path, data)) is not None: return 'text',f'done: {r}'
    if (t := _first_tool(path, data)) is not None: return 'call',t
    msgs = data.get('messages') or data.get('input') or []
    prompt = '\n'.join(_text_of(m.get('content')) if isinstance(m, dict) else str(m) for m in msgs) if isinstance(msgs, list) else str(msgs)
    if isinstance(data.get('instructions'), str): prompt = data['instructions'] + '\n' + prompt
    return 'text',_dspy(prompt) if '[[ ## ' in prompt else f'reply {n}'

def _agent_chat(n, model, kind, v, stream):
    "A chat completion (or its stream) that calls tool `v` or says text `v`"
    if kind == 'text':
        return _chat_chunks(n, model, v) if stream else _chat(n, model, v)
    call = {'id': f'call_{n}', 'type': 'function', 'function': {'name': v[0], 'arguments': json.dumps(v[1])}}
    if not stream:
        r = _chat(n, model, '')
        r['choices'][0] |= {'message': {'role': 'assistant', 'content': None, 'tool_calls': [call], 'refusal': None}, 'finish_reason': 'tool_calls'}
        return r
    base = {'id': f'chatcmpl-{n}', 'object': 'chat.completion.chunk', 'created': 1700000000+n, 'model': model}
    def chunk(delta, fin=None): return sse(None, base | {'choices': [{'index': 0, 'delta': delta, 'logprobs': None, 'finish_reason': fin}]})
    return [chunk({'role': 'assistant', 'content': None, 'tool_calls': [{'index': 0} | call]}), chunk({}, 'tool_calls'), sse(None, '[DONE]')]

def _agent_response(n, model, kind, v):
    "A Responses API `response` that calls tool `v` or says text `v`"
    if kind == 'text': return _response(n, model, v)
    return _response(n, model, None) | {'output': [{'type': 'function_call', 'id': f'fc_{n}', 'call_id': f'call_{n}', 'name': v[0],
                                                    'arguments': json.dumps(v[1]), 'status': 'completed'}]}

def _agent_message(n, model, kind, v):
    "An Anthropic message that calls tool `v` or says text `v`"
    if kind == 'text': return _message(n, model, v)
    return _message(n, model, '') | {'content': [{'type': 'tool_use', 'id': f'toolu_{n}', 'name': v[0], 'input': v[1]}], 'stop_reason': 'tool_use'}

def _agent_cand(n, model, kind, v):
    "A Gemini answer that calls tool `v`, with no id as Gemini 2.x sends it, or says text `v`"
    if kind == 'text': return _cand(n, model, v)
    r = _cand(n, model, '')
    r['candidates'][0]['content']['parts'] = [{'functionCall': {'name': v[0], 'args': v[1]}}]
    return r

# Streams that fail, chosen by the model's name: `cut-N` breaks the connection after N events, `stall-S` waits S seconds
# after the first event, `inband-KIND` sends the provider's own error event after the first two.
def _inband(path, kind, n):
    "The error event that the provider at `path` sends inside a 200 stream, for `kind`"
    if path == '/v1/messages':
        typ = {'overloaded': 'overloaded_error', 'api': 'api_error', 'invalid': 'invalid_request_error'}[kind]
        return sse('error', {'type': 'error', 'error': {'type': typ, 'message': f'{typ} #{n}'}})
    if path == '/v1/responses':
        if kind == 'error': return sse('error', {'type': 'error', 'code': 'server_error', 'message': f'boom #{n}', 'param': None, 'sequence_number': 9})
        return sse('response.failed', {'type': 'response.failed', 'sequence_number': 9,
                                       'response': _response(n, 'm', None, 'failed') | {'error': {'code': 'server_error', 'message': f'failed #{n}'}}})
    if path == '/v1/chat/completions': return sse(None, {'error': {'message': f'upstream died #{n}', 'type': 'server_error', 'param': None, 'code': None}})
    return f'data: {json.dumps({"error": {"code": 503, "message": f"overloaded #{n}", "status": "UNAVAILABLE"}})}\r\n\r\n'

def _failing(events, model, path, n):
    "`events`, made to fail as `model` names (an in-band error, or a clean end before the last event), or as they are"
    if model.startswith('inband-'):
        evs = list(events)
        return [*evs[:2], _inband(path, model[7:], n)]
    if model.startswith('early'): return list(events)[:3]
    return events

class _HTTPServer(ThreadingHTTPServer):
    "Room in the listen backlog for many processes connecting at once"
    request_queue_size,daemon_threads = 256,True

class Loopback:
    "A threaded HTTP server on 127.0.0.1 (port chosen by the OS) that answers with `handler(self)`; subclasses define `reset`"
    def __init__(self, handler):
        self.lock = threading.Lock()
        self.reset()
        self.httpd = _HTTPServer(('127.0.0.1', 0), handler(self))
        self.port = self.httpd.server_address[1]
        self.url = f'http://127.0.0.1:{self.port}'

    def start(self):
        threading.Thread(target=self.httpd.serve_forever, kwargs=dict(poll_interval=0.05), daemon=True).start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

class Server(Loopback):
    "A loopback server that counts and records the requests it gets"
    def __init__(self): super().__init__(_handler)

    def reset(self):
        "Forget every request seen so far, and clear the `salt` that `/stable/` answers carry"
        with self.lock: self.counts,self.reqs,self.salt,self.pace,self.delay,self.eol = Counter(),[],'',0.001,0,None

    def note(self, req):
        "Count `req` (a dict); returns its number since the last reset"
        with self.lock:
            self.counts[req['path']] += 1
            self.reqs.append(req)
            return len(self.reqs)

    @property
    def total(self): return len(self.reqs)
    def count(self, path): return self.counts[path]
    @property
    def headers(self): return [r['headers'] for r in self.reqs]

def _handler(srv):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        def log_message(self, *args): pass

        def handle_any(self):
            u = urlsplit(self.path)
            n_body = int(self.headers.get('content-length') or 0)
            body = self.rfile.read(n_body) if n_body else b''
            q = dict(parse_qsl(u.query))
            self.req = dict(method=self.command, path=u.path, host=self.headers.get('host'), query=q,
                            headers={k.lower():v for k,v in self.headers.items()}, body=body)
            n = srv.note(self.req)
            if srv.delay: time.sleep(srv.delay)
            ct = self.headers.get('content-type', '')
            data = {}
            if 'json' in ct and body:
                try: data = json.loads(body)
                except ValueError: pass
            p = u.path
            gem = re.fullmatch(r'/v1\w*/(?:projects/[^/]+/locations/[^/]+/publishers/google/)?models/([^:/]+):(generateContent|streamGenerateContent)', p)
            model = str(data.get('model') or q.get('model') or (gem and gem[1]) or '')
            code = int(q['status']) if 'status' in q else int(model[7:]) if model.startswith('status-') else 200
            stream = bool(data.get('stream')) or q.get('stream') == '1'
            if model.startswith('acct-'): return self.send_json(account_errors[model[5:]][1], account_errors[model[5:]][0])
            if code != 200:
                err = _ant_err if p == '/v1/messages' else _gem_err if gem else _oai_err
                return self.send_json(err(code, n, model), code, {'retry-after-ms': '1'})
            self.cut = int(model[4:]) if model.startswith('cut-') else int(q['cut']) if 'cut' in q else None
            self.stall = float(model[6:]) if model.startswith('stall-') else float(q['stall']) if 'stall' in q else 0
            if model.startswith('agent') and (p in ('/v1/chat/completions', '/v1/responses', '/v1/messages') or gem):
                kind,v = _agent(n, p, data, model)
                if p == '/v1/chat/completions':
                    return self.send_sse(_agent_chat(n, model, kind, v, True)) if stream else self.send_json(_agent_chat(n, model, kind, v, False))
                if p == '/v1/responses': return self.send_json(_agent_response(n, model, kind, v))
                if p == '/v1/messages': return self.send_json(_agent_message(n, model, kind, v))
                return self.send_json(_agent_cand(n, model, kind, v))
            if p == '/v1/chat/completions' or re.fullmatch(r'/openai/deployments/[^/]+/chat/completions|/openai/v1/chat/completions', p):
                text = f'reply {n}: {_text_of((data["messages"] or [{}])[-1].get("content"))}'
                if stream: return self.send_sse(_failing(_chat_chunks(n, model, text, (data.get('stream_options') or {}).get('include_usage')), model, p, n))
                return self.send_json(_chat(n, model, text))
            if p == '/v1/responses':
                inp = data.get('input')
                text = f'reply {n}: {inp if isinstance(inp, str) else _text_of(inp[-1]["content"])}'
                echo = {k:data[k] for k in ('instructions', 'tools', 'temperature') if k in data}
                if stream: return self.send_sse(_failing(_response_events(n, model, text, echo), model, p, n))
                return self.send_json(_response(n, model, text, echo=echo))
            if p == '/v1/messages':
                beta = self.headers.get('anthropic-beta')
                text = f'reply {n}: {_text_of((data["messages"] or [{}])[-1].get("content"))}' + (f' [with {beta}]' if beta else '')
                if stream: return self.send_sse(_failing(_message_events(n, model, text), model, p, n))
                return self.send_json(_message(n, model, text))
            if gem:
                text = f'reply {n}: {_text_of(data["contents"][-1]["parts"])}'
                if gem[2] == 'streamGenerateContent': return self.send_sse(_failing(_cand_chunks(n, model, text), model, p, n))
                return self.send_json(_cand(n, model, text))
            if p == '/v1/audio/transcriptions':
                f = _file_part(body, ct)
                return self.send_json({'text': f'transcript {n}: {len(f)} bytes sha {hashlib.sha256(f).hexdigest()[:12]}'})
            if p == '/v1/audio/speech':
                return self.send_bytes(audio(n, data.get('input', '')), 'audio/mpeg')
            if p == '/sse':
                pad = {'pad': 'x'*int(q['pad'])} if 'pad' in q else {}
                return self.send_sse(sse(None, {'n': n, 'i': i} | pad) for i in range(int(q.get('k', 5))))
            if p == '/bytes':
                return self.send_bytes(audio(n, p, int(q['size']) if 'size' in q else None), q.get('ct', 'application/octet-stream'))
            if p.startswith('/stable/'):
                note = {'x-note': q['note'].encode().decode('latin-1') if q.get('wire') == 'utf-8' else q['note']} if 'note' in q else None
                return self.send_json(dict(path=p, query=q, body=body.decode('utf-8', 'replace'), salt=srv.salt, pad='x'*int(q.get('pad', 0))), hdrs=note)
            return self.send_json(dict(n=n, method=self.command, path=p, query={k:v for k,v in q.items() if k.lower() not in ('key', 'api_key', 'access_token', 'token', 'sig') and 'SECRET' not in v}, body=body.decode('utf-8', 'replace')), code)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

        def extra_headers(self, hdrs=None):
            self.send_header('openai-organization', secret_hdrs['openai-organization'])
            self.send_header('openai-project', secret_hdrs['openai-project'])
            self.send_header('set-cookie', secret_hdrs['set-cookie'])
            self.send_header('x-request-id', f"{secret_hdrs['x-request-id']}-{srv.total}")
            for k,v in (hdrs or {}).items(): self.send_header(k, v)

        def send_bytes(self, b, ct, code=200, hdrs=None):
            "Send `b`, gzip-compressed when the client accepts it and it is JSON"
            zipped = 'json' in ct and 'gzip' in self.headers.get('accept-encoding', '')
            if zipped: b = gzip.compress(b)
            self.req['gzipped'] = zipped
            self.send_response(code)
            self.send_header('content-type', ct)
            self.send_header('content-length', str(len(b)))
            if zipped: self.send_header('content-encoding', 'gzip')
            self.extra_headers(hdrs)
            self.end_headers()
            self.wfile.write(b)

        def send_json(self, d, code=200, hdrs=None): self.send_bytes(json.dumps(d).encode(), 'application/json', code, hdrs)

        def send_sse(self, events):
            "Send `events` as a chunked `text/event-stream`, one flushed chunk per event"
            self.req['gzipped'] = False
            self.send_response(200)
            self.send_header('content-type', 'text/event-stream; charset=utf-8')
            self.send_header('transfer-encoding', 'chunked')
            self.send_header('cache-control', 'no-cache')
            self.extra_headers()
            self.end_headers()
            for i,e in enumerate(events):
                if i == self.cut: return self.reset()
                b = (e.replace('\r\n', '\n').replace('\n', srv.eol) if srv.eol else e).encode()
                self.wfile.write(b'%x\r\n%s\r\n' % (len(b), b))
                self.wfile.flush()
                if srv.pace: time.sleep(srv.pace)
                if i == 0 and self.stall: time.sleep(self.stall)
            self.wfile.write(b'0\r\n\r\n')
            self.wfile.flush()

        def reset(self):
            "Break the connection in the middle of a response, as a network or a crashed server does"
            self.close_connection = True
            try: self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            except OSError: pass
            self.connection.close()
    return Handler
