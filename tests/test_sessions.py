"""WebSocket sessions (OpenAI's Responses API over a WebSocket and Realtime, Gemini's Live API, a raw `websockets` client):
recorded live, replayed in a fresh process without a connection (the server counts connections and frames), matched on
every frame the client sends, continued live where a record-mode run diverges, never recorded when cut, sealed offline,
and without a secret in the file. Each session runs as users write it (`ws_calls.py`), in a fresh process."""
import json,subprocess,sys
import pytest
from hypothesis import given,settings,strategies as st
from helpers import here,child_env,py,run_cachy,recs
from ws_server import WSServer,cert
import ws_calls

@pytest.fixture(scope='module')
def servers(tmp_path_factory):
    "A plain server, and one with TLS (google-genai always uses wss), whose certificate `SSL_CERT_FILE` names to the clients"
    cf,kf = cert(tmp_path_factory.mktemp('tls'))
    s,t = WSServer().start(),WSServer(tls=(cf,kf)).start()
    yield s,t,cf
    s.stop(); t.stop()

@pytest.fixture
def ws(servers): return servers[0].reset()

@pytest.fixture
def wss(servers): return servers[1].reset()

@pytest.fixture
def run(servers, tmp_path):
    "Run flow `flow` in a fresh process on `tmp_path`'s cachy.jsonl in `mode`, one turn per prompt: what it printed, parsed"
    def f(flow, mode, *qs, url=None, env=None, d=tmp_path):
        u = url or (servers[1].url if flow.startswith('live') else servers[0].url)
        r = subprocess.run([sys.executable, str(here/'ws_calls.py'), flow, str(d), mode, u, *qs], capture_output=True, text=True, timeout=120,
                           env=child_env(SSL_CERT_FILE=str(servers[2]), **(env or {})))
        assert r.returncode == 0 and r.stdout, r.stderr
        return json.loads(r.stdout.splitlines()[-1])
    return f

def text(tmp_path): return (tmp_path/'cachy.jsonl').read_text()

def secrets_absent(tmp_path):
    "No credential the clients sent is in the file, in any encoding, and `cachy check` finds nothing"
    t = text(tmp_path)
    for s in (ws_calls.OKEY, ws_calls.AZKEY, ws_calls.GKEY, ws_calls.RAWKEY, ws_calls.BEARER.split()[1], 'SECRET'):
        assert s not in t and json.dumps(s)[1:-1] not in t
        assert all(s.encode() not in __import__('base64').b64decode(f['base64']) for r in recs(tmp_path/'cachy.jsonl') for f in r['frames'] if isinstance(f, dict) and 'base64' in f)
    r = run_cachy('check', '--cache-dir', tmp_path)
    assert r.returncode == 0, r.stdout

def recorded_then_replayed(run, srv, flow, *qs):
    "Record `flow` live, then replay it in a fresh process: both get the same; the replay reaches the server not at all"
    a = run(flow, 'record', *qs)
    assert a['end'] is None and len(a['turns']) == len(qs)
    n,fr = len(srv.conns),srv.frames
    b = run(flow, 'replay', *qs)
    assert b['turns'] == a['turns'] and b['end'] is None
    assert (len(srv.conns), srv.frames) == (n, fr)
    assert b['stats']['hit'] == a['stats']['recorded'] >= len(qs)+1 and b['stats']['replay_failure'] == 0
    return a,b

# 1. Each client, recorded then replayed in a fresh process, sync and asyncio, two turns on one socket

@pytest.mark.slow
@pytest.mark.parametrize('aio', [pytest.param('sync', marks=pytest.mark.sdk('openai', 'sync', 'stream', api='responses.connect', via='websockets')),
                                 pytest.param('async', marks=pytest.mark.sdk('openai', 'async', 'stream', api='responses.connect', via='websockets'))])
def test_responses(aio, run, ws, tmp_path):
    "Two turns, the second naming the first's response (`previous_response_id`), which the server checks: replayed without a connection"
    a,b = recorded_then_replayed(run, ws, f'responses-{aio}', 'hello', 'and then?')
    assert (len(ws.conns), ws.frames) == (1, 2)
    assert json.loads(ws.conns[0]['frames'][1])['previous_response_id'] == a['turns'][0]['id']
    assert a['turns'][1]['text'] == f"reply {a['turns'][1]['id'].split('_')[1]}: and then? (after {a['turns'][0]['id']})"
    rs = recs(tmp_path/'cachy.jsonl')
    assert [(r['turn'], r.get('prev'), r['status_code'], r['method']) for r in rs] == [(0, None, 101, 'WS'), (1, rs[0]['key'], 101, 'WS'), (2, rs[1]['key'], 101, 'WS')]
    assert [r['usage'] for r in rs[1:]] == [dict(model='gpt-ws', input=4, output=1, cached=0, written=0), dict(model='gpt-ws', input=5, output=2, cached=0, written=0)]
    assert b['stats']['saved_tokens'] == 12
    secrets_absent(tmp_path)

@pytest.mark.slow
@pytest.mark.parametrize('aio', [pytest.param('sync', marks=pytest.mark.sdk('openai', 'sync', 'stream', api='realtime.connect', via='websockets')),
                                 pytest.param('async', marks=pytest.mark.sdk('openai', 'async', 'stream', api='realtime.connect', via='websockets'))])
@pytest.mark.parametrize('flow', ['realtime', 'azure'])
def test_realtime(flow, aio, run, ws, tmp_path):
    "Realtime (OpenAI's and Azure's URL): each event sent with an `event_id` new on every run, audio base64 inside JSON, replayed byte for byte"
    a,_ = recorded_then_replayed(run, ws, f'{flow}-{aio}', 'hello', 'world')
    c, = ws.conns
    assert c['path'].startswith('/openai/realtime?api-version=2025-08-28&deployment=gpt-realtime' if flow == 'azure' else '/v1/realtime?model=gpt-realtime')
    assert c['headers'].get('api-key' if flow == 'azure' else 'authorization') == (ws_calls.AZKEY if flow == 'azure' else 'Bearer '+ws_calls.OKEY)
    assert all(a['turns'][i]['audio'] for i in (0, 1))
    assert [r['usage']['model'] for r in recs(tmp_path/'cachy.jsonl')[1:]] == ['gpt-realtime']*2
    secrets_absent(tmp_path)

@pytest.mark.slow
@pytest.mark.sdk('google-genai', 'async', 'stream', api='live.connect', via='websockets')
def test_gemini_live(run, wss, tmp_path):
    "Gemini's Live API over wss (a self-signed certificate): setup, then turns, every server message a binary frame of JSON"
    a,_ = recorded_then_replayed(run, wss, 'live-async', 'hello', 'world')
    c, = wss.conns
    assert 'BidiGenerateContent' in c['path'] and c['headers']['x-goog-api-key'] == ws_calls.GKEY
    assert [t['text'].split(':')[1] for t in a['turns']] == [' hello ', ' world ']
    rs = recs(tmp_path/'cachy.jsonl')
    assert rs[1]['frames'] == [{'bytes': '{"setupComplete": {}}'}]
    assert rs[2]['usage'] == dict(model='models/gemini-live-test', input=4, output=1, cached=0, written=0)
    secrets_absent(tmp_path)

@pytest.mark.slow
@pytest.mark.parametrize('aio', [pytest.param('sync', marks=pytest.mark.sdk('websockets', 'sync', via='websockets')),
                                 pytest.param('async', marks=pytest.mark.sdk('websockets', 'async', via='websockets'))])
def test_raw_client(aio, run, ws, tmp_path):
    "A raw websockets client: text frames as text, binary frames (not UTF-8) byte for byte; `?key=`, `Authorization` and `x-goog-api-key` never stored"
    a,_ = recorded_then_replayed(run, ws, f'raw-{aio}', 'hello', 'world')
    assert a['turns'][1][1].startswith('b:52494646fffe0080')
    assert ws.conns[0]['path'] == f'/echo?key={ws_calls.RAWKEY}&v=1'
    assert {r['url'] for r in recs(tmp_path/'cachy.jsonl')} == {ws.url+'/echo?v=1'}
    secrets_absent(tmp_path)

@pytest.mark.slow
def test_server_close_replayed(run, ws, tmp_path):
    "A normal close by the server is recorded with its turn and replayed as the same `ConnectionClosedOK`"
    a = run('raw-sync', 'record', 'hello', 'close')
    b = run('raw-sync', 'replay', 'hello', 'close')
    assert a['end'] == b['end'] and a['end'][:2] == ['ConnectionClosedOK', 1000] and 'bye' in a['end'][2]
    assert b['turns'] == a['turns'] == a['turns'][:1]
    assert recs(tmp_path/'cachy.jsonl')[-1]['close'] == [1000, 'bye']

# 2. Matched on every frame sent

@pytest.mark.slow
@pytest.mark.parametrize('flow,turn', [('responses-sync', 1), ('responses-sync', 2), ('realtime-async', 2), ('live-async', 1), ('raw-sync', 2)])
def test_changed_prompt_misses(flow, turn, run, ws, wss, tmp_path):
    "A changed prompt in the first or a later turn raises `ReplayMiss` naming the turn and what differs, and never gets the recorded answer"
    a = run(flow, 'record', 'hello', 'world')
    qs = ['hello', 'world']
    qs[turn-1] = 'HELLO THERE' if turn == 1 else 'WORLD THERE'
    b = run(flow, 'replay', *qs)
    kind,_,msg = b['end']
    assert kind == 'ReplayMiss' and b['turns'][:turn-1] == a['turns'][:turn-1] and len(b['turns']) <= turn
    assert all(t != a['turns'][turn-1] for t in b['turns'][turn-1:])
    head = msg.splitlines()[0]
    assert f'no recorded answer to turn {turn+flow.startswith("live")} of the WebSocket session' in head, msg
    assert f"sent '{qs[turn-1]}'" in msg and f"recorded '{['hello', 'world'][turn-1]}'" in msg, msg
    assert b['stats']['replay_failure'] >= 1

@pytest.mark.slow
def test_per_run_values_ignored(run, ws, tmp_path, monkeypatch):
    "Realtime's `event_id`s differ on every run and change nothing; `ignore_fields` applies to frames"
    run('realtime-sync', 'record', 'hello')
    assert run('realtime-sync', 'replay', 'hello')['end'] is None
    code = f'''
import json,sys
from cachy import enable_cachy,ignore_fields
from websockets.sync.client import connect
enable_cachy(cache_dir=sys.argv[1], doms=('127.0.0.1',), mode=sys.argv[2])
ignore_fields.append('meta.nonce')
with connect({ws.url!r}+'/echo') as c:
    c.send(json.dumps({{'q': 'hi', 'meta': {{'nonce': sys.argv[3]}}}}))
    print(c.recv())
'''
    (tmp_path/'x').mkdir()
    outs = [py(code, tmp_path/'x', m, n) for m,n in (('record', 'n1'), ('replay', 'n2'))]
    assert [o.returncode for o in outs] == [0, 0], outs[0].stderr + outs[1].stderr
    assert outs[0].stdout == outs[1].stdout

# 3. Record mode re-runs: answered from the file, continued live where they diverge

@pytest.mark.slow
def test_record_rerun(run, ws, tmp_path):
    "A re-run in record mode is answered from the file; where it diverges (turn 2), the first turn is sent again live and the new turn, naming the live response, is recorded after it"
    a = run('responses-sync', 'record', 'hello', 'world')
    assert run('responses-sync', 'record', 'hello', 'world')['turns'] == a['turns'] and len(ws.conns) == 1
    b = run('responses-sync', 'record', 'hello', 'there')
    assert b['end'] is None and b['turns'][0] == a['turns'][0] and len(ws.conns) == 2
    live = [json.loads(f) for f in ws.conns[1]['frames']]
    assert [f['input'] for f in live] == ['hello', 'there']
    assert live[1]['previous_response_id'] != a['turns'][0]['id'] and b['turns'][1]['text'].endswith(f"(after {live[1]['previous_response_id']})")
    assert b['stats'] == dict(hit=2, miss=1, recorded=1, replay_failure=0, saved_tokens=5)
    n = ws.frames
    assert run('responses-async', 'replay', 'hello', 'there')['turns'] == b['turns']
    assert run('responses-sync', 'replay', 'hello', 'world')['turns'] == a['turns']
    assert ws.frames == n
    assert [r['turn'] for r in recs(tmp_path/'cachy.jsonl')] == [0, 1, 2, 2]

@pytest.mark.slow
def test_record_rerun_realtime(run, ws, tmp_path):
    "Realtime diverging at its second turn: the live session gets the first turn again, whose items it answers with ids of its own"
    a = run('realtime-sync', 'record', 'hello', 'world')
    b = run('realtime-sync', 'record', 'hello', 'there')
    assert b['end'] is None and b['turns'][0] == a['turns'][0] and b['turns'][1]['text'].endswith('hello there')
    assert run('realtime-async', 'replay', 'hello', 'there')['turns'] == b['turns']

@pytest.mark.slow
def test_refresh_records_again(run, ws, tmp_path):
    a = run('responses-sync', 'record', 'hello')
    b = run('responses-sync', 'refresh', 'hello')
    assert b['turns'] != a['turns'] and len(ws.conns) == 2
    assert run('responses-sync', 'replay', 'hello')['turns'] == b['turns']

# 4. A cut session is not recorded as complete

@pytest.mark.slow
@pytest.mark.parametrize('flow,fault', [('responses-sync', 'CUT'), ('responses-async', 'DROP'), ('responses-sync', 'RATELIMIT'), ('realtime-sync', 'RATELIMIT'),
                                        ('realtime-async', 'CUT'), ('live-async', 'CUT'), ('live-async', 'DROP'), ('live-async', 'RATELIMIT')])
def test_cut_not_recorded(flow, fault, run, ws, wss, tmp_path):
    "A 1011 close or a dropped connection mid-answer, or an error event that may pass: the caller gets what it gets without cachy; that turn is never replayed"
    off = run(flow, 'off', 'hello', f'{fault} now', d=tmp_path/'off')
    on = run(flow, 'record', 'hello', f'{fault} now')
    assert on['end'] == off['end'] and len(on['turns']) == len(off['turns'])
    rs = recs(tmp_path/'cachy.jsonl')
    assert [r['turn'] for r in rs] == ([0, 1, 2] if flow.startswith('live') else [0, 1])
    r = run(flow, 'replay', 'hello', f'{fault} now')
    assert r['end'][0] == 'ReplayMiss' and r['turns'][:1] == on['turns'][:1] and 'recording ended there' in r['end'][2]

# 5. Offline: sealed before any DNS lookup or connection

_offline = '''
import json,socket,sys,asyncio
looked = []
real = socket.getaddrinfo
def spy(host, *a, **kw):
    looked.append(host)
    return real(host, *a, **kw)
socket.getaddrinfo = spy
from cachy import ReplayMiss
out = {}
def tryit(name, f):
    try: f(); out[name] = 'passed'
    except ReplayMiss as e: out[name] = 'miss: ' + str(e).splitlines()[0]
    except Exception as e: out[name] = type(e).__name__
from openai import OpenAI
from websockets.sync.client import connect
from websockets.asyncio.client import connect as aconnect
def responses():
    with OpenAI(api_key='dummy').responses.connect() as c: c.response.create(model='gpt-5', input='hi'); c.recv()
def realtime():
    with OpenAI(api_key='dummy').realtime.connect(model='gpt-realtime') as c: c.recv()
def other():
    with connect('wss://example.com/socket') as c: c.recv()
async def aother():
    async with aconnect('wss://ws.example.org/x') as c: await c.recv()
def loop():
    with connect(sys.argv[1]+'/echo') as c: c.send('hi'); c.recv()
for n,f in (('responses', responses), ('realtime', realtime), ('other', other), ('aother', lambda: asyncio.run(aother())), ('loopback', loop)): tryit(n, f)
print(json.dumps(dict(out=out, looked=looked)))
'''

@pytest.mark.slow
def test_offline_sealed(ws, tmp_path):
    "Offline: an unrecorded session to a provider or to any other host raises `ReplayMiss` before a DNS lookup; a loopback host outside doms passes"
    code = _offline.replace("from cachy import ReplayMiss", f"from cachy import ReplayMiss,enable_cachy\nenable_cachy(cache_dir={str(tmp_path)!r})")
    r = py(code, ws.url, env=dict(CACHY_OFFLINE='1'))
    assert r.returncode == 0, r.stderr
    o = json.loads(r.stdout.splitlines()[-1])
    assert o['looked'] == [] or set(o['looked']) <= {'127.0.0.1'}, o
    assert o['out']['responses'].startswith('miss: cachy (replay mode): no recorded WebSocket session for wss://api.openai.com/v1/responses')
    assert o['out']['realtime'].startswith('miss: cachy (replay mode): no recorded WebSocket session for wss://api.openai.com/v1/realtime?model=gpt-realtime')
    assert o['out']['other'] == 'miss: cachy (offline): WS wss://example.com/socket would reach example.com, which is not in doms; offline mode lets no request out but to loopback hosts.'
    assert o['out']['aother'].startswith('miss: cachy (offline): WS wss://ws.example.org/x would reach ws.example.org')
    assert o['out']['loopback'] == 'passed' and len(ws.conns) == 1

# 6. The cachy command understands session records

@pytest.mark.slow
def test_cli(run, ws, tmp_path):
    "ls names each turn, show lists a turn's frames, stats counts its tokens, prune keeps the turns a replay uses, compact keeps them replaying"
    run('responses-sync', 'record', 'hello', 'world')
    run('raw-sync', 'record', 'unused')
    ls = run_cachy('ls', '--cache-dir', tmp_path).stdout.splitlines()
    assert [l.split()[-1] for l in ls] == ['0', '1', '2', '0', '1'] and all(' 101 ' in l for l in ls)
    assert "'hello'" in ls[1] and "'world'" in ls[2] and 'gpt-ws' in ls[1]
    k = json.loads(text(tmp_path).splitlines()[1])['key']
    show,fs = run_cachy('show', k[:8], '--cache-dir', tmp_path).stdout.splitlines(),recs(tmp_path/'cachy.jsonl')[1]['frames']
    assert show == [f'turn 1 of a WebSocket session: {len(fs)} frames from the server', *fs] and json.loads(show[-1])['type'] == 'response.completed'
    assert 'to record again: ' in (s := run_cachy('stats', '--cache-dir', tmp_path).stdout) and '10 tokens' in s
    cmd = [sys.executable, str(here/'ws_calls.py'), 'responses-sync', str(tmp_path), 'replay', ws.url, 'hello', 'world']
    p = run_cachy('prune', '--cache-dir', tmp_path, '--', *cmd)
    assert p.returncode == 0 and 'removed 2 entries' in p.stdout, p.stdout + p.stderr
    assert run_cachy('compact', '--cache-dir', tmp_path).returncode == 0
    assert run('responses-async', 'replay', 'hello', 'world')['end'] is None

# 7. websockets stays optional: imported by the user, patched then, put back by disable_cachy

@pytest.mark.slow
def test_import_and_patch(ws, tmp_path):
    out = py(f'''
import sys,json
import cachy
from cachy import enable_cachy,disable_cachy
before = [m in sys.modules for m in ('websockets', 'cachy.sessions')]
enable_cachy(cache_dir={str(tmp_path)!r}, doms=('127.0.0.1',))
import websockets.sync.client as s, websockets.asyncio.client as a
on = [s.reconnect.connect.__module__, a.connect.connect.__module__]
disable_cachy()
off = [s.reconnect.connect.__module__, a.connect.connect.__module__]
enable_cachy(cache_dir={str(tmp_path)!r}, doms=('127.0.0.1',))
print(json.dumps(dict(before=before, on=on, off=off, again=[s.reconnect.connect.__module__, a.connect.connect.__module__])))
''')
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == dict(before=[False, False], on=['cachy.sessions']*2, off=['websockets.sync.client', 'websockets.asyncio.client'], again=['cachy.sessions']*2)

# 8. Frames replay byte for byte, whatever they hold

@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), st.binary()))
def test_frames_round_trip(f):
    from cachy.sessions import _stored,_data,replayable
    s = json.loads(json.dumps(_stored(f)))
    assert _data(s) == f and type(_data(s)) is type(f) and replayable([s])

# 9. In one process: threads, timeouts, no_cachy

def echo_session(url, qs, reader=False, timeout=None):
    "The echo session of `qs` on the sync client: the frames read, by a reader thread when `reader`, which the sender waits for"
    import threading
    from websockets.sync.client import connect
    got,read = [],threading.Semaphore(0)
    with connect(url+'/echo') as c:
        def take():
            for _ in range(2*len(qs)):
                got.append(c.recv(timeout))
                read.release()
        t = threading.Thread(target=take) if reader else None
        if t: t.start()
        for q in qs:
            c.send(q)
            if t: read.acquire(), read.acquire()
            else: got.extend(c.recv(timeout) for _ in range(2))
        if t: t.join(10)
    return got

def test_reader_thread(ws, on):
    "A reader thread started before the first frame is sent waits, in replay, for the sender's frames"
    on()
    a = echo_session(ws.url, ['a', 'b'], reader=True)
    on(mode='replay')
    assert echo_session(ws.url, ['a', 'b'], reader=True) == a and len(ws.conns) == 1

def test_read_past_end(ws, on):
    "Replayed, a read past the recorded frames waits out its timeout, as live; without one, alone on its session, it is a miss"
    from websockets.sync.client import connect
    from cachy import ReplayMiss
    on()
    echo_session(ws.url, ['a'])
    on(mode='replay')
    with connect(ws.url+'/echo') as c:
        assert type(c).__module__ == 'cachy.sessions'
        c.send('a'), c.recv(), c.recv()
        with pytest.raises(TimeoutError): c.recv(timeout=0.05)
        with pytest.raises(ReplayMiss, match='reads past the frames recorded for turn 1'): c.recv()
    assert len(ws.conns) == 1

def test_no_cachy_goes_live(ws, on, cfile):
    from cachy import no_cachy
    on()
    with no_cachy(): echo_session(ws.url, ['a'])
    assert len(ws.conns) == 1 and not cfile.exists()
