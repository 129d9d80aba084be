"""The calls of a project that recorded its `cachy.jsonl` with pycachy, made through the real SDKs to the providers'
own hosts (`http://api.openai.com`, ...), which an HTTP proxy on loopback (the test server) answers.

`python pycachy_calls.py PROXY CACHE_DIR OUT` makes them with whatever `cachy` this Python imports enabled (pycachy,
in the virtual environment `test_pycachy.py` makes) and writes what each call returned to OUT; the tests make the
same calls with this project's cachy and compare. Only the standard library, the SDKs and `cachy` are imported, so it
runs with pycachy's Python as well as ours. Any connection beyond loopback is refused."""
import asyncio,base64,json,os,socket,sys

OKEY,AKEY,GKEY = 'sk-test-SECRET-pycachy-1a2b3c','sk-ant-test-SECRET-pycachy-4d5e6f','AIza-test-SECRET-pycachy-7a8b9c'
msgs = lambda text: [{'role': 'user', 'content': text}]

def loopback_only():
    "Refuse any connection or name lookup beyond loopback in this process"
    conn,gai,local = socket.socket.connect,socket.getaddrinfo,('127.0.0.1', '::1', 'localhost')
    def connect(self, addr):
        if self.family in (socket.AF_INET, socket.AF_INET6) and addr[0] not in local: raise OSError(f'refused: {addr}')
        return conn(self, addr)
    def getaddrinfo(host, *a, **kw):
        if host is not None and host not in local: raise OSError(f'refused lookup: {host}')
        return gai(host, *a, **kw)
    socket.socket.connect,socket.getaddrinfo = connect,getaddrinfo

def via(proxy):
    "Send plain-HTTP requests through `proxy`, as every client here reads it from the environment"
    for k in ('HTTP_PROXY', 'http_proxy'): os.environ[k] = proxy
    for k in ('NO_PROXY', 'no_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy'): os.environ.pop(k, None)

async def _async_chat(text):
    from openai import AsyncOpenAI
    async with AsyncOpenAI(api_key=OKEY, base_url='http://api.openai.com/v1') as c:
        return (await c.chat.completions.create(model='gpt-x', messages=msgs(text))).choices[0].message.content

def run():
    "Make every call once: what each returned, by name"
    import anthropic,httpx,openai,requests
    res = {}
    with openai.OpenAI(api_key=OKEY, base_url='http://api.openai.com/v1') as o:
        res['chat'] = o.chat.completions.create(model='gpt-x', messages=msgs('hello there')).choices[0].message.content
        res['chat_stream'] = [c.choices[0].delta.content for c in o.chat.completions.create(model='gpt-x', messages=msgs('stream it'), stream=True) if c.choices]
        r = o.responses.create(model='gpt-x', input='a response', instructions='Be brief.')
        res['responses'] = [r.id, r.output_text, r.usage.total_tokens]
        res['transcription'] = o.audio.transcriptions.create(model='whisper-1', file=('a.wav', b'RIFF\x00\x01\xff\xfe' * 50)).text
        res['speech'] = base64.b64encode(o.audio.speech.create(model='tts-1', voice='alloy', input='say this').content).decode()
    res['chat_async'] = asyncio.run(_async_chat('from a coroutine'))
    with anthropic.Anthropic(api_key=AKEY, base_url='http://api.anthropic.com') as a:
        m = a.messages.create(model='claude-x', max_tokens=50, messages=msgs('hi claude'))
        res['messages'] = [m.id, m.content[0].text, m.stop_reason]
        evs = list(a.messages.create(model='claude-x', max_tokens=50, messages=msgs('stream, claude'), stream=True))
        res['messages_stream'] = [e.type for e in evs] + [e.delta.text for e in evs if e.type == 'content_block_delta']
    with httpx.Client() as c:
        res['httpx_json'] = c.post('http://api.openai.com/v1/embeddings', json={'model': 'e', 'input': ['x', 'y']}).json()
        u = f'http://generativelanguage.googleapis.com/v1beta/models/gemini-x:generateContent?key={GKEY}'
        res['gemini_key'] = c.post(u, json={'contents': [{'role': 'user', 'parts': [{'text': 'hi gemini'}]}]}).json()
    res['requests'] = requests.post('http://api.openai.com/v1/moderations', json={'input': 'via requests'}).json()
    return res

if __name__ == '__main__':
    proxy,cache_dir,out = sys.argv[1:4]
    via(proxy)
    loopback_only()
    from cachy import enable_cachy
    enable_cachy(cache_dir=cache_dir)
    with open(out, 'w') as f: json.dump(run(), f, indent=1)
