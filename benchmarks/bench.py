"""Benchmark cachy against the original pycachy: the cost of a hit, a miss and loading the cache, and memory, at several cache sizes.

    python benchmarks/bench.py [--sizes 0,1000,10000,100000] [--quick] [--no-pycachy] [--pycachy-max N]

Every figure comes from `worker.py` in a fresh process per implementation and size, on a `cachy.jsonl` written
directly in that implementation's record format, with ~2 KB chat completions. A *hit* is `httpx.Client.post`
answered by cachy; the *MockTransport* floor is the same call with cachy off, answered by an in-process
`httpx.MockTransport`; a *miss* is a new request that MockTransport answers and cachy records, less the same call
with cachy off. pycachy (PyPI `pycachy`) runs in a virtual environment made on first use, `bench-pycachy` in the
tests' cache folder (`CACHY_TEST_CACHE`, else `~/.cache/cachy-tests`: see tests/envs.py), with the same httpx version
as this one. `--quick` is CI's smoke test: sizes 0 and 1,000, few calls, no pycachy.

It also times `from cachy import enable_cachy` in fresh processes, over the import of its dependencies (httpx, httpx2,
fastcore, filelock), with bytecode caching on as it is for users."""
import argparse,datetime,json,os,platform,shutil,subprocess,sys,tempfile
from pathlib import Path
import httpx

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here.parent/'tests'))
from envs import cache_dir,venv as _venv
worker = here/'worker.py'
venv = cache_dir()/'bench-pycachy'

def env():
    "The environment for workers: no cachy settings, nothing added to the import path"
    return {k:v for k,v in os.environ.items() if not k.startswith('CACHY_') and k != 'PYTHONPATH'}

def sh(*cmd, **kw): return subprocess.run([str(c) for c in cmd], env=env(), check=True, **kw)

def pycachy_python():
    "The Python of the virtual environment holding pycachy and this httpx, made on first use (again when httpx changes)"
    return _venv(venv, ['pycachy', f'httpx=={httpx.__version__}'])

def version(py, dist):
    return sh(py, '-c', f'import importlib.metadata as m; print(m.version({dist!r}))', capture_output=True, text=True).stdout.strip()

def measure(py, n, hits, misses, work):
    "The worker's figures for `n` entries, on a file it generates first in a separate process"
    d = Path(tempfile.mkdtemp(dir=work))
    try:
        sh(py, worker, 'gen', d, n)
        return json.loads(sh(py, worker, 'run', d, n, hits, misses, capture_output=True, text=True).stdout)
    finally: shutil.rmtree(d, ignore_errors=True)

def pycachy_iters(n):
    "Calls to time for pycachy at `n` entries: its hit scans the file and its miss rewrites it, so few at large sizes"
    clamp = lambda x,lo,hi: int(max(lo, min(hi, x)))
    return clamp(5e6/(200+1.5*n), 5, 1000),clamp(1e7/(200+21*n), 5, 200)

def machine():
    cpu = platform.processor() or platform.machine()
    try: cpu = next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration): pass
    return f"{platform.platform()}, {cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, httpx {httpx.__version__}"

def commit():
    r = subprocess.run(['git', '-C', str(here), 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else 'unknown'

_imp = '''import sys,time
t0 = time.perf_counter()
import httpx,fastcore.basics,fastcore.meta,filelock
try: import httpx2
except ImportError: pass
t1 = time.perf_counter()
from cachy import enable_cachy
t2 = time.perf_counter()
print((t1-t0)*1e3, (t2-t1)*1e3, 'requests' in sys.modules or 'aiohttp' in sys.modules)'''

def import_ms(runs):
    "Median milliseconds of importing cachy's dependencies, then cachy, in `runs` fresh processes; and whether requests or aiohttp came along"
    e = {k:v for k,v in env().items() if k != 'PYTHONDONTWRITEBYTECODE'}
    rs = [subprocess.run([sys.executable, '-c', _imp], env=e, check=True, capture_output=True, text=True).stdout.split() for _ in range(runs+1)][1:]
    med = lambda xs: sorted(xs)[len(xs)//2]
    return med([float(r[0]) for r in rs]),med([float(r[1]) for r in rs]),any(r[2] == 'True' for r in rs)

def f(x, fmt): return '-' if x is None else format(x, fmt)

def row(r):
    mem = f"{f(r['rss_mb'], '.1f')} (peak {r['peak_mb']:.1f})"
    return (f"| {r['entries']:,} | {r['file_mb']:.1f} | {r['impl']} | {r['hit_us']:,.1f} | {r['floor_us']:.1f} | {r['hit_us']/r['floor_us']:.2f} "
            f"| {r['miss_us']-r['plain_us']:,.1f} | {r['load_ms']:,.1f} | {mem} | {r['n_hit']:,} / {r['n_miss']:,} |")

def targets(rs):
    "Lines saying whether each of the project's speed and memory targets is met"
    ours = {r['entries']:r for r in rs if r['impl'] == 'cachy'}
    res = []
    def say(ok, what): res.append(f"- {'met' if ok else 'MISSED'}: {what}")
    worst = max(ours.values(), key=lambda r: r['hit_us']/r['floor_us'])
    say(worst['hit_us'] <= worst['floor_us'], f"hit at most 1.0x MockTransport at every size (worst {worst['hit_us']/worst['floor_us']:.2f}x at {worst['entries']:,})")
    if r := ours.get(10_000): say(r['miss_us']-r['plain_us'] <= 500, f"miss at 10,000 entries at most 0.5 ms over no cachy ({(r['miss_us']-r['plain_us'])/1000:.3f} ms)")
    for n,lim in ((10_000, 60), (100_000, 600)):
        if r := ours.get(n): say(r['load_ms'] < lim, f"enable_cachy + first hit under {lim} ms at {n:,} entries ({r['load_ms']:.1f} ms)")
    over = max(ours.values(), key=lambda r: max(r['rss_mb'] or 0, r['peak_mb'])-r['file_mb'])
    say(max(over['rss_mb'] or 0, over['peak_mb']) <= over['file_mb']+30,
        f"memory at most file size + 30 MB (largest excess {max(over['rss_mb'] or 0, over['peak_mb'])-over['file_mb']:+.1f} MB at {over['entries']:,})")
    return res

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"A full run takes about ten minutes on 2 cores, most of it pycachy at 100,000 entries; --quick a few seconds.\n"
               f"pycachy is installed on first use into {venv} (CACHY_TEST_CACHE moves it).\n"
               "Exit code 1 when a full run misses a target; --quick calls too few to judge them and exits 0.")
    p.add_argument('--sizes', default='0,1000,10000,100000', help='comma-separated numbers of entries (default: %(default)s)')
    p.add_argument('--quick', action='store_true', help="CI's smoke test: sizes 0 and 1,000, 500 hits and 50 misses, no pycachy; targets not judged")
    p.add_argument('--no-pycachy', action='store_true', help='measure this project only')
    p.add_argument('--pycachy-max', type=int, default=100_000, help='largest size at which to run pycachy (default: %(default)s)')
    a = p.parse_args()
    sizes = [0, 1000] if a.quick else [int(s) for s in a.sizes.split(',')]
    hits,misses = (500, 50) if a.quick else (5000, 500)
    py = None if a.quick or a.no_pycachy else pycachy_python()
    work = tempfile.mkdtemp(prefix='cachy-bench-')
    rs,notes = [],[]
    try:
        for n in sizes:
            print(f"{n:,} entries: cachy ...", file=sys.stderr, flush=True)
            rs.append(measure(sys.executable, n, hits, misses, work))
            if py and n > a.pycachy_max: notes.append(f"pycachy not run at {n:,} entries (over --pycachy-max {a.pycachy_max:,})")
            elif py:
                print(f"{n:,} entries: pycachy ...", file=sys.stderr, flush=True)
                rs.append(measure(py, n, *pycachy_iters(n), work))
    finally: shutil.rmtree(work, ignore_errors=True)
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    print(f"cachy benchmark, {now}{' (--quick)' if a.quick else ''}")
    print(f"machine: {machine()}")
    print(f"cachy {commit()}" + (f"; pycachy {version(py, 'pycachy')} in {venv.name}" if py else ''))
    print()
    print("| entries | file MB | | hit µs | MockTransport µs | hit ÷ MockTransport | miss − no cachy µs | enable + first hit ms | RSS + MB | calls timed (hit / miss) |")
    print("|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|")
    for r in rs: print(row(r))
    pairs = [(o, q) for o in rs for q in rs if o['impl'] == 'cachy' and q['impl'] == 'pycachy' and o['entries'] == q['entries']]
    if pairs:
        print()
        print("| entries | pycachy ÷ cachy: hit | miss (over no cachy) | enable + first hit |")
        print("|--:|--:|--:|--:|")
        for o,q in pairs:
            m = (q['miss_us']-q['plain_us'])/max(o['miss_us']-o['plain_us'], 1e-9)
            print(f"| {o['entries']:,} | {q['hit_us']/o['hit_us']:,.1f}x | {m:,.1f}x | {q['load_ms']/o['load_ms']:,.1f}x |")
    print()
    print("Medians of single calls. Hits cycle through 64 entries spread evenly through the file (pycachy scans up to each);")
    print("the first hit is the one in the middle of the file.")
    print("RSS + MB: resident memory after enable_cachy and the first hit, less before (peak growth in brackets).")
    for l in notes: print(l)
    print()
    deps,ours,extra = import_ms(5 if a.quick else 21)
    print(f"from cachy import enable_cachy: {ours:.1f} ms over its dependencies ({deps:.1f} ms); requests and aiohttp {'imported' if extra else 'not imported'}. "
          f"Medians of {5 if a.quick else 21} fresh processes.")
    print()
    if a.quick: return print("Targets: not judged on --quick's few calls; run without it.")
    ts = targets(rs) + [f"- {'met' if ours <= 15 and not extra else 'MISSED'}: import cachy at most 15 ms over its dependencies, without requests or aiohttp ({ours:.1f} ms)"]
    print("Targets:", *ts, sep='\n')
    return 1 if any('MISSED' in t for t in ts) else 0

if __name__ == '__main__': sys.exit(main())
