"""Polling loops end, with the real SDKs: a `GET` answered "queued" is recorded as the first of a sequence of answers, and
each run of the loop, recording or replaying, gets them in order and ends.

The loops (`poll_calls.py`) run as users run them, each in a fresh process, against `poll_server`, whose resources move
on one step per `GET` it receives; what reached the server is counted there. Each loop stops after 20 polls at most, so a
loop that would spin forever fails here instead of hanging."""
import json,os,subprocess,sys
from pathlib import Path
import httpx,pytest
from cachy import ReplayMiss
from cachy.core import _seq_key
from poll_server import PollServer
from helpers import here,run_cachy,child_env as env,recs
from server import OKEY

# flow: (polls to the end, requests that reach the server when it is recorded)
flows = dict(responses=(3, 4), responses_async=(3, 4), batches=(4, 7), message_batches=(3, 5),
             gemini_batches=(3, 4), gemini_file=(3, 3), operation=(3, 3), operation_httpx2=(3, 3),
             xai_deferred=(3, 4), vertex_video=(3, 4), bedrock_async=(3, 4))
ends = {'completed', 'ended', 'JOB_STATE_SUCCEEDED', 'ACTIVE', True, 'Completed'}

@pytest.fixture(scope='module')
def poll_server():
    s = PollServer().start()
    yield s
    s.stop()

@pytest.fixture
def ps(poll_server):
    "The polling server, reset"
    poll_server.reset()
    return poll_server

@pytest.fixture(scope='module')
def starter():
    "`poll_calls.py --serve`, which starts each fresh process from one that has imported the SDKs; `None` where there is no fork"
    if not hasattr(os, 'fork'): yield None; return
    p = subprocess.Popen([sys.executable, str(here/'poll_calls.py'), '--serve'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env())
    assert p.stdout.readline() == 'ready\n'
    yield p
    p.stdin.close()
    p.wait(60)

@pytest.fixture
def run(ps, starter, tmp_path):
    "Run a polling loop in a fresh process: `run(flow, cache_dir, mode, cap, runs, name)` → `(its output, requests it sent to the server)`"
    outs = iter(range(100))
    def f(flow, d, mode='record', cap=20, runs=1, name=''):
        n0,argv = ps.total,[flow, str(d), ps.url, mode, str(cap), str(runs), name]
        if starter:
            (tmp_path/'.runs').mkdir(exist_ok=True)
            out = tmp_path/'.runs'/f'{next(outs)}.out'
            starter.stdin.write(json.dumps([argv, str(out)])+'\n')
            starter.stdin.flush()
            rc,stdout,stderr = int(starter.stdout.readline()),out.read_text(),Path(f'{out}.err').read_text()
        else:
            r = subprocess.run([sys.executable, str(here/'poll_calls.py'), *argv], capture_output=True, text=True, env=env(), timeout=60)
            rc,stdout,stderr = r.returncode,r.stdout,r.stderr
        assert rc == 0, stderr
        return json.loads(stdout),ps.total-n0
    return f

# Record once, replay in a fresh process

@pytest.mark.parametrize('flow', flows)
def test_loop_ends_recorded_and_replayed(flow, run, tmp_path):
    "Recorded, the loop ends after as many polls as the work takes; replayed in a fresh process, and recorded again, it ends alike with no request"
    polls,live = flows[flow]
    rec,sent = run(flow, tmp_path)
    [r] = rec['runs']
    assert r['final'][1] in ends, r
    assert r['polls'] == polls, r
    assert sent == live
    rep,sent = run(flow, tmp_path, 'replay')
    assert rep['runs'] == rec['runs']
    assert sent == 0
    assert rep['stats']['miss'] == rep['stats']['replay_failure'] == 0
    again,sent = run(flow, tmp_path)
    assert again['runs'] == rec['runs']
    assert sent == 0

@pytest.mark.parametrize('flow', ['responses', 'message_batches', 'operation', 'xai_deferred', 'vertex_video', 'bedrock_async'])
def test_loop_run_twice_in_one_process(flow, run, tmp_path):
    "A cell run again: its loop ends at once on the final answer, when recording and when replaying"
    polls,live = flows[flow]
    rec,sent = run(flow, tmp_path, runs=2)
    first,second = rec['runs']
    assert first['polls'] == polls
    assert second['final'] == first['final']
    assert second['polls'] == 1
    assert sent == live
    rep,sent = run(flow, tmp_path, 'replay', runs=2)
    assert rep['runs'] == rec['runs']
    assert sent == 0

# One-shot calls are as they were

def test_finished_get_is_one_shot(ps, on, cfile):
    "A GET of finished work, made twice, reaches the server once, and its record is not a sequence"
    ps.steps = 1
    on()
    with httpx.Client(base_url=ps.url) as c:
        a,b = [c.get('/v1beta/operations/op-done-twice').json() for _ in range(2)]
    assert a == b and a['done'] is True
    assert ps.count('/v1beta/operations/op-done-twice') == 1
    [r] = recs(cfile)
    assert 'seq' not in r and 'polling' not in r

def test_create_post_is_one_shot(ps, on, cfile):
    "Creating background work answers `queued`, but a POST is one-shot: made again, it is a hit with the same answer"
    from openai import OpenAI
    on()
    with OpenAI(api_key=OKEY, base_url=ps.url+'/v1') as c:
        a,b = [c.responses.create(model='gpt-test', input='once', background=True) for _ in range(2)]
    assert a.id == b.id and a.status == b.status == 'queued'
    assert ps.count('/v1/responses', 'POST') == 1
    [r] = recs(cfile)
    assert 'seq' not in r and 'polling' not in r

def test_accepted_post_is_one_shot(ps, on, cfile):
    "A POST answered `202 Accepted` with an empty body (Azure's document analysis) is one-shot too: made again, it is a hit"
    on()
    url = ps.url+'/documentintelligence/documentModels/prebuilt-read:analyze'
    with httpx.Client() as c: a,b = [c.post(url, json={'urlSource': 'https://example.com/a.pdf'}) for _ in range(2)]
    assert a.status_code == b.status_code == 202 and a.content == b.content == b''
    assert ps.count('/documentintelligence/documentModels/prebuilt-read:analyze', 'POST') == 1
    [r] = recs(cfile)
    assert r['status_code'] == 202 and 'seq' not in r and 'polling' not in r

def test_vertex_predict_post_is_one_shot(ps, on, cfile):
    "The POST that starts a Vertex video generation answers an unfinished operation, but only `:fetchPredictOperation` polls: made again, it is a hit"
    on()
    url = ps.url+'/v1beta1/projects/p/locations/us-central1/publishers/google/models/veo-test:predictLongRunning'
    with httpx.Client() as c: a,b = [c.post(url, json={'instances': [{'prompt': 'a cat'}]}).json() for _ in range(2)]
    assert a == b and '/operations/' in a['name'] and 'done' not in a
    assert ps.total == 1
    [r] = recs(cfile)
    assert 'seq' not in r and 'polling' not in r

def test_accepted_answers_are_polls(run, tmp_path):
    "xAI's deferred completion answers each poll `202 Accepted` with an empty body until it is ready: each is a line of the sequence, polling"
    rec,_ = run('xai_deferred', tmp_path)
    post,*gets = recs(tmp_path/'cachy.jsonl')
    assert post['method'] == 'POST' and 'seq' not in post
    assert [(r['status_code'], r['seq'], r['polling'], r['response'] == '') for r in gets] == [(202, 1, True, True), (202, 2, True, True), (200, 3, False, False)]

def test_untokened_start(run, tmp_path):
    "botocore gives `start_async_invoke` a fresh `clientRequestToken` each call: it is not in the file, and the next run's start is a hit"
    run('bedrock_async', tmp_path)
    assert 'clientRequestToken' not in (tmp_path/'cachy.jsonl').read_text()
    again,sent = run('bedrock_async', tmp_path)
    assert sent == 0 and again['stats']['miss'] == 0

# A recording stopped partway

def test_partway_replay_fails(run, tmp_path):
    "A loop recorded only partway, still in progress: replay raises ReplayMiss saying the answers end unfinished"
    rec,_ = run('responses', tmp_path, cap=2)
    [r] = rec['runs']
    assert r['polls'] == 2
    assert r['final'][1] == 'in_progress'
    rep,sent = run('responses', tmp_path, 'replay')
    [miss] = rep['runs']
    assert miss['type'] == f'{ReplayMiss.__module__}.{ReplayMiss.__qualname__}'
    assert 'polls work under way, and the 2 answers recorded for it end in one that says it is not finished' in miss['miss']
    assert 'run the polling once, to its end,' in miss['miss']
    assert sent == 0
    assert rep['stats']['replay_failure'] == 1

def test_partway_accepted_replay_fails(run, tmp_path):
    "A deferred completion recorded while it still answered 202: replay raises ReplayMiss, as for any answer that says it is not finished"
    rec,_ = run('xai_deferred', tmp_path, cap=2)
    [r] = rec['runs']
    assert (r['polls'], r['final'][1]) == (2, 202)
    rep,sent = run('xai_deferred', tmp_path, 'replay')
    [miss] = rep['runs']
    assert 'polls work under way, and the 2 answers recorded for it end in one that says it is not finished' in miss['miss']
    assert sent == 0

def test_partway_record_continues(run, tmp_path):
    "A loop recorded partway, run again in record mode: the recorded polls are hits, and the sequence goes on live from there"
    run('responses', tmp_path, cap=2)
    rec,sent = run('responses', tmp_path)
    [r] = rec['runs']
    assert r['polls'] == 3
    assert r['final'][1] == 'completed'
    assert sent == 1
    assert rec['stats']['hit'] == 3
    rep,sent = run('responses', tmp_path, 'replay')
    assert rep['runs'] == rec['runs']
    assert sent == 0

# Refresh

@pytest.mark.parametrize('steps', [2, 4])
def test_refresh_records_sequence_again(steps, ps, run, tmp_path):
    "The work now answers otherwise, in fewer or more polls: refresh records its answers again, and replay gets the new ones"
    run('operation', tmp_path, name='op-refreshed')
    ps.reset()
    ps.salt,ps.steps = ' again',steps
    ref,sent = run('operation', tmp_path, 'refresh', runs=2, name='op-refreshed')
    first,second = ref['runs']
    assert first['polls'] == steps
    assert first['final'][2].endswith(' again')
    assert second['polls'] == 1
    assert sent == steps+1
    rep,sent = run('operation', tmp_path, 'replay', runs=2, name='op-refreshed')
    assert rep['runs'] == ref['runs']
    assert sent == 0

@pytest.mark.parametrize('flow', ['xai_deferred', 'vertex_video', 'bedrock_async'])
def test_refresh_polls_again(flow, ps, run, tmp_path):
    "Refresh records each poll of these loops again (a 202, a POST that polls, `InProgress`), to their new end; replay gets the new answers"
    rec,_ = run(flow, tmp_path)
    ps.reset()
    ps.salt,ps.steps = ' again',4
    ref,sent = run(flow, tmp_path, 'refresh')
    [r] = ref['runs']
    assert (r['polls'], sent) == (4, 5)
    assert r['final'][1] in ends and ' again' in str(r['final']), r
    rep,sent = run(flow, tmp_path, 'replay')
    assert rep['runs'] == ref['runs']
    assert sent == 0

def test_refresh_then_replay_sdk(ps, run, tmp_path):
    "Refresh with the Anthropic SDK, whose `results()` retrieves the batch once more after the loop: replay polls as often"
    run('message_batches', tmp_path)
    ps.salt = ' again'
    ref,sent = run('message_batches', tmp_path, 'refresh')
    [r] = ref['runs']
    assert r['polls'] == 3
    assert r['final'][2][0].endswith(' again')
    rep,sent = run('message_batches', tmp_path, 'replay')
    assert rep['runs'] == ref['runs']
    assert sent == 0

# A first poll that failed

def test_retried_first_poll_starts_the_sequence(ps, run, tmp_path):
    "The first poll answered 500 and the SDK retried it: the answer it got is recorded as the first of the sequence"
    ps.fail = 1
    rec,sent = run('responses', tmp_path)
    [r] = rec['runs']
    assert r['final'][1] == 'completed'
    assert r['polls'] == 2
    assert sent == 4
    assert [(r['seq'], r['polling']) for r in recs(tmp_path/'cachy.jsonl') if r['method'] == 'GET'] == [(1, True), (2, False)]
    rep,sent = run('responses', tmp_path, 'replay')
    assert rep['runs'] == rec['runs']
    assert sent == 0

# The file

def test_each_answer_a_line(run, tmp_path):
    "Each answer of a sequence is a line of its own, with `seq` and `polling`; the first under the request's key"
    run('responses', tmp_path)
    post,*gets = recs(tmp_path/'cachy.jsonl')
    assert post['method'] == 'POST' and 'seq' not in post and 'polling' not in post
    assert [(r['method'], r['seq'], r['polling'], json.loads(r['response'])['status']) for r in gets] == [
        ('GET', 1, True, 'queued'), ('GET', 2, True, 'in_progress'), ('GET', 3, False, 'completed')]
    k = gets[0]['key']
    assert [r['key'] for r in gets] == [k, _seq_key(k, 2), _seq_key(k, 3)]
    assert len({r['url'] for r in gets}) == 1

def test_check_reports_ok(run, tmp_path):
    run('batches', tmp_path)
    r = run_cachy('check', '--cache-dir', tmp_path)
    assert r.returncode == 0, r.stdout+r.stderr
    assert r.stdout.strip().endswith('OK'), r.stdout+r.stderr

def test_compact_keeps_every_answer(run, tmp_path):
    rec,_ = run('message_batches', tmp_path)
    before = sorted(r['key'] for r in recs(tmp_path/'cachy.jsonl'))
    r = run_cachy('compact', '--cache-dir', tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(r['key'] for r in recs(tmp_path/'cachy.jsonl')) == before
    rep,sent = run('message_batches', tmp_path, 'replay')
    assert rep['runs'] == rec['runs']
    assert sent == 0

@pytest.mark.slow
def test_prune_keeps_the_answers_a_run_used(ps, run, tmp_path):
    "prune, running the replay of one loop, keeps each of its answers and drops the other loop's"
    rec,_ = run('responses', tmp_path)
    ours = {r['key'] for r in recs(tmp_path/'cachy.jsonl')}
    run('operation', tmp_path, name='op-unused')
    cmd = [sys.executable, str(here/'poll_calls.py'), 'responses', str(tmp_path), ps.url, 'replay']
    r = run_cachy('prune', '--cache-dir', tmp_path, '--', *cmd)
    assert r.returncode == 0, r.stderr
    assert {r['key'] for r in recs(tmp_path/'cachy.jsonl')} == ours
    rep,sent = run('responses', tmp_path, 'replay')
    assert rep['runs'] == rec['runs']
    assert sent == 0

# pycachy's format

@pytest.mark.slow
@pytest.mark.index
def test_pycachy_reader(ps, run, tmp_path):
    """pycachy 0.0.22's own reader and writer on a file holding a sequence: looking up the key of the first answer it finds
    that answer (each later answer is a line of its own, under a key no pycachy release computes); its own key for the
    request finds nothing, as for any entry cachy recorded; an entry pycachy writes keeps every line, and replay still works"""
    from test_pycachy import _fetch,_load
    pc = _load(_fetch('0.0.22'), '0.0.22')
    rec,_ = run('operation', tmp_path, name='op-read')
    cfp = tmp_path/'cachy.jsonl'
    first,*later = recs(cfp)
    assert first['seq'] == 1
    assert len(later) == 2
    url = f'{ps.url}/v1beta/operations/op-read'
    got = pc._cache(first['key'], cfp)
    assert got['response'] == first['response']
    assert pc._resp_from_cache(got, httpx.Request('GET', url)).json() == {'name': 'operations/op-read', 'metadata': {'progressPercent': 50}}
    assert pc._cache(pc._key(httpx.Request('GET', url, headers={'accept': '*/*'})), cfp) is None
    pc._write_cache('0123abcd', '{"pycachy": true}', cfp, {})
    assert {r['key'] for r in recs(cfp)} == {first['key'], *(r['key'] for r in later), '0123abcd'}
    rep,sent = run('operation', tmp_path, 'replay', name='op-read')
    assert rep['runs'] == rec['runs']
    assert sent == 0
