#!/usr/bin/env bash
# Interleaved A/B timing of realip builds on one log: N rounds, each round `wc -l` once, then
# every build with -j 1, with all threads, and with all threads and --group-by route. Prints
# the median (and min, max) seconds of each, and its ratio to the median `wc -l`. On a shared
# machine single runs vary by ±20 %; interleaving and medians make two builds comparable.
# (scripts/compare.sh is the one-run record with GoAccess and line counts.)
# The `wc -l` floor also depends on the page cache: on a file written minutes ago it can be a
# third faster than on one cached for hours (realip's time does not move). Compare ratios
# only within one run, and on a freshly written copy for the strict ratio (as compare.sh does).
#
# usage: scripts/ab.sh LOG REALIP_BIN [REALIP_BIN...]     (N=5 rounds; set N to change)
#   e.g. scripts/ab.sh access.log /tmp/realip-before target/release/realip
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 2; }
log=$1
shift
[ -r "$log" ] || { echo "ab.sh: cannot read $log" >&2; exit 2; }
for b in "$@"; do [ -x "$b" ] || { echo "ab.sh: $b is not executable" >&2; exit 2; }; done
raw=$(mktemp)
trap 'rm -f "$raw" "$raw.t"' EXIT
secs() { /usr/bin/time -f "%e" -o "$raw.t" "$@" >/dev/null 2>&1; cat "$raw.t"; }
for _ in $(seq "${N:-5}"); do
  echo "wc-l $(secs wc -l "$log")" >>"$raw"
  n=0
  for b in "$@"; do
    n=$((n + 1))
    echo "$n:$(basename "$b")/-j1 $(secs "$b" scan -j 1 -o json --no-progress "$log")" >>"$raw"
    echo "$n:$(basename "$b")/all-threads $(secs "$b" scan -o json --no-progress "$log")" >>"$raw"
    echo "$n:$(basename "$b")/group-by-route $(secs "$b" scan --group-by route -o json --no-progress "$log")" >>"$raw"
  done
done
awk '{ v[$1] = v[$1] " " $2; if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
     function median(s,   a, n, i, j, t) {
       n = split(s, a, " ")
       for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
       lo = a[1]; hi = a[n]
       return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
     }
     END {
       wc = median(v["wc-l"])
       printf "%-34s median %6.3f s (min %.3f, max %.3f)\n", "wc -l", wc, lo, hi
       for (i = 1; i <= k; i++) if (order[i] != "wc-l") {
         m = median(v[order[i]])
         printf "%-34s median %6.3f s (min %.3f, max %.3f)  %5.2fx wc -l\n", order[i], m, lo, hi, m / wc
       }
     }' "$raw"
