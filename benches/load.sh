#!/usr/bin/env bash
# Load test of the HTTP API on a 1,000,000-person database, with wrk.
#
# usage: benches/load.sh [DATA]   (default: a bundle from `qinglian generate --people 1000000`)
# environment: WORK (default target/load), DURATION per run (default 20s), CONNECTIONS (32),
#              THREADS (wrk threads, default 2), PORT (18080)
#
# Builds (or reuses) the database, starts `qinglian serve` with the rate limit raised so that
# one token can drive it, and runs wrk with benches/load.lua over prepared requests: entity
# lookups, name searches, path queries (max 4 hops), pre-award screenings, then a mix of all
# four. Prints one JSON line per run (throughput, p50/p90/p99, non-2xx and socket errors) and
# checks afterwards that the audit log holds a record for every request and still verifies.
# wrk and the server share this machine's cores: the figures are for both on one box.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-$ROOT/target/load}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
PORT=${PORT:-18080}
mkdir -p "$WORK"

if ! command -v wrk >/dev/null; then
    echo "installing wrk from the distribution's packages"
    if [ "$(id -u)" = 0 ]; then apt-get install -y -qq wrk >/dev/null; else sudo apt-get install -y -qq wrk >/dev/null; fi
fi

cd "$ROOT"
cargo build --release --quiet
QL=$ROOT/target/release/qinglian
DATA=${1:-$WORK/data}
if [ ! -f "$DATA/people.csv" ]; then
    "$QL" generate --people 1000000 --seed 1 --out "$DATA" | tail -1
fi
DB=$WORK/db
"$QL" ingest "$DATA" --db "$DB" | tail -2

cat > "$WORK/server.toml" <<TOML
# One token drives the whole test: lift the per-token rate limit, keep the other limits.
rate_per_second = 1000000.0
rate_burst = 1000000.0
max_concurrent = 64
TOML
TOKEN=$("$QL" token create --role investigator --days 1 --note "load test" --db "$DB")
AUDIT_BEFORE=0
[ -f "$DB/audit.log" ] && AUDIT_BEFORE=$(wc -l < "$DB/audit.log")
"$QL" serve --db "$DB" --addr "127.0.0.1:$PORT" --config "$WORK/server.toml" > "$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
    sleep 0.1
done
curl -sf "http://127.0.0.1:$PORT/healthz"; echo

# Request lists, from the bundle itself.
python3 - "$DATA" "$WORK" <<'PY'
import csv, json, os, random, sys, urllib.parse
data, work = sys.argv[1], sys.argv[2]
R = random.Random(7)
def col(f, c, n):
    rows = []
    with open(os.path.join(data, f), newline='', encoding='utf-8-sig') as fh:
        for i, r in enumerate(csv.DictReader(fh)):
            rows.append(r[c])
            if i > 400000:
                break
    return R.sample(rows, min(n, len(rows)))
people, comps = col('people.csv', 'id', 3000), col('companies.csv', 'id', 1000)
names = col('people.csv', 'name', 2000)
tenders = col('tenders.csv', 'id', 2000)
pairs = []
with open(os.path.join(data, 'bench', 'q2_pairs.csv')) as fh:
    for r in csv.DictReader(fh):
        pairs.append((r['person_id'], r['company_id']))
sets = {
    'lookup': [('GET', f'/v1/entities/{x}?limit=20', '') for x in people + comps],
    'search': [('GET', '/v1/entities?q=' + urllib.parse.quote(n) + '&limit=20', '') for n in names],
    'paths': [('GET', f'/v1/paths?from={a}&to={b}&max_hops=4', '') for a, b in pairs],
    'screen': [('POST', '/v1/screen', json.dumps({'tender': t})) for t in tenders],
}
mix = []
for k, w in (('lookup', 40), ('search', 20), ('paths', 25), ('screen', 15)):
    mix += [R.choice(sets[k]) for _ in range(w * 40)]
sets['mixed'] = mix
for k, v in sets.items():
    with open(os.path.join(work, f'req-{k}.tsv'), 'w') as fh:
        for m, p, b in v:
            fh.write(f'{m}\t{p}\t{b}\n')
PY

RESULTS=$WORK/load-results.jsonl
: > "$RESULTS"
TOTAL=0
for k in lookup search paths screen mixed; do
    out=$(QL_TOKEN=$TOKEN QL_REQUESTS=$WORK/req-$k.tsv wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" \
        --timeout 10s -s "$ROOT/benches/load.lua" "http://127.0.0.1:$PORT")
    line=$(echo "$out" | sed -n 's/^RESULT //p')
    echo "{\"workload\": \"$k\", \"connections\": $CONNECTIONS, \"duration\": \"$DURATION\", ${line#\{}" | tee -a "$RESULTS"
    TOTAL=$((TOTAL + $(echo "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')))
done

kill $SERVER; wait $SERVER 2>/dev/null || true
AUDIT_AFTER=$(wc -l < "$DB/audit.log")
echo "audit records written: $((AUDIT_AFTER - AUDIT_BEFORE)) for $TOTAL completed requests (wrk stops with requests in flight, which are audited too)"
"$QL" audit verify --db "$DB"
