#!/usr/bin/env bash
# Benchmark for `bouncekit validate`: a list checked against a local DNS server, and a larger
# one checked for syntax only.
#
#     bash benches/validate.sh
#
# Settings (environment variables):
#   DNS_ROWS=100000      rows of the list checked with DNS
#   DOMAINS=2000         distinct domains among them (served by a private dnsmasq on
#                        127.0.0.1: most with an MX host of their own, some with only an A
#                        record, some Null MX, some with no such domain)
#   SYNTAX_ROWS=1000000  rows of the list checked with --no-dns
#   RUNS=3               runs of each, to see past the noise of a shared machine
#   KEEP_TMP=1           keep the temporary folder (its path is printed)
#   TIME_BIN=/usr/bin/time  GNU time, for peak RSS; else python3's resource module
#
# Targets (issue "validate"): 100,000 addresses over 2,000 domains under 10 s; syntax only at
# least 1,000,000 addresses/second. Needs dnsmasq (`apt-get install dnsmasq-base`).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dns_rows="${DNS_ROWS:-100000}"
domains="${DOMAINS:-2000}"
syntax_rows="${SYNTAX_ROWS:-1000000}"
runs="${RUNS:-3}"
time_bin="${TIME_BIN-/usr/bin/time}"

die() { echo "validate.sh: $*" >&2; exit 1; }
command -v python3 >/dev/null || die "python3 is needed (to write the inputs and measure memory)"
dnsmasq="$(command -v dnsmasq || true)"
[[ -z "$dnsmasq" && -x /usr/sbin/dnsmasq ]] && dnsmasq=/usr/sbin/dnsmasq
[[ -n "$dnsmasq" ]] || die "dnsmasq is needed: apt-get install dnsmasq-base"

echo "== building the release binary"
(cd "$root" && cargo build --release --locked)
bin="$root/target/release/bouncekit"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/bouncekit-bench-validate.XXXXXX")"
dns_pid=""
cleanup() {
    if [[ -n "$dns_pid" ]]; then kill "$dns_pid" 2>/dev/null || true; wait "$dns_pid" 2>/dev/null || true; fi
    if [[ "${KEEP_TMP:-0}" == 1 ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

echo "== writing $dns_rows rows over $domains domains, $syntax_rows rows for syntax only, in $tmp"
python3 - "$tmp" "$dns_rows" "$domains" "$syntax_rows" <<'PY'
import socket, sys
tmp, rows, domains, syntax_rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
# A free port for dnsmasq (UDP and TCP), chosen here.
for _ in range(50):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    t = socket.socket(); 
    try:
        t.bind(("127.0.0.1", port)); break
    except OSError:
        pass
    finally:
        t.close(); u.close()
open(f"{tmp}/port", "w").write(str(port))
# Domain i: mostly an MX host of its own (every 10th shares one of 20 provider hosts); every
# 20th has only an A record, every 50th a Null MX, every 40th does not exist.
def kind(i):
    if i % 40 == 39: return "nx"
    if i % 50 == 49: return "nullmx"
    if i % 20 == 19: return "a"
    return "mx"
with open(f"{tmp}/dnsmasq.conf", "w") as f:
    f.write(f"port={port}\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\n"
            "local=/test/\ncache-size=10000\n")
    for p in range(20):
        f.write(f"host-record=mx{p}.provider.test,192.0.2.{p + 1}\n")
    for i in range(domains):
        d = f"domain{i}.test"
        k = kind(i)
        if k == "mx":
            if i % 10 == 0:
                f.write(f"mx-host={d},mx{i % 20}.provider.test,10\n")
            else:
                f.write(f"mx-host={d},mail.{d},10\nhost-record=mail.{d},198.51.100.{i % 250 + 1}\n")
        elif k == "a":
            f.write(f"host-record={d},203.0.113.{i % 250 + 1}\n")
        elif k == "nullmx":
            f.write(f"dns-rr={d},15,000000\n")
first = ["Jan", "Anna", "Piotr", "Marie", "Ola", "Lars", "Eva", "Tomas"]
cities = ["Praha", "Oslo", "Warszawa", "Brno", "Bergen", "Krakow"]
def write_list(path, n, domain_of):
    with open(path, "w") as out:
        out.write("email,first_name,last_name,city\n")
        buf = []
        for i in range(n):
            if i % 97 == 0:
                addr = f"user{i}.name@@{domain_of(i)}"          # syntax
            elif i % 89 == 0:
                addr = f"postmaster@{domain_of(i)}"             # role
            else:
                addr = f"user{i}.name@{domain_of(i)}"
            buf.append(f"{addr},{first[i % 8]},Surname{i % 977},{cities[i % 6]}\n")
            if len(buf) >= 100000:
                out.write("".join(buf)); buf = []
        out.write("".join(buf))
write_list(f"{tmp}/dns.csv", rows, lambda i: f"domain{(i * 7919) % domains}.test")
# Syntax only: the same shapes over real-looking provider and company domains.
names = ["gmail.com", "wp.pl", "seznam.cz", "online.no", "gmial.com", "firma.example"] + \
        [f"company{j}.example" for j in range(2000)]
write_list(f"{tmp}/syntax.csv", syntax_rows, lambda i: names[(i * 31) % len(names)])
PY
port="$(cat "$tmp/port")"
ls -la "$tmp"

"$dnsmasq" --keep-in-foreground --conf-file="$tmp/dnsmasq.conf" 2> "$tmp/dnsmasq.log" &
dns_pid=$!
for _ in $(seq 50); do
    python3 - "$port" <<'PY' && break
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.1)
q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05ready\x04test\x00\x00\x01\x00\x01"
s.sendto(q, ("127.0.0.1", int(sys.argv[1])))
try:
    s.recv(512); sys.exit(0)
except OSError:
    sys.exit(1)
PY
    sleep 0.1
done
kill -0 "$dns_pid" 2>/dev/null || { cat "$tmp/dnsmasq.log"; die "dnsmasq did not start"; }

# measure NAME CMD...: prints seconds and peak RSS of CMD (stdout to $tmp/out).
measure() {
    local name="$1"; shift
    if [[ -n "$time_bin" && -x "$time_bin" ]]; then
        "$time_bin" -f "%e %M" -o "$tmp/time" "$@" > "$tmp/out" 2> "$tmp/err" || { cat "$tmp/err"; die "$name failed"; }
        read -r secs kb < "$tmp/time"
    else
        python3 - "$tmp/time" "$@" <<'PY' > "$tmp/out" 2> "$tmp/err" || { cat "$tmp/err"; die "$name failed"; }
import resource, subprocess, sys, time
start = time.monotonic()
code = subprocess.call(sys.argv[2:])
secs = time.monotonic() - start
kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
open(sys.argv[1], "w").write(f"{secs:.2f} {kb}\n")
sys.exit(code)
PY
        read -r secs kb < "$tmp/time"
    fi
}

report() {
    local name="$1" rows="$2"
    python3 -c "import sys; r, s, kb = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]); \
print(f'{sys.argv[4]:<34} {s:7.2f} s  {r / max(s, 0.001):>12,.0f} addresses/s  peak {kb / 1024:6.1f} MB')" \
        "$rows" "$secs" "$kb" "$name"
}

echo "== validate with DNS: $dns_rows rows, $domains domains, dnsmasq on 127.0.0.1:$port"
for run in $(seq "$runs"); do
    measure "dns" "$bin" validate --nameserver "127.0.0.1:$port" "$tmp/dns.csv"
    report "dns (run $run)" "$dns_rows"
done
tail -n 1 "$tmp/err"
awk -F, 'NR > 1 { n[$5 "/" $6]++ } END { for (k in n) printf "   %-28s %d\n", k, n[k] }' "$tmp/out" | sort

echo "== validate --no-dns: $syntax_rows rows"
for run in $(seq "$runs"); do
    measure "syntax" "$bin" validate --no-dns "$tmp/syntax.csv"
    report "syntax only (run $run)" "$syntax_rows"
done
tail -n 1 "$tmp/err"
for run in $(seq "$runs"); do
    measure "syntax, --only-valid" "$bin" validate --no-dns --only-valid "$tmp/syntax.csv"
    report "syntax only, --only-valid (run $run)" "$syntax_rows"
done
