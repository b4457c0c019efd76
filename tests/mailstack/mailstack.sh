#!/usr/bin/env bash
# The test mail stack: a private Postfix delivering over LMTP into a private Dovecot, both bound
# to 127.0.0.1 only, configured and run from one scratch directory. The integration tests start
# it through tests/it/common/mailstack.rs; it is just as usable by hand:
#
#   eval "$(tests/mailstack/mailstack.sh start /tmp/ms)"   # prints MAILSTACK_* assignments
#   openssl s_client -quiet -connect 127.0.0.1:$MAILSTACK_IMAPS_PORT -CAfile $MAILSTACK_CA_FILE
#   tests/mailstack/mailstack.sh stop /tmp/ms
#
# Commands:
#   start DIR [--owner PID]  write the configuration into DIR (created; must not hold a running
#                            stack), start both daemons and print the MAILSTACK_* variables.
#                            With --owner, a watchdog stops the stack once process PID is gone,
#                            so a test run that is killed leaves no daemons behind.
#   stop DIR                 stop the daemons started in DIR (by the PIDs they recorded there).
#   reap PARENT PREFIX       stop and delete every PARENT/PREFIX* stack whose owner is gone (what
#                            a killed run left behind when even its watchdog died).
#   dovecot-kill DIR         kill every Dovecot process of the stack in DIR at once (SIGKILL):
#                            a server crash, for the tests of clients cut off mid-session.
#   dovecot-start DIR        start that Dovecot again, on the same ports, with the same mail.
#
# What the stack does, for the tests of `send`, `fetch-bounces` and `classify`:
# - SMTP on a free port, domain example.test, DSN advertised, STARTTLS offered, and after it
#   AUTH with the users' passwords; the same with implicit TLS on a second port
#   (MAILSTACK_SMTPS_PORT); no DNS, no relaying (other domains are refused at RCPT time); mail
#   for example.test goes to Dovecot. `+` separates an extension (bounces+x=y@example.test is
#   bounces), so VERP return addresses reach their mailbox.
# - IMAP with plain text and implicit TLS (IMAPS), the certificate signed per run by a
#   throw-away CA whose certificate is MAILSTACK_CA_FILE. Users alice, bob, full (a 1 KB
#   quota), bounces and many, with per-run passwords (MAILSTACK_USERS, user:password pairs).
#   MAILSTACK_OTHER_CA_FILE is a second CA that signed nothing here: trusting it alone must
#   make a TLS client refuse the server. Dovecot does not fsync mail (test mail needs no
#   durability), so a test can APPEND thousands of messages in a fraction of a second.
# - Delivery reports are real Postfix ones, sent to the envelope sender: send from
#   bounces@example.test (or bounces@sender.test: sender.test is a second domain of the same
#   mailboxes, so that a test can send from a domain its recipients are not in) and fetch them
#   from its INBOX. At example.test:
#     alice, bob        delivered (a success DSN with NOTIFY=SUCCESS)
#     away              delivered, and answered by a Sieve vacation autoreply (once a day per
#                       sender), sent back through this Postfix
#     full              bounced by Dovecot: 552 5.2.2 Quota exceeded
#     any other name    bounced by Dovecot: 550 5.1.1 User doesn't exist
#     rcpt-full         refused at RCPT time: 452 4.2.2 Mailbox full
#     rcpt-blocked      refused at RCPT time: 550 5.7.1 ... blocked using zen.spamhaus.org
#     rcpt-unknown      refused at RCPT time: 550 5.1.1 User unknown
#     load-N            (N digits) delivered into the mailbox of user many, for volume tests
#     bounce-full       bounced by Postfix: 5.2.2 Mailbox full
#     bounce-blocked    bounced by Postfix: 5.7.1 ... blocked using zen.spamhaus.org
#     delayed           deferred (4.2.2) and retried; a delay DSN at once with NOTIFY=DELAY
#
# Everything is stopped by the PIDs this script started; nothing touches a system-wide instance
# and nothing listens anywhere but on its own loopback ports. Needs root (Postfix's master and
# Dovecot drop privileges themselves) and the Debian packages postfix, dovecot-imapd and
# dovecot-lmtpd. Exit status: 0 ok, 1 failure (the message says why and shows the log tail),
# 2 usage error, 3 the packages or root are missing.
set -euo pipefail

DOMAIN=example.test
SENDER_DOMAIN=sender.test
HOSTNAME_FQDN=mail.$DOMAIN
USERS=(alice bob full bounces many away)
PKG_HINT="install with: apt-get install postfix dovecot-imapd dovecot-lmtpd dovecot-sieve, or run bash .ci/run"
POSTFIX_MASTER=/usr/lib/postfix/sbin/master
# MAILSTACK_DOVECOT names another dovecot binary (the tests of the missing-package message).
DOVECOT=${MAILSTACK_DOVECOT:-/usr/sbin/dovecot}
SELF=$(readlink -f "${BASH_SOURCE[0]}")

die() {
    echo "mailstack: $*" >&2
    exit 1
}

usage() {
    echo "usage: mailstack.sh start DIR [--owner PID] | stop DIR | reap PARENT PREFIX" \
        "| dovecot-kill DIR | dovecot-start DIR" >&2
    exit 2
}

# require_tools: the packages and privileges the stack needs; exit 3 with the fix otherwise.
require_tools() {
    local missing=() f
    for f in /usr/sbin/postfix /usr/sbin/postconf "$POSTFIX_MASTER" "$DOVECOT" \
        /usr/lib/dovecot/imap /usr/lib/dovecot/imap-login /usr/lib/dovecot/lmtp; do
        [[ -x "$f" ]] || missing+=("$f")
    done
    [[ -e /usr/lib/dovecot/modules/lib90_sieve_plugin.so ]] \
        || missing+=(/usr/lib/dovecot/modules/lib90_sieve_plugin.so)
    command -v openssl > /dev/null || missing+=(openssl)
    if (( ${#missing[@]} > 0 )); then
        echo "mailstack: the test mail stack needs Postfix and Dovecot; missing: ${missing[*]}" >&2
        echo "mailstack: $PKG_HINT" >&2
        exit 3
    fi
    if (( EUID != 0 )); then
        echo "mailstack: the test mail stack must run as root (Postfix and Dovecot drop" \
            "privileges to their own users themselves)" >&2
        exit 3
    fi
}

# free_ports N: N distinct TCP ports nothing on this machine listens on or is connected from,
# on one line. Taken below the kernel's ephemeral range, so outgoing connections cannot grab
# one between now and the daemons' bind; a clash with another starter is still possible, and
# then `start` fails saying so (the Rust helper retries with new ports).
free_ports() {
    local -A used=()
    local addr port picked=()
    # Field 2 of /proc/net/tcp is the local address, HEXIP:HEXPORT (the header line has none).
    while read -r _ addr _; do
        [[ "$addr" == *:* ]] && used[$(( 16#${addr##*:} ))]=1
    done < <(cat /proc/net/tcp /proc/net/tcp6 2> /dev/null)
    for _ in $(seq 1000); do
        port=$(( 20000 + RANDOM % 12000 ))
        [[ -n "${used[$port]:-}" ]] && continue
        used[$port]=1
        picked+=("$port")
        (( ${#picked[@]} == $1 )) && { echo "${picked[*]}"; return 0; }
    done
    die "no $1 free TCP ports found in 20000-31999"
}

# check_traversable DIR: Postfix and Dovecot work as unprivileged users (postfix, mail,
# dovenull), so every parent of the scratch directory must be searchable by others.
check_traversable() {
    local d=$1
    while [[ "$d" != / ]]; do
        d=$(dirname "$d")
        if [[ $(( 0$(stat -c %a "$d") & 1 )) -eq 0 ]]; then
            die "$d is not searchable by other users (o+x), so the postfix and mail users" \
                "cannot reach the stack under it; use a directory under /tmp"
        fi
    done
}

# pid_of FILE EXE: the PID recorded in FILE when that process is alive and runs EXE (a reused
# PID of some other program is never signalled).
pid_of() {
    local file=$1 exe=$2 pid
    [[ -r "$file" ]] || return 1
    pid=$(tr -dc '0-9' < "$file")
    [[ -n "$pid" && -d /proc/$pid ]] || return 1
    [[ "$(readlink "/proc/$pid/exe" 2> /dev/null)" == "$exe" ]] || return 1
    echo "$pid"
}

postfix_pid() { pid_of "$1/postfix/data/master.lock" "$POSTFIX_MASTER"; }
dovecot_pid() { pid_of "$1/dovecot/run/master.pid" "$DOVECOT"; }
watchdog_pid() { pid_of "$1/watchdog.pid" "$(readlink -f /bin/bash)"; }

# log_tails DIR: the end of every log of the stack, for error messages.
log_tails() {
    local f
    for f in "$1"/postfix/start.log "$1"/postfix/postfix.log "$1"/dovecot/start.log \
        "$1"/dovecot/dovecot.log; do
        [[ -s "$f" ]] || continue
        echo "--- $f (last 30 lines) ---"
        tail -n 30 "$f"
    done
}

# make_tls DIR: a throw-away CA and a server certificate it signs, valid for localhost and
# 127.0.0.1 (rustls checks only the subjectAltName, and refuses a leaf that is itself a CA).
make_tls() {
    local t=$1/tls
    mkdir -p "$t"
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \
        -subj "/CN=bouncekit mailstack test CA" -keyout "$t/ca.key" -out "$t/ca.pem" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2> "$t/openssl.log"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=localhost" -keyout "$t/server.key" -out "$t/server.csr" 2>> "$t/openssl.log"
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
        "extendedKeyUsage=serverAuth" > "$t/server.ext"
    openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" \
        -CAcreateserial -days 7 -extfile "$t/server.ext" -out "$t/server.pem" \
        2>> "$t/openssl.log"
    # A CA of the same name that signed nothing: a client trusting only it must refuse the
    # server's certificate (the wrong --ca-file).
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \
        -subj "/CN=bouncekit mailstack test CA" -keyout "$t/other-ca.key" \
        -out "$t/other-ca.pem" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>> "$t/openssl.log"
    chmod 644 "$t"/*.pem
    chmod 600 "$t"/*.key
}

# write_postfix DIR SMTP_PORT SMTPS_PORT
write_postfix() {
    local d=$1/postfix port=$2 smtps=$3
    mkdir -p "$d/etc" "$d/queue" "$d/data"
    chown postfix "$d/data"
    cat > "$d/etc/main.cf" << EOF
# Written by tests/mailstack/mailstack.sh for one test run.
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $d/postfix.log
maillog_file_prefixes = $1
syslog_name = mailstack-postfix

myhostname = $HOSTNAME_FQDN
mydomain = $DOMAIN
myorigin = \$mydomain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP bouncekit test stack

# No DNS and no way out: only example.test is accepted, and anything that would leave this
# machine is refused or bounced.
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
relay_domains =
relayhost =
default_transport = error:5.7.1 this test stack relays nowhere
relay_transport = \$default_transport
local_transport = error:5.1.1 this test stack has no local mailboxes
alias_maps =
alias_database =
local_recipient_maps =
biff = no
append_dot_mydomain = no

# Every address of example.test goes to Dovecot; unknown ones are refused by Dovecot after the
# message was accepted, so they come back as real 5.1.1 bounces.
virtual_mailbox_domains = $DOMAIN $SENDER_DOMAIN
virtual_transport = lmtp:unix:$1/dovecot/run/lmtp
smtpd_reject_unlisted_recipient = no
transport_maps = texthash:$d/etc/transport
virtual_alias_maps = regexp:$d/etc/virtual_alias
# bounces+jan=example.org@example.test is bounces@example.test: VERP return addresses arrive.
recipient_delimiter = +

smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access texthash:$d/etc/recipient_access

# Offered, not required: the tests of send use STARTTLS with the per-run CA.
smtpd_tls_security_level = may
# SMTP AUTH with the users' IMAP passwords (Dovecot checks them), offered only after STARTTLS.
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $1/dovecot/run/auth-postfix
smtpd_tls_auth_only = yes
smtpd_tls_cert_file = $1/tls/server.pem
smtpd_tls_key_file = $1/tls/server.key
smtpd_tls_loglevel = 0

# A test waits for its reports: hand them on at once, retry deferred mail every second or
# two, and warn about it (a delay DSN, with NOTIFY=DELAY) after a second.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
delay_warning_time = 1s
EOF
    # Chosen replies at RCPT time: the client sees them synchronously, no bounce is made.
    cat > "$d/etc/recipient_access" << EOF
rcpt-full@$DOMAIN 452 4.2.2 Mailbox full
rcpt-blocked@$DOMAIN 550 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/127.0.0.1
rcpt-unknown@$DOMAIN 550 5.1.1 User unknown
EOF
    # Volume tests of send mail thousands of distinct addresses: one mailbox holds them all
    # (the To header of each message still names its recipient).
    cat > "$d/etc/virtual_alias" << EOF
/^load-[0-9]+@${DOMAIN//./\\.}\$/ many@$DOMAIN
EOF
    # Chosen failures after acceptance: Postfix's error transport makes a real bounce with
    # this status and text.
    cat > "$d/etc/transport" << EOF
bounce-full@$DOMAIN error:5.2.2 Mailbox full
bounce-blocked@$DOMAIN error:5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org
delayed@$DOMAIN retry:4.2.2 Mailbox full, try again later
EOF
    # Our own master.cf: the stock one chroots some services into the queue directory, which
    # would need copies of /etc there; the smtpd listens on the chosen port only.
    cat > "$d/etc/master.cf" << EOF
# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:$port inet n - n - - smtpd
# Implicit TLS (smtps://), for the tests of send's TLS from the first byte.
127.0.0.1:$smtps inet n - n - - smtpd -o smtpd_tls_wrappermode=yes
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
# Dovecot's LMTP does not announce DSN but does deliver into the mailbox: flags=X makes a
# success DSN say "delivered", not "relayed".
lmtp      unix  -       -       n       -       -       lmtp flags=X
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    # `postfix start` sleeps while main.cf is younger than about two seconds, and every daemon
    # that opens a texthash table rereads it until it is a second old (both guard against
    # reading a half-written file): ours are complete, so age them.
    touch -d '-1 minute' "$d"/etc/*
}

# write_dovecot DIR IMAP_PORT IMAPS_PORT SMTP_PORT: config and passwd-file; passwords go to
# DIR/passwords.
write_dovecot() {
    local d=$1/dovecot imap=$2 imaps=$3 smtp=$4 user pw
    mkdir -p "$d/run" "$d/state" "$d/mail"
    # A name of its own: it prefixes the titles of Dovecot's processes, which is how `stop`
    # recognises them (Dovecot clears their environment).
    echo "mailstack-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')" > "$d/instance"
    chown mail:mail "$d/mail"
    : > "$d/passwd"
    : > "$1/passwords"
    for user in "${USERS[@]}"; do
        pw=$(od -An -N9 -tx1 /dev/urandom | tr -d ' \n')
        local extra=""
        # One user whose mailbox is always full: Dovecot refuses mail for it at LMTP time and
        # Postfix bounces with a real 5.2.2.
        [[ "$user" == full ]] && extra="userdb_quota_rule=*:storage=1K"
        echo "$user:{PLAIN}$pw::::::$extra" >> "$d/passwd"
        echo "$user:$pw" >> "$1/passwords"
    done
    # "away" answers every sender once a day, as a vacation autoreply does.
    mkdir -p "$d/mail/away"
    printf '%s\n' 'require ["vacation"];' \
        'vacation :days 1 :subject "Out of office" "I am on holiday until Monday.";' \
        > "$d/mail/away/.dovecot.sieve"
    chown -R mail:mail "$d/mail/away"
    chmod 640 "$d/passwd"
    chown root:dovecot "$d/passwd"
    chmod 600 "$1/passwords"
    cat > "$d/dovecot.conf" << EOF
# Written by tests/mailstack/mailstack.sh for one test run; none of /etc/dovecot is read.
base_dir = $d/run
state_dir = $d/state
instance_name = $(cat "$1/dovecot/instance")
hostname = $HOSTNAME_FQDN
protocols = imap lmtp
listen = 127.0.0.1
log_path = $d/dovecot.log
info_log_path = $d/dovecot.log

# Plain IMAP with a password is fine on loopback; IMAPS is there to test --ca-file.
disable_plaintext_auth = no
auth_mechanisms = plain login
# A test of a wrong password should not wait the default 2 s for its answer.
auth_failure_delay = 0
ssl = yes
ssl_cert = <$1/tls/server.pem
ssl_key = <$1/tls/server.key
ssl_min_protocol = TLSv1.2

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $d/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%n $d/passwd
  default_fields = uid=mail gid=mail home=$d/mail/%n
}
# bounces+jan=example.org@example.test is delivered to bounces (VERP return addresses).
recipient_delimiter = +
# Mail is stored as the mail user (uid 8), below Dovecot's default first_valid_uid.
first_valid_uid = 8
mail_location = maildir:~/Maildir
# Test mail needs no durability; without fsyncs an APPEND of thousands of messages is quick.
mail_fsync = never
mail_plugins = quota
plugin {
  quota = maildir:User quota
}

# Sieve for the vacation autoreply of "away"; its replies go out through this stack's Postfix.
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
}
submission_host = 127.0.0.1:$smtp

protocol lmtp {
  mail_plugins = \$mail_plugins sieve
  # A full mailbox is a permanent 552 5.2.2, so Postfix bounces at once instead of retrying.
  quota_full_tempfail = no
  # Deliver to the user part: the passwd-file knows "alice", LMTP is given alice@example.test.
  auth_username_format = %n
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $imap
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $imaps
    ssl = yes
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
# Nor should it make every later login from 127.0.0.1 wait up to 15 s: no auth penalty.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
# Postfix's SMTP AUTH asks Dovecot (smtpd_sasl_type = dovecot), for the tests of send --user.
service auth {
  unix_listener auth-postfix {
    mode = 0666
  }
}
EOF
}

# wait_listening PORT...: until something listens on each 127.0.0.1 port, for 5 s at most.
# Read from /proc/net/tcp rather than by connecting: a probe connection would make the daemons
# fork a session process for nothing.
wait_listening() {
    local port want
    for port in "$@"; do
        want=$(printf '0100007F:%04X' "$port")
        for _ in $(seq 100); do
            awk -v want="$want" '$2 == want && $4 == "0A" { found = 1 } END { exit !found }' \
                /proc/net/tcp && continue 2
            sleep 0.05
        done
        return 1
    done
}

# alive PID...: those of the PIDs that are still running (zombies do not count: they are only
# waiting for init to reap them).
alive() {
    local pid state
    for pid in "$@"; do
        state=$(sed -n 's/^[0-9]* (.*) \(.\) .*/\1/p' "/proc/$pid/stat" 2> /dev/null) || continue
        [[ -n "$state" && "$state" != Z ]] && echo "$pid"
    done
    return 0
}

# stragglers DIR: the running processes of the stack in DIR. Postfix's carry MAIL_CONFIG in
# their environment; Dovecot clears the environment of its own, but titles them after the
# instance name.
stragglers() {
    local dir=$1 instance=""
    [[ -r "$dir/dovecot/instance" ]] && instance=$(cat "$dir/dovecot/instance")
    # grep exits 2 when processes vanish while it reads /proc: that is no error here.
    {
        grep -lszxF "MAIL_CONFIG=$dir/postfix/etc" /proc/[0-9]*/environ || true
        # The pattern starts with ^, so this grep's own command line does not match it.
        if [[ -n "$instance" ]]; then
            grep -lszE "^dovecot-$instance/" /proc/[0-9]*/cmdline || true
        fi
    } 2> /dev/null | cut -d/ -f3 | sort -u | while read -r pid; do alive "$pid"; done
}

# wait_gone SECONDS PID...: true once none of the PIDs runs, false after SECONDS (a multiple of
# 0.05).
wait_gone() {
    local ticks
    ticks=$(awk -v s="$1" 'BEGIN { print int(s * 20 + 0.5) }')
    shift
    for _ in $(seq "$ticks"); do
        [[ -z "$(alive "$@")" ]] && return 0
        sleep 0.05
    done
    return 1
}

cmd_stop() {
    local dir=$1 masters=() left=() pid
    [[ -d "$dir" ]] || return 0
    if pid=$(watchdog_pid "$dir"); then
        # The watchdog may be the caller (it stops the stack when the owner is gone).
        [[ "$pid" != "$$" && "$pid" != "$PPID" ]] && kill -TERM "$pid" 2> /dev/null || true
    fi
    pid=$(postfix_pid "$dir") && masters+=("$pid")
    pid=$(dovecot_pid "$dir") && masters+=("$pid")
    # The masters take their children down with them, but Dovecot's takes a second and waits
    # up to 5 s for a login process stuck on its (already stopped) stats service: so once the
    # masters know they are stopping, every process of ours is told to stop too.
    if (( ${#masters[@]} > 0 )); then
        kill -TERM "${masters[@]}" 2> /dev/null || true
        wait_gone 0.1 "${masters[@]}" || true
    fi
    mapfile -t left < <(alive "${masters[@]}"; stragglers "$dir")
    (( ${#left[@]} == 0 )) && return 0
    kill -TERM "${left[@]}" 2> /dev/null || true
    wait_gone 5 "${left[@]}" && return 0
    kill -KILL "${left[@]}" 2> /dev/null || true
}

cmd_start() {
    local dir="" owner=""
    while (( $# > 0 )); do
        case "$1" in
            --owner) owner=${2:?--owner needs a PID}; shift 2 ;;
            -*) usage ;;
            *) [[ -z "$dir" ]] || usage; dir=$1; shift ;;
        esac
    done
    [[ -n "$dir" ]] || usage
    require_tools
    mkdir -p "$dir"
    dir=$(readlink -f "$dir")
    if postfix_pid "$dir" > /dev/null || dovecot_pid "$dir" > /dev/null; then
        die "a stack is already running in $dir; stop it first: $SELF stop $dir"
    fi
    rm -rf "${dir:?}"/{postfix,dovecot,tls,passwords,env,owner.pid,watchdog.pid,watchdog.log}
    chmod 755 "$dir"
    check_traversable "$dir"

    local smtp smtps imap imaps
    read -r smtp smtps imap imaps < <(free_ports 4)
    make_tls "$dir"
    write_postfix "$dir" "$smtp" "$smtps"
    write_dovecot "$dir" "$imap" "$imaps" "$smtp"
    [[ -n "$owner" ]] && echo "$owner" > "$dir/owner.pid"

    # Both daemons would inherit our stdout and stderr and keep a reader of this script's output
    # waiting forever; `postfix start` also reports its errors only on a terminal or syslog, so
    # everything goes to files that the error message below shows.
    if ! "$DOVECOT" -c "$dir/dovecot/dovecot.conf" < /dev/null > "$dir/dovecot/start.log" 2>&1
    then
        echo "mailstack: dovecot did not start" >&2
        log_tails "$dir" >&2
        cmd_stop "$dir"
        exit 1
    fi
    if ! /usr/sbin/postfix -c "$dir/postfix/etc" start < /dev/null \
        > "$dir/postfix/start.log" 2>&1; then
        echo "mailstack: postfix did not start" >&2
        log_tails "$dir" >&2
        cmd_stop "$dir"
        exit 1
    fi
    if ! wait_listening "$smtp" "$smtps" "$imap" "$imaps" || [[ ! -S "$dir/dovecot/run/lmtp" ]]; then
        echo "mailstack: the stack did not come up on 127.0.0.1 ports $smtp, $smtps, $imap, $imaps" \
            "(a port taken by someone else?)" >&2
        log_tails "$dir" >&2
        cmd_stop "$dir"
        exit 1
    fi
    if [[ -n "$owner" ]]; then
        # In a session of its own, so a Ctrl-C or a kill of the test's process group does not
        # take the watchdog down with the test.
        setsid bash "$SELF" watch "$dir" "$owner" < /dev/null > "$dir/watchdog.log" 2>&1 &
        # `stop` finds it by the PID it records: be sure it has, before anyone can call `stop`.
        for _ in $(seq 100); do
            [[ -s "$dir/watchdog.pid" ]] && break
            sleep 0.01
        done
    fi

    {
        echo "MAILSTACK_DIR=$dir"
        echo "MAILSTACK_DOMAIN=$DOMAIN"
        echo "MAILSTACK_HOST=127.0.0.1"
        echo "MAILSTACK_SMTP_PORT=$smtp"
        echo "MAILSTACK_SMTPS_PORT=$smtps"
        echo "MAILSTACK_IMAP_PORT=$imap"
        echo "MAILSTACK_IMAPS_PORT=$imaps"
        echo "MAILSTACK_CA_FILE=$dir/tls/ca.pem"
        echo "MAILSTACK_OTHER_CA_FILE=$dir/tls/other-ca.pem"
        echo "MAILSTACK_USERS='$(tr '\n' ' ' < "$dir/passwords" | sed 's/ $//')'"
        echo "MAILSTACK_POSTFIX_LOG=$dir/postfix/postfix.log"
        echo "MAILSTACK_DOVECOT_LOG=$dir/dovecot/dovecot.log"
    } | tee "$dir/env"
}

# watch DIR OWNER: the watchdog; stops the stack once OWNER has exited.
cmd_watch() {
    local dir=$1 owner=$2
    echo "$$" > "$dir/watchdog.pid"
    while kill -0 "$owner" 2> /dev/null; do
        sleep 0.5
    done
    cmd_stop "$dir"
}

cmd_reap() {
    local parent=$1 prefix=$2 d owner
    for d in "$parent/$prefix"*; do
        [[ -d "$d" && -r "$d/owner.pid" ]] || continue
        owner=$(tr -dc '0-9' < "$d/owner.pid")
        [[ -n "$owner" ]] && kill -0 "$owner" 2> /dev/null && continue
        cmd_stop "$d"
        rm -rf "$d"
    done
}

# dovecot_pids DIR: the running Dovecot processes of the stack in DIR (master and children).
dovecot_pids() {
    local dir=$1 instance
    instance=$(cat "$dir/dovecot/instance")
    {
        dovecot_pid "$dir" || true
        grep -lszE "^dovecot-$instance/" /proc/[0-9]*/cmdline 2> /dev/null | cut -d/ -f3 || true
    } | sort -u | while read -r pid; do alive "$pid"; done
}

cmd_dovecot_kill() {
    local dir=$1 pids=()
    [[ -r "$dir/dovecot/instance" ]] || die "no stack in $dir"
    mapfile -t pids < <(dovecot_pids "$dir")
    (( ${#pids[@]} > 0 )) || die "Dovecot is not running in $dir"
    kill -KILL "${pids[@]}" 2> /dev/null || true
    # Until every one is gone (and reaped: Dovecot refuses to start while its old master's
    # PID is still a zombie).
    wait_gone 5 "${pids[@]}" || die "Dovecot processes survived SIGKILL: ${pids[*]}"
    for _ in $(seq 100); do
        [[ -d /proc/$(tr -dc '0-9' < "$dir/dovecot/run/master.pid" 2> /dev/null || echo x) ]] \
            || return 0
        sleep 0.05
    done
    die "the old Dovecot master was not reaped"
}

cmd_dovecot_start() {
    local dir=$1 imap imaps
    [[ -r "$dir/env" ]] || die "no stack in $dir"
    dovecot_pid "$dir" > /dev/null && die "Dovecot is already running in $dir"
    imap=$(sed -n 's/^MAILSTACK_IMAP_PORT=//p' "$dir/env")
    imaps=$(sed -n 's/^MAILSTACK_IMAPS_PORT=//p' "$dir/env")
    if ! "$DOVECOT" -c "$dir/dovecot/dovecot.conf" < /dev/null >> "$dir/dovecot/start.log" 2>&1
    then
        echo "mailstack: dovecot did not start again" >&2
        log_tails "$dir" >&2
        exit 1
    fi
    if ! wait_listening "$imap" "$imaps"; then
        echo "mailstack: the restarted Dovecot does not listen on $imap, $imaps" >&2
        log_tails "$dir" >&2
        exit 1
    fi
}

case "${1:-}" in
    start) shift; cmd_start "$@" ;;
    stop) (( $# == 2 )) || usage; cmd_stop "$(readlink -f "$2")" ;;
    watch) (( $# == 3 )) || usage; cmd_watch "$2" "$3" ;;
    reap) (( $# == 3 )) || usage; cmd_reap "$2" "$3" ;;
    dovecot-kill) (( $# == 2 )) || usage; cmd_dovecot_kill "$(readlink -f "$2")" ;;
    dovecot-start) (( $# == 2 )) || usage; cmd_dovecot_start "$(readlink -f "$2")" ;;
    *) usage ;;
esac
