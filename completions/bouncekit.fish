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
complete -c bouncekit -n "__fish_bouncekit_needs_command" -f -a "classify" -d 'Read returned mail and write one event record per (message, recipient)'
complete -c bouncekit -n "__fish_bouncekit_needs_command" -f -a "generate" -d 'Write the man pages and shell completions (for packagers and the repository)'
complete -c bouncekit -n "__fish_bouncekit_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
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
complete -c bouncekit -n "__fish_bouncekit_using_subcommand generate" -l man-dir -d 'Folder for the man pages (one per subcommand)' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand generate" -l completions-dir -d 'Folder for the bash, zsh and fish completions' -r -F
complete -c bouncekit -n "__fish_bouncekit_using_subcommand generate" -s q -l quiet -d 'Silence progress bars and the summary on stderr (errors are still printed)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand generate" -s h -l help -d 'Print help'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand generate" -s V -l version -d 'Print version'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and not __fish_seen_subcommand_from classify generate help" -f -a "classify" -d 'Read returned mail and write one event record per (message, recipient)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and not __fish_seen_subcommand_from classify generate help" -f -a "generate" -d 'Write the man pages and shell completions (for packagers and the repository)'
complete -c bouncekit -n "__fish_bouncekit_using_subcommand help; and not __fish_seen_subcommand_from classify generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
