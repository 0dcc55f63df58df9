#!/usr/bin/env bash
# Cold start of the worker's own composition (docs/performance.md): publishes bench/ColdStart for linux-x64 with and
# without ReadyToRun, then starts each build RUNS times in fresh processes, alternating, and prints the medians of
# the in-process composition time and of the whole process's wall time (runtime start + composition + exit).
# Usage: bench/cold-start.sh [RUNS]   (default 21)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${1:-21}"
out="$root/BenchmarkDotNet.Artifacts/cold-start"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

mkdir -p "$out"
for r2r in false true; do
  rm -rf "$out/r2r-$r2r"
  dotnet publish "$root/bench/ColdStart/ColdStart.csproj" -c Release -r linux-x64 --self-contained false \
    -p:PublishReadyToRun="$r2r" -o "$out/r2r-$r2r" >"$out/publish-$r2r.log"
done

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
results="$out/results.txt"
: >"$results"
for r2r in false true; do
  dotnet "$out/r2r-$r2r/Serverless.ColdStart.dll" >/dev/null # first start after publishing reads the files from disk
done
for _ in $(seq "$runs"); do
  for r2r in false true; do
    start=$(date +%s%N)
    line=$(dotnet "$out/r2r-$r2r/Serverless.ColdStart.dll")
    end=$(date +%s%N)
    echo "r2r=$r2r wall_ms=$(( (end - start) / 1000000 )) $line" >>"$results"
  done
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { grep "^r2r=$1 " "$results" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2; }

echo "runs per build: $runs (alternating); load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-12s %10s %22s %12s %16s %10s %9s\n' "ReadyToRun" "build_ms" "account_functions_ms" "resolve_ms" "composition_ms" "wall_ms" "rss_mib"
for r2r in false true; do
  printf '%-12s %10s %22s %12s %16s %10s %9s\n' "$r2r" "$(field "$r2r" build_ms | median)" "$(field "$r2r" account_functions_ms | median)" \
    "$(field "$r2r" resolve_ms | median)" \
    "$(field "$r2r" composition_ms | median)" "$(field "$r2r" wall_ms | median)" "$(field "$r2r" rss_mib | median)"
done
echo "publish size: without ReadyToRun $(du -sm "$out/r2r-false" | cut -f1) MB, with $(du -sm "$out/r2r-true" | cut -f1) MB"
echo "every run: $results"
