"""Measure one cachy implementation at one cache size, in a fresh process; run by `bench.py`.

It imports whichever `cachy` its Python has: this project, or the original pycachy in the virtual
environment that `bench.py` makes. `python worker.py gen DIR N` writes a `cachy.jsonl` of N entries in
that implementation's record format; `python worker.py run DIR N ITERS` measures it and prints JSON."""
import json,os,random,statistics,sys,tempfile,time
import httpx
import cachy
import cachy.core as cc

ours = hasattr(cc, 'cachy_stats')
URL = 'https://api.openai.com/v1/chat/completions'
H = 64 # distinct entries the hits cycle through, spread evenly through the file
words = ('the of and to in is you that it he was for on are as with his they at be this have from or one had by word but not '
         'what all were we when your can said there use an each which she do how their if will up other about out many then them '
         'these so some her would make like him into time has look two more write go see number no way could people my than first '
         'water been call who oil its now find long down day did get come made may part').split()

def completion(rng, tag):
    "A ~2 KB chat completion, as the OpenAI API returns it"
    return json.dumps({'id': f'chatcmpl-{tag}-{rng.getrandbits(64):016x}', 'object': 'chat.completion', 'created': 1732600000,
        'model': 'gpt-4o-mini-2024-07-18', 'choices': [{'index': 0, 'message': {'role': 'assistant',
        'content': ' '.join(rng.choices(words, k=250)), 'refusal': None}, 'logprobs': None, 'finish_reason': 'stop'}],
        'usage': {'prompt_tokens': 31, 'completion_tokens': 300, 'total_tokens': 331, 'prompt_tokens_details':
        {'cached_tokens': 0, 'audio_tokens': 0}, 'completion_tokens_details': {'reasoning_tokens': 0, 'audio_tokens': 0,
        'accepted_prediction_tokens': 0, 'rejected_prediction_tokens': 0}}, 'service_tier': 'default',
        'system_fingerprint': 'fp_0ba0d124f1'}, indent=2)

def payload(s):
    return {'model': 'gpt-4o-mini', 'temperature': 0, 'messages': [{'role': 'system', 'content': 'You are a helpful assistant.'},
            {'role': 'user', 'content': f'{s}: in two sentences, what does a cache of API responses buy a notebook?'}]}

live = completion(random.Random(1), 'live').encode()
calls = [0]
def answer(req):
    calls[0] += 1
    return httpx.Response(200, headers={'content-type': 'application/json'}, content=live)

def client(): return httpx.Client(transport=httpx.MockTransport(answer), headers={'authorization': 'Bearer sk-fake'})

def targets(n): return [payload(f'hit {j}') for j in range(min(H, max(n, 1)))]

def line(key, resp):
    "A record line as this implementation writes it: `key` first"
    rec = dict(key=key, response=resp, headers={'content-type': 'application/json'}, status_code=200, binary=False)
    return json.dumps(rec | (dict(method='POST', url=URL) if ours else {}))+'\n'

def recorded(ts, pool):
    "The lines this implementation records for requests `ts`, made through its `enable_cachy`, each answered with an entry of `pool`"
    d,it = tempfile.mkdtemp(),iter(pool)
    c = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, headers={'content-type': 'application/json'}, content=next(it).encode())))
    cc.enable_cachy(cache_dir=d)
    for p in ts: c.post(URL, json=p)
    cc.disable_cachy()
    with open(os.path.join(d, 'cachy.jsonl')) as f: return {json.loads(l)['response'][:60]: l for l in f}

def gen(d, n):
    "Write `d/cachy.jsonl` with `max(n,1)` entries, the hit targets, recorded through cachy, spread evenly among random ones"
    rng,n = random.Random(0),max(n, 1)
    ts = targets(n)
    pool = [completion(rng, 'rec') for _ in range(256)]
    hits = list(recorded(ts, pool[:len(ts)]).values())
    at = {int((j+0.5)*n/len(ts)): l for j,l in enumerate(hits)}
    kl = len(json.loads(hits[0])['key'])
    with open(os.path.join(d, 'cachy.jsonl'), 'w') as f:
        for i in range(n): f.write(at[i] if i in at else line(f'{rng.getrandbits(4*kl):0{kl}x}', pool[i % len(pool)]))

def mem():
    "(VmRSS, VmHWM) in MB, or (None, peak from getrusage) where /proc is missing"
    try:
        d = dict(l.split(':', 1) for l in open('/proc/self/status'))
        return int(d['VmRSS'].split()[0])/1024, int(d['VmHWM'].split()[0])/1024
    except OSError:
        import resource
        m = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return None, m/2**20 if sys.platform == 'darwin' else m/1024

def timed(c, ps):
    "Microseconds each POST of `ps` takes"
    res = []
    for p in ps:
        t = time.perf_counter_ns()
        c.post(URL, json=p)
        res.append((time.perf_counter_ns()-t)/1000)
    return res

def run(d, n, hits, misses, rounds=50):
    c,ts = client(),targets(n)
    timed(c, [payload('warm')]*20)
    r0,h0 = mem()
    t = time.perf_counter()
    cc.enable_cachy(cache_dir=d)
    first = c.post(URL, json=ts[len(ts)//2])
    load = (time.perf_counter()-t)*1000
    r1,h1 = mem()
    assert calls[0] == 20 and b'chatcmpl-rec-' in first.content, 'the first call was not a hit'
    hit,floor,miss,plain = [],[],[],[]
    hs,ms = max(hits//rounds, 1),max(misses//rounds, 1)
    for i in range(rounds):
        cc.enable_cachy(cache_dir=d)
        n0 = calls[0]
        hit += timed(c, [ts[j % len(ts)] for j in range(i*hs, (i+1)*hs)])
        assert calls[0] == n0, 'a hit reached the transport'
        miss += timed(c, [payload(f'miss {i} {j}') for j in range(ms)])
        assert calls[0] == n0+ms
        cc.disable_cachy()
        floor += timed(c, [ts[j % len(ts)] for j in range(i*hs, (i+1)*hs)])
        plain += timed(c, [payload(f'plain {i} {j}') for j in range(ms)])
    med = statistics.median
    return dict(impl='cachy' if ours else 'pycachy', cachy_file=cachy.__file__, httpx=httpx.__version__, entries=max(n, 1),
                hit_us=med(hit), floor_us=med(floor), miss_us=med(miss), plain_us=med(plain), load_ms=load,
                rss_mb=None if r0 is None else r1-r0, peak_mb=h1-h0, n_hit=len(hit), n_miss=len(miss))

if __name__ == '__main__':
    cmd,d,n = sys.argv[1],sys.argv[2],int(sys.argv[3])
    if cmd == 'gen': gen(d, n)
    else:
        size = os.path.getsize(os.path.join(d, 'cachy.jsonl'))/1e6
        print(json.dumps(run(d, n, int(sys.argv[4]), int(sys.argv[5])) | dict(file_mb=size)))
