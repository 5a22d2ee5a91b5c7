#!/usr/bin/env bash
# The compiled rules on a standalone Spark cluster started on 127.0.0.1 — one master, two
# workers — over the Parquet export of a generated province; each step timed with
# /usr/bin/time, the findings compared with the native engine's (keys, colours, scores,
# evidence) and confirmed line by line with `qinglian findings import --check`. Not in CI:
# minutes at 100,000 people, much longer at 1M.
#
#   SPARK_VENV=.ci/spark-venv WORK=/tmp/spark-bench benches/spark_cluster.sh 1000000 1
#
# SPARK_VENV: a virtualenv with pyspark (4.x) and Java 17 on PATH (.ci/run installs both).
# WORKER_MEMORY (default 5g) and DRIVER_MEMORY (default 3g) size the JVMs.
# KEEP_LOAD=1 keeps the database, Parquet export and engine findings a previous run left in
# WORK (and their lines in times.tsv) and starts at the cluster: at 10M the load steps cost
# ten minutes that a second run of the rules need not repeat.
# The rules are compiled with `--db db`: each lists its tables in the order the engine's plan
# walks this database, the order Spark joins in.
set -euo pipefail
PEOPLE=${1:-100000}
SEED=${2:-1}
WORK=${WORK:-/tmp/qinglian-spark-bench}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
Q=${QINGLIAN:-$ROOT/target/release/qinglian}
PY=${SPARK_VENV:?set SPARK_VENV to a virtualenv with pyspark}/bin/python
SPARK_HOME=$("$PY" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
export SPARK_HOME
WORKER_MEMORY=${WORKER_MEMORY:-5g}
DRIVER_MEMORY=${DRIVER_MEMORY:-3g}

mkdir -p "$WORK"
cd "$WORK"
step() { # name command...: runs it, appends "name wall peak" to times.tsv
    local name=$1; shift
    /usr/bin/time -o "$name.time" -f "%e %M" "$@"
    read -r wall kb < "$name.time"
    printf '%s\t%s s\t%s MB\n' "$name" "$wall" "$((kb / 1024))" | tee -a times.tsv
}
if [ "${KEEP_LOAD:-0}" = 1 ] && [ -s findings-engine.jsonl ] && [ -f times.tsv ]; then
    grep -E '^(ingest|export_parquet|engine_screen)[[:space:]]' times.tsv > times.keep || true
    mv times.keep times.tsv
    rm -rf sql findings-spark.jsonl
else
    : > times.tsv
    [ -d "bundle-$PEOPLE-$SEED" ] || "$Q" generate --people "$PEOPLE" --seed "$SEED" --out "bundle-$PEOPLE-$SEED" > /dev/null
    rm -rf db parquet sql findings-*.jsonl
    step ingest sh -c "'$Q' ingest 'bundle-$PEOPLE-$SEED' --db db > ingest.log 2>&1"
    step export_parquet sh -c "'$Q' export --db db --format parquet --out parquet > export.log 2>&1"
    "$Q" screen --db db --format jsonl > /dev/null   # warm the snapshot
    step engine_screen sh -c "'$Q' screen --db db --format jsonl > findings-engine.jsonl"
fi
"$Q" compile-rules --dialect spark --db db --out sql 2> compile.log

# The cluster: a master and two one-core workers, all on 127.0.0.1.
CLASS="$SPARK_HOME/bin/spark-class"
"$CLASS" org.apache.spark.deploy.master.Master --host 127.0.0.1 --port 7077 --webui-port 8090 > master.log 2>&1 &
PIDS=$!
trap 'kill $PIDS 2>/dev/null || true' EXIT
sleep 5
for w in 1 2; do
    "$CLASS" org.apache.spark.deploy.worker.Worker spark://127.0.0.1:7077 --host 127.0.0.1 \
        --cores 1 --memory "$WORKER_MEMORY" --webui-port $((8090 + w)) \
        --work-dir "$WORK/worker-$w" > "worker-$w.log" 2>&1 &
    PIDS="$PIDS $!"
done
sleep 10
# The driver's per-rule lines and Spark's log both go to spark.log (spark-submit hands the
# Python driver's standard error to its own standard output).
step spark_cluster sh -c "'$SPARK_HOME/bin/spark-submit' --master spark://127.0.0.1:7077 \
    --driver-memory '$DRIVER_MEMORY' --executor-memory '$WORKER_MEMORY' \
    --conf spark.sql.shuffle.partitions=8 \
    '$ROOT/spark/qinglian_spark.py' --data parquet --sql sql --out findings-spark.jsonl > spark.log 2>&1"
grep -E ': done' spark.log | tee rules.tsv || true
python3 "$ROOT/benches/compare_findings.py" findings-engine.jsonl findings-spark.jsonl sql | tee compare.jsonl
# Back into the database: every line of Spark's output confirmed by the engine (findings import).
step import_check sh -c "'$Q' findings import --db db findings-spark.jsonl --check > import.log 2>&1"
tail -1 import.log
