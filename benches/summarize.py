#!/usr/bin/env python3
"""One table per scale from a benches/peers.sh run: python3 summarize.py WORK SCALE...

Reads WORK/results-<S>/qinglian-<S>.jsonl (Qinglian: ingest, open, Q1-Q4 repeated, all rules)
and WORK/results-<S>/run*/<peer>-<S>.jsonl (the peers' harnesses), takes the median per query,
and prints a markdown table with Qinglian's ratio to the best peer per row, whether every
system returned the same answers (Q1, Q4 as key sets; Q2, Q3 as files), and Qinglian's
accuracy against the bundle's truth.jsonl when there is one.
"""
import glob
import json
import os
import statistics
import sys

WORK = sys.argv[1]
SCALES = sys.argv[2:] or ['M']
PEERS = ['duckdb', 'kuzu', 'networkx', 'igraph', 'rustworkx', 'networkit']
QUERIES = ['load', 'q1', 'q2', 'q3', 'q4']


def lines(path):
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path) if l.strip()]


def q1key(r):
    return (r.get('official', ''), r.get('target', ''), r.get('ref', ''))


def q4key(r):
    a, b = sorted((r.get('target', ''), r.get('target2', '')))
    return (a, b, r.get('ref', ''))


def answers(path, kind):
    if not os.path.exists(path):
        return None
    if kind in ('q1', 'q4'):
        key = q1key if kind == 'q1' else q4key
        return frozenset(key(json.loads(l)) for l in open(path) if l.strip())
    rows = [l.strip() for l in open(path) if l.strip()]
    return tuple(sorted(rows[1:]))


def fmt(x):
    if x is None:
        return 'n/a'
    if isinstance(x, str):
        return x
    return f'{x:.3f}' if x < 1 else f'{x:.2f}' if x < 100 else f'{x:.0f}'


out = []
for S in SCALES:
    res = os.path.join(WORK, f'results-{S}')
    if not os.path.isdir(res):
        continue
    ql = lines(os.path.join(res, f'qinglian-{S}.jsonl'))
    times = {}
    for r in ql:
        if r.get('status') == 'ok':
            times.setdefault(r['query'], []).append(r['wall_s'])
    qmed = {q: statistics.median(v) for q, v in times.items()}
    q_runs = {q: len(v) for q, v in times.items()}
    ingest_rss = max((r['peak_rss_mb'] for r in ql if r['query'] == 'load'), default=None)
    query_rss = max((r['peak_rss_mb'] for r in ql if r['query'] not in
                     ('load', 'ingest_commit', 'snapshot_build')), default=None)

    peers = {}
    for p in PEERS:
        runs = sorted(glob.glob(os.path.join(res, 'run*', f'{p}-{S}.jsonl')))
        if not runs:
            continue
        per = {}
        status = {}
        rss = []
        for path in runs:
            for r in lines(path):
                q = r.get('query')
                if r.get('status') == 'ok':
                    per.setdefault(q, []).append(r['wall_s'])
                else:
                    status[q] = r.get('status', '?')
                if r.get('peak_rss_mb'):
                    rss.append(r['peak_rss_mb'])
        med = {q: statistics.median(v) for q, v in per.items()}
        for q, st in status.items():
            med.setdefault(q, st.upper())
        peers[p] = {'t': med, 'rss': max(rss) if rss else None, 'runs': len(runs),
                    'dir': os.path.dirname(runs[-1])}

    out.append(f'\n### Scale {S}\n')
    hdr = ['system', 'load s', 'Q1 s', 'Q2 s', 'Q3 s', 'Q4 s', 'peak RSS MB (queries)', 'runs']
    out.append('| ' + ' | '.join(hdr) + ' |')
    out.append('|' + '---|' * len(hdr))
    out.append('| **qinglian** | ' + ' | '.join(fmt(qmed.get(q)) for q in QUERIES)
               + f' | {fmt(query_rss)} | {min(q_runs.get(q, 0) for q in QUERIES[1:])} |')
    for p, d in peers.items():
        out.append(f'| {p} | ' + ' | '.join(fmt(d['t'].get(q)) for q in QUERIES)
                   + f" | {fmt(d['rss'])} | {d['runs']} |")
    ratio = []
    for q in QUERIES:
        best = [d['t'][q] for d in peers.values() if isinstance(d['t'].get(q), float)]
        mine = qmed.get(q)
        if best and mine:
            b = min(best)
            ratio.append(f'{b / mine:.1f}x faster' if b >= mine else f'{mine / b:.1f}x SLOWER')
        else:
            ratio.append('n/a')
    rss_best = min((d['rss'] for d in peers.values() if d['rss']), default=None)
    out.append('| *best peer / qinglian* | ' + ' | '.join(ratio) + ' | '
               + (f'{query_rss / rss_best:.2f} of the leanest' if rss_best and query_rss else 'n/a')
               + ' | |')

    best_q1 = min((d['t']['q1'] for d in peers.values() if isinstance(d['t'].get('q1'), float)),
                  default=None)
    extra = [('open the database ready to answer', qmed.get('open')),
             ('all 10 built-in rules (screen)', qmed.get('screen_all')),
             ('ingest: parse, resolve, durable sled commit', qmed.get('ingest_commit')),
             ('ingest: snapshot build', qmed.get('snapshot_build'))]
    out.append('')
    for name, v in extra:
        out.append(f'- {name}: {fmt(v)} s')
    if best_q1 and qmed.get('screen_all'):
        out.append(f"- all rules vs the best peer's Q1 alone: {best_q1 / qmed['screen_all']:.1f}x faster"
                   if best_q1 >= qmed['screen_all'] else
                   f"- all rules vs the best peer's Q1 alone: {qmed['screen_all'] / best_q1:.1f}x SLOWER")
    if ingest_rss:
        out.append(f'- ingest peak RSS: {ingest_rss:.0f} MB')

    # Same answers?
    out.append('')
    out.append('| answers vs qinglian | Q1 | Q2 | Q3 | Q4 |')
    out.append('|---|---|---|---|---|')
    mine = {q: answers(os.path.join(res, f'qinglian-{S}-{q}.' + ('jsonl' if q in ('q1', 'q4') else 'csv')), q)
            for q in ('q1', 'q2', 'q3', 'q4')}
    for p, d in peers.items():
        cells = []
        for q in ('q1', 'q2', 'q3', 'q4'):
            theirs = answers(os.path.join(d['dir'], f'{p}-{S}-{q}.' + ('jsonl' if q in ('q1', 'q4') else 'csv')), q)
            if theirs is None or mine[q] is None:
                cells.append('n/a')
            else:
                cells.append(f'same ({len(theirs)})' if theirs == mine[q] else f'DIFFERENT ({len(theirs)} vs {len(mine[q])})')
        out.append(f'| {p} | ' + ' | '.join(cells) + ' |')

    truth = os.path.join(WORK, f'data-{S}', 'truth.jsonl')
    if os.path.exists(truth):
        t1, t4 = set(), set()
        for l in open(truth):
            r = json.loads(l)
            if r.get('kind') in ('planted', 'incidental'):
                if r['pattern'] == 'relative_wins':
                    t1.add(q1key(r))
                elif r['pattern'] == 'bid_rigging':
                    t4.add(q4key(r))
        for q, t in (('q1', t1), ('q4', t4)):
            m = mine[q] or frozenset()
            if t:
                out.append(f'- qinglian {q} vs truth: recall {len(m & t) / len(t):.3f}, '
                           f'precision {len(m & t) / max(1, len(m)):.3f} ({len(m)} found, {len(t)} true)')

vers = os.path.join(WORK, 'peer-versions.txt')
if os.path.exists(vers):
    out.append('\nPeer versions: ' + ', '.join(l.strip() for l in open(vers) if l.strip()))
print('\n'.join(out))
