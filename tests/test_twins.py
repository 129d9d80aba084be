"""Sync and async kept in step: each hand-written pair in `cachy.core` (`handle`/`ahandle`, `_mk_send`/`_mk_asend`, the
`Tee`/`ATee` that `_tee_classes` makes) is one piece of code. The async twin, with `async`/`await` mapped away as hishel's
and httpcore's unasync scripts map them to generate their sync code, is the sync twin, but for the few lines listed in
`differ`, where an event loop needs what a thread does not.

Both twins are compared as Python, not as text: parsed from `inspect.getsource` (so wherever they are in the file),
without docstrings and comments, and written out again by `ast.unparse`; a failure shows the diff."""
import ast,difflib,inspect,re,textwrap
import httpx,pytest
import cachy.core as core

# How an async spelling maps to its sync one, as whole words of the async twin's source: the keywords, the async
# dunders and stream methods, and the twins' own names. Nothing maps the other way: a sync twin that calls `aread` differs.
unasync = {'async def': 'def', 'async with': 'with', 'async for': 'for', 'await ': '',
           '__aiter__': '__iter__', '__anext__': '__next__', '__aenter__': '__enter__', '__aexit__': '__exit__',
           'aiter_bytes': 'iter_bytes', 'aiter_lines': 'iter_lines', 'aiter_raw': 'iter_raw', 'aread': 'read', 'aclose': 'close',
           'anext': 'next', 'StopAsyncIteration': 'StopIteration', 'AsyncByteStream': 'SyncByteStream',
           'ahandle': 'handle', '_mk_asend': '_mk_send', '_mk_aclose': '_mk_close', 'abefore_close': 'before_close', 'ATee': 'Tee', 'in_task': 'in_thread', '_awaited': '_waited', 'abehind': 'behind'}

def _word(k):
    "A pattern for `k` where it is not part of a longer name"
    w = lambda c: c.isalnum() or c == '_'
    return (r'(?<!\w)' if w(k[0]) else '') + re.escape(k) + (r'(?!\w)' if w(k[-1]) else '')

_unasync_re = re.compile('|'.join(_word(k) for k in sorted(unasync, key=len, reverse=True)))

def to_sync(src):
    "`src` with every async spelling of `unasync` replaced by its sync one"
    return _unasync_re.sub(lambda m: unasync[m[0]], src)

def _strip_docs(tree):
    "`tree` without docstrings: they say which twin is which, and are prose"
    for n in ast.walk(tree):
        if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.body:
            b = n.body[0]
            if isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant) and isinstance(b.value.value, str):
                n.body = n.body[1:] or [ast.Pass()]
    return tree

def canonical(src):
    "`src` (Python, at any indentation) as `ast.unparse` writes it, without docstrings, comments and blank lines, each line ending in a newline"
    return ''.join(l+'\n' for l in ast.unparse(_strip_docs(ast.parse(textwrap.dedent(src)))).splitlines() if l.strip())

# The lines where the twins differ on purpose, by pair: (sync, async) as the async twin reads once mapped by `unasync`.
# Each must be found exactly once in the async twin; put back as the sync twin has it, the rest must be the sync twin.
differ = {
    'handle': [],
    '_mk_send': [
        # `ahandle` awaits `reply`, so the async twin defines it; the sync one passes a lambda (it could define `reply` as well)
        ('', 'def reply(rec): return replay(rec, request)'),
        ('return handle(request, s, request.read, lambda: orig(self, request, **kw), lambda rec: replay(rec, request), finish)',
         'return handle(request, s, request.read, lambda: orig(self, request, **kw), reply, finish)'),
        # `_tee`'s `is_async`
        ('return _tee(res, record, False, self)', 'return _tee(res, record, True, self)')],
    '_mk_close': [],
    'Tee': [
        # an async stream is finished on its own event loop: from it alone when closed half read, and on it at exit, not in a thread
        ('behind(self)', 'if running_loop() is self.loop: behind(self)'),
        ('return in_thread(self)', 'return finish_on_loop(self.loop, lambda: self.task or self.rest(), until, self.body)')],
}

def _block(lines):
    "A pattern for whole lines `lines`, all shifted by one indentation (captured as `ind`)"
    return re.compile(r'^(?P<ind>[ ]*)' + '\n(?P=ind)'.join(map(re.escape, lines)) + r'\n', re.M)

def drift(sync_src, async_src, allowed=()):
    "How the async twin, mapped by `unasync` and with the `allowed` (sync, async) lines put back as sync, differs from the sync twin: '' if in step"
    s,a,problems = canonical(sync_src),canonical(to_sync(async_src)),[]
    for sync_lines,async_lines in allowed:
        sl,al = canonical(sync_lines).splitlines() if sync_lines else [],canonical(async_lines).splitlines()
        pat = _block(al)
        if (n := len(pat.findall(a))) != 1:
            problems.append(f'listed async lines found {n} times, not once (if the twins now agree there, drop them from `differ`):\n' + '\n'.join(al))
        a = pat.sub(lambda m: ''.join(m['ind']+l+'\n' for l in sl), a)
    diff = ''.join(difflib.unified_diff(s.splitlines(True), a.splitlines(True), 'sync twin', 'async twin, mapped to sync'))
    return '\n'.join(problems + ([diff] if diff else []))

def _pairs():
    Tee,ATee = core._tee_classes(httpx)
    return {'handle': (core.handle, core.ahandle), '_mk_send': (core._mk_send, core._mk_asend), '_mk_close': (core._mk_close, core._mk_aclose), 'Tee': (Tee, ATee)}

@pytest.mark.parametrize('name', differ)
def test_twins_in_step(name):
    s,a = _pairs()[name]
    d = drift(inspect.getsource(s), inspect.getsource(a), differ[name])
    assert d == '', f'{s.__name__} and {a.__name__} are no longer twins: make them agree (or list a deliberate difference in `differ`)\n{d}'

# The comparison can fail

def test_toy_twins_agree():
    "Every kind of mapping at work, and docstrings and comments that differ: in step"
    def f(c, r):
        "Sync"
        with c as x:
            for b in r.iter_bytes(): x.add(b)  # a comment
        try: return next(r), handle(r.read(), Tee)
        except StopIteration: r.close()
    src = '''
async def f(c, r):
    "Async, with another docstring"
    async with c as x:
        async for b in r.aiter_bytes(): x.add(b)
    try: return await anext(r), await ahandle(await r.aread(), ATee)
    except StopAsyncIteration: await r.aclose()
'''
    assert drift(inspect.getsource(f), src) == ''
    assert drift(inspect.getsource(f), src.replace('anext(r)', 'anext(c)')) != ''

_sync_toy = '''
def f(r):
    x = r.read()
    return g(x, False)
'''

@pytest.mark.parametrize('async_toy', [
    'async def f(r):\n    x = await r.aread()\n    return g(x, True)',          # another constant
    'async def f(r):\n    x = await r.aread()\n    log(x)\n    return g(x, False)',  # one more statement
    'async def f(r):\n    return g(await r.aread(), False)',                  # the same, written otherwise
    'async def f(r):\n    x = await r.aclose()\n    return g(x, False)',          # another method
    'async def f(r):\n    y = await r.aread()\n    return g(y, False)',        # another name
    'async def f(r, t):\n    x = await r.aread()\n    return g(x, False)',        # another signature
], ids=['constant', 'statement', 'form', 'method', 'name', 'signature'])
def test_toy_twins_differ(async_toy):
    "Any difference but those `unasync` maps fails. (What the mapping cannot see, as in unasync: an `await` missing from the async twin.)"
    assert drift(_sync_toy, 'async def f(r):\n    x = await r.aread()\n    return g(x, False)') == ''
    assert drift(_sync_toy, async_toy) != ''

def test_sync_twin_is_not_mapped():
    "A sync twin that calls an async name is caught: `unasync` maps the async twin only"
    assert drift(_sync_toy.replace('r.read()', 'r.aread()'), 'async def f(r):\n    x = await r.aread()\n    return g(x, False)') != ''

def _mutants(src):
    "`src` changed in one place each: a statement added to the outer body, or the last statement of one function's body dropped"
    tree = _strip_docs(ast.parse(textwrap.dedent(src)))
    top = tree.body[0]
    top.body.insert(1, ast.parse('drifted = 1').body[0])
    yield 'added', ast.unparse(tree)
    top.body.pop(1)
    for i,fn in enumerate(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and len(n.body) > 1):
        last = fn.body.pop()
        yield f'dropped from {fn.name}', ast.unparse(tree)
        fn.body.append(last)

@pytest.mark.parametrize('name', differ)
def test_real_twins_drift_is_caught(name):
    "Each real pair, its async twin changed in one place at a time: the comparison fails every time"
    s,a = _pairs()[name]
    ms = list(_mutants(inspect.getsource(a)))
    assert len(ms) >= 2
    for how,m in ms: assert drift(inspect.getsource(s), m, differ[name]) != '', how

def test_listed_difference_must_be_there():
    "A listed difference the async twin does not have fails, so `differ` cannot keep stale entries"
    s,a = _pairs()['handle']
    assert drift(inspect.getsource(s), inspect.getsource(a), [('x = 1', 'y = 2')]).startswith('listed async lines found 0 times')
