"The real openai (3.x) and anthropic (2.x) SDKs against the loopback server, sync and async, streaming and not"
import asyncio,base64,textwrap
import anthropic,openai,pytest
from helpers import msgs,py,recs
from server import audio,aoai,aant,OKEY,AKEY

C,R,M = '/v1/chat/completions','/v1/responses','/v1/messages'

def no_secrets(cfile):
    txt = cfile.read_text()
    for s in (OKEY, AKEY, 'SECRET', 'sk-test', 'sk-ant', 'org-secret', 'proj-secret', 'cookie-secret', 'req-secret', 'Bearer'):
        assert s not in txt, s
    for r in recs(cfile): assert set(r['headers']) <= {'content-type', 'x-amzn-errortype'}

# OpenAI

@pytest.mark.sdk('openai', 'sync')
def test_openai_chat(srv, on, oai, cfile):
    on()
    r1 = oai.chat.completions.create(model='gpt-x', messages=msgs('hi'))
    r2 = oai.chat.completions.create(model='gpt-x', messages=msgs('hi'))
    assert srv.count(C) == 1
    assert r1.choices[0].message.content == 'reply 1: hi'
    assert r2.model_dump() == r1.model_dump()
    assert srv.reqs[0]['headers']['authorization'] == f'Bearer {OKEY}'
    oai.chat.completions.create(model='gpt-x', messages=msgs('other'))
    assert srv.count(C) == 2
    no_secrets(cfile)

@pytest.mark.sdk('openai', 'sync', 'stream')
def test_openai_chat_stream(srv, on, oai, cfile):
    on()
    def run():
        chunks = list(oai.chat.completions.create(model='gpt-x', messages=msgs('hi there'), stream=True))
        return [c.choices[0].delta.content for c in chunks if c.choices]
    d1,d2 = run(),run()
    assert srv.count(C) == 1
    assert d1 == d2
    assert len(d1) >= 4
    assert ''.join(d or '' for d in d1) == 'reply 1: hi there'
    assert recs(cfile)[0]['headers']['content-type'].startswith('text/event-stream')
    no_secrets(cfile)

@pytest.mark.sdk('openai', 'sync', 'stream')
def test_openai_responses(srv, on, oai, cfile):
    on()
    r1,r2 = [oai.responses.create(model='gpt-x', input='hello') for _ in range(2)]
    assert srv.count(R) == 1
    assert r1.output_text == r2.output_text == 'reply 1: hello'
    evs = [[(e.type, getattr(e, 'delta', None)) for e in oai.responses.create(model='gpt-x', input='hello', stream=True)]
           for _ in range(2)]
    assert srv.count(R) == 2
    assert evs[0] == evs[1]
    assert evs[0][0][0] == 'response.created'
    assert ''.join(d for t,d in evs[0] if t == 'response.output_text.delta') == 'reply 2: hello'
    def helper():
        with oai.responses.stream(model='gpt-x', input='hey') as s:
            return ''.join(e.delta for e in s if e.type == 'response.output_text.delta'),s.get_final_response().output_text
    assert helper() == helper() == ('reply 3: hey', 'reply 3: hey')
    assert srv.count(R) == 3
    no_secrets(cfile)

@pytest.mark.sdk('openai', 'async', 'stream')
def test_openai_async(srv, on, cfile):
    on()
    async def run():
        async with aoai(srv) as c:
            r = await c.chat.completions.create(model='gpt-x', messages=msgs('hi'))
            s = await c.chat.completions.create(model='gpt-x', messages=msgs('hi'), stream=True)
            d = [ch.choices[0].delta.content async for ch in s if ch.choices]
            evs = [e.type async for e in await c.responses.create(model='gpt-x', input='yo', stream=True)]
            async with c.responses.stream(model='gpt-x', input='yo2') as rs:
                txt = ''.join([e.delta async for e in rs if e.type == 'response.output_text.delta'])
                fin = (await rs.get_final_response()).output_text
            return r.choices[0].message.content,d,evs,txt,fin
    r1 = asyncio.run(run())
    assert srv.total == 4
    r2 = asyncio.run(run())
    assert srv.total == 4
    assert r1 == r2
    assert r1[0] == 'reply 1: hi' and ''.join(x or '' for x in r1[1]) == 'reply 2: hi'
    assert r1[2][-1] == 'response.completed' and r1[3] == r1[4] == 'reply 4: yo2'
    no_secrets(cfile)

def test_openai_transcription(srv, on, oai, tmp_path):
    "A multipart upload hits although each request has its own boundary"
    on()
    wav = tmp_path/'a.wav'
    wav.write_bytes(b'RIFF\x00\x01\xff\xfe' * 100)
    t1 = oai.audio.transcriptions.create(model='whisper-1', file=wav).text
    t2 = oai.audio.transcriptions.create(model='whisper-1', file=wav).text
    assert srv.total == 1
    assert t1 == t2 == 'transcript 1: 800 bytes sha ' + t1.split()[-1]
    with open(wav, 'rb') as f: t3 = oai.audio.transcriptions.create(model='whisper-1', file=f).text
    assert srv.total == 1
    assert t3 == t1
    async def arun():
        async with aoai(srv) as c: return (await c.audio.transcriptions.create(model='whisper-1', file=wav)).text
    assert asyncio.run(arun()) == t1
    assert srv.total == 1
    oai.audio.transcriptions.create(model='whisper-1', file=('b.wav', b'other'))
    assert srv.total == 2

def test_openai_speech(srv, on, oai, cfile):
    "A binary response is stored base64 and replayed byte-exact"
    on()
    b1 = oai.audio.speech.create(model='tts-1', voice='alloy', input='hello').content
    b2 = oai.audio.speech.create(model='tts-1', voice='alloy', input='hello').content
    assert srv.total == 1
    assert b1 == b2 == audio(1, 'hello')
    rec = recs(cfile)[0]
    assert rec['binary'] is True and rec['headers'] == {'content-type': 'audio/mpeg'}
    assert base64.b64decode(rec['response']) == b1

# Anthropic

@pytest.mark.sdk('anthropic', 'sync', 'stream')
def test_anthropic_messages(srv, on, ant, cfile):
    on()
    m1,m2 = [ant.messages.create(model='claude-x', max_tokens=50, messages=msgs('hi')) for _ in range(2)]
    assert srv.count(M) == 1
    assert m1.content[0].text == 'reply 1: hi'
    assert m1.model_dump() == m2.model_dump()
    assert AKEY in str(srv.reqs[0]['headers'])
    ev = [[e.type for e in ant.messages.create(model='claude-x', max_tokens=50, messages=msgs('hi'), stream=True)] for _ in range(2)]
    assert srv.count(M) == 2
    assert ev[0] == ev[1]
    assert ev[0][0] == 'message_start'
    assert ev[0][-1] == 'message_stop'
    def helper():
        with ant.messages.stream(model='claude-x', max_tokens=50, messages=msgs('yo')) as s:
            return ''.join(s.text_stream),s.get_final_message().content[0].text
    assert helper() == helper() == ('reply 3: yo', 'reply 3: yo')
    assert srv.count(M) == 3
    no_secrets(cfile)

@pytest.mark.sdk('anthropic', 'async', 'stream')
def test_anthropic_async(srv, on, cfile):
    on()
    async def run():
        async with aant(srv) as c:
            m = await c.messages.create(model='claude-x', max_tokens=50, messages=msgs('hi'))
            async with c.messages.stream(model='claude-x', max_tokens=50, messages=msgs('yo')) as s:
                txt = ''.join([t async for t in s.text_stream])
                fin = (await s.get_final_message()).content[0].text
            evs = [e.type async for e in await c.messages.create(model='claude-x', max_tokens=50, messages=msgs('x'), stream=True)]
            return m.content[0].text,txt,fin,evs
    r1 = asyncio.run(run())
    assert srv.total == 3
    r2 = asyncio.run(run())
    assert srv.total == 3
    assert r1 == r2
    assert r1[:3] == ('reply 1: hi', 'reply 2: yo', 'reply 2: yo')
    no_secrets(cfile)

# Errors

@pytest.mark.parametrize('code,exc', [(404, openai.NotFoundError), (400, openai.BadRequestError)])
def test_openai_error_recorded(code, exc, srv, on, oai, cfile):
    on()
    errs = []
    for _ in range(2):
        with pytest.raises(exc) as e: oai.chat.completions.create(model=f'status-{code}', messages=msgs('x'))
        errs.append(e.value)
    assert srv.total == 1
    assert errs[0].status_code == errs[1].status_code == code and errs[0].body == errs[1].body
    assert str(errs[1]) == str(errs[0]) and '#1' in str(errs[1])
    assert recs(cfile)[0]['status_code'] == code

@pytest.mark.parametrize('code,exc', [(404, anthropic.NotFoundError), (400, anthropic.BadRequestError)])
def test_anthropic_error_recorded(code, exc, srv, on, ant):
    on()
    errs = []
    for _ in range(2):
        with pytest.raises(exc) as e: ant.messages.create(model=f'status-{code}', max_tokens=5, messages=msgs('x'))
        errs.append(e.value)
    assert srv.total == 1
    assert errs[0].body == errs[1].body
    assert errs[1].status_code == code

def test_async_error_recorded(srv, on):
    on()
    async def run():
        res = []
        async with aoai(srv) as c, aant(srv) as a:
            for _ in range(2):
                try: await c.chat.completions.create(model='status-404', messages=msgs('x'))
                except openai.NotFoundError as e: res.append(e.body)
                try: await a.messages.create(model='status-404', max_tokens=5, messages=msgs('x'))
                except anthropic.NotFoundError as e: res.append(e.body)
        return res
    res = asyncio.run(run())
    assert len(res) == 4
    assert res[0] == res[2]
    assert res[1] == res[3]
    assert srv.total == 2

@pytest.mark.parametrize('code,exc', [(401, openai.AuthenticationError), (403, openai.PermissionDeniedError),
                                      (408, openai.APIStatusError), (409, openai.ConflictError),
                                      (429, openai.RateLimitError), (500, openai.InternalServerError),
                                      (503, openai.InternalServerError)])
def test_openai_error_not_recorded(code, exc, srv, on, cfile):
    on()
    with openai.OpenAI(api_key=OKEY, base_url=srv.url+'/v1', max_retries=0) as c:
        for _ in range(2):
            with pytest.raises(exc): c.chat.completions.create(model=f'status-{code}', messages=msgs('x'))
    assert srv.total == 2
    assert recs(cfile) == []

@pytest.mark.parametrize('code', [429, 500])
def test_retries_reach_server(code, srv, on, oai, ant, cfile):
    "With default retries, each retry of a 429 or 5xx goes to the server: nothing was recorded to replay"
    on()
    with pytest.raises(openai.APIStatusError): oai.chat.completions.create(model=f'status-{code}', messages=msgs('x'))
    assert srv.total == 3
    with pytest.raises(openai.APIStatusError): oai.chat.completions.create(model=f'status-{code}', messages=msgs('x'))
    assert srv.total == 6
    with pytest.raises(anthropic.APIStatusError): ant.messages.create(model=f'status-{code}', max_tokens=5, messages=msgs('x'))
    assert srv.total == 9
    assert recs(cfile) == []

def test_anthropic_401_not_recorded(srv, on, ant, cfile):
    on()
    for _ in range(2):
        with pytest.raises(anthropic.AuthenticationError): ant.messages.create(model='status-401', max_tokens=5, messages=msgs('x'))
    assert srv.total == 2
    assert recs(cfile) == []

# Two processes

script = textwrap.dedent('''
    import sys
    from cachy import enable_cachy
    from helpers import ours
    from openai import OpenAI
    enable_cachy(cache_dir=sys.argv[1], doms=ours)
    c = OpenAI(api_key=sys.argv[3], base_url=sys.argv[2])
    print(c.chat.completions.create(model='gpt-x', messages=[{'role': 'user', 'content': 'two processes'}]).choices[0].message.content)
''')

@pytest.mark.slow
def test_two_processes(srv, tmp_path, cfile):
    "The same call in two fresh processes reaches the server once"
    outs = [py(script, tmp_path, srv.url+'/v1', OKEY, timeout=60) for _ in range(2)]
    for o in outs: assert o.returncode == 0, o.stderr
    assert outs[0].stdout == outs[1].stdout == 'reply 1: two processes\n'
    assert srv.total == 1
    assert len(recs(cfile)) == 1
    no_secrets(cfile)
