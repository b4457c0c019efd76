#!/usr/bin/env bash
# bouncekit's cron job: read the bounce mailbox, classify what came back, remember it in the
# store, and keep the event records for `bouncekit report`. Install it with
#
#     crontab -e
#     */15 * * * * flock -n /tmp/bouncekit-bounces.lock /path/to/bounces-cron.sh
#
# (every 15 minutes, as the source documents suggest, and never two runs at once: flock -n
# skips a run while the last one still works). Settings, from the environment or edited here:
#   IMAP_URL       the bounce mailbox, imaps://USER@HOST/MAILBOX
#   IMAP_PASSWORD_FILE  a file holding its password (chmod 600), never the command line
#   OWN_DOMAIN     the domain you send from: its addresses are never taken for a recipient
#   BOUNCEKIT_DB   the store (default ~/.local/share/bouncekit/bouncekit.db)
#   DATA           where the spool and the events are kept
#
# The fetched messages go to a spool file first, which is deleted only once the store has
# taken their events: a run that dies half way loses nothing, the next one finishes the job,
# and anything done twice is harmless (the store ignores events it already has).
set -euo pipefail

IMAP_URL=${IMAP_URL:-imaps://bounces@mail.example.com/INBOX}
IMAP_PASSWORD_FILE=${IMAP_PASSWORD_FILE:-$HOME/.config/bouncekit/imap-password}
OWN_DOMAIN=${OWN_DOMAIN:-example.com}
DATA=${DATA:-$HOME/.local/share/bouncekit}

spool=$DATA/spool
mkdir -p "$spool"
bouncekit -q fetch-bounces --imap "$IMAP_URL" --password-file "$IMAP_PASSWORD_FILE" \
    -o "$spool/$(date -u +%Y%m%dT%H%M%SZ).jsonl"
for batch in "$spool"/*.jsonl; do
    [[ -e "$batch" ]] || continue
    bouncekit -q classify --own-domain "$OWN_DOMAIN" --bounces-only "$batch" \
        | tee -a "$DATA/events.jsonl" \
        | bouncekit -q suppress add
    rm "$batch"
done
