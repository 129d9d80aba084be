"""A loopback WebSocket server (the `websockets` package's own) speaking OpenAI's Responses API over a WebSocket, OpenAI's
Realtime API and Gemini's Live API (`BidiGenerateContent`), and an echo protocol with binary frames; counting the
connections and frames it receives. TLS with a self-signed certificate, for google-genai, which always uses wss."""
import base64,datetime,hashlib,ipaddress,json,socket,ssl,threading,uuid
from pathlib import Path

def cert(folder):
    "`(certificate file, key file)`: a self-signed certificate for 127.0.0.1 and localhost, made in `folder`"
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes,serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    folder = Path(folder)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'cachy test server')])
    now = datetime.datetime.now(datetime.timezone.utc)
    san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address('127.0.0.1')), x509.DNSName('localhost')])
    c = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2)).add_extension(san, critical=False)
         .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    cf,kf = folder/'ws-cert.pem',folder/'ws-key.pem'
    cf.write_bytes(c.public_bytes(serialization.Encoding.PEM))
    kf.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    return cf,kf

def speech(text):
    "The bytes of the speech for `text`: not UTF-8, so they survive only if replayed byte for byte"
    return b'RIFF\xff\xfe\x00\x80' + hashlib.sha256(text.encode()).digest() + bytes(range(256))

def words(text): return [w+' ' for w in text.split()]

def usage(text): return len(text.split())+3, len(text.split())

class WSServer:
    "The server; `conns` holds each connection's path, handshake headers and frames received; `url` is its ws:// (or wss://) base"
    def __init__(self, tls=None):
        self.tls,self.lock,self.n,self.conns = tls,threading.Lock(),0,[]

    def start(self):
        from websockets.sync.server import serve
        ctx = None
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*map(str, self.tls))
        self.srv = serve(self.handle, '127.0.0.1', 0, ssl=ctx, compression=None, max_size=None)
        self.port = self.srv.socket.getsockname()[1]
        self.url = f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self): self.srv.shutdown()

    def reset(self):
        with self.lock: self.conns = []
        return self

    @property
    def frames(self): return sum(len(c['frames']) for c in self.conns)

    def next(self):
        with self.lock:
            self.n += 1
            return self.n

    def handle(self, ws):
        c = dict(path=ws.request.path, headers={k.lower():v for k,v in ws.request.headers.raw_items()}, frames=[])
        with self.lock: self.conns.append(c)
        p = c['path']
        proto = self.realtime if '/realtime' in p else self.gemini if 'BidiGenerateContent' in p else self.responses if '/responses' in p else self.echo
        try: proto(ws, c)
        except Exception as e:
            if type(e).__name__ not in ('ConnectionClosedOK', 'ConnectionClosedError', 'Cut'): raise

    def frames_of(self, ws, c):
        for m in ws:
            c['frames'].append(m)
            yield m

    def fault(self, ws, text, sent):
        "Cut the session as `text` asks, once part of the answer is `sent`: CUT closes with 1011, DROP drops the connection"
        if 'CUT' in text:
            ws.close(1011, 'internal error')
            raise Cut()
        if 'DROP' in text:
            ws.socket.shutdown(socket.SHUT_RDWR)
            ws.socket.close()
            raise Cut()

    # OpenAI Responses API over a WebSocket: `response.create` in, a response's events out; `previous_response_id`
    # must name the last response of this connection, as the API keeps it in memory
    def responses(self, ws, c):
        last = None
        for m in self.frames_of(ws, c):
            e = json.loads(m)
            seq = iter(range(10**6))
            def ev(t, **kw): ws.send(json.dumps(dict(type=t, sequence_number=next(seq), **kw)))
            if e.get('type') != 'response.create':
                ev('error', status=400, error=dict(type='invalid_request_error', code='unknown_event', message=f"unknown event {e.get('type')}"))
                continue
            text = e['input'] if isinstance(e.get('input'), str) else json.dumps(e.get('input'))
            if (p := e.get('previous_response_id')) is not None and p != last:
                ev('error', status=400, error=dict(type='invalid_request_error', code='previous_response_not_found', message=f"Previous response with id '{p}' not found."))
                continue
            if 'RATELIMIT' in text:
                ev('error', status=429, error=dict(type='rate_limit_error', code='rate_limit_exceeded', message='Rate limit reached'))
                continue
            n = self.next()
            rid,answer = f'resp_{n}_{uuid.uuid4().hex[:8]}',f"reply {n}: {text}" + (f" (after {p})" if p else '')
            base = dict(id=rid, object='response', created_at=1700000000+n, model=e.get('model', 'gpt-x'), previous_response_id=p, output=[], usage=None)
            ev('response.created', response=base | dict(status='in_progress'))
            ev('response.in_progress', response=base | dict(status='in_progress'))
            item = dict(id=f'msg_{n}', type='message', status='in_progress', role='assistant', content=[])
            ev('response.output_item.added', output_index=0, item=item)
            ev('response.content_part.added', item_id=item['id'], output_index=0, content_index=0, part=dict(type='output_text', text='', annotations=[]))
            for i,w in enumerate(words(answer)):
                ev('response.output_text.delta', item_id=item['id'], output_index=0, content_index=0, delta=w, logprobs=[])
                if i == 1: self.fault(ws, text, i)
            part = dict(type='output_text', text=answer, annotations=[], logprobs=[])
            ev('response.output_text.done', item_id=item['id'], output_index=0, content_index=0, text=answer, logprobs=[])
            ev('response.content_part.done', item_id=item['id'], output_index=0, content_index=0, part=part)
            done = item | dict(status='completed', content=[part])
            ev('response.output_item.done', output_index=0, item=done)
            i,o = usage(text)
            ev('response.completed', response=base | dict(status='completed', output=[done], usage=dict(input_tokens=i, output_tokens=o, total_tokens=i+o,
                input_tokens_details=dict(cached_tokens=0), output_tokens_details=dict(reasoning_tokens=0))))
            last = rid

    # OpenAI Realtime: session.created on connect; items and responses; audio as base64 inside JSON; every event an
    # `event_id` of its own, new on each run
    def realtime(self, ws, c):
        n = self.next()
        def ev(t, **kw): ws.send(json.dumps(dict(type=t, event_id=f'event_{uuid.uuid4().hex}', **kw)))
        model = 'gpt-realtime'
        session = dict(id=f'sess_{n}', object='realtime.session', type='realtime', model=model, output_modalities=['audio'], instructions='')
        ev('session.created', session=session)
        items,last = [],None
        for m in self.frames_of(ws, c):
            e = json.loads(m)
            t = e.get('type')
            if t == 'session.update': ev('session.updated', session=session | (e.get('session') or {}))
            elif t == 'conversation.item.create':
                it = e['item'] | dict(id=f'item_{n}_{len(items)}', object='realtime.item', status='completed')
                if (p := e.get('previous_item_id')) is not None and p not in [i['id'] for i in items]:
                    ev('error', error=dict(type='invalid_request_error', code='item_not_found', message=f'Item {p} not found', event_id=e.get('event_id')))
                    continue
                items.append(it)
                ev('conversation.item.added', previous_item_id=last, item=it)
                ev('conversation.item.done', previous_item_id=last, item=it)
                last = it['id']
            elif t == 'response.create':
                text = ' '.join(p.get('text', '') for i in items if i.get('role') == 'user' for p in i.get('content', []))
                if 'RATELIMIT' in text:
                    ev('error', error=dict(type='server_error', code='server_error', message='The server had an error', event_id=e.get('event_id')))
                    continue
                k = self.next()
                rid,answer = f'resp_{k}',f"reply {k}: {text}"
                base = dict(id=rid, object='realtime.response', status='in_progress', output=[], usage=None)
                ev('response.created', response=base)
                item = dict(id=f'item_out_{k}', object='realtime.item', type='message', status='in_progress', role='assistant', content=[])
                ev('response.output_item.added', response_id=rid, output_index=0, item=item)
                audio = speech(answer)
                for i,w in enumerate(words(answer)):
                    ev('response.output_audio.delta', response_id=rid, item_id=item['id'], output_index=0, content_index=0, delta=base64.b64encode(audio[i*8:(i+1)*8]).decode())
                    ev('response.output_audio_transcript.delta', response_id=rid, item_id=item['id'], output_index=0, content_index=0, delta=w)
                    if i == 1: self.fault(ws, text, i)
                ev('response.output_audio.done', response_id=rid, item_id=item['id'], output_index=0, content_index=0)
                ev('response.output_audio_transcript.done', response_id=rid, item_id=item['id'], output_index=0, content_index=0, transcript=answer)
                done = item | dict(status='completed', content=[dict(type='output_audio', transcript=answer)])
                ev('response.output_item.done', response_id=rid, output_index=0, item=done)
                i,o = usage(text)
                ev('response.done', response=base | dict(status='completed', output=[done], usage=dict(total_tokens=i+o, input_tokens=i, output_tokens=o,
                    input_token_details=dict(cached_tokens=0, text_tokens=i, audio_tokens=0), output_token_details=dict(text_tokens=o, audio_tokens=0))))
                items.append(done)
                last = done['id']
            else: ev('error', error=dict(type='invalid_request_error', code='unknown_event', message=f'unknown event {t}', event_id=e.get('event_id')))

    # Gemini Live (BidiGenerateContent): a setup message first, then turns; every server message a binary frame of JSON
    def gemini(self, ws, c):
        def send(o): ws.send(json.dumps(o).encode())
        model = None
        for m in self.frames_of(ws, c):
            e = json.loads(m)
            if 'setup' in e:
                model = e['setup'].get('model')
                send({'setupComplete': {}})
                continue
            cc = e.get('clientContent') or e.get('client_content') or {}
            text = ' '.join(p.get('text', '') for t in cc.get('turns', []) for p in t.get('parts', []))
            if 'RATELIMIT' in text:
                ws.close(1011, 'RESOURCE_EXHAUSTED: quota exceeded')
                return
            n = self.next()
            answer = f"reply {n}: {text}"
            for i,w in enumerate(words(answer)):
                send({'serverContent': {'modelTurn': {'parts': [{'text': w}]}}})
                if i == 1: self.fault(ws, text, i)
            send({'serverContent': {'modelTurn': {'parts': [{'inlineData': {'mimeType': 'audio/pcm;rate=24000', 'data': base64.b64encode(speech(answer)).decode()}}]}}})
            send({'serverContent': {'generationComplete': True}})
            i,o = usage(text)
            send({'serverContent': {'turnComplete': True}, 'usageMetadata': {'promptTokenCount': i, 'responseTokenCount': o, 'totalTokenCount': i+o}})

    # Echo: each text frame answered by a text frame and a binary one (not UTF-8); `close` closes the session normally
    def echo(self, ws, c):
        for m in self.frames_of(ws, c):
            if m == 'close':
                ws.close(1000, 'bye')
                return
            n = self.next()
            ws.send(f'echo {n}: {m if isinstance(m, str) else m.hex()}')
            ws.send(speech(f'{n} {m}'))

class Cut(Exception): pass
