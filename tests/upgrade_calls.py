"""Calls through the SDKs, to the providers' own hosts (`http://api.openai.com`, ...) that an HTTP proxy on loopback (the
test server) answers, as `test_upgrade.py` records them with older SDK releases and replays them with the newest.

`python upgrade_calls.py PROXY CACHE_DIR OUT MODE GROUP` makes group `sdks` (openai, anthropic, google-genai) or
`litellm` with this checkout's cachy (on PYTHONPATH) in `MODE`, and writes to OUT what each call returned, or the
message of the `ReplayMiss` it raised. Only the standard library, the SDKs and `cachy` are imported, so it runs with
any of the environments' Pythons. Any connection beyond loopback is refused."""
import json,sys
from pycachy_calls import OKEY,AKEY,GKEY,msgs,via,loopback_only

def _genai(version=None):
    from google import genai
    from google.genai import types
    return genai.Client(api_key=GKEY, http_options=types.HttpOptions(base_url='http://generativelanguage.googleapis.com/', api_version=version))

def _gemini(c, text, stream=False):
    "The text of a Gemini call, whole or streamed"
    if stream: return ''.join(x.text for x in c.models.generate_content_stream(model='gemini-x', contents=text))
    return c.models.generate_content(model='gemini-x', contents=text).text

def sdks(pinned=False):
    "The calls through openai, anthropic and google-genai, by name; with `pinned`, the Gemini calls again with the API version 2.x sent"
    import anthropic,openai
    with openai.OpenAI(api_key=OKEY, base_url='http://api.openai.com/v1') as o:
        yield 'chat', lambda: o.chat.completions.create(model='gpt-x', messages=msgs('hello there'), temperature=0).choices[0].message.content
        yield 'chat_stream', lambda: [c.choices[0].delta.content for c in o.chat.completions.create(model='gpt-x', messages=msgs('stream it'), stream=True) if c.choices]
        yield 'responses', lambda: o.responses.create(model='gpt-x', input='a response', instructions='Be brief.').output_text
        yield 'responses_stream', lambda: [e.type for e in o.responses.create(model='gpt-x', input='a streamed response', stream=True)]
    with anthropic.Anthropic(api_key=AKEY, base_url='http://api.anthropic.com') as a:
        yield 'messages', lambda: a.messages.create(model='claude-x', max_tokens=50, messages=msgs('hi claude')).content[0].text
        yield 'messages_stream', lambda: [e.type for e in a.messages.create(model='claude-x', max_tokens=50, messages=msgs('stream, claude'), stream=True)]
        def helper():
            with a.messages.stream(model='claude-x', max_tokens=50, messages=msgs('stream helper')) as s: return s.get_final_text()
        yield 'messages_helper', helper
    for v in (None, 'v1beta') if pinned else (None,):
        yield 'gemini'+(v and '_'+v or ''), lambda v=v: _gemini(_genai(v), 'hi gemini')
        yield 'gemini_stream'+(v and '_'+v or ''), lambda v=v: _gemini(_genai(v), 'stream, gemini', stream=True)

def litellm(pinned=False):
    "The calls through LiteLLM, to OpenAI and to Gemini, by name"
    import litellm
    oa = dict(model='openai/gpt-x', api_base='http://api.openai.com/v1', api_key=OKEY)
    ge = dict(model='gemini/gemini-x', api_base='http://generativelanguage.googleapis.com/v1beta', api_key=GKEY)
    for name,kw in (('openai', oa), ('gemini', ge)):
        yield f'litellm_{name}', lambda kw=kw: litellm.completion(messages=msgs(f'hi via litellm'), **kw).choices[0].message.content
        yield f'litellm_{name}_stream', lambda kw=kw: ''.join(c.choices[0].delta.content or '' for c in litellm.completion(messages=msgs('stream via litellm'), stream=True, **kw))

def run(group, pinned=False):
    "Make the calls of `group`: what each returned, or `{'miss': message}` for a `ReplayMiss`"
    from cachy import ReplayMiss
    res = {}
    for name,f in globals()[group](pinned):
        try: res[name] = f()
        except ReplayMiss as e: res[name] = {'miss': str(e)}
    return res

if __name__ == '__main__':
    proxy,cache_dir,out,mode,group = sys.argv[1:6]
    via(proxy)
    loopback_only()
    import os
    os.environ.setdefault('LITELLM_LOCAL_MODEL_COST_MAP', 'True')
    from cachy import enable_cachy
    enable_cachy(cache_dir=cache_dir, mode=mode)
    with open(out, 'w') as f: json.dump(run(group, pinned=mode == 'replay'), f, indent=1)
