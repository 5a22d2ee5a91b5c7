#!/usr/bin/env bash
# A monthly refresh at scale, timed beside DuckDB loading the same CSVs, in one run.
#
# usage: benches/refresh.sh [PEOPLE] [PCT]      (defaults: 1000000 people, 1 % of the rows)
# environment: WORK (default target/refresh), DUCKDB_PY (a python with duckdb; default: the
#              peers' virtualenv of benches/peers.sh under /tmp/peers, else none)
#
# Steps, each timed with /usr/bin/time (wall seconds, peak RSS):
#   1. `qinglian generate --people PEOPLE --seed 1` (not timed);
#   2. `qinglian ingest` of it into a fresh database (as a source named "register");
#   3. DuckDB: every CSV into a table with read_csv (its load, for the ratio);
#   4. a delta of PCT % of the relationship rows (half retracted, half changed;
#      benches/refresh_bundles.py) with --mode delta, on a copy of the database;
#   5. the same change as a snapshot refresh (the whole bundle again) on another copy.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEOPLE=${1:-1000000}
PCT=${2:-1}
WORK=${WORK:-$ROOT/target/refresh}
DUCKDB_PY=${DUCKDB_PY:-/tmp/peers/venv/bin/python}
QL=$ROOT/target/release/qinglian
mkdir -p "$WORK"
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
timed() { # label, command...
    local label=$1; shift
    /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" > "$WORK/$label.out" 2>&1
    read -r secs kb < "$WORK/time"
    printf '| %s | %s s | %.0f MB |\n' "$label" "$secs" "$((kb / 1024))"
}
B=$WORK/bundle-$PEOPLE
[ -f "$B/people.csv" ] || "$QL" generate --people "$PEOPLE" --seed 1 --out "$B" > /dev/null
python3 "$ROOT/benches/refresh_bundles.py" "$B" "$WORK/refresh-$PEOPLE" "$PCT"
rm -rf "$WORK/db" "$WORK/db-delta" "$WORK/db-snapshot" "$WORK/duck.db"
echo "| step | wall | peak RSS |"
echo "|---|---|---|"
timed "full ingest ($PEOPLE people)" "$QL" ingest "$B" --db "$WORK/db" --source register
if [ -x "$DUCKDB_PY" ] && "$DUCKDB_PY" -c "import duckdb" 2>/dev/null; then
    timed "duckdb read_csv of the same files" "$DUCKDB_PY" -c "
import duckdb, glob, os
c = duckdb.connect('$WORK/duck.db')
for f in sorted(glob.glob('$B/*.csv')):
    t = os.path.basename(f)[:-4]
    c.execute(f\"CREATE TABLE {t} AS SELECT * FROM read_csv('{f}', header=true, all_varchar=true)\")
c.close()"
fi
cp -r "$WORK/db" "$WORK/db-delta"
cp -r "$WORK/db" "$WORK/db-snapshot"
timed "delta, $PCT % of the relationship rows" "$QL" ingest "$WORK/refresh-$PEOPLE/delta" --db "$WORK/db-delta" --source register --mode delta
timed "snapshot refresh with the same change" "$QL" ingest "$WORK/refresh-$PEOPLE/snapshot" --db "$WORK/db-snapshot" --source register
for l in "full ingest ($PEOPLE people)" "delta, $PCT % of the relationship rows" "snapshot refresh with the same change"; do
    echo "-- $l:"
    grep -E "^load #|^snapshot:|^findings after|^retracted|changes to known" "$WORK/$l.out" || true
done
