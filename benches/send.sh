#!/usr/bin/env bash
# Benchmark for `bouncekit send`: messages per second into Postfix's smtp-sink on loopback,
# side by side with Postfix's own load generator smtp-source, with the same number of sessions
# each reused for many messages, in one run.
#
#     bash benches/send.sh
#
# Settings (environment variables):
#   MESSAGES=100000   messages per measurement (the list has this many distinct recipients)
#   SIZE=2048         message size in bytes (smtp-source -l; the whole template file is as long)
#   SESSIONS="8 1"    the session counts to measure (smtp-source -s, bouncekit --connections)
#   KEEP_TMP=1        keep the temporary folder (its path is printed)
#
# Target (issue "send"): with 8 sessions and with 1, at least half the messages/second of
# `smtp-source -s N -d -l 2048`. bouncekit writes its whole send log (two flushed records per
# message) to a file in the temporary folder; smtp-source writes nothing.
#
# Needs smtp-sink and smtp-source, from Debian's postfix package: apt-get install postfix
# (answer "No configuration": no system mail server is set up or started). As root, smtp-sink
# runs as nobody (-u nobody).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
messages="${MESSAGES:-100000}"
size="${SIZE:-2048}"
sessions="${SESSIONS:-8 1}"
sink=/usr/sbin/smtp-sink
source_bin=/usr/sbin/smtp-source

die() { echo "send.sh: $*" >&2; exit 1; }
for tool in "$sink" "$source_bin"; do
    [[ -x "$tool" ]] || die "$tool is missing: install it with \`apt-get install postfix\` (choose \"No configuration\")"
done
command -v python3 > /dev/null || die "python3 is needed (to write the list and pick a port)"

echo "== building the release binary"
(cd "$root" && cargo build --release --locked)
bin="$root/target/release/bouncekit"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/bouncekit-bench-send.XXXXXX")"
sink_pid=""
cleanup() {
    local status=$?
    if [[ -n "$sink_pid" ]]; then
        kill "$sink_pid" 2> /dev/null || true
        wait "$sink_pid" 2> /dev/null || true
    fi
    if [[ "${KEEP_TMP:-0}" == 1 ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
    # The script's status, not that of the smtp-sink just stopped.
    exit "$status"
}
trap cleanup EXIT

echo "== writing a list of $messages recipients and a $size-byte template in $tmp"
python3 - "$tmp" "$messages" "$size" << 'PY'
import sys
tmp, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(f"{tmp}/list.csv", "w") as f:
    f.write("email,first_name\n")
    f.writelines(f"user{i}@example.org,Name{i % 1000}\n" for i in range(n))
head = "Subject: Offer for {{ first_name }}\nFrom: Bench <bench@example.com>\n\nDear {{ first_name }},\n\n"
line = "A line of the offer that makes the message as long as smtp-source's.\n"
body = line * ((size - len(head)) // len(line) + 1)
with open(f"{tmp}/offer.eml", "w") as f:
    f.write(head + body[: size - len(head)])
PY

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
user_opt=()
(( EUID == 0 )) && user_opt=(-u nobody)
"$sink" "${user_opt[@]}" "127.0.0.1:$port" 1024 &
sink_pid=$!
for _ in $(seq 50); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()" 2> /dev/null && break
    sleep 0.1
done

now() { date +%s.%N; }
rate() { python3 -c "print(f'{$1 / ($3 - $2):,.0f}')"; }

printf '\n%-10s %22s %22s %8s\n' sessions "smtp-source msg/s" "bouncekit send msg/s" ratio
missed=0
for s in $sessions; do
    t0=$(now)
    "$source_bin" -s "$s" -d -l "$size" -m "$messages" -f bench@example.com \
        -t rcpt@example.org "127.0.0.1:$port"
    t1=$(now)
    "$bin" send -q --smtp "smtp://127.0.0.1:$port" --from bench@example.com \
        --template "$tmp/offer.eml" --connections "$s" --no-store -o "$tmp/log.jsonl" \
        "$tmp/list.csv"
    t2=$(now)
    sent=$(grep -c '"status":"sent"' "$tmp/log.jsonl")
    [[ "$sent" == "$messages" ]] || die "bouncekit sent $sent of $messages messages (see $tmp/log.jsonl)"
    src=$(rate "$messages" "$t0" "$t1")
    bk=$(rate "$messages" "$t1" "$t2")
    ratio=$(python3 -c "print(f'{($t1 - $t0) / ($t2 - $t1):.2f}')")
    printf '%-10s %22s %22s %8s\n' "$s" "$src" "$bk" "$ratio"
    python3 -c "import sys; sys.exit(0 if $ratio >= 0.5 else 1)" || missed=1
done
echo
echo "target: a ratio of at least 0.50 for every session count"
(( missed == 0 )) && echo "target met" || echo "target NOT met"
exit "$missed"
