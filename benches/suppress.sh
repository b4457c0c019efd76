#!/usr/bin/env bash
# Benchmark for `bouncekit suppress`: import, add and filter on lists of millions of rows,
# with `filter` measured side by side with the same anti-join in awk.
#
#     bash benches/suppress.sh
#
# Settings (environment variables):
#   ROWS=10000000       rows of the recipient list (address plus three other columns)
#   SUPPRESSED=1000000  addresses imported into the store (every ROWS/SUPPRESSED-th row)
#   EVENTS=500000       event records for `suppress add` (on top of the imported store)
#   KEEP_TMP=1          keep the temporary folder (its path is printed)
#   TIME_BIN=/usr/bin/time  GNU time, for peak RSS; else python3's resource module
#
# Targets (issue "suppress"): filter at least 10x faster than awk, peak RSS under 300 MB;
# add at least 100,000 events/s into a store of 1,000,000 addresses; import of 1,000,000
# addresses under 10 s.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rows="${ROWS:-10000000}"
suppressed="${SUPPRESSED:-1000000}"
events="${EVENTS:-500000}"
time_bin="${TIME_BIN-/usr/bin/time}"

die() { echo "suppress.sh: $*" >&2; exit 1; }
command -v python3 >/dev/null || die "python3 is needed (to write the inputs and measure memory)"

echo "== building the release binary"
(cd "$root" && cargo build --release --locked)
bin="$root/target/release/bouncekit"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/bouncekit-bench-suppress.XXXXXX")"
cleanup() { if [[ "${KEEP_TMP:-0}" == 1 ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi; }
trap cleanup EXIT

echo "== writing $rows list rows, $suppressed suppressed addresses, $events events in $tmp"
python3 - "$tmp" "$rows" "$suppressed" "$events" <<'PY'
import sys, random
tmp, rows, suppressed, events = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
step = max(1, rows // suppressed)
first = ["Jan", "Anna", "Piotr", "Marie", "Ola", "Lars", "Eva", "Tomas"]
cities = ["Praha", "Oslo", "Warszawa", "Brno", "Bergen", "Krakow"]
with open(f"{tmp}/list.csv", "w") as lst, open(f"{tmp}/supp.txt", "w") as sup:
    lst.write("email,first_name,last_name,city\n")
    buf_l, buf_s = [], []
    for i in range(rows):
        addr = f"user{i}.name@domain{i % 2000}.example"
        buf_l.append(f"{addr},{first[i % 8]},Surname{i % 977},{cities[i % 6]}\n")
        if i % step == 0:
            buf_s.append(addr + "\n")
        if len(buf_l) >= 100000:
            lst.write("".join(buf_l)); sup.write("".join(buf_s)); buf_l, buf_s = [], []
    lst.write("".join(buf_l)); sup.write("".join(buf_s))
kinds = [("hard", "user_unknown", "5.1.1"), ("soft", "mailbox_full", "4.2.2"),
         ("block", "blocked", "5.7.1"), ("delivered", "delivered", "2.0.0")]
with open(f"{tmp}/events.jsonl", "w") as ev:
    out = []
    for i in range(events):
        k, r, s = kinds[i % 4]
        n = (i * 7919) % rows
        out.append('{"source":"bench/%d.eml","message_id":"<r%d@mx.example>","date":"2026-05-05T07:14:07Z",'
                   '"recipient":"user%d.name@domain%d.example","kind":"%s","reason":"%s","status":"%s",'
                   '"smtp_code":550,"action":"failed","diagnostic":"550 %s whatever","remote_mta":null,'
                   '"reporting_mta":null,"original_message_id":null,"envelope_id":null,"campaign":null,'
                   '"format":"rfc3464"}\n' % (i, i, n, n % 2000, k, r, s, s))
        if len(out) >= 100000:
            ev.write("".join(out)); out = []
    ev.write("".join(out))
PY
ls -la "$tmp"
# Let the writeback of the inputs finish first: it would compete with the store's writes.
sync

# measure NAME CMD...: prints seconds and peak RSS of CMD (stdout to /dev/null).
measure() {
    local name="$1"; shift
    if [[ -n "$time_bin" && -x "$time_bin" ]]; then
        "$time_bin" -f "%e %M" -o "$tmp/time" "$@" > /dev/null 2> "$tmp/err" || { cat "$tmp/err"; die "$name failed"; }
        read -r secs kb < "$tmp/time"
    else
        python3 - "$tmp/time" "$@" <<'PY' > /dev/null 2> "$tmp/err" || { cat "$tmp/err"; die "$name failed"; }
import resource, subprocess, sys, time
t = time.perf_counter()
subprocess.run(sys.argv[2:], check=True, stdout=subprocess.DEVNULL)
secs = time.perf_counter() - t
kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
open(sys.argv[1], "w").write(f"{secs:.3f} {kb}\n")
PY
        read -r secs kb < "$tmp/time"
    fi
    printf '%-44s %8.2f s   peak RSS %7.1f MB\n' "$name" "$secs" "$(echo "$kb / 1024" | bc -l)"
    LAST_SECS="$secs"
}

export BOUNCEKIT_DB="$tmp/store.db"
echo "== measuring on $(nproc) cores"
measure "suppress import ($suppressed addresses)" "$bin" -q suppress import "$tmp/supp.txt" --state bounced
measure "suppress add ($events events)" "$bin" -q suppress add "$tmp/events.jsonl"
add_secs="$LAST_SECS"
measure "suppress filter ($rows rows)" "$bin" -q suppress filter "$tmp/list.csv" -o "$tmp/clean.csv"
filter_secs="$LAST_SECS"
measure "awk anti-join (same input)" sh -c "awk -F, 'NR==FNR{s[\$1];next} FNR==1 || !(\$1 in s)' '$tmp/supp.txt' '$tmp/list.csv' > '$tmp/clean-awk.csv'"
awk_secs="$LAST_SECS"
echo "== results"
printf 'filter speed-up over awk: %.1fx (target 10x)\n' "$(echo "$awk_secs / $filter_secs" | bc -l)"
printf 'add: %.0f events/s (target 100,000)\n' "$(echo "$events / $add_secs" | bc -l)"
kept=$(($(wc -l < "$tmp/clean.csv") - 1)); kept_awk=$(($(wc -l < "$tmp/clean-awk.csv") - 1))
echo "rows kept: bouncekit $kept, awk $kept_awk (bouncekit also drops the addresses 'add' bounced)"
