"""Amazon Bedrock through boto3: botocore's `URLLib3Session.send` is cached, with the real boto3 against a loopback server
speaking Bedrock's JSON and binary event stream (`endpoint_url=`). Credentials are dummies; nothing leaves 127.0.0.1."""
import base64,json,textwrap,time
import pytest
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError,EventStreamError
from cachy import disable_cachy,doms,cachy_stats
from cachy.answer import usage,_frames
from bedrock_server import Bedrock
from helpers import run_cachy,py,recs,stats_since

KEY,SECRET,TOKEN = 'AKIATESTTESTTESTTEST','wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY','IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN'
msgs = [{'role': 'user', 'content': [{'text': 'hi'}]}]

@pytest.fixture(scope='module')
def bedrock():
    s = Bedrock().start()
    yield s
    s.stop()

@pytest.fixture
def br(bedrock, aws):
    "The Bedrock server, reset; botocore kept from any AWS configuration, credential provider or endpoint of this machine"
    bedrock.reset()
    return bedrock

def client(br, token=TOKEN, **kw):
    "A `bedrock-runtime` client of the real boto3 for the loopback server, with dummy temporary credentials"
    return boto3.client('bedrock-runtime', endpoint_url=br.url, region_name='us-east-1', aws_access_key_id=KEY,
                        aws_secret_access_key=SECRET, aws_session_token=token, **kw)

def untried(br):
    "A client that does not retry, so that each call is one request"
    return client(br, config=Config(retries={'total_max_attempts': 1}))

def answer(r):
    "What a `converse` result says, without its `ResponseMetadata` (request id, retries)"
    return {k:v for k,v in r.items() if k != 'ResponseMetadata'}

def chunks(r):
    "The decoded JSON of each `chunk` of an `invoke_model_with_response_stream` result"
    return [json.loads(e['chunk']['bytes']) for e in r['body']]

@pytest.mark.sdk('boto3', 'sync')
def test_converse(br, cached):
    "Recorded once, then a hit: the same answer, without a request"
    c = client(br)
    a = c.converse(modelId='anthropic.claude-3-haiku-20240307-v1:0', messages=msgs)
    b = c.converse(modelId='anthropic.claude-3-haiku-20240307-v1:0', messages=msgs)
    assert br.total == 1
    assert answer(a) == answer(b)
    assert a['output']['message']['content'] == [{'text': 'reply 1: hi'}] and b['ResponseMetadata']['HTTPStatusCode'] == 200
    rec, = recs(cached)
    assert (rec['method'], rec['url'], rec['binary']) == ('POST', br.url+'/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse', False)
    assert usage(rec['response'], rec['headers']['content-type'], rec['url']) == dict(model='anthropic.claude-3-haiku-20240307-v1:0', input=5, output=7, cached=0, written=0)
    assert answer(c.converse(modelId='anthropic.claude-3-haiku-20240307-v1:0', messages=msgs, inferenceConfig={'maxTokens': 5}))['output'] != a['output']
    assert br.total == 2

@pytest.mark.sdk('boto3', 'sync', 'stream')
def test_converse_stream(br, cached):
    "On a miss the events reach the caller as the server sends them; a hit replays the event stream byte for byte"
    c = client(br)
    it = iter(c.converse_stream(modelId='gate', messages=msgs)['stream'])
    first = next(it)
    br.gate.set()
    live = [first, *it]
    assert br.waited is True, 'the first event reached the caller only after the server had sent the last'
    hit = list(c.converse_stream(modelId='gate', messages=msgs)['stream'])
    assert br.total == 1
    assert live == hit
    assert [next(iter(e)) for e in hit] == ['messageStart', *['contentBlockDelta']*3, 'contentBlockStop', 'messageStop', 'metadata']
    assert ''.join(e['contentBlockDelta']['delta']['text'] for e in hit if 'contentBlockDelta' in e) == 'reply 1: hi'
    rec, = recs(cached)
    assert rec['binary']
    assert base64.b64decode(rec['response']) == br.sent[0]
    assert rec['headers'] == {'content-type': 'application/vnd.amazon.eventstream'} and rec['req']['stream'] is True
    assert usage(base64.b64decode(rec['response']), rec['headers']['content-type'], rec['url'])['output'] == 7

@pytest.mark.sdk('boto3', 'sync')
def test_invoke_model(br, cached):
    "`invoke_model`: the model's own JSON, read by the caller from a `StreamingBody`"
    c = client(br)
    body = json.dumps({'anthropic_version': 'bedrock-2023-05-31', 'max_tokens': 50, 'messages': [{'role': 'user', 'content': 'hi'}]})
    rs,got = [],[]
    for _ in range(2):
        rs.append(r := c.invoke_model(modelId='anthropic.claude-x', body=body, contentType='application/json'))
        got.append(json.loads(r['body'].read()))
    assert br.total == 1
    assert got[0] == got[1]
    assert got[0]['content'][0]['text'] == 'reply 1: hi'
    assert rs[1]['contentType'] == 'application/json'
    assert usage(recs(cached)[0]['response'], 'application/json', recs(cached)[0]['url'])['model'] == 'anthropic.claude-x'

@pytest.mark.sdk('boto3', 'sync', 'stream')
def test_invoke_model_with_response_stream(br, cached):
    "`invoke_model_with_response_stream`: `chunk` events of the model's own stream events"
    c = client(br)
    body = json.dumps({'anthropic_version': 'bedrock-2023-05-31', 'max_tokens': 50, 'messages': [{'role': 'user', 'content': 'hi'}]})
    got = [chunks(c.invoke_model_with_response_stream(modelId='anthropic.claude-x', body=body)) for _ in range(2)]
    assert br.total == 1
    assert got[0] == got[1]
    assert ''.join(e['delta']['text'] for e in got[0] if e['type'] == 'content_block_delta') == 'reply 1: hi'
    assert base64.b64decode(recs(cached)[0]['response']) == br.sent[0]

def test_signature_neither_keyed_nor_stored(br, cached):
    "Two calls a second apart are signed apart (`Authorization`, `X-Amz-Date`), and are one entry; no credential reaches the file"
    c,signed = client(br),[]
    c.meta.events.register('before-send.bedrock-runtime.Converse', lambda request, **kw: signed.append(dict(request.headers)))
    a = c.converse(modelId='m', messages=msgs)
    time.sleep(1.1)
    b = client(br, token='IQoJb3JpZ2luX2VjOTHERSESSIONTOKEN').converse(modelId='m', messages=msgs)
    c.converse(modelId='m', messages=msgs)
    assert len(signed) == 2
    assert signed[0]['X-Amz-Date'] != signed[1]['X-Amz-Date']
    assert signed[0]['Authorization'] != signed[1]['Authorization']
    assert br.total == 1
    assert answer(a) == answer(b)
    assert len(recs(cached)) == 1
    h = br.reqs[0]['headers']
    text = cached.read_text()
    for v in (KEY, SECRET, TOKEN, h['authorization'], h['authorization'].rsplit('=', 1)[1], h['x-amz-date'], h['x-amz-security-token'], h['amz-sdk-invocation-id']):
        assert v not in text
    assert 'authorization' not in text.lower() and 'x-amz-' not in text.lower()
    r = run_cachy('check', '--cache-dir', cached.parent)
    assert (r.returncode, r.stdout.strip()) == (0, f'cachy check: {cached} OK'), r.stdout + r.stderr

def test_presigned_url_keyed_without_signature(br, cached):
    "A presigned URL's signature, date and expiry are dropped from its key and stored URL: two presigned a second apart are one entry"
    import requests
    s3 = boto3.client('s3', endpoint_url=br.url, region_name='us-east-1', aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                      aws_session_token=TOKEN, config=Config(signature_version='s3v4', s3={'addressing_style': 'path'}))
    us = [s3.generate_presigned_url('get_object', Params={'Bucket': 'b', 'Key': 'k'}, ExpiresIn=60)]
    time.sleep(1.1)
    us.append(s3.generate_presigned_url('get_object', Params={'Bucket': 'b', 'Key': 'k'}, ExpiresIn=120))
    assert us[0] != us[1] and 'X-Amz-Date' in us[0]
    rs = [requests.post(u, json={}) for u in us]
    assert [r.status_code for r in rs] == [404, 404]
    assert rs[0].json() == rs[1].json()
    assert br.total == 1
    rec, = recs(cached)
    assert rec['url'] == br.url+'/b/k' and 'x-amz-' not in cached.read_text().lower()

def test_replay_in_a_fresh_process(br, cached, cfile):
    "What one process recorded, a fresh process in replay mode answers without a single request; a call never recorded raises `ReplayMiss`"
    c = client(br)
    want = [answer(c.converse(modelId='m', messages=msgs)), [next(iter(e)) for e in c.converse_stream(modelId='m', messages=msgs)['stream']]]
    disable_cachy()
    n = br.total
    code = textwrap.dedent('''
        import json,sys
        from cachy import enable_cachy,ReplayMiss
        from helpers import ours
        enable_cachy(cache_dir=sys.argv[2], doms=ours, mode='replay')
        import boto3
        c = boto3.client('bedrock-runtime', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='AKIAOTHEROTHEROTHER0',
                         aws_secret_access_key='other', aws_session_token='other-token')
        msgs = [{'role': 'user', 'content': [{'text': 'hi'}]}]
        r = c.converse(modelId='m', messages=msgs)
        got = [{k:v for k,v in r.items() if k != 'ResponseMetadata'}, [next(iter(e)) for e in c.converse_stream(modelId='m', messages=msgs)['stream']]]
        try: c.converse(modelId='m', messages=[{'role': 'user', 'content': [{'text': 'never asked'}]}]); got.append('no miss')
        except ReplayMiss as e: got.append(str(e).splitlines()[0])
        print(json.dumps(got))''')
    r = py(code, br.url, cfile.parent)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.splitlines()[-1])
    assert got[:2] == want
    assert got[2].startswith(f'cachy (replay mode): no recorded response for POST {br.url}/model/m/converse')
    assert br.total == n

@pytest.mark.parametrize('code,name,kept', [(400, 'ValidationException', True), (404, 'ResourceNotFoundException', True),
                                            (429, 'ThrottlingException', False), (403, 'AccessDeniedException', False),
                                            (503, 'ServiceUnavailableException', False)])
def test_http_errors(br, cached, code, name, kept):
    "An error is raised as botocore's own exception for it, hit or live; only those the next run would get again are recorded"
    c = untried(br)
    errs = []
    for op in ('converse', 'converse_stream'):
        for _ in range(2):
            with pytest.raises(ClientError) as e: getattr(c, op)(modelId=f'err-{code}', messages=msgs)
            errs.append(e.value.response['Error'])
    assert [e['Code'] for e in errs] == [name]*4 and isinstance(e.value, getattr(c.exceptions, name))
    assert (errs[0] == errs[1]) == kept
    assert br.total == (2 if kept else 4)
    assert len(recs(cached)) == (2 if kept else 0)

@pytest.mark.parametrize('exc,kept', [('throttlingException', False), ('modelStreamErrorException', False),
                                      ('serviceUnavailableException', False), ('internalServerException', False), ('validationException', True)])
def test_exception_in_stream(br, cached, exc, kept):
    "A stream that fails with an exception partway is raised as botocore raises it; it is recorded only if the failure is the request's own"
    c = untried(br)
    seen = []
    for _ in range(2):
        s = c.converse_stream(modelId=f'exc-{exc}', messages=msgs)['stream']
        with pytest.raises(EventStreamError) as e:
            for ev in s: seen.append(next(iter(ev)))
        s.close()
        assert e.value.response['Error']['Code'] == exc
    assert seen == ['messageStart', 'contentBlockDelta']*2
    assert br.total == (1 if kept else 2)
    assert len(recs(cached)) == (1 if kept else 0)

def test_exception_in_invoke_stream_not_recorded(br, cached):
    "The same in `invoke_model_with_response_stream`'s events"
    c = untried(br)
    for _ in range(2):
        with pytest.raises(EventStreamError, match='throttlingException'):
            chunks(c.invoke_model_with_response_stream(modelId='exc-throttlingException', body=b'{"messages": []}'))
    assert br.total == 2
    assert recs(cached) == []

def test_abandoned_stream_recorded_when_closed(br, cached):
    "A stream closed after its first event is read to its end and recorded whole; the next call replays all of it"
    c = client(br)
    s = c.converse_stream(modelId='m', messages=[{'role': 'user', 'content': [{'text': 'a long story '*20}]}])['stream']
    first = next(iter(s))
    s.close()
    assert len(recs(cached)) == 1
    assert base64.b64decode(recs(cached)[0]['response']) == br.sent[0]
    hit = list(c.converse_stream(modelId='m', messages=[{'role': 'user', 'content': [{'text': 'a long story '*20}]}])['stream'])
    assert br.total == 1
    assert hit[0] == first
    assert len(hit) == len(_frames(br.sent[0])) > 60
    r = c.invoke_model_with_response_stream(modelId='a', body=b'{"messages": []}')
    next(iter(r['body']))
    r['body'].close()
    assert len(chunks(c.invoke_model_with_response_stream(modelId='a', body=b'{"messages": []}'))) == len(_frames(br.sent[1]))
    assert br.total == 2

def test_other_hosts_pass(br, on, cfile):
    "botocore sends every AWS service's requests: those to hosts not in `doms` go out live, unrecorded"
    on(doms=doms)
    before = cachy_stats()
    c = client(br)
    for _ in range(2): c.converse(modelId='m', messages=msgs)
    assert br.total == 2
    assert not cfile.exists()
    assert stats_since(before)['pass'] == 2

@pytest.mark.sdk('boto3', 'sync', 'stream')
def test_invoke_settings_in_headers_keyed(br, cached):
    "`invoke_model` takes its guardrail, trace, latency mode and service tier in headers: each call gets its own answer, which replays; the guardrail never hits the unguarded one"
    c = client(br)
    body = json.dumps({'anthropic_version': 'bedrock-2023-05-31', 'max_tokens': 50, 'messages': [{'role': 'user', 'content': 'hi'}]})
    kws = [{}, dict(guardrailIdentifier='gr-1', guardrailVersion='1'), dict(guardrailIdentifier='gr-1', guardrailVersion='2'),
           dict(guardrailIdentifier='gr-1', guardrailVersion='1', trace='ENABLED'), dict(performanceConfigLatency='optimized'), dict(serviceTier='priority')]
    def text(kw): return json.loads(c.invoke_model(modelId='anthropic.claude-x', body=body, **kw)['body'].read())['content'][0]['text']
    def streamed(kw): return ''.join(e['delta']['text'] for e in chunks(c.invoke_model_with_response_stream(modelId='anthropic.claude-x', body=body, **kw)) if e['type'] == 'content_block_delta')
    live = [text(kw) for kw in kws] + [streamed(kw) for kw in kws[:2]]
    assert br.total == 8
    assert live[0] == 'reply 1: hi' and live[1] == 'reply 2: hi [GuardrailIdentifier: gr-1] [GuardrailVersion: 1]'
    assert len(set(live)) == 8
    assert [text(kw) for kw in kws] + [streamed(kw) for kw in kws[:2]] == live
    assert br.total == 8
    assert [r['req']['hdrs'] for r in recs(cached)][1] == {'x-amzn-bedrock-guardrailidentifier': "'gr-1'", 'x-amzn-bedrock-guardrailversion': "'1'"}

@pytest.mark.parametrize('model,code,name', [('acct-quota', 400, 'ServiceQuotaExceededException'), ('acct-usecase', 404, 'ResourceNotFoundException')])
def test_account_errors_not_recorded(br, cached, model, code, name):
    "A quota of the account used up, or a model's use case form not sent yet: an error that passes once the account is fixed, asked again every time"
    c = untried(br)
    for _ in range(2):
        with pytest.raises(ClientError) as e: c.converse(modelId=model, messages=msgs)
        assert (e.value.response['Error']['Code'], e.value.response['ResponseMetadata']['HTTPStatusCode']) == (name, code)
    assert br.total == 2
    assert recs(cached) == []
