#!/usr/bin/env bash
# Benchmark for `bouncekit classify`: throughput and peak memory.
#
# Run from anywhere (it finds the repository root itself):
#
#     bash benches/classify.sh [CORPUS_DIR]
#
# CORPUS_DIR (or $BOUNCEKIT_CORPUS) is a folder of .eml files; the default is
# ../shared/corpus/bounces relative to the repository root. The corpus is third-party data:
# it is only ever copied into a temporary folder, never into the repository.
#
# Settings (environment variables):
#   FILES=10000     about how many .eml files the directory run reads (the corpus copied
#                   as many times as needed)
#   MBOX_SMALL=10000 MBOX_LARGE=40000
#                   about how many messages the two mbox runs read; their peak memory should
#                   be roughly equal, since classify streams
#   BOUNCEKIT_THREADS  passed as -j N when set (default: one worker per core)
#   KEEP_TMP=1      keep the temporary folder (its path is printed)
#   TIME_BIN=/usr/bin/time  GNU time, for peak RSS; when it is missing (or TIME_BIN= is
#                   empty) python3's resource module measures instead. Nothing is installed.
#
# What it prints: for each run, messages, seconds, messages/second and peak RSS in MB; then
# the last line of the corpus scorer (../shared/corpus/score) on the corpus itself.
# Targets: at least 30,000 messages/second on 2 cores, peak RSS under 64 MB whatever the
# input's length.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
corpus="${1:-${BOUNCEKIT_CORPUS:-$root/../shared/corpus/bounces}}"
files_target="${FILES:-10000}"
mbox_small="${MBOX_SMALL:-10000}"
mbox_large="${MBOX_LARGE:-40000}"
time_bin="${TIME_BIN-/usr/bin/time}"

die() { echo "classify.sh: $*" >&2; exit 1; }

[[ -d "$corpus" ]] || die "no corpus folder at $corpus (pass one as the first argument)"
corpus="$(cd "$corpus" && pwd)"
shopt -s nullglob
emls=("$corpus"/*.eml)
shopt -u nullglob
(( ${#emls[@]} > 0 )) || die "no .eml files in $corpus"
command -v python3 >/dev/null || die "python3 is needed (to build the mbox and measure memory)"

echo "== building the release binary"
(cd "$root" && cargo build --release --locked)
bin="$root/target/release/bouncekit"
[[ -x "$bin" ]] || die "no binary at $bin"

jobs=()
[[ -n "${BOUNCEKIT_THREADS:-}" ]] && jobs=(-j "$BOUNCEKIT_THREADS")

tmp="$(mktemp -d "${TMPDIR:-/tmp}/bouncekit-bench.XXXXXX")"
cleanup() {
    if [[ "${KEEP_TMP:-0}" == 1 ]]; then
        echo "kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT

# copies N: how many times the corpus must be copied to reach about N messages.
copies() { echo $(( ($1 + ${#emls[@]} - 1) / ${#emls[@]} )); }

# make_dir DIR COPIES: DIR/NNN/<corpus files>, the corpus copied COPIES times.
make_dir() {
    local dir="$1" n="$2" i
    for (( i = 1; i <= n; i++ )); do
        mkdir -p "$dir/$(printf '%03d' "$i")"
        cp -- "${emls[@]}" "$dir/$(printf '%03d' "$i")/"
    done
}

# make_mbox FILE COPIES: one mbox holding the corpus COPIES times, mboxrd style: a
# "From " separator line before each message, a blank line after it, and every body line
# that starts with ">*From " quoted with one more ">".
make_mbox() {
    python3 - "$1" "$2" "${emls[@]}" <<'PY'
import re, sys
out, copies, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
quote = re.compile(rb"^(>*From )", re.M)
messages = []
for path in paths:
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.endswith(b"\n"):
        raw += b"\n"
    messages.append(quote.sub(rb">\1", raw))
with open(out, "wb") as f:
    for _ in range(copies):
        for raw in messages:
            f.write(b"From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n")
            f.write(raw)
            f.write(b"\n")
PY
}

# measure LABEL MESSAGES INPUT: runs `bouncekit classify INPUT > /dev/null`, prints
# messages/second and peak RSS. Uses GNU time when it is there, else python3's resource
# module (ru_maxrss of the child).
measure() {
    local label="$1" messages="$2" input="$3" start end kb secs
    local cmd=("$bin" classify -q "${jobs[@]}" "$input")
    if [[ -n "$time_bin" && -x "$time_bin" ]]; then
        start=$(date +%s.%N)
        "$time_bin" -v -o "$tmp/time.txt" "${cmd[@]}" > /dev/null
        end=$(date +%s.%N)
        kb=$(awk -F': *' '/Maximum resident set size/ {print $2}' "$tmp/time.txt")
        secs=$(awk -v s="$start" -v e="$end" 'BEGIN {printf "%.3f", e - s}')
    else
        read -r secs kb < <(python3 - "${cmd[@]}" <<'PY'
import resource, subprocess, sys, time
start = time.monotonic()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
secs = time.monotonic() - start
print(f"{secs:.3f}", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
        )
    fi
    awk -v l="$label" -v m="$messages" -v s="$secs" -v k="$kb" 'BEGIN {
        printf "%-28s %7d messages  %7.3f s  %8.0f messages/s  peak RSS %6.1f MB\n",
            l, m, s, (s > 0 ? m / s : 0), k / 1024 }'
}

n=$(copies "$files_target")
echo "== preparing $(( n * ${#emls[@]} )) .eml files in $tmp (corpus: ${#emls[@]} files from $corpus)"
make_dir "$tmp/eml" "$n"
dir_messages=$(( n * ${#emls[@]} ))

small=$(copies "$mbox_small")
large=$(copies "$mbox_large")
echo "== preparing mboxes of $(( small * ${#emls[@]} )) and $(( large * ${#emls[@]} )) messages"
make_mbox "$tmp/small.mbox" "$small"
make_mbox "$tmp/large.mbox" "$large"

echo "== measuring on $(nproc) cores"
measure "directory of .eml files" "$dir_messages" "$tmp/eml"
measure "mbox ($(du -h --apparent-size "$tmp/small.mbox" | cut -f1))" "$(( small * ${#emls[@]} ))" "$tmp/small.mbox"
measure "mbox ($(du -h --apparent-size "$tmp/large.mbox" | cut -f1))" "$(( large * ${#emls[@]} ))" "$tmp/large.mbox"

echo "== corpus score"
scorer="$(dirname "$corpus")/score"
expected="$(dirname "$corpus")/expected.jsonl"
if [[ -f "$scorer" && -f "$expected" ]]; then
    "$bin" classify -q "$corpus" > "$tmp/corpus.jsonl"
    python3 "$scorer" "$expected" "$tmp/corpus.jsonl" | tail -n 1
else
    echo "(no score / expected.jsonl next to $corpus; skipped)"
fi
