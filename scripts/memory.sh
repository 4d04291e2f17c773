#!/usr/bin/env bash
# Peak memory of the full audit scan, alone and with `--group-by route`, on a large generated
# log whose paths fall into ten thousand routes (issue #12: "peak RSS stays under 100 MB on a
# 10 GB log with 10 k route groups"). Memory must stay flat: it may depend on --max-groups and
# the thread count, never on the size of the log.
#
# usage: scripts/memory.sh [SIZE] [--keep]
#   SIZE     size of the generated log before the route prefixes (K/M/G; default 10G)
#   --keep   keep the generated log and print its path
# environment:
#   REALIP_BIN   realip binary to measure (default: target/release/realip, built here)
#   REALIP_BENCH_RESULTS   the directory to write <date>-<host>[-N]/memory into (default:
#                bench-results; an existing record is never overwritten)
#
# The log is `gen_log --format realip --seed 7` with every request path prefixed by one of
# 10,000 letter-only segments (`/tbaa/api/v1/users/42`), which route normalisation keeps, so
# the scan meets about 60,000 distinct routes and tracks the default --max-groups 1000 of them.
# Needs GNU time (/usr/bin/time, Debian package `time`) and about 1.1x SIZE of free disk.
# Prints one line per run and writes bench-results/<date>-<host>/memory (or -2, -3, ... when
# that day already has one).
set -euo pipefail

die() { echo "memory.sh: $*" >&2; exit 2; }

size=10G
keep=0
for arg in "$@"; do
  case $arg in
    --keep) keep=1 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    -*) die "unknown option $arg (try --help)" ;;
    *) size=$arg ;;
  esac
done
[[ $size =~ ^[0-9]+[KkMmGg]?$ ]] || die "SIZE must look like 100M or 10G, not '$size'"
[ -x /usr/bin/time ] || die "GNU time is missing: apt-get install -y time"

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
if [ -n "${REALIP_BIN:-}" ]; then
  realip=$(realpath -- "$REALIP_BIN")
  cargo build --release --quiet --example gen_log
else
  cargo build --release --quiet --bin realip --example gen_log
  realip=$repo/target/release/realip
fi
[ -x "$realip" ] || die "$realip is not an executable file"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/realip-memory.XXXXXX")
if [ $keep -eq 0 ]; then trap 'rm -rf "$tmp"' EXIT; fi
log=$tmp/routes.log

echo "== generating $size (gen_log --format realip --seed 7, 10,000 route prefixes)"
target/release/examples/gen_log --bytes "$size" --seed 7 --format realip |
  awk 'BEGIN { for (i = 0; i < 10000; i++) { j = i; s = ""
                 for (k = 0; k < 3; k++) { s = s sprintf("%c", 97 + j % 26); j = int(j / 26) }
                 w[i] = s } }
       { n = index($0, "\"GET /"); if (n == 0) n = index($0, "\"POST /")
         if (n > 0) { m = index(substr($0, n), "/")
                      print substr($0, 1, n + m - 1) "t" w[NR % 10000] "/" substr($0, n + m) }
         else print }' >"$log"
bytes=$(stat -c %s "$log")
lines=$(wc -l <"$log")

# Never overwrite an earlier record: a day's directory that already holds one gets -2, -3, ...
out="${REALIP_BENCH_RESULTS:-bench-results}/$(date -u +%F)-$(hostname -s)"
if [ -e "$out/memory" ]; then
  n=2
  while [ -e "$out-$n/memory" ]; do n=$((n + 1)); done
  out="$out-$n"
fi
mkdir -p "$out"
{
  echo "date:    $(date -u +%FT%T%:z)"
  echo "realip:  $("$realip" --version 2>/dev/null | head -1) ($realip; checkout at git $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
  echo "input:   $bytes bytes, $lines lines (gen_log --bytes $size --seed 7 --format realip, 10,000 route prefixes)"
  for opts in "" "--group-by route"; do
    /usr/bin/time -f "%e %M" -o "$tmp/time" "$realip" scan $opts --output json --no-progress "$log" >"$tmp/report.json"
    read -r secs kib <"$tmp/time"
    groups=
    [ -n "$opts" ] && groups=$(grep -o '"groups_in_others": *[0-9]*' "$tmp/report.json" | grep -o '[0-9]*$' || true)
    printf 'realip scan %-18s %8.2f s  peak RSS %6.1f MiB%s\n' "$opts" "$secs" "$(awk -v k="$kib" 'BEGIN { print k / 1024 }')" \
      "${groups:+  (groups_in_others: $groups)}"
  done
} | tee "$out/memory"
[ $keep -eq 1 ] && echo "kept: $log"
exit 0
