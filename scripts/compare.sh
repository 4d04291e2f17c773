#!/usr/bin/env bash
# Times `wc -l`, `realip scan` (1 thread and all threads) and GoAccess on the same generated
# nginx access log in one run, and records for every tool the lines/requests it counted next to
# its time (STYLE.md habit 11). Ratios against `wc -l` (read + newline scan, the physical floor)
# are the numbers to quote; absolute times drift between runs (DESIGN.md "Measuring speed").
#
# usage: scripts/compare.sh [SIZE] [--keep] [--format combined|realip]
#   SIZE       size of the generated log (K/M/G suffix, powers of 1024; default 1G)
#   --keep     keep the temporary directory (log + tool outputs) and print its path
#   --format   the generated log's format (default combined). `realip` carries
#              X-Forwarded-For and $realip_remote_addr, so every scan runs the audit too
#              (issue #12's targets); it also times `--group-by route`. GoAccess reads only
#              combined, so it is skipped for realip.
# environment:
#   REALIP_BIN           realip binary to measure (default: target/release/realip, built here);
#                        labelled with its own `--version` and path, since it may come from
#                        another commit than this checkout
#   REALIP_BENCH_FILE    an existing combined-format log to use instead of generating one
#   REALIP_BENCH_RESULTS the directory to write <date>-<host>/ into (default: bench-results)
#   REALIP_BENCH_ROUNDS  rounds of `wc -l` and the realip runs, interleaved (default 1): each
#                        time reported is the median of its rounds (peak RSS the largest), so
#                        that one slow minute of a shared machine does not decide a target;
#                        GoAccess runs once, after the rounds
#
# Writes bench-results/<date>-<host>/{raw.csv,summary} (see bench-results/README.md). Targets
# from issue #3 are reported as PASS or MISS (INVALID when a tool did not count and parse every
# line, SKIPPED without GoAccess); a miss never fails the script: this is measurement, not a
# test. It stops only when realip cannot be built or run; GoAccess is skipped, with a warning,
# when it cannot be installed.
set -euo pipefail

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
die() { echo "compare.sh: $*" >&2; exit 2; }

size=1G
keep=0
format=combined
while [ $# -gt 0 ]; do
  case $1 in
    --keep) keep=1 ;;
    --format)
      [ $# -ge 2 ] || die "--format needs a value: combined or realip"
      format=$2
      shift
      ;;
    --format=*) format=${1#--format=} ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option $1 (try --help)" ;;
    *) size=$1 ;;
  esac
  shift
done
case $format in
  combined | realip) ;;
  *) die "--format must be combined or realip, not '$format'" ;;
esac
[[ $size =~ ^[0-9]+[KkMmGg]?$ ]] || die "SIZE must look like 4096, 64K, 100M or 1G, not '$size'"

# Paths given in the environment are relative to where the script was started.
if [ -n "${REALIP_BIN:-}" ]; then
  case $REALIP_BIN in
    */*) REALIP_BIN=$(realpath -- "$REALIP_BIN") ;;
    *) REALIP_BIN=$(command -v -- "$REALIP_BIN") || die "REALIP_BIN=$REALIP_BIN: not found in PATH" ;;
  esac
fi
[ -n "${REALIP_BENCH_FILE:-}" ] && REALIP_BENCH_FILE=$(realpath -- "$REALIP_BENCH_FILE")
[ -n "${REALIP_BENCH_RESULTS:-}" ] && REALIP_BENCH_RESULTS=$(realpath -m -- "$REALIP_BENCH_RESULTS")
rounds=${REALIP_BENCH_ROUNDS:-1}
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "REALIP_BENCH_ROUNDS must be a positive number, not '$rounds'"

cd "$(dirname "$0")/.."
repo=$PWD

# --- tools ---------------------------------------------------------------------------------
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
apt_install() {
  command -v apt-get >/dev/null 2>&1 || return 1
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y --no-install-recommends "$@" \
    || { $sudo apt-get update && $sudo apt-get install -y --no-install-recommends "$@"; }
}

if [ ! -x /usr/bin/time ]; then
  echo "== installing GNU time (peak RSS)"
  apt_install time || die "GNU time (/usr/bin/time) is needed for peak RSS and could not be installed"
fi
command -v python3 >/dev/null 2>&1 || apt_install python3 \
  || die "python3 is needed to read the tools' JSON and could not be installed"

have_goaccess=1
if [ "$format" != combined ]; then
  have_goaccess=0
elif ! command -v goaccess >/dev/null 2>&1; then
  echo "== installing goaccess"
  if ! apt_install goaccess || ! command -v goaccess >/dev/null 2>&1; then
    echo "WARNING: goaccess could not be installed; measuring without it" \
      "(the goaccess target will be reported as SKIPPED)" >&2
    have_goaccess=0
  fi
fi

tmp=$(mktemp -d /tmp/realip-bench.XXXXXX)
cleanup() {
  if [ "$keep" = 1 ]; then
    echo "kept: $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT

# --- build ---------------------------------------------------------------------------------
need_gen=1
[ -n "${REALIP_BENCH_FILE:-}" ] && need_gen=0
gen="$repo/target/release/examples/gen_log"
if [ -n "${REALIP_BIN:-}" ]; then
  realip=$REALIP_BIN
  [ -x "$realip" ] || die "REALIP_BIN=$realip is not an executable file"
  if [ "$need_gen" = 1 ]; then
    echo "== cargo build --release --example gen_log"
    if ! cargo build --release --example gen_log; then
      # The generator depends on nothing in the crate, so a half-edited tree need not stop
      # a measurement of an existing binary.
      echo "== the crate does not build; compiling examples/gen_log.rs on its own"
      gen="$tmp/gen_log"
      rustc -C opt-level=3 --edition 2021 examples/gen_log.rs -o "$gen"
    fi
  fi
else
  realip="$repo/target/release/realip"
  echo "== cargo build --release --bin realip --example gen_log"
  cargo build --release --bin realip --example gen_log
fi
"$realip" scan --help >/dev/null 2>&1 \
  || die "$realip does not accept 'scan' (run '$realip scan --help' to see why)"

# --- input ---------------------------------------------------------------------------------
if [ "$need_gen" = 1 ]; then
  log="$tmp/access.log"
  echo "== generating $size of $format-format log (seed 1)"
  t0=$(date +%s%N)
  "$gen" --bytes "$size" --seed 1 --format "$format" -o "$log"
  t1=$(date +%s%N)
  gen_desc="gen_log --bytes $size --seed 1 --format $format"
else
  log=$REALIP_BENCH_FILE
  [ -f "$log" ] || die "REALIP_BENCH_FILE=$log is not a file"
  echo "== using REALIP_BENCH_FILE=$log (SIZE ignored; must be in combined format for GoAccess)"
  t0=0 t1=0
  gen_desc="REALIP_BENCH_FILE=$log"
fi
file_bytes=$(stat -c %s "$log")
gen_seconds=$(python3 -c "import sys; print(f'{(int(sys.argv[2]) - int(sys.argv[1])) / 1e9:.3f}')" "$t0" "$t1")

echo "== warm-up read"
cat "$log" >/dev/null
# Other work on the machine skews every ratio; keep the evidence next to the numbers.
load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)

# --- measure -------------------------------------------------------------------------------
nproc=$(nproc)
raw="$tmp/raw.csv"
echo "tool,threads,exit_status,seconds,peak_rss_kib,lines_counted,parsed,malformed,requests,file_bytes" >"$raw"

# measure NAME STDOUT_FILE COMMAND... -> sets m_status m_seconds m_rss_kib.
# Wall time from nanosecond clocks around the command; peak RSS from GNU time (%M, KiB).
measure() {
  local name=$1 out=$2
  shift 2
  echo "== $name: $*"
  # Each command is listed once in the summary (from the first round).
  [ "${round:-1}" != 1 ] || echo "$name: $*" | sed "s|$log|FILE|g; s|$tmp/|TMP/|g" >>"$tmp/commands"
  local t_start t_end
  t_start=$(date +%s%N)
  m_status=0
  /usr/bin/time -f '%M' -o "$tmp/time.txt" "$@" >"$out" 2>"$tmp/stderr.txt" || m_status=$?
  t_end=$(date +%s%N)
  m_seconds=$(python3 -c "import sys; print(f'{(int(sys.argv[2]) - int(sys.argv[1])) / 1e9:.3f}')" "$t_start" "$t_end")
  m_rss_kib=$(tail -n 1 "$tmp/time.txt")
  if [ "$m_status" != 0 ]; then
    echo "   exit status $m_status; stderr (last 5 lines):"
    tail -n 5 "$tmp/stderr.txt" | sed 's/^/   | /'
  fi
  echo "   ${m_seconds} s, peak RSS ${m_rss_kib} KiB"
}

# json_fields FILE EXPR... prints one value per expression ("" when missing or unreadable).
json_fields() {
  python3 - "$@" <<'PY'
import json, sys
path, exprs = sys.argv[1], sys.argv[2:]
try:
    with open(path) as f:
        doc = json.load(f)
except Exception:
    doc = None
for expr in exprs:
    v = doc
    for key in expr.split("."):
        v = v.get(key) if isinstance(v, dict) else None
    print("" if v is None else v)
PY
}

runs=(1 all)
# With the audit on, the route grouping is timed too (issue #12: <= 6x wc -l).
[ "$format" = realip ] && runs+=(route)
for round in $(seq "$rounds"); do
  [ "$rounds" = 1 ] || echo "== round $round of $rounds"
  measure "wc -l" "$tmp/wc.out" wc -l "$log"
  wc_lines=$(awk '{print $1}' "$tmp/wc.out")
  echo "wc -l,1,$m_status,$m_seconds,$m_rss_kib,$wc_lines,,,,$file_bytes" >>"$raw"
  for threads in "${runs[@]}"; do
    jflag=()
    label="all threads"
    tool="realip scan"
    [ "$threads" = 1 ] && jflag=(-j 1) label="1 thread"
    [ "$threads" = route ] && jflag=(--group-by route) label="all threads, --group-by route" \
      tool="realip scan --group-by route"
    out="$tmp/realip-$threads.json"
    measure "realip scan ($label)" "$out" \
      "$realip" scan "${jflag[@]}" --output json --no-progress "$log"
    [ "$threads" = 1 ] || threads=$nproc
    mapfile -t f < <(json_fields "$out" lines parsed malformed.count summary.requests audit.checked)
    [ -n "${f[0]}" ] || echo "   WARNING: no JSON from realip (see stderr above)" >&2
    [ "$format" = realip ] && [ -z "${f[4]}" ] && echo "   WARNING: realip ran no audit" >&2
    echo "$tool,$threads,$m_status,$m_seconds,$m_rss_kib,${f[0]},${f[1]},${f[2]},${f[3]},$file_bytes" >>"$raw"
    if [ -n "${f[2]}" ] && [ "${f[2]}" != 0 ]; then
      echo "   realip reported ${f[2]} malformed lines; first samples:"
      python3 -c 'import json,sys
for s in json.load(open(sys.argv[1]))["malformed"].get("samples", [])[:5]:
    print("   |", s)' "$out" || true
    fi
  done
done
round=1 # GoAccess runs once; its command is listed with the others


if [ "$have_goaccess" = 1 ]; then
  # --no-global-config: no /etc/goaccess/goaccess.conf surprises; -o FILE makes it
  # non-interactive; stdin from /dev/null so it never waits on a terminal or a pipe.
  measure "goaccess" "$tmp/goaccess.out" \
    goaccess "$log" --log-format=COMBINED --no-global-config --no-progress \
    --no-parsing-spinner -o "$tmp/goaccess.json" </dev/null
  mapfile -t f < <(json_fields "$tmp/goaccess.json" \
    general.total_requests general.valid_requests general.failed_requests)
  echo "goaccess,1,$m_status,$m_seconds,$m_rss_kib,${f[0]},${f[1]},${f[2]},${f[1]},$file_bytes" >>"$raw"
fi

# --- report --------------------------------------------------------------------------------
host=$(hostname)
results="${REALIP_BENCH_RESULTS:-$repo/bench-results}/$(date +%F)-$host"
# Never overwrite an earlier run: the second run of the day gets -2, and so on.
if [ -e "$results" ]; then
  n=2
  while [ -e "$results-$n" ]; do n=$((n + 1)); done
  results="$results-$n"
fi
mkdir -p "$results"
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
realip_version=$("$realip" --version 2>/dev/null | head -n 1)
[ -n "$realip_version" ] || realip_version="?"
git_rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "?")
[ -n "$(git -C "$repo" status --porcelain 2>/dev/null)" ] && git_rev="$git_rev (dirty tree)"
if [ -n "${REALIP_BIN:-}" ]; then
  # Built elsewhere, perhaps from another commit: this checkout's commit says nothing about
  # it, so it is named by what it says of itself and where it is.
  realip_label="$realip_version ($realip, from REALIP_BIN: not built by this run)"
else
  realip_label="$realip_version, git $git_rev ($realip, built by this run)"
fi
goaccess_version="not installed"
[ "$have_goaccess" = 1 ] && goaccess_version=$(goaccess --version 2>/dev/null | head -n 1)

{
  echo "date:      $(date -Iseconds)"
  echo "host:      $host ($nproc CPUs: ${cpu:-unknown}; $(uname -sr);" \
    "$(awk '/^MemTotal/ {printf "%.1f GiB RAM", $2 / 1048576}' /proc/meminfo))"
  echo "load avg:  $load_before before the runs, $(cut -d ' ' -f 1-3 /proc/loadavg) after (1/5/15 min)"
  echo "input:     $gen_desc: $file_bytes bytes, $wc_lines lines (page cache warmed by one cat)"
  [ "$format" = realip ] && echo "audit:     on in every realip run (the format logs X-Forwarded-For and \$realip_remote_addr)"
  [ "$need_gen" = 1 ] && echo "generator: ${gen_seconds} s"
  echo "realip:    $realip_label"
  echo "checkout:  git $git_rev (this script and the log generator)"
  echo "goaccess:  $goaccess_version"
  echo "commands (FILE = the input, TMP = a temporary directory):"
  sed 's/^/  /' "$tmp/commands"
  echo
  python3 - "$raw" "$nproc" "$file_bytes" <<'PY'
import csv, sys

raw, nproc, file_bytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
runs = list(csv.DictReader(open(raw)))
file_lines = int(runs[0]["lines_counted"])

def key(r):
    if r["tool"] == "realip scan":
        return "realip1" if r["threads"] == "1" else "realipN"
    return {"realip scan --group-by route": "realipR"}.get(r["tool"], r["tool"])

# A time means nothing without the work behind it: a run that did not count and parse every
# line the file has cannot pass or miss a target.
def complete(r):
    return r["lines_counted"] == str(file_lines) and (
        r["tool"] == "wc -l" or r["parsed"] == str(file_lines))

# One row per tool: its median round (the lower middle one for an even count), with the
# largest peak RSS of its rounds; a round that did not count every line stands for the tool
# instead, so that the run is reported incomplete.
rounds = {}
for r in runs:
    rounds.setdefault(key(r), []).append(r)
rows = []
for rs in rounds.values():
    bad = [r for r in rs if not complete(r)]
    mid = bad[0] if bad else sorted(rs, key=lambda r: float(r["seconds"]))[(len(rs) - 1) // 2]
    rows.append(dict(mid, peak_rss_kib=str(max(int(r["peak_rss_kib"]) for r in rs))))
n_rounds = max(len(rs) for rs in rounds.values())
wc = rows[0]

def name(r):
    if r["tool"].startswith("realip scan"):
        return f"{r['tool']} -j {r['threads']}" + (" (all)" if r["threads"] != "1" else "")
    return r["tool"]

def counted(r):
    if not r["lines_counted"]:
        return "?"
    s = r["lines_counted"]
    if r["tool"].startswith("realip scan"):
        s += f" (parsed {r['parsed']}, malformed {r['malformed']})"
    elif r["tool"] == "goaccess":
        s += f" (valid {r['parsed']}, failed {r['malformed']})"
    return s

head = ["tool", "seconds", "lines/s", "MB/s", "peak RSS MiB", "x wc -l", "exit", "lines counted"]
table = []
for r in rows:
    t = float(r["seconds"])
    table.append([
        name(r), f"{t:.3f}",
        f"{file_lines / t / 1e6:.2f} M" if t else "-",
        f"{file_bytes / t / 1e6:.0f}" if t else "-",
        f"{int(r['peak_rss_kib']) / 1024:.1f}",
        f"{t / float(wc['seconds']):.2f}" if float(wc["seconds"]) else "-",
        r["exit_status"],
        counted(r),
    ])
widths = [max(len(str(x)) for x in col) for col in zip(head, *table)]
for i, line in enumerate([head] + table):
    cells = [c.ljust(w) if j in (0, 7) else c.rjust(w) for j, (c, w) in enumerate(zip(line, widths))]
    print("  ".join(cells).rstrip())
    if i == 0:
        print("  ".join("-" * w for w in widths))
print("(lines/s and MB/s use the file's line count and size; MB = 10^6 bytes)")
if n_rounds > 1:
    print(f"(seconds: the median of {n_rounds} interleaved rounds; peak RSS: the largest)")

by = {key(r): r for r in rows}
secs = lambda k: float(by[k]["seconds"])

print()
print("targets (issue #3; with the audit, issue #12)")
checks = []
def check(label, keys, value, shown, target, ok, note=""):
    incomplete = [name(by[k]) for k in keys if k in by and not complete(by[k])]
    if value is None:
        verdict = "SKIPPED"
    elif incomplete:
        verdict = "INVALID (incomplete run: " + ", ".join(incomplete) + ")"
    else:
        verdict = "PASS" if ok else "MISS"
    checks.append([label, shown if value is not None else "-", target, verdict + (f"  {note}" if note else "")])

r_wc = secs("realipN") / secs("wc -l")
check("realip (all threads) / wc -l", ["realipN"], r_wc, f"{r_wc:.2f}x", "<= 5x", r_wc <= 5,
      "" if nproc == 2 else f"(target is for 2 cores; this machine has {nproc})")
if "realipR" in by:
    r_route = secs("realipR") / secs("wc -l")
    check("realip --group-by route / wc -l", ["realipR"], r_route, f"{r_route:.2f}x", "<= 6x",
          r_route <= 6)
speedup = secs("realip1") / secs("realipN")
check(f"speed-up 1 -> {nproc} threads", ["realip1", "realipN"], speedup, f"{speedup:.2f}x",
      ">= 1.8x", speedup >= 1.8, "" if nproc == 2 else "(target is for 1 -> 2 threads)")
if "goaccess" in by:
    g = secs("goaccess") / secs("realipN")
    check("goaccess / realip (all threads)", ["goaccess", "realipN"], g, f"{g:.1f}x", ">= 50x",
          g >= 50)
else:
    check("goaccess / realip (all threads)", [], None, "", ">= 50x", False,
          "(goaccess not installed, or the log is not combined)")
rss = max(int(by[k]["peak_rss_kib"]) for k in ("realip1", "realipN", "realipR") if k in by) / 1024
size_note = "" if 0.9e9 < file_bytes < 1.2e9 else \
    f"(target is for a 1 GB file; this one is {file_bytes / 1e6:.1f} MB)"
check("realip peak RSS (max of the runs)", ["realip1", "realipN"], rss, f"{rss:.1f} MiB",
      "< 100 MB", rss * 1048576 < 100e6, size_note)

bad = [name(r) for r in rows if not complete(r)]
checks.append(["every tool counted and parsed every line", "-", f"= {file_lines}",
               "OK" if not bad else "MISMATCH: " + ", ".join(bad) + " (see lines counted)"])
w = [max(len(c[i]) for c in checks) for i in range(4)]
for c in checks:
    print("  " + "  ".join(x.ljust(w[i]) if i != 1 else x.rjust(w[i]) for i, x in enumerate(c)).rstrip())
PY
} | tee "$tmp/summary"

cp "$raw" "$tmp/summary" "$results/"
echo
echo "wrote ${results#"$repo"/}/raw.csv and summary"
