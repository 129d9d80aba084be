"""Offline mode lets nothing out but to loopback hosts, whatever the client: the patched clients refuse in `send`, and
every other way out (a raw socket, urllib, asyncio, a client cachy does not patch) is refused at the socket, before any
name lookup. Telemetry (`cachy.telemetry`) is never keyed nor recorded, and offline mode refuses it with
`TelemetryBlocked`, an `Exception`, which the exporters that send it in background threads catch quietly.

The fresh processes here put a tripwire under cachy: a `getaddrinfo` and a `connect` that note any host outside
loopback and fail, so that a seal that lets something through is seen without a packet leaving the machine."""
import httpx,pytest
from cachy import enable_cachy,cachy_stats,ReplayMiss,TelemetryBlocked
from helpers import ours,py,recs

trace = 'http://api.openai.com/v1/traces/ingest'

def test_telemetry_never_cached(proxy, tmp_path, capsys):
    "Traces posted to OpenAI go out live in record and replay mode, twice when sent twice, and are never written"
    enable_cachy(cache_dir=tmp_path, doms=ours, debug=True)
    with httpx.Client() as c:
        for _ in range(2): c.post(trace, json={'data': [{'id': 'trace_1'}]})
        c.post('http://api.openai.com/v1/embeddings', json={'input': 'x'})
    enable_cachy(cache_dir=tmp_path, doms=ours, mode='replay', debug=True)
    s0 = cachy_stats()
    with httpx.Client() as c: c.post(trace, json={'data': [{'id': 'trace_1'}]})
    assert proxy.count('/v1/traces/ingest') == 3
    assert [r['url'] for r in recs(tmp_path/'cachy.jsonl')] == ['http://api.openai.com/v1/embeddings']
    assert cachy_stats()['pass'] - s0['pass'] == 1
    assert capsys.readouterr().out.count('(telemetry, never cached)') == 3

def test_offline_refuses_telemetry_quietly(proxy, tmp_path):
    "Offline, telemetry raises TelemetryBlocked (an Exception, so an exporter's `except Exception` drops it), through every patched client, without a request"
    enable_cachy(cache_dir=tmp_path, offline=True)
    with httpx.Client() as c, pytest.raises(TelemetryBlocked, match=r'POST http://api.openai.com/v1/traces/ingest is telemetry, which offline mode does not send'):
        c.post(trace, json={'data': []})
    import requests
    with pytest.raises(TelemetryBlocked): requests.post(trace, json={'data': []})
    try: httpx.post(trace, json={'data': []})
    except Exception as e: assert not isinstance(e, ReplayMiss)
    assert proxy.total == 0

def test_telemetry_is_extensible(proxy, tmp_path, monkeypatch):
    "An entry added to `telemetry` (a host as in doms, and the start of a path) is never recorded, and offline refuses it"
    import cachy
    monkeypatch.setattr(cachy.core, 'telemetry', cachy.core.telemetry+['api.anthropic.com/v1/telemetry'])
    enable_cachy(cache_dir=tmp_path)
    with httpx.Client() as c:
        c.post('http://api.anthropic.com/v1/telemetry/events', json={'e': 1})
        c.post('http://api.anthropic.com/v1/files', json={'m': 1})
    assert [r['url'] for r in recs(tmp_path/'cachy.jsonl')] == ['http://api.anthropic.com/v1/files']
    enable_cachy(cache_dir=tmp_path, offline=True)
    with httpx.Client() as c, pytest.raises(TelemetryBlocked): c.post('http://api.anthropic.com/v1/telemetry/events', json={'e': 1})

_tripwire = '''
import asyncio,socket,sys,urllib.request
leaked,real_gai,real_connect = [],socket.getaddrinfo,socket.socket.connect
def gai(host, *a, **kw):
    if host not in ('127.0.0.1', 'localhost'): leaked.append(host); raise socket.gaierror('tripwire')
    return real_gai(host, *a, **kw)
def connect(self, addr):
    if self.family == socket.AF_INET and addr[0] != '127.0.0.1': leaked.append(addr[0]); raise OSError('tripwire')
    return real_connect(self, addr)
socket.getaddrinfo,socket.socket.connect = gai,connect
from cachy import enable_cachy,disable_cachy,ReplayMiss
def why(f):
    "The first line of the refusal `f()` meets, itself or as the reason of the URLError urllib wraps it in"
    try: f()
    except BaseException as e:
        r = e if isinstance(e, ReplayMiss) else getattr(e, 'reason', None)
        if isinstance(r, ReplayMiss): return r.why.split(' refused')[0] + (' (an OSError)' if isinstance(r, OSError) else '')
        return f'not refused: {e!r}'
    return 'not refused'
'''

def test_offline_seals_every_socket(srv, tmp_path):
    """CACHY_OFFLINE=1 refuses urllib, raw sockets and asyncio at the socket, naming the host, before any lookup, with a ReplayMiss that is also the
    OSError of a machine without network (urllib wraps it in URLError, as it would); loopback passes; offline=False and disable_cachy() unseal"""
    r = py(_tripwire + '''
enable_cachy(cache_dir=sys.argv[1])
async def reach(host): await asyncio.open_connection(host, 443)
print(why(lambda: urllib.request.urlopen('http://api.github.com/x')))
print(why(lambda: socket.create_connection(('api.openai.com', 443))))
print(why(lambda: socket.socket().connect(('192.0.2.1', 443))))
print(why(lambda: asyncio.run(reach('api.anthropic.com'))))
print(why(lambda: asyncio.run(reach('192.0.2.2'))))
print(urllib.request.urlopen(sys.argv[2]+'/stable/a').status)
enable_cachy(cache_dir=sys.argv[1], offline=False)
print((socket.getaddrinfo, socket.socket.connect) == (gai, connect))
enable_cachy(cache_dir=sys.argv[1])
print(socket.getaddrinfo is gai)
disable_cachy()
print((socket.getaddrinfo, socket.socket.connect) == (gai, connect), leaked)
''', tmp_path, srv.url, env={'CACHY_OFFLINE': '1'})
    assert r.returncode == 0, r.stderr
    refused = ['getaddrinfo for api.github.com:80', 'getaddrinfo for api.openai.com:443', 'connect for 192.0.2.1:443',
               'create_connection for api.anthropic.com:443', 'create_connection for 192.0.2.2:443']
    assert r.stdout.splitlines() == [f'cachy (offline): {w} (an OSError)' for w in refused] + ['200', 'True', 'False', 'True []']
    assert srv.count('/stable/a') == 1

def test_seal_message_says_how_to_record(tmp_path):
    "The refusal at the socket names the host, and, since cachy cannot record what an unpatched client sends, how to let it out live"
    r = py(_tripwire + '''
enable_cachy(cache_dir=sys.argv[1], offline=True)
try: socket.create_connection(('api.x.ai', 443))
except ReplayMiss as e: print(e)
print(leaked)
''', tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ['cachy (offline): getaddrinfo for api.x.ai:443 refused at the socket: offline mode lets nothing out but to loopback hosts, whatever the client.',
                                     "cachy cannot record it; to send it live, leave offline mode: call enable_cachy(offline=False).", '[]']

def test_patched_clients_refuse_in_send_as_before(proxy, tmp_path):
    "Offline, a patched client still raises its own ReplayMiss in send, naming the request, not the socket"
    enable_cachy(cache_dir=tmp_path, offline=True)
    with httpx.Client() as c, pytest.raises(ReplayMiss, match=r'would reach api.github.com, which is not in doms'): c.get('http://api.github.com/x')
    assert proxy.total == 0

def test_seal_covers_reverse_lookups_and_counts(tmp_path):
    "Reverse lookups (getnameinfo, gethostbyaddr, and getfqdn through them) and UDP sendmsg are refused too, this machine's own name passes, and every refusal at the socket is a replay failure in cachy_stats()"
    r = py(_tripwire + '''
real = socket.getnameinfo,socket.gethostbyaddr,socket.socket.sendmsg
def trip(f):
    def g(*a, **kw): leaked.append((f.__name__, a[0] == socket.gethostname())); return f(*a, **kw)
    return g
socket.getnameinfo,socket.gethostbyaddr,socket.socket.sendmsg = map(trip, real)
from cachy import cachy_stats
enable_cachy(cache_dir=sys.argv[1])
print(why(lambda: socket.getnameinfo(('192.0.2.1', 80), 0)))
print(why(lambda: socket.gethostbyaddr('192.0.2.1')))
print(socket.getfqdn('192.0.2.1'))
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s: print(why(lambda: s.sendmsg([b'x'], [], 0, ('192.0.2.1', 53))))
socket.getfqdn()
print(cachy_stats()['replay_failure'], sorted(set(leaked)))
''', tmp_path, env={'CACHY_OFFLINE': '1'})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ['cachy (offline): getnameinfo for 192.0.2.1:80 (an OSError)', 'cachy (offline): gethostbyaddr for 192.0.2.1 (an OSError)',
                                     '192.0.2.1', 'cachy (offline): sendmsg for 192.0.2.1:53 (an OSError)', "4 [('gethostbyaddr', True)]"]
