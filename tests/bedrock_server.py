"""A loopback server speaking Amazon Bedrock's runtime API, as boto3 reaches it with `endpoint_url=`: `converse` (JSON),
`converse-stream` (AWS's binary `application/vnd.amazon.eventstream`), `invoke` and `invoke-with-response-stream` (a model's own
JSON, Anthropic's here, in `chunk` events). It counts the requests it gets. The model id picks an answer:
`err-429` an HTTP error with its `x-amzn-ErrorType`, `exc-throttlingException` a stream that fails with that exception,
`gate` a stream that sends its last events only once `gate` is set, `acct-quota` an error of the account. An answer names the
`X-Amzn-Bedrock-*` headers it was asked with (guardrail, trace, performance, service tier), as if they changed it."""
import base64,json,re,threading,uuid,zlib
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote,urlsplit
from server import Loopback,_words

errors = {400: 'ValidationException', 403: 'AccessDeniedException', 404: 'ResourceNotFoundException', 408: 'ModelTimeoutException',
          424: 'ModelErrorException', 429: 'ThrottlingException', 500: 'InternalServerException', 503: 'ServiceUnavailableException'}

def message(hs, payload):
    "An event-stream message with string headers `hs` and bytes `payload`, with both its CRCs"
    h = b''.join(bytes([len(k)]) + k.encode() + b'\x07' + len(v).to_bytes(2, 'big') + v.encode() for k,v in hs.items())
    m = (16+len(h)+len(payload)).to_bytes(4, 'big') + len(h).to_bytes(4, 'big')
    m += zlib.crc32(m).to_bytes(4, 'big') + h + payload
    return m + zlib.crc32(m).to_bytes(4, 'big')

def event(name, d):
    "An event `name` with JSON payload `d`"
    return message({':event-type': name, ':content-type': 'application/json', ':message-type': 'event'}, json.dumps(d).encode())

def exception(name, text='it failed'):
    "An exception message `name`, as Bedrock ends a stream that fails"
    return message({':exception-type': name, ':content-type': 'application/json', ':message-type': 'exception'}, json.dumps({'message': text}).encode())

# Errors of the account, chosen by the model id: `(status, error type, message)`
account_errors = {'acct-quota': (400, 'ServiceQuotaExceededException', "Your request exceeds the service quota for your account."),
                  'acct-usecase': (404, 'ResourceNotFoundException', 'Model use case details have not been submitted for this account. Fill out the Anthropic use case details form before using the model.')}

usage = {'inputTokens': 5, 'outputTokens': 7, 'totalTokens': 12}

def converse(text):
    return {'output': {'message': {'role': 'assistant', 'content': [{'text': text}]}}, 'stopReason': 'end_turn',
            'usage': usage, 'metrics': {'latencyMs': 42}}

def converse_events(text):
    yield event('messageStart', {'role': 'assistant'})
    for w in _words(text): yield event('contentBlockDelta', {'contentBlockIndex': 0, 'delta': {'text': w}})
    yield event('contentBlockStop', {'contentBlockIndex': 0})
    yield event('messageStop', {'stopReason': 'end_turn'})
    yield event('metadata', {'usage': usage, 'metrics': {'latencyMs': 42}})

def anthropic(n, model, text):
    return {'id': f'msg_bdrk_{n}', 'type': 'message', 'role': 'assistant', 'model': model, 'content': [{'type': 'text', 'text': text}],
            'stop_reason': 'end_turn', 'stop_sequence': None, 'usage': {'input_tokens': 5, 'output_tokens': 7}}

def anthropic_events(n, model, text):
    "Anthropic's stream events as Bedrock wraps them: `chunk` events whose `bytes` are an event's JSON, base64-encoded"
    m = anthropic(n, model, '') | {'content': [], 'stop_reason': None}
    es = [{'type': 'message_start', 'message': m}, {'type': 'content_block_start', 'index': 0, 'content_block': {'type': 'text', 'text': ''}},
          *[{'type': 'content_block_delta', 'index': 0, 'delta': {'type': 'text_delta', 'text': w}} for w in _words(text)],
          {'type': 'content_block_stop', 'index': 0}, {'type': 'message_delta', 'delta': {'stop_reason': 'end_turn'}, 'usage': {'output_tokens': 7}},
          {'type': 'message_stop', 'amazon-bedrock-invocationMetrics': {'inputTokenCount': 5, 'outputTokenCount': 7}}]
    for e in es: yield event('chunk', {'bytes': base64.b64encode(json.dumps(e).encode()).decode()})

def _said(data):
    "The text of the last message of a `converse` or Anthropic body"
    c = (data.get('messages') or [{}])[-1].get('content')
    return c if isinstance(c, str) else ''.join(b.get('text', '') for b in c or [] if isinstance(b, dict))

class Bedrock(Loopback):
    "A loopback server that answers as Bedrock's runtime does, and counts and keeps the requests it gets"
    def __init__(self): super().__init__(_handler)

    def reset(self):
        "Forget every request; `gate` closed; `sent` holds the body of each answer"
        with self.lock: self.reqs,self.sent,self.gate,self.waited = [],[],threading.Event(),None

    def note(self, req):
        with self.lock:
            self.reqs.append(req)
            return len(self.reqs)

    @property
    def total(self): return len(self.reqs)

def _handler(srv):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        def log_message(self, *args): pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get('content-length') or 0))
            n = srv.note(dict(path=self.path, headers={k.lower():v for k,v in self.headers.items()}, body=body))
            m = re.fullmatch(r'/model/([^/]+)/(converse|converse-stream|invoke|invoke-with-response-stream)', urlsplit(self.path).path)
            if not m: return self.send(404, 'application/json', b'{"message": "no such operation"}', {'x-amzn-ErrorType': 'UnknownOperationException'})
            model,op = unquote(m[1]),m[2]
            if (e := re.fullmatch(r'err-(\d+)', model)):
                code = int(e[1])
                return self.send(code, 'application/json', json.dumps({'message': f'error {code} #{n}'}).encode(),
                                 {'x-amzn-ErrorType': f'{errors.get(code, "InternalServerException")}:http://internal.amazon.com/coral/com.amazon.bedrock/'})
            if model in account_errors:
                code,name,msg = account_errors[model]
                return self.send(code, 'application/json', json.dumps({'message': msg}).encode(), {'x-amzn-ErrorType': f'{name}:http://internal.amazon.com/coral/com.amazon.bedrock/'})
            data = json.loads(body)
            text = f'reply {n}: {_said(data)}' + ''.join(f' [{h[15:]}: {v}]' for h,v in sorted(self.headers.items(), key=lambda i: i[0].lower()) if h.lower().startswith('x-amzn-bedrock-'))
            if op == 'converse': return self.send(200, 'application/json', json.dumps(converse(text)).encode())
            if op == 'invoke': return self.send(200, 'application/json', json.dumps(anthropic(n, model, text)).encode(),
                                                {'X-Amzn-Bedrock-Input-Token-Count': '5', 'X-Amzn-Bedrock-Output-Token-Count': '7'})
            es = list(converse_events(text) if op == 'converse-stream' else anthropic_events(n, model, text))
            if model.startswith('exc-'): es = es[:2] + [exception(model[4:])]
            self.stream(es, gate=model == 'gate')

        def head(self, code, ct, hdrs=None):
            self.send_response(code)
            self.send_header('content-type', ct)
            self.send_header('x-amzn-RequestId', str(uuid.uuid4()))
            for k,v in (hdrs or {}).items(): self.send_header(k, v)

        def send(self, code, ct, b, hdrs=None):
            srv.sent.append(b)
            self.head(code, ct, hdrs)
            self.send_header('content-length', str(len(b)))
            self.end_headers()
            self.wfile.write(b)

        def stream(self, es, gate=False):
            "Send messages `es` as a chunked event stream, one flushed chunk each; with `gate`, the last two once `srv.gate` is set"
            srv.sent.append(b''.join(es))
            self.head(200, 'application/vnd.amazon.eventstream', {'transfer-encoding': 'chunked'})
            self.end_headers()
            for i,e in enumerate(es):
                if gate and i == len(es)-2: srv.waited = srv.gate.wait(10)
                self.wfile.write(b'%x\r\n%s\r\n' % (len(e), e))
                self.wfile.flush()
            self.wfile.write(b'0\r\n\r\n')
            self.wfile.flush()
    return Handler
