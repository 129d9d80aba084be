"The benchmark's command line: CI's --quick smoke run, and a full run's exit code on a missed target"
import subprocess,sys
from pathlib import Path
import pytest

bench = Path(__file__).resolve().parent.parent/'benchmarks'/'bench.py'

@pytest.mark.slow
def test_quick():
    "--quick prints the table and the import time, judges no target and exits 0"
    r = subprocess.run([sys.executable, bench, '--quick'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert '| 1,000 |' in r.stdout and 'from cachy import enable_cachy:' in r.stdout
    assert 'MISSED' not in r.stdout and "not judged on --quick" in r.stdout

def test_help():
    "--help says the default sizes, how long a full run takes, where pycachy is installed and what the exit code means"
    out = subprocess.run([sys.executable, bench, '--help'], capture_output=True, text=True, timeout=60).stdout
    for s in ('0,1000,10000,100000', 'ten minutes', 'bench-pycachy', 'Exit code 1'): assert s in out, s
    assert 'issue' not in out

def test_missed_target():
    "targets() says MISSED for a hit slower than MockTransport (a full run then exits 1), met for one faster"
    sys.path.insert(0, str(bench.parent))
    import bench as b
    r = dict(impl='cachy', entries=0, hit_us=2.0, floor_us=1.0, miss_us=1, plain_us=1, load_ms=1, rss_mb=0, peak_mb=0, file_mb=0)
    assert b.targets([r])[0].startswith('- MISSED: hit at most 1.0x')
    assert b.targets([r | dict(hit_us=0.5)])[0].startswith('- met:')
