#!/usr/bin/env bash
# Benchmark for `bouncekit fetch-bounces`: messages/second from the test Dovecot on loopback,
# side by side with mbsync (isync) syncing the same mailbox into a Maildir and with one bare
# `UID FETCH 1:* (BODY.PEEK[])` in Python's imaplib, each over plain IMAP and over TLS.
#
#     bash benches/fetch.sh          (as root: it runs the test mail stack)
#
# It builds the release binary, starts the test mail stack (tests/mailstack/mailstack.sh) in a
# temporary folder, appends MESSAGES messages of about SIZE bytes to a mailbox of the
# `bounces` user, and times, ROUNDS times each, in turn (so load on the machine hits all
# alike), reporting the best round of each:
#   fetch-bounces   the whole command, writing its JSONL to a file, from a fresh state
#                   (plain: imap:// --allow-plaintext-auth --no-starttls; TLS: imaps://)
#   mbsync          a pull of the mailbox into a fresh Maildir (SSLType None / IMAPS)
#   imaplib         the UID FETCH call alone (not Python's start-up nor the login)
#
# Settings (environment variables): MESSAGES=10000, SIZE=3000, ROUNDS=3, KEEP_TMP=1 (keep the
# temporary folder). mbsync comes from the Debian package isync; when it is missing the script
# installs it with apt-get (as root), or says how.
#
# Targets (issue "fetch-bounces"): fetch-bounces at least 5x mbsync's messages/second, and at
# least half of imaplib's, plain and TLS.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
messages="${MESSAGES:-10000}"
size="${SIZE:-3000}"
rounds="${ROUNDS:-3}"

die() { echo "fetch.sh: $*" >&2; exit 1; }
command -v python3 > /dev/null || die "python3 is needed (to fill the mailbox and for imaplib)"
(( EUID == 0 )) || die "run as root: the test mail stack needs it (see tests/mailstack/mailstack.sh)"
if ! command -v mbsync > /dev/null; then
    command -v apt-get > /dev/null || die "mbsync is missing: install the package isync"
    echo "== installing isync (mbsync)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends isync \
        > /dev/null || die "cannot install isync: apt-get update && apt-get install isync"
fi

echo "== building the release binary"
(cd "$root" && cargo build --release --locked)
bin="$root/target/release/bouncekit"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/bouncekit-bench-fetch.XXXXXX")"
chmod 755 "$tmp"
stack="$tmp/stack"
cleanup() {
    bash "$root/tests/mailstack/mailstack.sh" stop "$stack" || true
    if [[ "${KEEP_TMP:-0}" == 1 ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

echo "== starting the test mail stack in $stack"
eval "$(bash "$root/tests/mailstack/mailstack.sh" start "$stack" --owner $$)"
password=$(tr ' ' '\n' <<< "$MAILSTACK_USERS" | sed -n 's/^bounces://p')
export BENCH_PW="$password"
mailbox=bench

echo "== appending $messages messages of about $size bytes to $mailbox"
python3 - "$MAILSTACK_IMAP_PORT" "$password" "$mailbox" "$messages" "$size" << 'PY'
import socket, sys
port, pw, mailbox, count, size = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")
def until(tag):
    while True:
        line = f.readline()
        if not line:
            sys.exit("the server closed the connection")
        if line.startswith(tag + b" "):
            if b" OK" not in line[:len(tag) + 4]:
                sys.exit(line.decode(errors="replace"))
            return
until(b"*")
s.sendall(f'l LOGIN bounces "{pw}"\r\nc CREATE "{mailbox}"\r\n'.encode())
until(b"l"); until(b"c")
def message(i):
    text = ("From: MAILER-DAEMON@mail.example.test (Mail Delivery System)\r\n"
            "To: bounces@example.test\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            f"Message-ID: <bench-{i}@mail.example.test>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
            f"<user{i}@example.org>: host mx.example.org said: 550 5.1.1 User unknown\r\n\r\n")
    n = 0
    while len(text) < size - 70:
        text += f"Line {n:04} of the returned message, quoted back to the sender.\r\n"
        n += 1
    return text.encode()
tag = 0
for start in range(0, count, 500):
    tag += 1
    parts = [f'a{tag} APPEND "{mailbox}"'.encode()]
    for i in range(start, min(count, start + 500)):
        m = message(i)
        parts.append(b" {%d+}\r\n" % len(m) + m)
    s.sendall(b"".join(parts) + b"\r\n")
    until(b"a%d" % tag)
s.sendall(b"z LOGOUT\r\n")
PY

# now: seconds since the epoch, with microseconds.
now() { echo "$EPOCHREALTIME"; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }

run_fetch() { # plain|tls -> seconds
    local mode=$1 t0 t1 url extra=()
    rm -f "$tmp/state.json" "$tmp/out.jsonl"
    if [[ $mode == plain ]]; then
        url="imap://bounces@127.0.0.1:$MAILSTACK_IMAP_PORT/$mailbox"
        extra=(--allow-plaintext-auth --no-starttls)
    else
        url="imaps://bounces@127.0.0.1:$MAILSTACK_IMAPS_PORT/$mailbox"
        extra=(--ca-file "$MAILSTACK_CA_FILE")
    fi
    t0=$(now)
    "$bin" -q fetch-bounces --imap "$url" "${extra[@]}" --password-env BENCH_PW \
        --state "$tmp/state.json" -o "$tmp/out.jsonl"
    t1=$(now)
    local got
    got=$(wc -l < "$tmp/out.jsonl")
    (( got == messages )) || die "fetch-bounces wrote $got records, not $messages"
    elapsed "$t0" "$t1"
}

run_mbsync() { # plain|tls -> seconds
    local mode=$1 t0 t1 ssl port
    # A blank line ends a section of mbsyncrc, so the CA line is a comment when unused. The
    # host is localhost: mbsync matches the certificate's DNS names only, not its IP address.
    local cert="# no CA file"
    rm -rf "$tmp/maildir" "$tmp/mbsync-state"
    mkdir -p "$tmp/maildir" "$tmp/mbsync-state"
    if [[ $mode == plain ]]; then
        ssl=None; port=$MAILSTACK_IMAP_PORT
    else
        ssl=IMAPS; port=$MAILSTACK_IMAPS_PORT; cert="CertificateFile $MAILSTACK_CA_FILE"
    fi
    cat > "$tmp/mbsyncrc" << EOF
IMAPAccount bench
Host localhost
Port $port
User bounces
Pass $password
SSLType $ssl
$cert
AuthMechs LOGIN

IMAPStore remote
Account bench

MaildirStore local
Path $tmp/maildir/
Inbox $tmp/maildir/INBOX

Channel bench
Far :remote:$mailbox
Near :local:$mailbox
Create Near
Sync Pull
SyncState $tmp/mbsync-state/
EOF
    t0=$(now)
    mbsync -q -c "$tmp/mbsyncrc" bench 2> "$tmp/mbsync.log" || die "mbsync failed: $(cat "$tmp/mbsync.log")"
    t1=$(now)
    local got
    got=$(find "$tmp/maildir/$mailbox" -type f -path '*/new/*' -o -type f -path '*/cur/*' | wc -l)
    (( got == messages )) || die "mbsync wrote $got messages, not $messages"
    elapsed "$t0" "$t1"
}

run_imaplib() { # plain|tls -> seconds of the UID FETCH alone
    python3 - "$1" "$MAILSTACK_IMAP_PORT" "$MAILSTACK_IMAPS_PORT" "$MAILSTACK_CA_FILE" \
        "$password" "$mailbox" "$messages" << 'PY'
import imaplib, ssl, sys, time
mode, plain_port, tls_port, ca, pw, mailbox, want = sys.argv[1:8]
if mode == "plain":
    M = imaplib.IMAP4("127.0.0.1", int(plain_port))
else:
    M = imaplib.IMAP4_SSL("127.0.0.1", int(tls_port), ssl_context=ssl.create_default_context(cafile=ca))
M.login("bounces", pw)
M.select(mailbox, readonly=True)
t0 = time.perf_counter()
typ, data = M.uid("FETCH", "1:*", "(BODY.PEEK[])")
t1 = time.perf_counter()
got = sum(1 for d in data if isinstance(d, tuple))
if typ != "OK" or got != int(want):
    sys.exit(f"imaplib fetched {got} messages ({typ})")
M.logout()
print(f"{t1 - t0:.3f}")
PY
}

best() { sort -n | head -1; }
rate() { python3 -c "import sys; print(f'{int(sys.argv[1]) / float(sys.argv[2]):,.0f}')" "$messages" "$1"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[2]) / float(sys.argv[1]):.2f}')" "$1" "$2"; }

echo "== warming up (one untimed run of each)"
for mode in plain tls; do
    run_fetch "$mode" > /dev/null; run_mbsync "$mode" > /dev/null; run_imaplib "$mode" > /dev/null
done

declare -A times
echo "== $rounds rounds, each tool in turn"
for r in $(seq "$rounds"); do
    for mode in plain tls; do
        for tool in fetch mbsync imaplib; do
            t=$("run_$tool" "$mode")
            times[$tool-$mode]+="$t "
            printf '   round %d %-5s %-8s %ss\n' "$r" "$mode" "$tool" "$t"
        done
    done
done

echo
echo "== best of $rounds, $messages messages of about $size bytes ($(du -sh "$tmp/out.jsonl" | cut -f1) of JSONL)"
printf '%-6s %-32s %9s %14s\n' mode tool seconds messages/s
status=0
for mode in plain tls; do
    f=$(tr ' ' '\n' <<< "${times[fetch-$mode]}" | grep . | best)
    m=$(tr ' ' '\n' <<< "${times[mbsync-$mode]}" | grep . | best)
    i=$(tr ' ' '\n' <<< "${times[imaplib-$mode]}" | grep . | best)
    printf '%-6s %-32s %9s %14s\n' "$mode" "fetch-bounces (whole command)" "$f" "$(rate "$f")"
    printf '%-6s %-32s %9s %14s\n' "$mode" "mbsync into a Maildir" "$m" "$(rate "$m")"
    printf '%-6s %-32s %9s %14s\n' "$mode" "imaplib UID FETCH (call only)" "$i" "$(rate "$i")"
    vs_mbsync=$(ratio "$f" "$m")
    vs_imaplib=$(ratio "$f" "$i")
    echo "       fetch-bounces: ${vs_mbsync}x mbsync (target >= 5), ${vs_imaplib}x imaplib (target >= 0.5)"
    python3 -c "import sys; sys.exit(not (float(sys.argv[1]) >= 5 and float(sys.argv[2]) >= 0.5))" \
        "$vs_mbsync" "$vs_imaplib" || status=1
done
(( status == 0 )) && echo "targets met" || echo "targets NOT met"
exit "$status"
