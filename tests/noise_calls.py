"""Calls whose prompts quote tracebacks and reprs, the per-run noise cachy normalises, and one whose prompt holds a bare
hex number, which it must not. Made through the real SDKs to the providers' own hosts, which the loopback test server
answers as an HTTP proxy (see `pycachy_calls`).

`python noise_calls.py PROXY CACHE_DIR OUT` records them with whatever `cachy` this Python imports:
`tests/fixtures/cachy-key2/` was recorded so by commit f0d8964, the last before `norm_pats` were narrowed to
tracebacks and reprs, with `PYTHONPATH` pointing at a checkout of it."""
import json,sys
from pycachy_calls import via,loopback_only,OKEY,AKEY,msgs

frames = [lambda pid, ln, addr: (f'Why?\nTraceback (most recent call last):\n  File "/tmp/ipykernel_{pid}/{pid*7}.py", line {ln}, in f\n'
                                 f'    x()\nValueError: <Model object at {addr}>'),
          lambda pid, ln, addr: f'Cell In[{ln}], line {ln+2}\n----> 1 f()\nTypeError: <function g at {addr}> failed',
          lambda pid, ln, addr: (f'  File "/home/u{pid}/.venv/lib/python3.12/site-packages/httpx/_client.py", line {ln}, in send\n'
                                 f'<code object f at {addr}, file "x.py", line 1>')]
variants = {1: (4242, 7, '0x7f3a2c1b9e50'), 2: (977, 9, '0x7f00aa00bb00')}

def tracebacks(oai, variant):
    "What the OpenAI client `oai` answers to each traceback prompt, with the noise of `variant`"
    return [oai.chat.completions.create(model='gpt-x', messages=msgs(f(*variants[variant]))).choices[0].message.content for f in frames]

def run():
    "The calls the fixture replays: what each returned"
    import anthropic,openai
    res = {}
    with openai.OpenAI(api_key=OKEY, base_url='http://api.openai.com/v1') as o:
        res['plain'] = o.chat.completions.create(model='gpt-x', messages=msgs('hello there')).choices[0].message.content
        res['tracebacks'] = tracebacks(o, 2)
    with anthropic.Anthropic(api_key=AKEY, base_url='http://api.anthropic.com') as a:
        m = a.messages.create(model='claude-x', max_tokens=50, messages=msgs(frames[0](*variants[2])))
        res['claude_traceback'] = m.content[0].text
    return res

def ambiguous(number='0xCAFEBABE'):
    "Ask what a bare hex number is: the earlier patterns keyed every such number alike"
    import openai
    with openai.OpenAI(api_key=OKEY, base_url='http://api.openai.com/v1') as o:
        return o.chat.completions.create(model='gpt-x', messages=msgs(f'What is {number} in decimal?')).choices[0].message.content

if __name__ == '__main__':
    proxy,cache_dir,out = sys.argv[1:4]
    via(proxy)
    loopback_only()
    from cachy import enable_cachy
    enable_cachy(cache_dir=cache_dir)
    import openai
    with openai.OpenAI(api_key=OKEY, base_url='http://api.openai.com/v1') as o: tracebacks(o, 1)
    ambiguous('0xDEADBEEF')
    with open(out, 'w') as f: json.dump(run(), f, indent=1)
