"""One agent run with a tool, per framework, against the loopback server's agent (`server.py`): run in a virtual
environment of that framework's own, as `python framework_calls.py FRAMEWORK CACHE_DIR SERVER_URL`, it enables cachy
(the mode and offline from `CACHY_MODE`, `CACHY_OFFLINE`) and prints what each run answered.

The tool returns `sunny in <city>`, and the agent answers `done: <what the tool returned>`, so an answer shows the tool ran.
No framework's own cache is on: a replay with no request is cachy's. Nothing reaches beyond loopback, in record mode
either: `guard` refuses any other host at the socket, under cachy, as a machine without network would, and the last
line printed (`# {...}`) names the hosts it refused (`leaked`: in offline mode cachy's seal must have refused them
first) and the framework's version."""
import asyncio,json,os,socket,sys
from importlib.metadata import version

dists = dict(pydantic_ai='pydantic-ai-slim', openai_agents='openai-agents', langchain='langchain', dspy='dspy', llama_index='llama-index-core')
leaked = []

def guard():
    "Refuse every host but loopback at the socket, noting it in `leaked`"
    gai,connect = socket.getaddrinfo,socket.socket.connect
    def getaddrinfo(host, *a, **kw):
        if host not in ('127.0.0.1', 'localhost', None): leaked.append(host); raise socket.gaierror(socket.EAI_NONAME, f'no network in the tests: {host}')
        return gai(host, *a, **kw)
    def guarded(self, addr):
        if self.family in (socket.AF_INET, socket.AF_INET6) and addr[0] not in ('127.0.0.1', '::1'): leaked.append(addr[0]); raise ConnectionRefusedError(111, 'no network in the tests')
        return connect(self, addr)
    socket.getaddrinfo,socket.socket.connect = getaddrinfo,guarded

def weather(city: str) -> str:
    "The weather in `city`"
    return f'sunny in {city}'

q = 'What is the weather in Paris?'

def pydantic_ai(url):
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel,OpenAIResponsesModel
    from pydantic_ai.models.google import GoogleModel
    from pydantic_ai.providers.openai import OpenAIProvider
    from pydantic_ai.providers.google import GoogleProvider
    oai = OpenAIProvider(base_url=url+'/v1', api_key='dummy')
    print('chat:', Agent(OpenAIChatModel('agent-chat', provider=oai), tools=[weather]).run_sync(q).output)
    print('responses:', Agent(OpenAIResponsesModel('agent-responses', provider=oai), tools=[weather]).run_sync(q).output)
    async def stream():
        async with Agent(OpenAIChatModel('agent-stream', provider=oai), tools=[weather]).run_stream(q) as r: return await r.get_output()
    print('stream:', asyncio.run(stream()))
    gem = GoogleProvider(api_key='dummy', base_url=url)
    print('gemini 2.5:', Agent(GoogleModel('agent-gemini-2.5-flash', provider=gem), tools=[weather]).run_sync(q).output)

def openai_agents(url):
    from agents import Agent,Runner,function_tool,set_default_openai_client
    from agents.tracing.processors import default_exporter
    from openai import AsyncOpenAI
    import cachy
    if os.environ.get('CACHY_OFFLINE') != '1':
        # Recording: the traces go to the loopback server, as telemetry, never to OpenAI
        cachy.telemetry.append('127.0.0.1/v1/traces/')
        default_exporter().endpoint = url+'/v1/traces/ingest'
    enable()
    set_default_openai_client(AsyncOpenAI(base_url=url+'/v1', api_key='dummy'))
    agent = Agent(name='weather', instructions='Answer with the tool.', model='agent-x', tools=[function_tool(weather)])
    print('responses:', Runner.run_sync(agent, q).final_output)

def langchain(url):
    from langchain.agents import create_agent
    from langchain_openai import ChatOpenAI
    agent = create_agent(ChatOpenAI(model='agent-x', base_url=url+'/v1', api_key='dummy'), tools=[weather])
    print('chat:', agent.invoke({'messages': [('user', q)]})['messages'][-1].content)
    stream = create_agent(ChatOpenAI(model='agent-stream', base_url=url+'/v1', api_key='dummy', streaming=True), tools=[weather])
    print('stream:', stream.invoke({'messages': [('user', q)]})['messages'][-1].content)

def dspy(url):
    import dspy
    dspy.configure(lm=dspy.LM('openai/agent-x', api_base=url+'/v1', api_key='dummy', cache=False))
    print('react:', dspy.ReAct('question -> answer', tools=[weather])(question=q).answer)

def llama_index(url):
    from llama_index.core.agent.workflow import FunctionAgent
    from llama_index.llms.openai_like import OpenAILike
    llm = OpenAILike(model='agent-x', api_base=url+'/v1', api_key='dummy', is_chat_model=True, is_function_calling_model=True)
    async def run(): return await FunctionAgent(tools=[weather], llm=llm).run(q)
    print('function agent:', asyncio.run(run()))

def enable():
    "Cache the calls to the loopback server in the folder given"
    from cachy import enable_cachy,doms
    if not getattr(enable, 'done', False): enable_cachy(cache_dir=sys.argv[2], doms=doms+('127.0.0.1',))
    enable.done = True

if __name__ == '__main__':
    name,url = sys.argv[1],sys.argv[3]
    guard()
    if name != 'openai_agents': enable()
    globals()[name](url)
    print('#', json.dumps(dict(version=version(dists[name]), leaked=leaked)))
