#!/usr/bin/env bash
# Before/after: the issue 25 benchmark set on BASE_REF (built in a temporary git worktree) and on this checkout
# (as it is on disk, uncommitted changes included), one checkout after the other, in one session.
#
#   benchmarks/before-after.sh BASE_REF            # full: 3 rounds/runs of each, ≈ 10–15 min per checkout on 2 cores
#   benchmarks/before-after.sh BASE_REF --quick    # smoke test of the script: 1 round, short runs, BenchmarkDotNet dry job
#
# Options (environment): RUNS (rounds or runs per measurement, default 3), SECONDS_PER_ROUND (default 5 for PostgreSQL
# scenarios, 10 for wrk ones), CHANGES (propagation changes per run, default 200), KEEP=1 keeps the logs' folder.
# Every scenario is the existing one (benchmarks/README.md says what each measures); a scenario or a BenchmarkDotNet
# class that one checkout does not have is reported as skipped for that checkout, not as a failure.
# Needs: dotnet, wrk, redis-server, PostgreSQL 15 binaries (the tests' PostgresServer finds them), python3.
set -euo pipefail
# BenchmarkDotNet builds its own copy of the project; MSBuild reads this as a property there too (no npm/vite)
export SkipWebUi=true
for tool in dotnet wrk redis-server python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool on PATH (wrk: apt-get install -y wrk)" >&2; exit 2; }
done

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[[ $# -ge 1 && $1 != -* ]] || usage
BASE_REF=$1; shift
QUICK=0
[[ ${1:-} == --quick ]] && QUICK=1

ROOT=$(git rev-parse --show-toplevel)
BASE_SHA=$(git -C "$ROOT" rev-parse --verify "$BASE_REF^{commit}")
HEAD_DESC="$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- . || echo '+changes')"
RUNS=${RUNS:-3}
PG_SECONDS=${SECONDS_PER_ROUND:-5}
WRK_SECONDS=${SECONDS_PER_ROUND:-10}
CHANGES=${CHANGES:-200}
BDN_JOB=short
if [[ $QUICK == 1 ]]; then RUNS=1; PG_SECONDS=1; WRK_SECONDS=2; CHANGES=10; BDN_JOB=dry; fi

WORK=$(mktemp -d /tmp/before-after.XXXXXX)
BASE_TREE="$WORK/base"
cleanup() {
  git -C "$ROOT" worktree remove --force "$BASE_TREE" >/dev/null 2>&1 || true
  [[ ${KEEP:-0} == 1 ]] && echo "logs kept in $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }
say() { echo "[$(date -u +%H:%M:%S) load $(load)] $*" >&2; }

START=$(date +%s)
say "base $BASE_REF ($BASE_SHA) in $BASE_TREE; head: this checkout ($HEAD_DESC); runs $RUNS"
git -C "$ROOT" worktree add --detach "$BASE_TREE" "$BASE_SHA" >/dev/null 2>&1

# run_side LABEL TREE: builds the benchmarks of TREE in Release and runs every measurement, logs in $WORK/LABEL/
run_side() {
  local label=$1 tree=$2 out="$WORK/logs/$1" t0
  mkdir -p "$out"
  t0=$(date +%s)
  say "$label: building (Release, SkipWebUi)"
  if ! dotnet build -c Release "$tree/benchmarks/FlagAnalyzer.Benchmarks" -p:SkipWebUi=true -v q -nologo >"$out/build.log" 2>&1; then
    tail -20 "$out/build.log" >&2; echo "build of $label failed" >&2; exit 1
  fi
  local run=(dotnet run -c Release --no-build --project "$tree/benchmarks/FlagAnalyzer.Benchmarks" --)
  # scenario NAME LOGFILE ARGS…: a scenario this checkout does not have answers as BenchmarkDotNet would (no match)
  scenario() {
    local log="$out/$2"; shift 2
    say "$label: ${*}"
    echo "load before: $(load)" >"$log"
    "${run[@]}" "$@" >>"$log" 2>&1 || echo "exit code $?" >>"$log"
    echo "load after: $(load)" >>"$log"
  }
  scenario ingest4 pg-ingest-4.log postgres --only ingest --senders 4 --rounds "$RUNS" --seconds "$PG_SECONDS"
  scenario ingest1 pg-ingest-1.log postgres --only ingest --senders 1 --rounds "$RUNS" --seconds "$PG_SECONDS"
  scenario reads pg-reads.log postgres --only reads --rounds "$RUNS" --seconds "$PG_SECONDS"
  for i in $(seq 1 "$RUNS"); do scenario prop "pg-propagation-$i.log" postgres --only propagation --changes "$CHANGES"; done
  scenario metrics metrics-load.log metrics-load --rounds "$RUNS" --seconds "$WRK_SECONDS"
  scenario ofrep ofrep-load.log ofrep-load --rounds "$RUNS" --seconds "$WRK_SECONDS"
  say "$label: BenchmarkDotNet ($BDN_JOB job): IngestionBenchmarks, DetectionOnWriteBenchmarks"
  # BenchmarkDotNet finds the project to build from its working directory: the checkout's root
  (cd "$tree" && echo "load before: $(load)" >"$out/bdn.log" && "${run[@]}" --filter '*IngestionBenchmarks*' '*DetectionOnWriteBenchmarks*' \
      --job "$BDN_JOB" --exporters json --artifacts "$out/bdn" >>"$out/bdn.log" 2>&1 || echo "exit code $?" >>"$out/bdn.log"; echo "load after: $(load)" >>"$out/bdn.log")
  echo "$(( $(date +%s) - t0 ))" >"$out/seconds"
  say "$label: done in $(( ($(date +%s) - t0) / 60 )) min"
}

run_side base "$BASE_TREE"
run_side head "$ROOT"

python3 - "$WORK/logs" "$BASE_REF ($(git -C "$ROOT" rev-parse --short "$BASE_SHA"))" "head ($HEAD_DESC)" <<'PY'
import glob, json, os, re, statistics, sys
work, base_name, head_name = sys.argv[1:4]

def text(side, pattern):
    return "\n".join(open(p, errors="replace").read() for p in sorted(glob.glob(os.path.join(work, side, pattern))))

def num(s): return float(s.replace(",", ""))

def values(side, pattern, regex, group=1):
    return [num(m.group(group)) for m in re.finditer(regex, text(side, pattern))]

def loads(side, pattern):
    return [float(m.group(1)) for m in re.finditer(r"load (?:before|after): ([0-9.]+)", text(side, pattern))]

def fmt(xs, f="{:,.0f}"):
    if not xs: return "skipped (not in this checkout, or it failed: see its log)"
    xs = sorted(xs)
    return f"{f.format(statistics.median(xs))} ({f.format(xs[0])}–{f.format(xs[-1])}, n={len(xs)})"

def bdn(side, method):
    out = []
    for p in glob.glob(os.path.join(work, side, "bdn", "results", "*.json")):
        for b in json.load(open(p)).get("Benchmarks", []):
            if b.get("Method") == method or b.get("MethodTitle", "").strip("'") == method or method in b.get("FullName", ""):
                # the measured iterations, nanoseconds per operation
                out.extend(v / 1e6 for v in (b.get("Statistics") or {}).get("OriginalValues") or [])
    return out

rows = [
    ("PostgreSQL ingest, 4 clients: POST /api/metrics 1,000-sample batches ÷ 4 raw COPY connections (ratio per round; goal ≥ 0.5)",
     lambda s: values(s, "pg-ingest-4.log", r"ingest round \d+ .*?\| ratio ([0-9.]+)"), "{:.2f}", "pg-ingest-4.log"),
    ("  same, API samples/s", lambda s: values(s, "pg-ingest-4.log", r"POST /api/metrics ([0-9,]+) samples/s"), "{:,.0f}", "pg-ingest-4.log"),
    ("PostgreSQL ingest, 1 client vs 1 COPY connection (ratio per round)",
     lambda s: values(s, "pg-ingest-1.log", r"ingest round \d+ .*?\| ratio ([0-9.]+)"), "{:.2f}", "pg-ingest-1.log"),
    ("Flag reads: GET /api/flags/{id}, API on PostgreSQL + Redis, wrk -c64 (req/s per round)",
     lambda s: values(s, "pg-reads.log", r"GET /api/flags/\{id\} round \d+ PostgreSQL\s*:\s*([0-9,]+) req/s"), "{:,.0f}", "pg-reads.log"),
    ("Flag reads: same on SQLite + Redis (req/s per round)",
     lambda s: values(s, "pg-reads.log", r"GET /api/flags/\{id\} round \d+ SQLite\s*:\s*([0-9,]+) req/s"), "{:,.0f}", "pg-reads.log"),
    ("OFREP on PostgreSQL, POST /ofrep/v1/evaluate/flags/{key} (req/s per round)",
     lambda s: values(s, "pg-reads.log", r"POST /ofrep/v1/evaluate/flags/\{key\} round \d+ PostgreSQL\s*:\s*([0-9,]+) req/s"), "{:,.0f}", "pg-reads.log"),
    ("OFREP vs bare Kestrel (ofrep-load, SQLite): ratio OFREP/bare per round",
     lambda s: [o / b for b, o in zip(values(s, "ofrep-load.log", r"round \d+: bare ([0-9.]+) req/s"),
                                      values(s, "ofrep-load.log", r"\| ofrep ([0-9.]+) req/s"))], "{:.2f}", "ofrep-load.log"),
    ("  OFREP req/s per round", lambda s: values(s, "ofrep-load.log", r"\| ofrep ([0-9.]+) req/s"), "{:,.0f}", "ofrep-load.log"),
    ("Change on replica A → evaluated on replica B (PostgreSQL + Redis): p50 ms per run",
     lambda s: values(s, "pg-propagation-*.log", r"p50 ([0-9.]+) ms"), "{:.1f}", "pg-propagation-*.log"),
    ("  same, p99 ms per run", lambda s: values(s, "pg-propagation-*.log", r"p99 ([0-9.]+) ms"), "{:.1f}", "pg-propagation-*.log"),
    ("Single-sample metric writes (metrics-load, wrk -c64, SQLite): POST /api/metrics req/s per round",
     lambda s: [num(m.group(1)) for m in re.finditer(r"(?m)^\s*\d+ POST /api/metrics \(1 sample\)\s+([0-9.]+)", text(s, "metrics-load.log"))],
     "{:,.0f}", "metrics-load.log"),
    ("  same, p99 ms per round",
     lambda s: [num(m.group(1)) for m in re.finditer(r"(?m)^\s*\d+ POST /api/metrics \(1 sample\)\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+\s+([0-9.]+)", text(s, "metrics-load.log"))],
     "{:.2f}", "metrics-load.log"),
    ("  flag reads in the same run, GET /api/flags/{id} req/s per round",
     lambda s: [num(m.group(1)) for m in re.finditer(r"(?m)^\s*\d+ GET /api/flags/\{id\} \(baseline\)\s+([0-9.]+)", text(s, "metrics-load.log"))],
     "{:,.0f}", "metrics-load.log"),
    ("Metrics ingest, service core (BenchmarkDotNet): POST /api/metrics 1,000 samples, ms per iteration",
     lambda s: bdn(s, "POST /api/metrics, 1,000 samples"), "{:.2f}", "bdn.log"),
    ("  baseline in the same run: SQLite batched insert, 1,000 rows, ms", lambda s: bdn(s, "SQLite batched insert, 1,000 rows"), "{:.2f}", "bdn.log"),
    ("Detection on write (BenchmarkDotNet): write 1 sample + detection, warm window, ms",
     lambda s: bdn(s, "write 1 sample + detection (warm window)"), "{:.3f}", "bdn.log"),
    ("  write 1 sample, no detection, ms", lambda s: bdn(s, "write 1 sample, no detection"), "{:.3f}", "bdn.log"),
]

print()
print(f"# Before/after: base = {base_name}, head = {head_name}")
print("# each cell: median (min–max, n = rounds or runs); load = 1-minute load averages seen around that measurement")
for side in ("base", "head"):
    try: print(f"# {side} took {int(open(os.path.join(work, side, 'seconds')).read()) // 60} min (build included)")
    except OSError: pass
print()
print(f"| measurement | {base_name} | {head_name} |")
print("|---|---|---|")
for label, get, f, log in rows:
    cells = []
    for side in ("base", "head"):
        l = loads(side, log)
        cells.append(fmt(get(side), f) + (f"; load {min(l):.1f}–{max(l):.1f}" if l else ""))
    print(f"| {label} | {cells[0]} | {cells[1]} |")
PY
say "total $(( ($(date +%s) - START) / 60 )) min"
