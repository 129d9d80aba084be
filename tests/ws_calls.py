"""WebSocket sessions as users write them, through the real SDKs and a raw `websockets` client, against `ws_server`; run
as a fresh process by `test_sessions.py`.

`python ws_calls.py FLOW CACHE_DIR MODE URL PROMPT...` enables cachy on `CACHE_DIR/cachy.jsonl` (mode `MODE`, the loopback
host allowed; `off` leaves cachy off), runs `FLOW` with one turn per `PROMPT` on one session, and prints, as JSON, what each
turn got (`turns`), how the session ended (`end`: an exception's type, close code and message) and what cachy counted
(`stats`). A `ReplayMiss` ends the session too: `end` is `['ReplayMiss', None, message]`."""
import asyncio,base64,json,sys,uuid

OKEY = 'sk-test-SECRET-openai-ws-5e1d2c3b4a'
AZKEY = 'azure-SECRET-key-0f9e8d7c6b5a'
GKEY = 'AIzaSECRETgeminilivekey0123456789abcdefg'
RAWKEY = 'SECRETrawkey42'
BEARER = 'Bearer sk-SECRET-raw-bearer-0123456789'

def _done(e):
    "What an exception that ended a session says: type, close code, message"
    code = getattr(getattr(e, 'rcvd', None), 'code', None) if not hasattr(e, 'code') or not isinstance(getattr(e, 'code'), int) else e.code
    return [type(e).__name__, code, str(e)]

def responses(url, qs, aio, out):
    "OpenAI's Responses API over a WebSocket: one `response.create` per turn, the next naming the previous response"
    from openai import OpenAI,AsyncOpenAI
    kw = dict(api_key=OKEY, base_url='http://127.0.0.1:9/v1', websocket_base_url=url+'/v1', max_retries=0)
    def turn(ev, t):
        if ev.type == 'response.output_text.delta': t['deltas'] += 1
        if ev.type in ('response.completed', 'error'):
            t.update(id=getattr(ev, 'response', None) and ev.response.id, text=ev.response.output[0].content[0].text if ev.type != 'error' else None,
                     error=ev.error.code if ev.type == 'error' else None, usage=ev.response.usage.total_tokens if ev.type != 'error' else None)
            return True
    def create(conn, q, prev): return conn.response.create(model='gpt-ws', input=q, **({'previous_response_id': prev} if prev else {}))
    prev = None
    if not aio:
        with OpenAI(**kw).responses.connect() as conn:
            for q in qs:
                create(conn, q, prev)
                out.append(t := dict(deltas=0))
                for ev in conn:
                    if turn(ev, t): break
                prev = t.get('id') or prev
        return out
    async def go():
        nonlocal prev
        async with AsyncOpenAI(**kw).responses.connect() as conn:
            for q in qs:
                await create(conn, q, prev)
                out.append(t := dict(deltas=0))
                async for ev in conn:
                    if turn(ev, t): break
                prev = t.get('id') or prev
        return out
    return asyncio.run(go())

def realtime(url, qs, aio, out, azure=False):
    "OpenAI Realtime: a session update, then per turn an item and a response, read to `response.done`; every event an `event_id` new on each run"
    from openai import OpenAI,AsyncOpenAI,AzureOpenAI,AsyncAzureOpenAI
    if azure: c = (AsyncAzureOpenAI if aio else AzureOpenAI)(azure_endpoint='https://my-res.openai.azure.com', api_key=AZKEY, api_version='2025-08-28', websocket_base_url=url+'/openai')
    else: c = (AsyncOpenAI if aio else OpenAI)(api_key=OKEY, base_url='http://127.0.0.1:9/v1', websocket_base_url=url+'/v1')
    eid = lambda: f'evt_{uuid.uuid4().hex}'
    def item(q): return {'type': 'message', 'role': 'user', 'content': [{'type': 'input_text', 'text': q}]}
    def turn(ev, t):
        if ev.type == 'response.output_audio.delta': t['audio'] += base64.b64decode(ev.delta).hex()
        if ev.type == 'error': t['error'] = ev.error.code
        if ev.type == 'response.done':
            t.update(id=ev.response.id, text=ev.response.output[0].content[0].transcript, usage=ev.response.usage.total_tokens)
        return ev.type in ('response.done', 'error')
    if not aio:
        with c.realtime.connect(model='gpt-realtime') as conn:
            conn.session.update(session={'type': 'realtime', 'instructions': 'Be brief.'}, event_id=eid())
            for q in qs:
                conn.conversation.item.create(item=item(q), event_id=eid())
                conn.response.create(event_id=eid())
                out.append(t := dict(audio=''))
                for ev in conn:
                    if turn(ev, t): break
        return out
    async def go():
        async with c.realtime.connect(model='gpt-realtime') as conn:
            await conn.session.update(session={'type': 'realtime', 'instructions': 'Be brief.'}, event_id=eid())
            for q in qs:
                await conn.conversation.item.create(item=item(q), event_id=eid())
                await conn.response.create(event_id=eid())
                out.append(t := dict(audio=''))
                async for ev in conn:
                    if turn(ev, t): break
        return out
    return asyncio.run(go())

def azure(url, qs, aio, out): return realtime(url, qs, aio, out, azure=True)

def live(url, qs, aio, out):
    "google-genai's Live API (asyncio only), over wss: per turn a client content, read to `turnComplete`"
    from google import genai
    from google.genai import types
    c = genai.Client(api_key=GKEY, http_options=types.HttpOptions(base_url=url.replace('wss://', 'https://')))
    async def go():
        async with c.aio.live.connect(model='gemini-live-test', config={'response_modalities': ['TEXT']}) as s:
            for q in qs:
                await s.send_client_content(turns=[types.Content(role='user', parts=[types.Part(text=q)])], turn_complete=True)
                out.append(t := dict(text='', audio=''))
                async for m in s.receive():
                    if m.text: t['text'] += m.text
                    if m.data: t['audio'] += m.data.hex()
                    if m.usage_metadata: t['usage'] = m.usage_metadata.total_token_count
        return out
    return asyncio.run(go())

def raw(url, qs, aio, out):
    "A raw websockets client on the echo protocol: per turn a text frame, and two frames read (text, then binary); `close` asks the server to close"
    full,hs = url+'/echo?key='+RAWKEY+'&v=1',{'Authorization': BEARER, 'x-goog-api-key': GKEY}
    def show(m): return m if isinstance(m, str) else 'b:'+m.hex()
    if not aio:
        from websockets.sync.client import connect
        with connect(full, additional_headers=hs) as ws:
            for q in qs:
                ws.send(q)
                out.append([show(ws.recv()) for _ in range(2)])
        return out
    from websockets.asyncio.client import connect
    async def go():
        async with connect(full, additional_headers=hs) as ws:
            for q in qs:
                await ws.send(q)
                out.append([show(await ws.recv()) for _ in range(2)])
        return out
    return asyncio.run(go())

flows = dict(responses=responses, realtime=realtime, azure=azure, live=live, raw=raw)

def main(flow, d, mode, url, *qs):
    from cachy import enable_cachy,cachy_stats,ReplayMiss
    if mode != 'off': enable_cachy(cache_dir=d, doms=('127.0.0.1',), mode=mode)
    name,_,aio = flow.partition('-')
    res = dict(turns=[], end=None)
    try: flows[name](url, qs, aio == 'async', res['turns'])
    except ReplayMiss as e: res['end'] = ['ReplayMiss', None, str(e)]
    except Exception as e: res['end'] = _done(e)
    st = cachy_stats()
    res['stats'] = {k: st[k] for k in ('hit', 'miss', 'recorded', 'replay_failure', 'saved_tokens')}
    print(json.dumps(res))

if __name__ == '__main__': main(*sys.argv[1:])
