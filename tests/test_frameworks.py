"""Agent frameworks, cached without a change to their code: one agent run with a tool per framework (`framework_calls.py`),
recorded through this checkout's cachy against the loopback server's scripted agent, then replayed in a fresh process
with `CACHY_OFFLINE=1`, which must send no request and print the same answers.

Each framework lives in a virtual environment of its own in the tests' cache folder (see `envs.py`), made from its pins
(and cachy's own requirements; cachy itself comes from this checkout, on `PYTHONPATH`), so frameworks whose pins
conflict never meet and one environment serves every clone. They are built in parallel, on first use, and reused
while the pins are unchanged. What passed goes to the README's table of frameworks (`sdk_matrix.py`), with the
framework's version and the SDKs that sent its calls, as their user agents name them.

What each run proves beyond the replay:
- pydantic-ai: OpenAI chat, Responses and a chat stream, and Gemini 2.x, where pydantic-ai invents a function-call id
  (`pyd_ai_<uuid4>`) for each call and sends it back: the key renames such link ids, so a new process hits;
- openai-agents, with tracing on (its default): traces are telemetry, never recorded; offline, the default exporter's
  upload to api.openai.com is refused with `TelemetryBlocked`, which the SDK's export thread drops without a traceback;
- DSPy's default engine, lm15, which speaks HTTP over sockets of its own (cachy's lm15 adapter), and whose model
  metadata refresh is refused at the socket offline, and falls back to the snapshot DSPy ships;
- LangChain (`create_agent`, plain and streaming) and LlamaIndex (`FunctionAgent`, which streams)."""
import hashlib,json,subprocess,sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
import pytest
from envs import cache_dir,clean_env,venv
from framework_calls import dists
from helpers import here,recs

pytestmark = [pytest.mark.slow, pytest.mark.index]  # virtual environments installed from the package index

frameworks = {
    'pydantic_ai': ['pydantic-ai-slim[openai,google]==2.78.0'],
    'openai_agents': ['openai-agents==0.24.0'],
    'langchain': ['langchain==1.5.2', 'langchain-openai==1.8.1', 'langgraph==1.2.24'],
    'dspy': ['dspy==3.4.1'],
    'llama_index': ['llama-index-core==0.14.25', 'llama-index-llms-openai-like==0.8.1'],
}
needs = ['httpx>=0.23', 'fastcore>=1.5', 'filelock>=3.30']  # cachy's own requirements (settings.ini)

def _dir(name):
    "The folder of `name`'s environment, named by its pins"
    return cache_dir()/'frameworks'/f"{name}-{hashlib.sha256(json.dumps(frameworks[name]).encode()).hexdigest()[:10]}"

@cache
def _builds():
    "The environments being made, all at once: framework name → future of its Python"
    ex = ThreadPoolExecutor(len(frameworks))
    return {n: ex.submit(venv, _dir(n), [*frameworks[n], *needs]) for n in frameworks}

def _run(py, name, d, url, **env):
    "Run `name`'s agent with the Python `py`, caching in folder `d`, against the server at `url`"
    e = clean_env(PYTHONPATH=f"{here.parent}{':' if sys.platform != 'win32' else ';'}{here}", **env)
    r = subprocess.run([str(py), str(here/'framework_calls.py'), name, str(d), url], capture_output=True, text=True, timeout=600, cwd=d, env=e)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    out,_,meta = r.stdout.rpartition('# ')
    return out,json.loads(meta),r.stderr

def _sdk(h):
    "The SDK that sent a request with headers `h`, and its version: the frameworks set user agents of their own, the SDKs' own headers stay"
    if v := h.get('x-stainless-package-version'): return f"{'anthropic' if 'anthropic-version' in h else 'openai'} {v}"
    if g := h.get('x-goog-api-client'): return g.split()[0].replace('-sdk/', ' ')
    return h.get('user-agent', '').split('/')[0]

def _via(reqs):
    "The SDKs that sent `reqs`"
    return sorted({_sdk(r['headers']) for r in reqs})

@pytest.mark.parametrize('name', list(frameworks))
def test_agent_replays_offline(name, srv, tmp_path, request):
    info = dict(dist=dists[name], version=None, via=[], ways=[])
    request.node.user_properties.append(('framework', info))
    py = _builds()[name].result()
    out,meta,_ = _run(py, name, tmp_path, srv.url)
    llm = [r for r in srv.reqs if r['path'] != '/v1/traces/ingest']
    n = srv.total
    again,meta2,err = _run(py, name, tmp_path, srv.url, CACHY_OFFLINE='1')
    assert srv.total == n
    lines = out.splitlines()
    assert (again, meta2['leaked']) == (out, [])
    assert lines and all('sunny in Paris' in l for l in lines), out
    assert len(llm) >= 2*len(lines)  # each run calls the tool, then answers from its result
    assert 'Traceback' not in err, err
    assert {r['url'] for r in recs(tmp_path/'cachy.jsonl')} == {srv.url+r['path'] for r in llm}
    info.update(version=meta['version'], via=_via(llm), ways=[l.split(':')[0] for l in lines])

def test_openai_agents_traces_are_telemetry(srv, tmp_path):
    "With tracing on, recorded traces went to the exporter and none to the file; offline, the default exporter's upload is dropped quietly"
    py = _builds()['openai_agents'].result()
    _run(py, 'openai_agents', tmp_path, srv.url)
    assert srv.count('/v1/traces/ingest') >= 1
    assert all('/traces/' not in r['url'] for r in recs(tmp_path/'cachy.jsonl'))
    n = srv.total
    _,_,err = _run(py, 'openai_agents', tmp_path, srv.url, CACHY_OFFLINE='1', OPENAI_AGENTS_DONT_LOG_MODEL_DATA='0', OPENAI_AGENTS_DONT_LOG_TOOL_DATA='0')
    assert srv.total == n
    assert 'is telemetry, which offline mode does not send' in err
    assert 'ReplayMiss' not in err
