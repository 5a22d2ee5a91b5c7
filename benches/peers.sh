#!/usr/bin/env bash
# Qinglian against the peers a user would otherwise pick, on the same bundle, in one run.
#
# usage: benches/peers.sh [SCALES] [PEERS]
#   SCALES  "S" (20,000 people: a smoke test), "M" (1,000,000 people, from
#           shared/bench/gen.py) and/or "L" (10,000,000 people,
#           from `qinglian generate`: gen.py needs about 17 GB there). Default: "M".
#   PEERS   peers at scale M; default "duckdb kuzu networkx igraph rustworkx networkit".
#           At scale L only the peers in $PEERS_L run (default "duckdb").
# environment:
#   SHARED    the shared folder with bench/ (default: ../shared beside the checkout)
#   WORK      where bundles, databases, the virtualenv and results go (default target/peers)
#   REPEAT    Qinglian's runs per query, reported as the median (default 5)
#   PEER_RUNS runs of each peer harness, reported as the median per query (default 1: the
#             slow peers take minutes per run)
#   QTIMEOUT  per-query limit for the peers, seconds (default 900)
#
# Steps: a virtualenv with the peers from PyPI; the bundle; `qinglian ingest` timed with
# /usr/bin/time; the queries bench (benches/queries.rs) REPEAT times; each peer's harness from
# shared/bench/peers; then benches/summarize.py prints one table per scale with Qinglian's
# ratio to the best peer and whether every system returned the same Q1-Q4 answers.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCALES=${1:-M}
PEERS=${2:-duckdb kuzu networkx igraph rustworkx networkit}
PEERS_L=${PEERS_L:-duckdb}
SHARED=${SHARED:-$ROOT/../shared}
WORK=${WORK:-$ROOT/target/peers}
REPEAT=${REPEAT:-5}
PEER_RUNS=${PEER_RUNS:-1}
QTIMEOUT=${QTIMEOUT:-900}
VENV=$WORK/venv
mkdir -p "$WORK"
[ -f "$SHARED/bench/gen.py" ] || { echo "no $SHARED/bench/gen.py (set SHARED)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is needed (Debian: apt-get install time)" >&2; exit 2; }

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check \
    numpy psutil duckdb kuzu networkx igraph rustworkx networkit
"$VENV/bin/pip" freeze | grep -iE '^(duckdb|kuzu|networkx|igraph|rustworkx|networkit)=' \
    > "$WORK/peer-versions.txt"

cd "$ROOT"
cargo build --release --quiet
cargo bench --bench queries --no-run --quiet
QL=$ROOT/target/release/qinglian

for S in $SCALES; do
    DATA=$WORK/data-$S
    RES=$WORK/results-$S
    rm -rf "$RES"
    mkdir -p "$RES"
    if [ ! -f "$DATA/people.csv" ]; then
        echo "== generating scale $S $(date +%T)"
        case $S in
            S) "$VENV/bin/python" "$SHARED/bench/gen.py" --people 20000 --seed 1 --out "$DATA" ;;
            M) "$VENV/bin/python" "$SHARED/bench/gen.py" --people 1000000 --seed 1 --out "$DATA" ;;
            L) "$QL" generate --people 10000000 --seed 1 --out "$DATA" ;;
            *) echo "unknown scale $S" >&2; exit 2 ;;
        esac
    fi

    echo "== qinglian $S: ingest $(date +%T)"
    DB=$WORK/db-$S
    rm -rf "$DB"
    /usr/bin/time -v -o "$RES/qinglian-ingest.time" "$QL" ingest "$DATA" --db "$DB" \
        > "$RES/qinglian-ingest.out" 2>&1
    tail -2 "$RES/qinglian-ingest.out"
    "$VENV/bin/python" - "$RES" "$S" <<'PY'
import json, re, sys
res, scale = sys.argv[1], sys.argv[2]
t = open(f'{res}/qinglian-ingest.time').read()
out = open(f'{res}/qinglian-ingest.out').read()
wall = re.search(r'Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)', t).group(1)
secs = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall.split(':'))))
rss = int(re.search(r'Maximum resident set size \(kbytes\): (\d+)', t).group(1)) / 1024
commit = float(re.search(r'committed: .* in ([0-9.]+)s', out).group(1))
snap = float(re.search(r'snapshot: .* built in ([0-9.]+)s', out).group(1))
with open(f'{res}/qinglian-{scale}.jsonl', 'a') as f:
    for q, w in (('load', secs), ('ingest_commit', commit), ('snapshot_build', snap)):
        f.write(json.dumps({'peer': 'qinglian', 'scale': scale, 'query': q, 'status': 'ok',
                            'wall_s': round(w, 3), 'peak_rss_mb': round(rss)}) + '\n')
PY

    echo "== qinglian $S: queries x$REPEAT $(date +%T)"
    cargo bench --bench queries --quiet -- --db "$DB" --data "$DATA" --results "$RES" \
        --scale "$S" --repeat "$REPEAT" >> "$RES/qinglian-$S.jsonl"

    P=$PEERS
    [ "$S" = L ] && P=$PEERS_L
    for r in $(seq 1 "$PEER_RUNS"); do
        echo "== peers $S run $r: $P $(date +%T)"
        mkdir -p "$RES/run$r"
        PY=$VENV/bin/python RESULTS=$RES/run$r \
            "$SHARED/bench/run_peers.sh" "$S" "$DATA" "$P" "$QTIMEOUT" || true
    done
    rm -rf "$DB"
done

"$VENV/bin/python" "$ROOT/benches/summarize.py" "$WORK" $SCALES | tee "$WORK/summary.md"
