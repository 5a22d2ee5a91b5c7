#!/usr/bin/env bash
# Runs a command and samples its resident memory every half second, to see which phase of a
# load holds the peak (/usr/bin/time gives only the peak): docs/performance.md, "Memory".
#
# usage: benches/rss_trace.sh OUT command...
#   OUT         "seconds MB" per sample; the command's output goes to OUT.stdout
# Match the samples with the phase timings the load prints (parse, resolve, commit, snapshot).
set -uo pipefail
out=$1; shift
"$@" > "$out.stdout" 2>&1 &
pid=$!
t0=$(date +%s.%N)
: > "$out"
while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$pid/status" 2>/dev/null)
    now=$(date +%s.%N)
    echo "$(awk -v a="$now" -v b="$t0" 'BEGIN { printf "%.1f", a - b }') ${rss:-0}" >> "$out"
    sleep 0.5
done
wait "$pid"
rc=$?
echo "exit status $rc" >> "$out.stdout"
sort -k2 -n "$out" | tail -1 | awk '{ printf "peak %s MB at %s s\n", $2, $1 }'
exit "$rc"
