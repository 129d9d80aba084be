"""A loopback server for the APIs that are polled: work is created by one request, and each `GET` of it answers how far it has got.

Each resource moves one step on at every `GET` of it that the server receives (never on a clock), so a polling loop sees
the same answers in the same order on every run (a `POST` that polls moves on the operation its body names):
- OpenAI Responses in background mode: `POST /v1/responses` → `queued`; `GET /v1/responses/{id}` → queued, in_progress, completed.
- OpenAI batches: `POST /v1/files` (the input), `POST /v1/batches` → `validating`; `GET /v1/batches/{id}` → validating,
  in_progress, finalizing, completed with an `output_file_id`; `GET /v1/files/{id}/content` → the output, JSONL.
- Anthropic message batches: `POST /v1/messages/batches` → `in_progress`; `GET /v1/messages/batches/{id}` → in_progress,
  in_progress, ended with a `results_url`; the results, JSONL.
- Google long-running operations: `GET /v1beta/operations/{name}` (any name) → no `done` twice, then `done: true` with a `response`.
- Gemini batches: `POST /v1beta/models/{m}:batchGenerateContent` → `{name: batches/N, metadata: {state: BATCH_STATE_PENDING}}`;
  `GET /v1beta/batches/N` → BATCH_STATE_PENDING, BATCH_STATE_RUNNING, then `done: true` and BATCH_STATE_SUCCEEDED.
- Gemini files: `GET /v1beta/files/{name}` → `state: PROCESSING` twice, then `ACTIVE`.
- xAI deferred chat completions: `POST /v1/chat/completions` with `deferred: true` → `{request_id}`;
  `GET /v1/chat/deferred-completion/{id}` → `202 Accepted` with an empty body twice, then the completion, which is served
  only once (a later `GET` answers 404, as xAI's does).
- Vertex AI video generation: `POST /v1beta1/projects/{p}/locations/{l}/publishers/google/models/{m}:predictLongRunning` → an
  operation named under the model; `POST .../models/{m}:fetchPredictOperation` with `{operationName}` (a POST that polls) →
  the operation without `done` twice, then `done: true` with the videos.
- Azure Document Intelligence: `POST /documentintelligence/documentModels/{m}:analyze` → `202 Accepted`, an empty body and
  the `operation-location` to poll (a 202 that answers a POST, which is not a poll).
- Bedrock async invocations: `POST /async-invoke` → `{invocationArn}`; `GET /async-invoke/{arn}` → `status: InProgress`
  twice, then `Completed`.

`steps` (3 unless set) is how many answers a resource gives before it repeats its last; the batches of OpenAI take one more.
`salt` goes into every finished answer, so that the same polls can be made to answer differently. `fail` makes the next
`GET`s answer 500, as a server that hiccups does. Ids go on counting across `reset`, so no two tests poll the same URL."""
import itertools,json,re
from collections import Counter
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote,urlsplit
from server import Loopback,_response,_message,_chat,_cand

_ids = itertools.count(1)

class PollServer(Loopback):
    "A loopback server whose resources advance one step per `GET`; it counts the requests it gets"
    def __init__(self): super().__init__(_handler)

    def reset(self):
        "Forget the requests and how far each resource got; `steps` 3, no `salt`, no `fail`"
        with self.lock: self.reqs,self.polls,self.steps,self.salt,self.fail = [],Counter(),3,'',0

    def note(self, method, path, polled=None):
        "Count a request; for a `GET` of `path`, or a `POST` that polls the resource `polled`, the how-many-th poll of it this is"
        with self.lock:
            self.reqs.append((method, path))
            if method == 'GET' or polled: self.polls[polled or path] += 1
            return self.polls[polled or path]

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

def _deferred(rid, salt=''):
    "The chat completion an xAI deferred request `rid` ends with"
    return _chat(0, 'grok-test', f'deferred {rid} answered{salt}') | {'id': rid}

def _vertex_op(name, done, salt=''):
    "A Vertex AI video generation operation: its name while it runs, then `done: true` with its videos, as `fetchPredictOperation` answers"
    if not done: return dict(name=name)
    return dict(name=name, done=True, response={'@type': 'type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse',
                'raiMediaFilteredCount': 0, 'videos': [{'gcsUri': f'gs://bucket/{name.rsplit("/", 1)[1]}{salt}.mp4', 'mimeType': 'video/mp4'}]})

def _async_invoke(arn, status, salt=''):
    "A Bedrock async invocation at `status`, as `GetAsyncInvoke` answers"
    return dict(invocationArn=arn, modelArn='arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:0', status=status,
                submitTime='2026-01-01T00:00:00Z', lastModifiedTime='2026-01-01T00:01:00Z', **({'endTime': '2026-01-01T00:05:00Z'} if status != 'InProgress' else {}),
                outputDataConfig={'s3OutputDataConfig': {'s3Uri': f's3://bucket/{arn.rsplit("/", 1)[1]}{salt}' if status == 'Completed' else 's3://bucket/'}})

def _handler(srv):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        def log_message(self, *args): pass

        def handle_any(self):
            u = urlsplit(self.path)
            p = u.path
            body = self.rfile.read(int(self.headers.get('content-length') or 0))
            data = json.loads(body) if body and 'json' in self.headers.get('content-type', '') else {}
            n = srv.note(self.command, p, p.endswith(':fetchPredictOperation') and data.get('operationName'))
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
            if post and p == '/v1/chat/completions':
                assert data.get('deferred') is True, data
                return self.send_json({'request_id': f'deferred-{srv.new_id()}'})
            if m := re.fullmatch(r'/v1/chat/deferred-completion/(deferred-\d+)', p):
                if n < steps: return self.send_bytes(b'', None, 202)
                if n == steps: return self.send_json(_deferred(m[1], salt))
                return self.send_json({'error': {'message': f'{m[1]} was retrieved already', 'type': 'invalid_request_error'}}, 404)
            vertex = r'/v1beta1/(projects/[^/]+/locations/[^/]+/publishers/google/models/[^/:]+)'
            if post and (m := re.fullmatch(vertex + ':predictLongRunning', p)):
                return self.send_json(dict(name=f'{m[1]}/operations/{srv.new_id()}'))
            if post and (m := re.fullmatch(vertex + ':fetchPredictOperation', p)):
                name = data['operationName']
                assert name.startswith(m[1] + '/operations/'), (name, p)
                return self.send_json(_vertex_op(name, _step(n, _states([False], True, steps)), salt))
            if post and (m := re.fullmatch(r'/documentintelligence/documentModels/([\w-]+):analyze', p)):
                return self.send_bytes(b'', None, 202, {'operation-location': f'{base}/documentintelligence/documentModels/{m[1]}/analyzeResults/{srv.new_id()}'})
            if post and p == '/async-invoke':
                assert data['outputDataConfig']['s3OutputDataConfig']['s3Uri'], data
                return self.send_json(dict(invocationArn=f'arn:aws:bedrock:us-east-1:123456789012:async-invoke/job{srv.new_id()}'))
            if m := re.fullmatch(r'/async-invoke/([^/]+)', p):
                return self.send_json(_async_invoke(unquote(m[1]), _step(n, _states(['InProgress'], 'Completed', steps)), salt))
            return self.send_json({'error': {'message': f'no such thing: {self.command} {p}', 'type': 'invalid_request_error'}}, 404)

        do_GET = do_POST = handle_any

        def send_bytes(self, b, ct, code=200, hdrs={}):
            self.send_response(code)
            if ct: self.send_header('content-type', ct)
            self.send_header('content-length', str(len(b)))
            for k,v in hdrs.items(): self.send_header(k, v)
            self.end_headers()
            self.wfile.write(b)

        def send_json(self, d, code=200, hdrs={}): self.send_bytes(json.dumps(d).encode(), 'application/json', code, hdrs)
    return Handler
