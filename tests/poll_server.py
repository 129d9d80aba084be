"""A loopback server for the APIs that are polled: work is created by one request, and each `GET` of it answers how far it has got.

Each resource moves one step on at every `GET` of it that the server receives (never on a clock), so a polling loop sees
the same answers in the same order on every run:
- OpenAI Responses in background mode: `POST /v1/responses` → `queued`; `GET /v1/responses/{id}` → queued, in_progress, completed.
- OpenAI batches: `POST /v1/files` (the input), `POST /v1/batches` → `validating`; `GET /v1/batches/{id}` → validating,
  in_progress, finalizing, completed with an `output_file_id`; `GET /v1/files/{id}/content` → the output, JSONL.
- Anthropic message batches: `POST /v1/messages/batches` → `in_progress`; `GET /v1/messages/batches/{id}` → in_progress,
  in_progress, ended with a `results_url`; the results, JSONL.
- Google long-running operations: `GET /v1beta/operations/{name}` (any name) → no `done` twice, then `done: true` with a `response`.
- Gemini batches: `POST /v1beta/models/{m}:batchGenerateContent` → `{name: batches/N, metadata: {state: BATCH_STATE_PENDING}}`;
  `GET /v1beta/batches/N` → BATCH_STATE_PENDING, BATCH_STATE_RUNNING, then `done: true` and BATCH_STATE_SUCCEEDED.
- Gemini files: `GET /v1beta/files/{name}` → `state: PROCESSING` twice, then `ACTIVE`.

`steps` (3 unless set) is how many answers a resource gives before it repeats its last; the batches of OpenAI take one more.
`salt` goes into every finished answer, so that the same polls can be made to answer differently. `fail` makes the next
`GET`s answer 500, as a server that hiccups does. Ids go on counting across `reset`, so no two tests poll the same URL."""
import itertools,json,re
from collections import Counter
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit
from server import Loopback,_response,_message,_chat,_cand

_ids = itertools.count(1)

class PollServer(Loopback):
    "A loopback server whose resources advance one step per `GET`; it counts the requests it gets"
    def __init__(self): super().__init__(_handler)

    def reset(self):
        "Forget the requests and how far each resource got; `steps` 3, no `salt`, no `fail`"
        with self.lock: self.reqs,self.polls,self.steps,self.salt,self.fail = [],Counter(),3,'',0

    def note(self, method, path):
        "Count a request; for a `GET`, the how-many-th of `path` it is"
        with self.lock:
            self.reqs.append((method, path))
            if method == 'GET': self.polls[path] += 1
            return self.polls[path]

    def new_id(self): return next(_ids)
    @property
    def total(self): return len(self.reqs)
    def count(self, path, method='GET'): return sum(r == (method, path) for r in self.reqs)

def _step(n, states):
    "The state of a resource at its `n`-th `GET`: the last of `states` once they run out"
    return states[min(n, len(states))-1]

def _states(busy, done, steps):
    "`steps` answers: the `busy` ones (the last repeated to make up the number), then `done`"
    return [*busy, *[busy[-1]]*(steps-1-len(busy)), done][-steps:] if steps > 1 else [done]

def _batch(bid, status, salt=''):
    "An OpenAI `Batch` at `status`"
    at = dict(validating=None, in_progress='in_progress_at', finalizing='finalizing_at', completed='completed_at')
    done = status == 'completed'
    b = dict(id=bid, object='batch', endpoint='/v1/chat/completions', errors=None, input_file_id='file-in', completion_window='24h',
             status=status, output_file_id=f'file-out-{bid}{salt}' if done else None, error_file_id=None, created_at=1700000000,
             in_progress_at=None, expires_at=1700086400, finalizing_at=None, completed_at=None, failed_at=None, expired_at=None,
             cancelling_at=None, cancelled_at=None, request_counts=dict(total=2, completed=2 if done else 0, failed=0),
             metadata={'job': 'nightly'}, model='gpt-test')
    for s,f in at.items():
        if f and list(at).index(s) <= list(at).index(status): b[f] = 1700000000 + list(at).index(s)
    return b

def _msg_batch(bid, status, results=None):
    "An Anthropic `MessageBatch` at `processing_status`"
    ended = status == 'ended'
    return dict(id=bid, type='message_batch', processing_status=status, created_at='2026-01-01T00:00:00Z', expires_at='2026-01-02T00:00:00Z',
                ended_at='2026-01-01T00:05:00Z' if ended else None, archived_at=None, cancel_initiated_at=None, results_url=results if ended else None,
                request_counts=dict(processing=0 if ended else 2, succeeded=2 if ended else 0, errored=0, canceled=0, expired=0))

def _operation(name, done, salt=''):
    "A Google long-running operation: without `done` while it runs, then `done: true` with its `response`"
    if not done: return dict(name=name, metadata={'progressPercent': 50})
    return dict(name=name, done=True, response={'@type': 'type.googleapis.com/Result', 'result': f'{name} finished{salt}'})

def _gem_batch(name, state, model, salt=''):
    "A Gemini batch, as the Gemini API reports it: an operation whose `metadata` is the batch"
    meta = {'@type': 'type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch', 'model': model, 'displayName': 'nightly',
            'state': state, 'createTime': '2026-01-01T00:00:00Z', 'updateTime': '2026-01-01T00:01:00Z', 'name': name}
    if state != 'BATCH_STATE_SUCCEEDED': return dict(name=name, metadata=meta)
    out = {'inlinedResponses': {'inlinedResponses': [{'response': _cand(1, model, f'{name} answered{salt}')}]}}
    return dict(name=name, metadata=meta | {'output': out, 'endTime': '2026-01-01T00:05:00Z'}, done=True,
                response={'@type': 'type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput'} | out)

def _file(name, state, salt=''):
    "A Gemini `File` at `state`"
    return dict(name=name, displayName='clip.mp4', mimeType='video/mp4', sizeBytes='1024', createTime='2026-01-01T00:00:00Z',
                updateTime='2026-01-01T00:00:00Z', uri=f'https://files.example/{name}{salt}', state=state, source='UPLOADED')

def _handler(srv):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        def log_message(self, *args): pass

        def handle_any(self):
            u = urlsplit(self.path)
            p = u.path
            body = self.rfile.read(int(self.headers.get('content-length') or 0))
            n = srv.note(self.command, p)
            data = json.loads(body) if body and 'json' in self.headers.get('content-type', '') else {}
            if self.command == 'GET' and srv.fail > 0:
                srv.fail -= 1
                return self.send_json({'error': {'message': 'the server hiccupped', 'type': 'server_error', 'param': None, 'code': None}}, 500, {'retry-after-ms': '1'})
            base,salt,steps = f'http://{self.headers.get("host")}',srv.salt,srv.steps
            post = self.command == 'POST'
            if post and p == '/v1/responses':
                assert data.get('background') is True, data
                return self.send_json(_response(srv.new_id(), data['model'], None, 'queued') | {'background': True})
            if m := re.fullmatch(r'/v1/responses/resp_(\d+)', p):
                st = _step(n, _states(['queued', 'in_progress'], 'completed', steps))
                return self.send_json(_response(int(m[1]), 'gpt-test', f'haiku {m[1]}{salt}' if st == 'completed' else None, st) | {'background': True})
            if post and p == '/v1/files':
                return self.send_json(dict(id=f'file-in-{srv.new_id()}', object='file', bytes=len(body), created_at=1700000000,
                                           filename='requests.jsonl', purpose='batch', status='processed'))
            if post and p == '/v1/batches': return self.send_json(_batch(f'batch_{srv.new_id()}', 'validating'))
            if m := re.fullmatch(r'/v1/batches/(batch_\d+)', p):
                return self.send_json(_batch(m[1], _step(n, _states(['validating', 'in_progress', 'finalizing'], 'completed', steps+1)), salt))
            if m := re.fullmatch(r'/v1/files/(file-out-[\w-]+)/content', p):
                lines = [dict(id=f'batch_req_{i}', custom_id=f'r{i}', error=None,
                              response=dict(status_code=200, request_id=f'req_{i}', body=_chat(i, 'gpt-test', f'{m[1]} answer {i}'))) for i in (1, 2)]
                return self.send_bytes(''.join(json.dumps(l)+'\n' for l in lines).encode(), 'application/octet-stream')
            if post and p == '/v1/messages/batches': return self.send_json(_msg_batch(f'msgbatch_{srv.new_id()}', 'in_progress'))
            if m := re.fullmatch(r'/v1/messages/batches/(msgbatch_\d+)', p):
                st = _step(n, _states(['in_progress'], 'ended', steps))
                return self.send_json(_msg_batch(m[1], st, f'{base}/v1/messages/batches/{m[1]}/results'))
            if m := re.fullmatch(r'/v1/messages/batches/(msgbatch_\d+)/results', p):
                lines = [dict(custom_id=f'r{i}', result=dict(type='succeeded', message=_message(i, 'claude-test', f'{m[1]} answer {i}{salt}'))) for i in (1, 2)]
                return self.send_bytes(''.join(json.dumps(l)+'\n' for l in lines).encode(), 'application/binary')
            if m := re.fullmatch(r'/v1beta/(operations/[^/]+)', p):
                return self.send_json(_operation(m[1], _step(n, _states([False], True, steps)), salt))
            if post and (m := re.fullmatch(r'/v1beta/(models/[^/:]+):batchGenerateContent', p)):
                return self.send_json(_gem_batch(f'batches/{srv.new_id()}', 'BATCH_STATE_PENDING', m[1]))
            if m := re.fullmatch(r'/v1beta/(batches/\d+)', p):
                st = _step(n, _states(['BATCH_STATE_PENDING', 'BATCH_STATE_RUNNING'], 'BATCH_STATE_SUCCEEDED', steps))
                return self.send_json(_gem_batch(m[1], st, 'models/gemini-test', salt))
            if m := re.fullmatch(r'/v1beta/(files/[\w-]+)', p):
                return self.send_json(_file(m[1], _step(n, _states(['PROCESSING'], 'ACTIVE', steps)), salt))
            return self.send_json({'error': {'message': f'no such thing: {self.command} {p}', 'type': 'invalid_request_error'}}, 404)

        do_GET = do_POST = handle_any

        def send_bytes(self, b, ct, code=200, hdrs={}):
            self.send_response(code)
            self.send_header('content-type', ct)
            self.send_header('content-length', str(len(b)))
            for k,v in hdrs.items(): self.send_header(k, v)
            self.end_headers()
            self.wfile.write(b)

        def send_json(self, d, code=200, hdrs={}): self.send_bytes(json.dumps(d).encode(), 'application/json', code, hdrs)
    return Handler
