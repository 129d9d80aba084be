"""What a replay miss says (issue 21): the deepest place in the body where the request differs from the closest one
recorded, and, when nothing is recorded for its method and URL, whether the same request was recorded for another
URL. Through the real SDKs and the loopback server; every miss is raised before any request reaches it."""
import json
import pytest
from openai import OpenAI
from cachy import ReplayMiss
from helpers import msgs,recs
from server import OKEY

GKEY = 'AIza-test-SECRET-misses-3c1d'

def genai(srv, version=None):
    from google import genai
    from google.genai import types
    return genai.Client(api_key=GKEY, http_options=types.HttpOptions(base_url=srv.url, api_version=version))

def turns(call_id=None, city='Paris'):
    "A Gemini conversation: a question, the model's tool call (with `call_id`, if given), its result"
    from google.genai import types
    call = types.FunctionCall(name='weather', args={'city': city}, id=call_id)
    return [types.Content(role='user', parts=[types.Part(text='Weather in Paris?')]),
            types.Content(role='model', parts=[types.Part(function_call=call)]),
            types.Content(role='user', parts=[types.Part(function_response=types.FunctionResponse(name='weather', response={'temp': 21}, id=call_id))])]

def ask(c, contents='hi gemini', **kw): return c.models.generate_content(model='gemini-x', contents=contents, **kw).text

def missed(f):
    "The lines of the message of the `ReplayMiss` that `f()` raises"
    with pytest.raises(ReplayMiss) as e: f()
    return str(e.value).splitlines()

# A difference deep in the body

def test_nested_field_added(srv, on):
    "A tool-call id that a newer SDK adds deep in a conversation is named by its path, as added"
    on()
    c = genai(srv)
    ask(c, turns())
    on(mode='replay')
    n = srv.total
    ls = missed(lambda: ask(c, turns(call_id='call-7')))
    assert srv.total == n
    assert '  contents[1].parts[0].functionCall.id: recorded nothing, sent \'id1\'' in ls, ls
    assert not any('recorded {parts, role}' in l for l in ls), ls

def test_nested_value_changed(srv, on):
    "A value changed deep in a conversation is named by its path; the sketch kept no preview of it, too deep among a dozen parts"
    on()
    c = genai(srv)
    ask(c, turns())
    on(mode='replay')
    ls = missed(lambda: ask(c, turns(city='Lyon')))
    assert ls[1].startswith('Compared with the one entry recorded for this method and URL'), ls
    assert ls[2] == "  contents[1].parts[0].functionCall.args.city: recorded another value, sent 'Lyon'", ls

def test_tool_call_arguments(srv, on, oai):
    "OpenAI: the arguments of an earlier tool call, written without spaces, are named, and nothing else"
    call = lambda args: [*msgs('weather?'), {'role': 'assistant', 'content': None, 'tool_calls': [{'id': 'call_1', 'type': 'function',
                         'function': {'name': 'weather', 'arguments': args}}]}, {'role': 'tool', 'tool_call_id': 'call_1', 'content': '21C'}]
    on()
    oai.chat.completions.create(model='gpt-x', messages=call('{"city": "Paris"}'))
    on(mode='replay')
    ls = missed(lambda: oai.chat.completions.create(model='gpt-x', messages=call('{"city":"Paris"}')))
    assert ls[2:] == ['  messages[1].tool_calls[0].function.arguments: recorded \'{"city": "Paris"}\', sent \'{"city":"Paris"}\'', ls[-1]], ls

def test_field_removed_and_message_added(srv, on, oai):
    "A setting dropped and a message added: both named, the setting with its recorded value"
    on()
    oai.chat.completions.create(model='gpt-x', messages=msgs('hi'), temperature=0.5)
    on(mode='replay')
    ls = missed(lambda: oai.chat.completions.create(model='gpt-x', messages=[*msgs('hi'), *msgs('and more')]))
    assert ls[2:4] == ['  temperature: recorded 0.5, sent nothing', "  messages[1]: recorded nothing, sent {content, role}"], ls

def test_sketch_without_tokens(srv, on, oai, cfile):
    "Entries recorded before sketches kept tokens are still compared, by their parts"
    on()
    oai.chat.completions.create(model='gpt-x', messages=msgs('tell me about topic 7'))
    old = [r | {'req': {k:v for k,v in r['req'].items() if k not in ('nodes', 'opened')}} for r in recs(cfile)]
    cfile.write_text(''.join(json.dumps(r)+'\n' for r in old))
    on(mode='replay')
    ls = missed(lambda: oai.chat.completions.create(model='gpt-x', messages=msgs('TELL ME ABOUT topic 7')))
    assert ls[2] == "  messages[0].content: recorded 'tell me about topic 7', sent 'TELL ME ABOUT topic 7'", ls

def test_no_token_of_a_credential(srv, on, cfile):
    "A body that carries a credential keeps no token that depends on it: two secrets, one sketch"
    import httpx
    on()
    with httpx.Client() as c:
        for s in ('hunter2', 'correct horse'): c.post(srv.url+'/v1/login', json={'user': 'ann', 'auth': {'password': s}})
    a,b = (r['req'] for r in recs(cfile))
    assert (a['nodes'], a['opened']) == (b['nodes'], b['opened'])
    assert not any(s in json.dumps([a, b]) for s in ('hunter2', 'correct horse'))

# Nothing recorded for the URL

def test_url_changed(srv, on):
    "google-genai 3.x sends to /v1/ what 2.x sent to /v1beta/: the same request, recorded for the other URL, is named"
    on()
    want = ask(genai(srv, 'v1beta'))
    on(mode='replay')
    n = srv.total
    ls = missed(lambda: ask(genai(srv)))
    assert srv.total == n
    assert ls[1].startswith('Nothing is recorded for this method and URL, but the same request is, for another URL (key '), ls
    assert ls[1].endswith('): the URL changed.'), ls
    assert ls[2] == '  URL: recorded …/v1beta/models/gemini-x:generateContent, sent …/v1/models/gemini-x:generateContent', ls
    assert ask(genai(srv, 'v1beta')) == want

def test_url_and_body_changed(srv, on):
    on()
    ask(genai(srv, 'v1beta'))
    on(mode='replay')
    ls = missed(lambda: ask(genai(srv), config={'temperature': 0.2}))
    assert ls[1].startswith('Nothing is recorded for this method and URL. Compared with the closest entry recorded for this method (key '), ls
    assert ls[2:4] == ['  URL: recorded …/v1beta/models/gemini-x:generateContent, sent …/v1/models/gemini-x:generateContent',
                       '  generationConfig: recorded nothing, sent {temperature}'], ls

def test_other_urls_unlike(srv, on, oai):
    "Entries at other URLs that the request is not like are not named"
    on()
    oai.responses.create(model='gpt-x', input='something else entirely')
    on(mode='replay')
    ls = missed(lambda: oai.chat.completions.create(model='gpt-x', messages=msgs('hi')))
    assert ls[1] == 'Nothing is recorded for this method and URL.', ls

@pytest.mark.slow
def test_url_changed_among_many(srv, on):
    "Among 300 entries of other prompts and URLs, the one recorded for the old URL is found, in a short message, quickly"
    import time
    on()
    for i in range(150): ask(genai(srv, 'v1beta'), f'question {i}'), ask(genai(srv, 'v1alpha'), f'question {i}?')
    on(mode='replay')
    t = time.perf_counter()
    with pytest.raises(ReplayMiss) as e: ask(genai(srv), 'question 77')
    dt,m = time.perf_counter()-t,str(e.value)
    assert len(m) <= 1500 and dt < 2, (len(m), dt)
    assert 'the same request is, for another URL' in m and '…/v1beta/models/gemini-x:generateContent' in m, m

# What is not a miss

def test_prompt_cache_key(srv, on, oai, cfile):
    "Two requests that differ only in `prompt_cache_key` share one entry, in record and in replay mode"
    on()
    a = oai.chat.completions.create(model='gpt-x', messages=msgs('hi'), prompt_cache_key='nb-1').choices[0].message.content
    b = oai.chat.completions.create(model='gpt-x', messages=msgs('hi'), prompt_cache_key='nb-2').choices[0].message.content
    on(mode='replay')
    c = oai.chat.completions.create(model='gpt-x', messages=msgs('hi'), prompt_cache_key='session-42').choices[0].message.content
    assert a == b == c
    assert srv.total == 1
    assert b'prompt_cache_key' in srv.reqs[0]['body']
    assert len(recs(cfile)) == 1
