"""Polling loops as users write them, through the real SDKs, against `poll_server`; run as a fresh process by `test_polls.py`.

`python poll_calls.py FLOW CACHE_DIR URL MODE [CAP] [RUNS] [NAME]` enables cachy on `CACHE_DIR/cachy.jsonl` (mode `MODE`, the loopback
host allowed), runs the polling loop of `FLOW` `RUNS` times (1 unless given: 2 is a notebook cell run again), each time
polling at most `CAP` times (20 unless given: a loop that would spin forever stops there), and prints, as JSON, what each
run ended with (`final`, the number of `polls`) and what cachy counted; a `ReplayMiss` is printed as `{"miss": message}`. `NAME` names the resource that the flows which
only poll (a Google operation, a Gemini file) poll. `python poll_calls.py --serve` starts such processes faster (see `serve`)."""
import asyncio,json,sys,time

OKEY = 'sk-test-SECRET-openai-4f1c2a9e7b'
AKEY = 'sk-ant-test-SECRET-anthropic-8d3e5f0a1c'
GKEY = 'AIza-test-SECRET-gemini-0b1c2d3e'
XKEY = 'xai-test-SECRET-grok-6a7b8c9d0e'
nap = 0.001

def responses(url, cap):
    "OpenAI Responses in background mode: create, then retrieve until it is no longer queued or in progress"
    from openai import OpenAI
    c = OpenAI(api_key=OKEY, base_url=url+'/v1', max_retries=2)
    r = c.responses.create(model='gpt-test', input='Write a haiku about caches', background=True)
    n = 0
    while r.status in ('queued', 'in_progress') and n < cap:
        time.sleep(nap)
        r,n = c.responses.retrieve(r.id),n+1
    return dict(final=[r.id, r.status, r.output_text], polls=n)

def responses_async(url, cap):
    "The same with `AsyncOpenAI`"
    from openai import AsyncOpenAI
    async def go():
        async with AsyncOpenAI(api_key=OKEY, base_url=url+'/v1', max_retries=2) as c:
            r = await c.responses.create(model='gpt-test', input='Write a haiku about caches', background=True)
            n = 0
            while r.status in ('queued', 'in_progress') and n < cap:
                await asyncio.sleep(nap)
                r,n = await c.responses.retrieve(r.id),n+1
            return dict(final=[r.id, r.status, r.output_text], polls=n)
    return asyncio.run(go())

def batches(url, cap):
    "OpenAI batches: upload the requests, create the batch, retrieve it until it is done, download its output"
    import io
    from openai import OpenAI
    c = OpenAI(api_key=OKEY, base_url=url+'/v1', max_retries=2)
    reqs = ''.join(json.dumps(dict(custom_id=f'r{i}', method='POST', url='/v1/chat/completions',
                                   body=dict(model='gpt-test', messages=[dict(role='user', content=f'question {i}')])))+'\n' for i in (1, 2))
    f = c.files.create(file=('requests.jsonl', io.BytesIO(reqs.encode())), purpose='batch')
    b = c.batches.create(input_file_id=f.id, endpoint='/v1/chat/completions', completion_window='24h')
    n = 0
    while b.status not in ('completed', 'failed', 'expired', 'cancelled') and n < cap:
        time.sleep(nap)
        b,n = c.batches.retrieve(b.id),n+1
    out = c.files.content(b.output_file_id).text if b.output_file_id else None
    return dict(final=[b.id, b.status, out and [json.loads(l)['response']['body']['choices'][0]['message']['content'] for l in out.splitlines()]], polls=n)

def message_batches(url, cap):
    "Anthropic message batches: create, retrieve until processing has ended, read the results"
    from anthropic import Anthropic
    c = Anthropic(api_key=AKEY, base_url=url, max_retries=2)
    b = c.messages.batches.create(requests=[dict(custom_id=f'r{i}', params=dict(model='claude-test', max_tokens=64,
                                                 messages=[dict(role='user', content=f'question {i}')])) for i in (1, 2)])
    n = 0
    while b.processing_status != 'ended' and n < cap:
        time.sleep(nap)
        b,n = c.messages.batches.retrieve(b.id),n+1
    res = [r.result.message.content[0].text for r in c.messages.batches.results(b.id)] if b.processing_status == 'ended' else None
    return dict(final=[b.id, b.processing_status, res], polls=n)

def _genai(url):
    from google import genai
    from google.genai import types
    return genai.Client(api_key=GKEY, http_options=types.HttpOptions(base_url=url, api_version='v1beta', retry_options=types.HttpRetryOptions(attempts=3)))

def gemini_batches(url, cap):
    "google-genai batches: create inline, get until the job state is final"
    c = _genai(url)
    job = c.batches.create(model='gemini-test', src=[{'contents': [{'parts': [{'text': 'question 1'}], 'role': 'user'}]}])
    n,ends = 0,('JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED', 'JOB_STATE_EXPIRED')
    while job.state.name not in ends and n < cap:
        time.sleep(nap)
        job,n = c.batches.get(name=job.name),n+1
    res = job.dest and job.dest.inlined_responses and job.dest.inlined_responses[0].response.text
    return dict(final=[job.name, job.state.name, res], polls=n)

def gemini_file(url, cap, name=None):
    "google-genai files: get an uploaded video until it is no longer processing"
    c = _genai(url)
    f,n = c.files.get(name=f'files/{name or "clip"}'),1
    while f.state.name == 'PROCESSING' and n < cap:
        time.sleep(nap)
        f,n = c.files.get(name=f.name),n+1
    return dict(final=[f.name, f.state.name, f.uri], polls=n)

def operation(url, cap, name=None, client='httpx'):
    "A Google long-running operation polled with a plain HTTP client (httpx, or httpx2 with `client`), as REST users do"
    http,name = __import__(client),name or 'op-1'
    with http.Client(base_url=url, headers={'x-goog-api-key': GKEY}) as c:
        op,n = c.get(f'/v1beta/operations/{name}').json(),1
        while not op.get('done') and n < cap:
            time.sleep(nap)
            op,n = c.get(f'/v1beta/operations/{name}').json(),n+1
    return dict(final=[op['name'], op.get('done', False), op.get('response', {}).get('result')], polls=n)

def operation_httpx2(url, cap, name=None): return operation(url, cap, name, 'httpx2')

def xai_deferred(url, cap):
    "xAI deferred chat completions with requests, as xAI's REST guide does: create deferred, then GET until it answers 200, not 202"
    import requests
    with requests.Session() as s:
        s.headers['authorization'] = f'Bearer {XKEY}'
        rid = s.post(url+'/v1/chat/completions', json=dict(model='grok-test', deferred=True, messages=[dict(role='user', content='a slow question')])).json()['request_id']
        n = 0
        while n < cap:
            r,n = s.get(f'{url}/v1/chat/deferred-completion/{rid}'),n+1
            if r.status_code != 202: break
            time.sleep(nap)
    return dict(final=[rid, 'completed' if r.status_code == 200 else r.status_code, r.json()['choices'][0]['message']['content'] if r.status_code == 200 else r.text], polls=n)

def _vertex(url):
    from google import genai
    from google.genai import types
    from google.oauth2.credentials import Credentials
    return genai.Client(vertexai=True, project='my-project', location='us-central1', credentials=Credentials(token='dummy-token'),
                        http_options=types.HttpOptions(base_url=url, retry_options=types.HttpRetryOptions(attempts=3)))

def vertex_video(url, cap):
    "google-genai on Vertex AI: generate a video, then `operations.get` it (a POST to `:fetchPredictOperation`) until it is done"
    c = _vertex(url)
    from google.genai import types
    op,n = c.models.generate_videos(model='veo-test', source=types.GenerateVideosSource(prompt='A cat surfing a wave')),0
    while not op.done and n < cap:
        time.sleep(nap)
        op,n = c.operations.get(op),n+1
    return dict(final=[op.name, bool(op.done), op.response and op.response.generated_videos[0].video.uri], polls=n)

def _bedrock(url):
    import boto3
    from botocore.config import Config
    return boto3.client('bedrock-runtime', endpoint_url=url, region_name='us-east-1', aws_access_key_id='AKIAIOSFODNN7EXAMPLE',
                        aws_secret_access_key='dummy-secret', config=Config(retries={'total_max_attempts': 3}))

def bedrock_async(url, cap):
    "boto3 bedrock-runtime: `start_async_invoke` (botocore adds a fresh `clientRequestToken`), then `get_async_invoke` while it is `InProgress`"
    c = _bedrock(url)
    arn = c.start_async_invoke(modelId='amazon.nova-reel-v1:0', modelInput={'taskType': 'TEXT_VIDEO', 'textToVideoParams': {'text': 'A cat surfing a wave'}},
                               outputDataConfig={'s3OutputDataConfig': {'s3Uri': 's3://bucket/'}})['invocationArn']
    j,n = c.get_async_invoke(invocationArn=arn),1
    while j['status'] == 'InProgress' and n < cap:
        time.sleep(nap)
        j,n = c.get_async_invoke(invocationArn=arn),n+1
    return dict(final=[arn, j['status'], j['outputDataConfig']['s3OutputDataConfig']['s3Uri']], polls=n)

flows = dict(responses=responses, responses_async=responses_async, batches=batches, message_batches=message_batches,
             gemini_batches=gemini_batches, gemini_file=gemini_file, operation=operation, operation_httpx2=operation_httpx2,
             xai_deferred=xai_deferred, vertex_video=vertex_video, bedrock_async=bedrock_async)

def main(argv):
    "Run the flow that `argv` names (see the top of this file), printing what it ended with"
    flow,d,url,mode = argv[:4]
    cap,runs,name = [*argv[4:], *['20', '1', ''][len(argv[4:]):]]
    from cachy import enable_cachy,cachy_stats,ReplayMiss
    from helpers import ours
    enable_cachy(cache_dir=d, doms=ours, mode=mode)
    out = []
    try:
        for _ in range(int(runs)): out.append(flows[flow](url, int(cap), **(dict(name=name) if name else {})))
    except ReplayMiss as e: out.append(dict(miss=str(e), type=f'{type(e).__module__}.{type(e).__qualname__}'))
    s = cachy_stats()
    print(json.dumps(dict(runs=out, stats={k: s[k] for k in ('hit', 'miss', 'recorded', 'replay_failure')})))

def serve():
    """Start processes fast: import the SDKs once (cachy not), say `ready`, then, for each line of JSON arguments read, fork a fresh
    process that runs `main` with them (killed after 60 s), its output and errors in the files `out` and `out.err`; answer each
    line with its exit code.
    The process has nothing of cachy's in memory: cachy is imported, enabled and run in it alone, as in a process of its own."""
    import atexit,os,signal,traceback
    import httpx,httpx2
    from openai import OpenAI,AsyncOpenAI
    from anthropic import Anthropic
    o,a,g = OpenAI(api_key=OKEY, base_url='http://127.0.0.1:9'),Anthropic(api_key=AKEY, base_url='http://127.0.0.1:9'),_genai('http://127.0.0.1:9')
    o.responses,o.batches,o.files,a.messages.batches,g.batches,g.files,AsyncOpenAI(api_key=OKEY).responses  # their modules imported
    import requests
    v,b = _vertex('http://127.0.0.1:9'),_bedrock('http://127.0.0.1:9')
    v.models,v.operations
    print('ready', flush=True)
    for line in sys.stdin:
        argv,out = json.loads(line)
        if (pid := os.fork()) == 0:
            code = 1
            signal.alarm(60)
            try:
                for fd,path in ((1, out), (2, out+'.err')): os.dup2(os.open(path, os.O_WRONLY|os.O_CREAT|os.O_TRUNC), fd)
                main(argv)
                code = 0
            except BaseException: traceback.print_exc()
            finally:
                try:
                    sys.stdout.flush()
                    atexit._run_exitfuncs()
                    sys.stderr.flush()
                finally: os._exit(code)
        print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)

if __name__ == '__main__':
    if sys.argv[1:] == ['--serve']: serve()
    else: main(sys.argv[1:])
