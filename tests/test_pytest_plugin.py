"""The pytest plugin, run as users run it: pytest in a subprocess on a small generated project whose tests call the
loopback server through the real openai SDK."""
import os,re,subprocess,sys,textwrap
import pytest
from helpers import recs

pytestmark = pytest.mark.slow  # each test runs pytest in subprocesses

def project(tmp_path, srv, ini='', tests=None):
    "A project in `tmp_path/proj`: a pyproject.toml with `ini` under [tool.pytest.ini_options], and tests/test_llm.py"
    p = tmp_path/'proj'
    (p/'tests').mkdir(parents=True)
    (p/'pyproject.toml').write_text('[project]\nname = "proj"\n\n[tool.pytest.ini_options]\ncachy_doms = ["127.0.0.1"]\n' + ini)
    (p/'tests'/'test_llm.py').write_text(textwrap.dedent(f'''
        import pytest
        from openai import OpenAI
        client = OpenAI(api_key="sk-test-not-a-key", base_url="{srv.url}/v1", max_retries=0)
        def ask(q): return client.chat.completions.create(model="gpt-x", messages=[dict(role="user", content=q)]).choices[0].message.content
        ''') + textwrap.dedent(tests or '''
        def test_one(): assert ask("one").endswith("one")
        def test_two(): assert ask("two").endswith("two")
        def test_three(): assert ask("three").endswith("three")
        '''))
    return p

def pytest_(p, *args, cwd=None, env=None):
    "Run pytest on project `p`: `(exit code, output)`"
    e = {k:v for k,v in os.environ.items() if not k.startswith(('CACHY_', 'PYTEST_', 'OPENAI_'))} | {'COLUMNS': '400'} | (env or {})
    r = subprocess.run([sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider', *map(str, args)], cwd=cwd or p, capture_output=True, text=True, env=e, timeout=300)
    assert 'INTERNALERROR' not in r.stdout+r.stderr, r.stdout+r.stderr
    return r.returncode,r.stdout+r.stderr

def summary(out): return next(l for l in out.splitlines() if l.startswith('cachy:'))

def test_record_replay_and_a_changed_prompt(srv, tmp_path):
    p = project(tmp_path, srv)
    rc,out = pytest_(p, '--cachy')
    assert rc == 0, out
    assert srv.total == 3, out
    assert summary(out) == f"cachy: 0 hits; 3 recorded, 3 misses, 0 replay failures; {p/'cachy.jsonl'}"
    rc,out = pytest_(p, '--cachy-mode=replay')
    assert rc == 0, out
    assert srv.total == 3, out
    assert re.fullmatch(r"cachy: 3 hits saved [\d.]+ m?s, 36 tokens; 0 recorded, 0 misses, 0 replay failures; .*", summary(out)), summary(out)
    (p/'tests'/'test_llm.py').write_text((p/'tests'/'test_llm.py').read_text().replace('ask("two")', 'ask("TWO")'))
    rc,out = pytest_(p, '--cachy-mode=replay', '-rf')
    assert rc == 1, out
    assert srv.total == 3, out
    assert re.search(r'^FAILED tests/test_llm\.py::test_two - Failed: cachy \(replay mode\): no recorded response for POST', out, re.M), out
    assert '1 failed, 2 passed' in out
    assert "messages[0].content: recorded 'two', sent 'TWO'" in out
    assert 'Traceback' not in out
    assert re.match(r"cachy: 2 hits saved [\d.]+ m?s, 24 tokens; 0 recorded, 0 misses, 1 replay failure;", summary(out)), summary(out)
    assert 'To record it, run the test once with network access in record mode: run pytest with --cachy-mode=record.' in out

def test_off_by_default(srv, tmp_path):
    "Without a flag, an ini option or a CACHY_ variable nothing is cached and no file appears"
    p = project(tmp_path, srv)
    for _ in range(2): assert pytest_(p, env={'CACHY_MODE': '', 'CACHY_OFFLINE': '0'})[0] == 0
    assert srv.total == 6
    assert not (p/'cachy.jsonl').exists()

def test_env_alone(srv, tmp_path):
    "CACHY_MODE alone caches the run as it does nbdev-test's, CACHY_OFFLINE alone seals it, and a misspelt CACHY_MODE stops it"
    p = project(tmp_path, srv)
    rc,out = pytest_(p, env={'CACHY_MODE': 'replay'})
    assert rc == 1 and '3 failed' in out, out
    assert srv.total == 0
    assert 'To record it, run the test once with network access in record mode: unset CACHY_OFFLINE and set CACHY_MODE=record (or run pytest --cachy).' in out
    assert pytest_(p, env={'CACHY_MODE': 'record'})[0] == 0
    assert srv.total == 3 and len(recs(p/'cachy.jsonl')) == 3
    rc,out = pytest_(p, env={'CACHY_OFFLINE': '1'})
    assert rc == 0, out
    assert srv.total == 3
    assert summary(out).startswith('cachy: 3 hits')
    rc,out = pytest_(p, env={'CACHY_MODE': 'replya'})
    assert rc == 4 and "unknown mode 'replya' (from CACHY_MODE)" in out, out
    assert srv.total == 3

def test_env_mode_and_ini(srv, tmp_path):
    "`cachy = true` in the ini file turns it on, CACHY_MODE wins over `cachy_mode`, and --cachy-mode over both"
    p = project(tmp_path, srv, ini='cachy = true\ncachy_mode = "record"\ncachy_dir = "cache"\n')
    (p/'cache').mkdir()
    assert pytest_(p)[0] == 0
    assert srv.total == 3
    assert len(recs(p/'cache'/'cachy.jsonl')) == 3
    (p/'tests'/'test_llm.py').write_text((p/'tests'/'test_llm.py').read_text()+'\ndef test_new(): assert ask("new")\n')
    rc,out = pytest_(p, env={'CACHY_MODE': 'replay'})
    assert rc == 1, out
    assert '3 passed' in out
    assert srv.total == 3
    rc,out = pytest_(p, '--cachy-mode=record', env={'CACHY_MODE': 'replay'})
    assert rc == 0, out
    assert srv.total == 4
    rc,out = pytest_(p, '--cachy-dir', tmp_path/'elsewhere', '--cachy-mode=replay')
    assert rc == 4 and f"cache_dir {tmp_path/'elsewhere'} does not exist" in out, out
    assert not (tmp_path/'elsewhere').exists()

def test_from_a_subfolder(srv, tmp_path):
    "pytest run from tests/ uses the project's own cachy.jsonl"
    p = project(tmp_path, srv)
    assert pytest_(p, '--cachy')[0] == 0
    rc,out = pytest_(p, '--cachy-mode=replay', cwd=p/'tests')
    assert rc == 0, out
    assert srv.total == 3
    assert summary(out).endswith(str(p/'cachy.jsonl'))

def test_markers(srv, tmp_path):
    "The marker alone caches its test; no_cachy sends its test live in a cached run"
    p = project(tmp_path, srv, tests='''
        @pytest.mark.cachy
        def test_cached(): assert ask("cached")
        def test_plain(): assert ask("plain")
        @pytest.mark.no_cachy
        def test_live(): assert ask("live")
        @pytest.mark.cachy(mode="replay")
        def test_replay_only(): assert ask("never recorded")
        ''')
    rc,out = pytest_(p, '-rf')
    assert rc == 1, out
    assert '1 failed, 3 passed' in out
    assert 'test_replay_only - Failed: cachy (replay mode)' in out
    assert "give the test's marker mode='record' instead: @pytest.mark.cachy(mode='record')" in out
    assert srv.total == 3
    assert [r['req']['parts']['messages[0].content'][1] for r in recs(p/'cachy.jsonl')] == ["'cached'"]
    assert summary(out).startswith('cachy: 0 hits; 1 recorded, 1 miss, 1 replay failure')
    rc,out = pytest_(p, '--cachy', '-k', 'not replay_only')
    assert rc == 0, out
    assert srv.total == 5
    assert len(recs(p/'cachy.jsonl')) == 2
    assert re.match(r'cachy: 1 hit saved [\d.]+ m?s, 12 tokens; 1 recorded, 1 miss, 0 replay failures', summary(out)), summary(out)

def test_replay_miss_in_a_fixture(srv, tmp_path):
    "A replay miss in a fixture fails (errors) that test only"
    p = project(tmp_path, srv, tests='''
        @pytest.fixture
        def answer(): return ask("from a fixture")
        def test_uses(answer): assert answer
        def test_other(): pass
        ''')
    rc,out = pytest_(p, '--cachy-mode=replay', '-rE')
    assert rc == 1, out
    assert '1 passed, 1 error' in out, out
    assert 'ERROR tests/test_llm.py::test_uses - Failed: cachy (replay mode)' in out, out
    assert 'During handling' not in out, out

def test_xdist(srv, tmp_path):
    "Two pytest-xdist workers record into one file: nothing lost, and the replay reaches no server and adds up what both saved"
    from cachy.answer import price
    from cachy.explain import seconds,dollars
    tests = ''.join(f'def test_{i}(): assert ask("q{i}").endswith("q{i}")\n' for i in range(40))
    p = project(tmp_path, srv, tests=tests.replace('ask(', 'ask4o('))
    (p/'tests'/'test_llm.py').write_text((p/'tests'/'test_llm.py').read_text().replace('def ask(q)', 'def ask4o(q): return client.chat.completions.create(model="gpt-4o", messages=[dict(role="user", content=q)]).choices[0].message.content\ndef ask(q)'))
    rc,out = pytest_(p, '--cachy', '-n', '2')
    assert rc == 0, out
    assert srv.total == 40, out
    assert summary(out) == f"cachy: 0 hits; 40 recorded, 40 misses, 0 replay failures; {p/'cachy.jsonl'}"
    ks = [r['key'] for r in recs(p/'cachy.jsonl')]
    assert len(ks) == len(set(ks)) == 40
    took = sum(r['took'] for r in recs(p/'cachy.jsonl'))
    rc,out = pytest_(p, '--cachy-mode=replay', '-n', '2')
    assert rc == 0, out
    assert srv.total == 40, out
    assert '2 workers' in out
    usd = 40*price('gpt-4o', 5, 7)
    assert summary(out) == f"cachy: 40 hits saved {seconds(took)}, 480 tokens, ~{dollars(usd)}; 0 recorded, 0 misses, 0 replay failures; {p/'cachy.jsonl'}"

def test_offline_and_what_passed(srv, tmp_path):
    "--cachy-offline fails a call to a host outside doms, naming it; replay names what it let through live"
    p = project(tmp_path, srv, tests=f'''
        import httpx
        def test_one(): assert ask("one").endswith("one")
        def test_local(): assert httpx.get("http://localhost:{srv.port}/echo").json()
        def test_remote(): httpx.get("http://api.github.com.invalid/x")
        ''')
    rc,out = pytest_(p, '--cachy', '-k', 'one')
    assert rc == 0, out
    assert srv.total == 1
    rc,out = pytest_(p, '--cachy-offline', '-rf')
    assert rc == 1, out
    assert '1 failed, 2 passed' in out, out
    assert 'test_remote - Failed: cachy (offline): GET http://api.github.com.invalid/x would reach api.github.com.invalid, which is not in doms' in out
    assert "To record it, add 'api.github.com.invalid' to cachy_doms in " in out and 'run pytest with --cachy, not --cachy-offline' in out
    assert srv.total == 2
    assert summary(out).startswith('cachy: 1 hit saved ')
    assert '; 0 recorded, 0 misses, 1 replay failure; 1 passed through live: localhost;' in summary(out)

def test_bad_settings(srv, tmp_path):
    "A setting cachy refuses stops the run with one line naming it, not an internal error"
    p = project(tmp_path, srv)
    (p/'f').write_text('')
    for args,env,says in ((['--cachy', '--cachy-dir', p/'f'], {}, 'is not a folder'), (['--cachy'], {'CACHY_MODE': 'replai'}, "unknown mode 'replai'")):
        rc,out = pytest_(p, *args, env=env)
        assert rc == 4, out
        assert srv.total == 0, out
        assert f'ERROR: cachy: ' in out, out
        assert says in out, out

def test_plugin_stays_light():
    "pytest imports the plugin on every run: it must not import cachy's core, or httpx"
    code = 'import sys,cachy.pytest_plugin; print(sorted(m for m in ("httpx", "cachy.core", "httpx2") if m in sys.modules))'
    assert subprocess.run([sys.executable, '-c', code], capture_output=True, text=True).stdout.strip() == '[]'
