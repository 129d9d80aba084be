"""README.md is made from nbs/index.ipynb, the one source of both (nbdev's own `nbdev-readme` needs quarto).

    python tools/readme.py            # write README.md from nbs/index.ipynb
    python tools/readme.py --check    # exit 1 if README.md is not what nbs/index.ipynb makes
    python tools/readme.py --sdk-table   # first put the table of SDKs from the last test runs (build/sdk-matrix/) in the notebook
    python tools/readme.py --bench FILE  # first put a benchmark report (what benchmarks/bench.py printed) in the notebook

Markdown cells are copied as they are; a code cell becomes a python block, followed by its text output, and cells
marked `#| hide` are left out. A table made by a program sits in the notebook between `<!-- NAME:start -->` and
`<!-- NAME:end -->`, so that both files carry it."""
import json,sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
nb_path,readme = root/'nbs'/'index.ipynb',root/'README.md'

def _text(outs):
    "The text a code cell's outputs show"
    res = []
    for o in outs:
        if o.get('output_type') == 'stream': res.append(''.join(o['text']))
        elif 'text/plain' in o.get('data', {}): res.append(''.join(o['data']['text/plain']))
    return ''.join(res).strip('\n')

def render(nb):
    "The README for notebook `nb` (parsed JSON)"
    out = []
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown': out.append(src.strip())
        elif c['cell_type'] == 'code' and '#| hide' not in src:
            out.append('```python\n' + '\n'.join(l for l in src.splitlines() if not l.startswith('#|')).strip() + '\n```')
            if txt := _text(c.get('outputs', [])): out.append('```\n' + txt + '\n```')
    return '\n\n'.join(out) + '\n'

def put(nb, name, text):
    "Put `text` between the `name` markers of the markdown cell that holds them"
    start,end = f'<!-- {name}:start -->',f'<!-- {name}:end -->'
    for c in nb['cells']:
        src = ''.join(c['source'])
        if start in src:
            pre,_,rest = src.partition(start)
            c['source'] = (pre + start + '\n' + text.strip() + '\n' + end + rest.partition(end)[2]).splitlines(keepends=True)
            return
    raise SystemExit(f'no {start} in {nb_path}')

def _rows(kind):
    "`(name, version, via, ways)` of the rows of `kind` (`None` for SDKs, 'framework') that the last test runs wrote in build/sdk-matrix/*.json"
    return sorted({(r['sdk'], r['version'], r.get('via', ''), tuple(r['ways']))
                   for f in (root/'build'/'sdk-matrix').glob('*.json') for r in json.loads(f.read_text()) if r.get('kind') == kind})

def sdk_table():
    "The markdown tables of the SDKs and the frameworks that the last test runs proved cached"
    mark = lambda ways,w: '✓' if w in ways else '–'
    sdks = ['| SDK | version | sends through | sync | async | stream |', '|---|---|---|:-:|:-:|:-:|',
            *[f'| {s} | {v} | {t} | {mark(w,"sync")} | {mark(w,"async")} | {mark(w,"stream")} |' for s,v,t,w in _rows(None)]]
    if not (fws := [r for r in _rows('framework') if r[3]]): return '\n'.join(sdks)
    return '\n'.join([*sdks, '', 'Frameworks, one agent run with a tool each, replayed offline in a fresh process with no request:', '',
        '| framework | version | calls sent by | runs replayed offline |', '|---|---|---|---|',
        *[f'| {s} | {v} | {t} | {", ".join(w)} |' for s,v,t,w in fws]])

def main(args):
    nb = json.loads(nb_path.read_text())
    if '--check' in args:
        if readme.read_text() == render(nb): return 0
        print(f'{readme} is not what {nb_path} makes: run python tools/readme.py', file=sys.stderr)
        return 1
    if '--sdk-table' in args: put(nb, 'sdk-table', sdk_table())
    if '--bench' in args: put(nb, 'bench', '```\n' + Path(args[args.index('--bench')+1]).read_text().strip() + '\n```')
    nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    readme.write_text(render(nb))
    return 0

if __name__ == '__main__': sys.exit(main(sys.argv[1:]))
