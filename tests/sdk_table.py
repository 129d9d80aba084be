"Write the table of SDKs that the last test runs proved cached (build/sdk-matrix/*.json) into README.md"
import json
from pathlib import Path

root = Path(__file__).resolve().parent.parent
start,end = '<!-- sdk-table:start -->','<!-- sdk-table:end -->'

def table():
    rows = sorted((r['sdk'], r['version'], r.get('via', ''), r['ways'])
                  for f in (root/'build'/'sdk-matrix').glob('*.json') for r in json.loads(f.read_text()))
    mark = lambda ways,w: '✓' if w in ways else '–'
    return '\n'.join(['| SDK | version | sends through | sync | async | stream |', '|---|---|---|:-:|:-:|:-:|',
        *[f'| {s} | {v} | {t} | {mark(w,"sync")} | {mark(w,"async")} | {mark(w,"stream")} |' for s,v,t,w in rows]])

if __name__ == '__main__':
    p = root/'README.md'
    txt = p.read_text()
    pre,_,rest = txt.partition(start)
    p.write_text(pre + start + '\n' + table() + '\n' + rest.partition(end)[1] + rest.partition(end)[2])
    print(table())
