# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_bouncekit_global_optspecs
    string join \n q/quiet h/help V/version
end

function __fish_bouncekit_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_bouncekit_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_bouncekit_using_subcommand
    set -l cmd (__fish_bouncekit_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c bouncekit -n "__fish_bouncekit_needs_command" -s q -l quiet -d 'Silence progress bars and the summary on stderr (errors are still printed)'
complete -c bouncekit -n "__fish_bouncekit_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bouncekit -n "__fish_bouncekit_needs_command" -s V -l version -d 'Print version'
complete -c bouncekit -n "__fish_bouncekit_needs_command" -f -a "fetch-bounces" -d 'Fetch returned mail from an IMAP mailbox as message records, incrementally'
complete -c bouncekit -n "__fish_bouncekit_needs_command" -f -a "classify" -d 'Read returned mail and write one event record per (message, recipient)'
complete -c bouncekit -n "__fish_bouncekit_needs_command" -f -a "suppress" -d 'Keep the recipient store and clean lists against it'
complete -c bouncekit -n "__fish_bouncekit_needs_command" -f -a "report" -d 'Turn send logs and events into per-campaign figures, charts and alerts'
complete -c bouncekit -n "__fish_bouncekit_needs_command" -f -a "send" -d 'Mail a template to a recipient list, with delivery reports, exactly once'
complete -c bouncekit -n "__fish_bouncekit_needs_command" -f -a "validate" -d 'Check a list\'s addresses before the first mailing: syntax, DNS, disposable, role, typos'
complete -c bouncekit -n "__fish_bouncekit_needs_command" -f -a "generate" -d 'Write the man pages and shell completions (for packagers and the repository)'
complete -c bouncekit -n "__fish_bouncekit_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -l imap -d 'The mailbox: imaps://USER@HOST[:PORT]/MAILBOX (TLS), or imap://... (STARTTLS). The user may be percent-encoded (bounces%40example.com); the mailbox defaults to INBOX' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -l user -d 'The user to log in as, when it is not in the URL (handy when it is itself an address)' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -l password-env -d 'Read the password from this environment variable' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -l password-file -d 'Read the password from this file (its first line)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -l ca-file -d 'Trust only the CA certificates in this PEM file (a private CA) instead of the system\'s' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -l db -d 'The store that remembers the positions (SQLite file)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -l state -d 'Remember the positions in this JSON file instead of the store (--db and $BOUNCEKIT_DB are then not used)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -l since -d 'Only messages that arrived on or after DATE (YYYY-MM-DD, the server\'s INTERNALDATE). Older ones below the newest message written are behind the position afterwards: later runs do not read them either' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -l limit -d 'At most N messages this run (the oldest new ones); the next run goes on from there' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -l max-size -d 'Largest message to fetch, in bytes (suffixes K, M, G); a larger one is not read: it gets a record with an `error` field and is left untouched on the server' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -l move-to -d 'Move the messages written to FOLDER (which must exist): MOVE when the server offers it, else COPY, \\Deleted and UID EXPUNGE' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -s o -l output -d 'Write the records to FILE instead of stdout. FILE is emptied only once the mailbox is being read: a run that fails before (wrong password, server down) leaves it as it was' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -l maildir -d 'Also store each message as a file in this Maildir (created if missing)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -l watch -d 'Keep polling: fetch, sleep INTERVAL (e.g. 900, 90s, 15m, 1h), again. SIGINT or SIGTERM stops it once the current batch is written and remembered' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -l batch -d 'Messages fetched, written and remembered together (a batch is also cut at 64 MiB). A run killed mid-batch fetches that batch again next time' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -l timeout -d 'Seconds to wait for the server to connect or answer before giving up' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -l allow-plaintext-auth -d 'With imap://, log in even when the server offers no STARTTLS: the password then crosses the network in clear. Only for a trusted network'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -l no-starttls -d 'With imap:// and --allow-plaintext-auth, do not use STARTTLS even when offered (a server on this machine)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -l all -d 'Read the whole mailbox, ignoring the remembered position (which still never moves back)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -l mark-seen -d 'Set \\Seen on the messages written'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -l delete -d 'Delete the messages written from the server (\\Deleted and UID EXPUNGE)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -l no-output -d 'Write no records (with --maildir: the Maildir is the only output)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -s q -l quiet -d 'Silence progress bars and the summary on stderr (errors are still printed)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -s h -l help -d 'Print help'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand fetch-bounces" -s V -l version -d 'Print version'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand classify" -l format -d 'Output format' -r -f -a "jsonl\t'One JSON object per line'
csv\t'Comma-separated values with a header row'"
complete -c bouncekit -n "__fish_bouncekit_using_subcommand classify" -s o -l output -d 'Write the records to FILE instead of stdout' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand classify" -l verp -d 'VERP return address used when sending (e.g. bounces@example.com): an address like bounces+jan=example.org@example.com in To, Delivered-To or X-Original-To names the recipient when the report itself does not. Repeatable' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand classify" -l own-domain -d 'A domain of your own: its addresses are never reported as the failed recipient. Repeatable. Name only domains you send from; a public domain here breaks recognition' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand classify" -l own-address -d 'An address of your own, never reported as the failed recipient. Repeatable' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand classify" -l max-size -d 'Largest message to read, in bytes (suffixes K, M, G); larger ones get an error record' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand classify" -s j -l threads -d 'Worker threads (default: one per core)' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand classify" -l bounces-only -d 'Leave out the records of ordinary mail (kind not_bounce)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand classify" -l strict -d 'Exit 1 at the end if any message could not be read (records with `error`)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand classify" -s q -l quiet -d 'Silence progress bars and the summary on stderr (errors are still printed)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand classify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand classify" -s V -l version -d 'Print version'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and not __fish_seen_subcommand_from add filter import export show block unblock inactive activate delete config help" -l db -d 'The store (SQLite file)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and not __fish_seen_subcommand_from add filter import export show block unblock inactive activate delete config help" -s q -l quiet -d 'Silence progress bars and the summary on stderr (errors are still printed)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and not __fish_seen_subcommand_from add filter import export show block unblock inactive activate delete config help" -s h -l help -d 'Print help'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and not __fish_seen_subcommand_from add filter import export show block unblock inactive activate delete config help" -s V -l version -d 'Print version'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and not __fish_seen_subcommand_from add filter import export show block unblock inactive activate delete config help" -f -a "add" -d 'Ingest event records (from classify) and failed send-log records (from send)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and not __fish_seen_subcommand_from add filter import export show block unblock inactive activate delete config help" -f -a "filter" -d 'Write the sendable rows of a recipient list; drop the rest'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and not __fish_seen_subcommand_from add filter import export show block unblock inactive activate delete config help" -f -a "import" -d 'Import an external list (a CRM\'s unsubscribes, an ESP\'s suppression export)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and not __fish_seen_subcommand_from add filter import export show block unblock inactive activate delete config help" -f -a "export" -d 'Write the recipients and their states'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and not __fish_seen_subcommand_from add filter import export show block unblock inactive activate delete config help" -f -a "show" -d 'Show addresses\' states and their full event history'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and not __fish_seen_subcommand_from add filter import export show block unblock inactive activate delete config help" -f -a "block" -d 'Mark addresses as bounced by hand'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and not __fish_seen_subcommand_from add filter import export show block unblock inactive activate delete config help" -f -a "unblock" -d 'Clear a bounce mark (back to unknown); refuses unsubscribed and complained unless --force'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and not __fish_seen_subcommand_from add filter import export show block unblock inactive activate delete config help" -f -a "inactive" -d 'Mark addresses inactive: kept, never mailed (a former employee, say)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and not __fish_seen_subcommand_from add filter import export show block unblock inactive activate delete config help" -f -a "activate" -d 'Mark addresses active again by hand'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and not __fish_seen_subcommand_from add filter import export show block unblock inactive activate delete config help" -f -a "delete" -d 'Delete addresses and their history; unsubscribed and complained ones leave a tombstone'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and not __fish_seen_subcommand_from add filter import export show block unblock inactive activate delete config help" -f -a "config" -d 'Show or set the options kept in the store (soft-limit, soft-window)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and not __fish_seen_subcommand_from add filter import export show block unblock inactive activate delete config help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from add" -l soft-limit -d 'Consecutive soft bounces that make an address bounced [default: 5, or the store\'s soft-limit setting]' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from add" -l soft-window -d 'Forget a soft-bounce streak whose first bounce is more than DAYS older than the new one [default: never, or the store\'s soft-window setting]' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from add" -l format -d 'Format of the --changes records' -r -f -a "jsonl\t'One JSON object per line'
csv\t'Comma-separated values with a header row'"
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from add" -s o -l output -d 'Write the --changes records to FILE instead of stdout' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from add" -l db -d 'The store (SQLite file)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from add" -l changes -d 'Write one record per state change to stdout (email, from, to, reason, time, event, source)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from add" -l strict -d 'Exit 1 at the end if any record could not be read'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Silence progress bars and the summary on stderr (errors are still printed)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from filter" -s o -l output -d 'Write the sendable rows to FILE instead of stdout' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from filter" -l rejected -d 'Write the dropped rows to FILE, with `state` and `reason` added' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from filter" -l column -d 'The address column, when it is not found by name (email, e-mail, mail, address, ...)' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from filter" -l db -d 'The store (SQLite file)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from filter" -l keep-duplicates -d 'Keep every row of an address that appears more than once (default: the first only)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from filter" -l keep-invalid -d 'Keep rows whose address is not a valid address'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from filter" -s q -l quiet -d 'Silence progress bars and the summary on stderr (errors are still printed)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from filter" -s h -l help -d 'Print help'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from filter" -s V -l version -d 'Print version'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from import" -l state -d 'The state every listed address gets (unsubscribed and complained are never weakened)' -r -f -a "unsubscribed\t''
bounced\t''
complained\t''
inactive\t''"
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from import" -l reason -d 'Why, as the store will show it [default: "imported from FILE"]' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from import" -l column -d 'The address column, when it is not found by name' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from import" -l db -d 'The store (SQLite file)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from import" -s q -l quiet -d 'Silence progress bars and the summary on stderr (errors are still printed)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from import" -s V -l version -d 'Print version'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from export" -l state -d 'Only recipients in this state (repeatable; default: all)' -r -f -a "unknown\t''
active\t''
soft_bouncing\t''
bounced\t''
unsubscribed\t''
complained\t''
inactive\t''"
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from export" -l format -d 'Output format (CSV cells that look like formulas are neutralised for spreadsheets, and `suppress import` reads them back as they were)' -r -f -a "jsonl\t'One JSON object per line'
csv\t'Comma-separated values with a header row'"
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from export" -s o -l output -d 'Write to FILE instead of stdout' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from export" -l db -d 'The store (SQLite file)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from export" -s q -l quiet -d 'Silence progress bars and the summary on stderr (errors are still printed)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from export" -s V -l version -d 'Print version'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from show" -l format -d 'Output format' -r -f -a "text\t'Readable text'
jsonl\t'One JSON object per address, its events in `events`'"
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from show" -l db -d 'The store (SQLite file)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Silence progress bars and the summary on stderr (errors are still printed)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from block" -l reason -d 'Why, as the store will show it' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from block" -l db -d 'The store (SQLite file)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from block" -l force -d 'Override a recipient\'s own choice (unsubscribed, complained)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from block" -s q -l quiet -d 'Silence progress bars and the summary on stderr (errors are still printed)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from block" -s h -l help -d 'Print help'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from block" -s V -l version -d 'Print version'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from unblock" -l reason -d 'Why, as the store will show it' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from unblock" -l db -d 'The store (SQLite file)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from unblock" -l force -d 'Override a recipient\'s own choice (unsubscribed, complained)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from unblock" -s q -l quiet -d 'Silence progress bars and the summary on stderr (errors are still printed)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from unblock" -s h -l help -d 'Print help'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from unblock" -s V -l version -d 'Print version'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from inactive" -l reason -d 'Why, as the store will show it' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from inactive" -l db -d 'The store (SQLite file)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from inactive" -l force -d 'Override a recipient\'s own choice (unsubscribed, complained)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from inactive" -s q -l quiet -d 'Silence progress bars and the summary on stderr (errors are still printed)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from inactive" -s h -l help -d 'Print help'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from inactive" -s V -l version -d 'Print version'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from activate" -l reason -d 'Why, as the store will show it' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from activate" -l db -d 'The store (SQLite file)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from activate" -l force -d 'Override a recipient\'s own choice (unsubscribed, complained)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from activate" -s q -l quiet -d 'Silence progress bars and the summary on stderr (errors are still printed)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from activate" -s h -l help -d 'Print help'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from activate" -s V -l version -d 'Print version'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from delete" -l db -d 'The store (SQLite file)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'Silence progress bars and the summary on stderr (errors are still printed)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from config" -l db -d 'The store (SQLite file)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from config" -l unset -d 'Remove the setting (back to the default)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from config" -s q -l quiet -d 'Silence progress bars and the summary on stderr (errors are still printed)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from config" -s h -l help -d 'Print help'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from config" -s V -l version -d 'Print version'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from help" -f -a "add" -d 'Ingest event records (from classify) and failed send-log records (from send)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from help" -f -a "filter" -d 'Write the sendable rows of a recipient list; drop the rest'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from help" -f -a "import" -d 'Import an external list (a CRM\'s unsubscribes, an ESP\'s suppression export)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from help" -f -a "export" -d 'Write the recipients and their states'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show addresses\' states and their full event history'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from help" -f -a "block" -d 'Mark addresses as bounced by hand'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from help" -f -a "unblock" -d 'Clear a bounce mark (back to unknown); refuses unsubscribed and complained unless --force'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from help" -f -a "inactive" -d 'Mark addresses inactive: kept, never mailed (a former employee, say)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from help" -f -a "activate" -d 'Mark addresses active again by hand'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete addresses and their history; unsubscribed and complained ones leave a tombstone'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from help" -f -a "config" -d 'Show or set the options kept in the store (soft-limit, soft-window)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand suppress; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand report" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t'Aligned tables (coloured on a terminal unless NO_COLOR is set)'
markdown\t'Markdown tables'
csv\t'One row per campaign'
json\t'Everything, as one JSON document'
html\t'One self-contained page with SVG charts'"
complete -c bouncekit -n "__fish_bouncekit_using_subcommand report" -s o -l output -d 'Write to FILE instead of stdout' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand report" -l top -d 'How many reasons, domains and alerts to show' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand report" -l db -d 'Add the store\'s addresses per state (the store: PATH, or $BOUNCEKIT_DB)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand report" -l list -d 'With --unconfirmed or --confirmed: the original recipient list, whose rows (all their columns, so `send` has its variables) are written for the recipients chosen' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand report" -l column -d 'With --list: the address column, when it is not found by name' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand report" -l unconfirmed -d 'Instead of a report: the recipients sent to that have no delivery or read confirmation, as a recipient list (to mail them again). Alone its columns are only email, campaign and message_id, so a `send` template using {{ first_name }} skips every row: add `--list FILE` to get the list\'s own rows, with all their columns, back'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand report" -l confirmed -d 'Instead of a report: the recipients with a delivery or read confirmation (columns as with --unconfirmed: add `--list FILE` for the list\'s rows and template variables)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand report" -s q -l quiet -d 'Silence progress bars and the summary on stderr (errors are still printed)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand report" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand report" -s V -l version -d 'Print version'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l smtp -d 'The SMTP server: smtp://HOST[:PORT] (STARTTLS whenever offered; port 25 by default) or smtps://HOST[:PORT] (TLS from the start; port 465)' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l from -d 'The sender: the envelope sender (which gets the delivery reports, unless --verp) and the From header when the template has none. `Name <address>` sets a display name' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l template -d 'The message template: an RFC 5322 file (headers, blank line, body; MIME allowed) with variables like {{ first_name }} in headers and body' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l subject -d 'The Subject (a template) when there is no --template file; with --text and/or --html' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l text -d 'The plain-text body (a template file), with --subject' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l html -d 'The HTML body (a template file; values are HTML-escaped), with --subject' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l campaign -d 'The campaign\'s name, recorded in the log, the X-Bouncekit-Campaign header, the Message-ID and the envelope id (letters, digits, `.`, `_`, `-`)' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l column -d 'The address column, when it is not found by name' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -s o -l output -d 'Write the send log to FILE instead of stdout (the same FILE as --resume appends to it)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l format -d 'Format of the send log' -r -f -a "jsonl\t'One JSON object per line'
csv\t'Comma-separated values with a header row'"
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l resume -d 'Resume from a send log: recipients sent or failed in LOG are not mailed again. LOG must exist, unless it is also the -o file (the first run of a resumable command)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l db -d 'The recipient store (SQLite) whose unsendable addresses are never mailed [default: $BOUNCEKIT_DB, else the default store when it exists]' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l dsn-ret -d 'What a delivery report returns of the message: the headers or the full message' -r -f -a "hdrs\t'Only the headers of the message (RET=HDRS)'
full\t'The whole message (RET=FULL)'"
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l notify -d 'Which delivery reports to ask for: any of failure, delay, success (comma-separated), or never' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l verp -d 'VERP: send each message from BASE\'s local part plus the recipient (bounces@example.com sends to jan@example.org from bounces+jan=example.org@example.com), which `classify --verp` decodes' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l unsubscribe-url -d 'Add List-Unsubscribe with this https URL (a template: e.g. https://example.com/u?e={{ email | urlencode }}) and List-Unsubscribe-Post for one-click unsubscribing (RFC 8058)' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l unsubscribe-mailto -d 'Add List-Unsubscribe with this mailto address (a template)' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -s c -l connections -d 'Parallel SMTP sessions, each sending many messages' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l rate -d 'The overall limit: N messages per second, minute or hour (e.g. 20/s, 600/m, 5000/h)' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l max-per-connection -d 'Messages per session before it is closed and a new one opened [default: no limit]' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l retries -d 'Attempts after a temporary refusal (4xx) before the recipient is `deferred`' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l retry-delay -d 'The wait before the first retry; it doubles with each one (e.g. 500ms, 10s, 2m)' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l timeout -d 'How long to wait for the server at any step' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l ca-file -d 'Trust only the CA certificates in FILE (PEM), e.g. a private CA, instead of the system\'s' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l user -d 'The user to authenticate as (AUTH PLAIN or LOGIN), with --password-env or --password-file' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l password-env -d 'The environment variable that holds the password' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l password-file -d 'The file whose first line is the password' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l helo -d 'The name given in EHLO [default: this machine\'s host name]' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l dry-run -d 'Render every message into DIR as .eml files and connect nowhere' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l resend-unknown -d 'With --resume: send again to recipients whose outcome is unknown (the run died while their message was being committed; they may have received it)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l no-store -d 'Do not consult the recipient store (not even the one $BOUNCEKIT_DB names)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l require-dsn -d 'Stop when the server does not offer DSN (by default: say so once and send anyway)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l read-receipt -d 'Ask for read receipts (Disposition-Notification-To: the --from address)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l allow-plaintext-auth -d 'Authenticate even when the server offers no TLS (the password then travels in plain text)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -l strict -d 'Exit 1 at the end if any row was failed, deferred, of unknown outcome, unreadable, had an invalid address or could not be rendered'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -s q -l quiet -d 'Silence progress bars and the summary on stderr (errors are still printed)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand send" -s V -l version -d 'Print version'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand validate" -s o -l output -d 'Write to FILE instead of stdout' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand validate" -l column -d 'The address column, when it is not found by name (email, e-mail, mail, address, ...)' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand validate" -l nameserver -d 'The DNS server to ask (a recursive resolver), as IP or IP:PORT; repeatable [default: the system\'s, from /etc/resolv.conf]' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand validate" -l dns-timeout -d 'Seconds a domain\'s lookups may take in all (a query unanswered for half of it is sent once more); a domain still unanswered is `unknown`, not invalid' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand validate" -l dns-concurrency -d 'Domains looked up at the same time' -r
complete -c bouncekit -n "__fish_bouncekit_using_subcommand validate" -l disposable -d 'A list of disposable domains, one per line (`#` comments); repeatable. Replaces the small built-in list (mailinator.com, yopmail.com, guerrillamail.com and a few more)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand validate" -l db -d 'The store (SQLite file) for --to-store' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand validate" -l only-valid -d 'Write only the rows not found invalid, exactly as they were (rows whose domain got no DNS answer are kept: unknown is not invalid)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand validate" -l only-invalid -d 'Write only the rows found invalid, exactly as they were'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand validate" -l no-dns -d 'Check syntax, disposable domains, role accounts and typos only; ask no DNS'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand validate" -l to-store -d 'Record the invalid addresses in the store as bounced, reason invalid_address (disposable ones excepted: they do take mail). Without it the store is not touched'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand validate" -l strict -d 'Exit 1 at the end if any record could not be read'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand validate" -s q -l quiet -d 'Silence progress bars and the summary on stderr (errors are still printed)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand validate" -s h -l help -d 'Print help'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand validate" -s V -l version -d 'Print version'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand generate" -l man-dir -d 'Folder for the man pages (one per subcommand)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand generate" -l completions-dir -d 'Folder for the bash, zsh and fish completions' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand generate" -s q -l quiet -d 'Silence progress bars and the summary on stderr (errors are still printed)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand generate" -s h -l help -d 'Print help'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand generate" -s V -l version -d 'Print version'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and not __fish_seen_subcommand_from fetch-bounces classify suppress report send validate generate help" -f -a "fetch-bounces" -d 'Fetch returned mail from an IMAP mailbox as message records, incrementally'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and not __fish_seen_subcommand_from fetch-bounces classify suppress report send validate generate help" -f -a "classify" -d 'Read returned mail and write one event record per (message, recipient)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and not __fish_seen_subcommand_from fetch-bounces classify suppress report send validate generate help" -f -a "suppress" -d 'Keep the recipient store and clean lists against it'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and not __fish_seen_subcommand_from fetch-bounces classify suppress report send validate generate help" -f -a "report" -d 'Turn send logs and events into per-campaign figures, charts and alerts'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and not __fish_seen_subcommand_from fetch-bounces classify suppress report send validate generate help" -f -a "send" -d 'Mail a template to a recipient list, with delivery reports, exactly once'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and not __fish_seen_subcommand_from fetch-bounces classify suppress report send validate generate help" -f -a "validate" -d 'Check a list\'s addresses before the first mailing: syntax, DNS, disposable, role, typos'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and not __fish_seen_subcommand_from fetch-bounces classify suppress report send validate generate help" -f -a "generate" -d 'Write the man pages and shell completions (for packagers and the repository)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and not __fish_seen_subcommand_from fetch-bounces classify suppress report send validate generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and __fish_seen_subcommand_from suppress" -f -a "add" -d 'Ingest event records (from classify) and failed send-log records (from send)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and __fish_seen_subcommand_from suppress" -f -a "filter" -d 'Write the sendable rows of a recipient list; drop the rest'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and __fish_seen_subcommand_from suppress" -f -a "import" -d 'Import an external list (a CRM\'s unsubscribes, an ESP\'s suppression export)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and __fish_seen_subcommand_from suppress" -f -a "export" -d 'Write the recipients and their states'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and __fish_seen_subcommand_from suppress" -f -a "show" -d 'Show addresses\' states and their full event history'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and __fish_seen_subcommand_from suppress" -f -a "block" -d 'Mark addresses as bounced by hand'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and __fish_seen_subcommand_from suppress" -f -a "unblock" -d 'Clear a bounce mark (back to unknown); refuses unsubscribed and complained unless --force'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and __fish_seen_subcommand_from suppress" -f -a "inactive" -d 'Mark addresses inactive: kept, never mailed (a former employee, say)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and __fish_seen_subcommand_from suppress" -f -a "activate" -d 'Mark addresses active again by hand'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and __fish_seen_subcommand_from suppress" -f -a "delete" -d 'Delete addresses and their history; unsubscribed and complained ones leave a tombstone'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and __fish_seen_subcommand_from suppress" -f -a "config" -d 'Show or set the options kept in the store (soft-limit, soft-window)'
