//! Finding and normalising e-mail addresses in report text and headers.
//!
//! Normalisation here is the event record's: angle brackets and `mailto:` removed, domain
//! lower-cased, local part kept as written. It must never invent an address: anything that
//! does not look like `local@domain.tld` is dropped.

use std::sync::LazyLock;

use regex::Regex;

/// An address as it appears in running text: dot-atom local part (or a quoted one), then a
/// domain with at least one dot. Deliberately stricter than RFC 5322: bounce text is full of
/// `user@host` fragments in Received lines and we only want deliverable addresses.
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?:"[^"\r\n]{1,64}"|[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*)@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"#,
    )
    .expect("address regex")
});

/// Every address in `text`, normalised, in order of appearance (duplicates kept).
pub fn find_all(text: &str) -> Vec<String> {
    // Every address has an '@': most header values and lines have none.
    if memchr::memchr(b'@', text.as_bytes()).is_none() {
        return Vec::new();
    }
    ADDRESS
        .find_iter(text)
        .filter_map(|m| normalize(m.as_str()))
        .collect()
}

/// The first address in `text`, normalised.
pub fn find_first(text: &str) -> Option<String> {
    memchr::memchr(b'@', text.as_bytes())?;
    ADDRESS.find_iter(text).find_map(|m| normalize(m.as_str()))
}

/// Byte spans of the addresses in `text` (for callers that look around each one).
pub fn spans(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    ADDRESS.find_iter(text).map(|m| (m.start(), m.end()))
}

/// Trims, removes `<>`, quotes and `mailto:`, lower-cases the domain. `None` when the result is
/// not `local@domain` with a dotted domain.
pub fn normalize(raw: &str) -> Option<String> {
    let mut a = raw
        .trim()
        .trim_matches(|c| c == '<' || c == '>' || c == '\'');
    // Compared as bytes: the seventh byte of arbitrary text may fall inside a character.
    if a.len() > 7 && a.as_bytes()[..7].eq_ignore_ascii_case(b"mailto:") {
        // The seven bytes are ASCII, so a character starts right after them.
        a = &a[7..];
    }
    let a = a.trim().trim_end_matches(['.', ',', ';', ':']);
    let at = a.rfind('@')?;
    let (local, domain) = (&a[..at], &a[at + 1..]);
    let domain = domain.trim_end_matches('.');
    if local.is_empty() || domain.is_empty() || !domain.contains('.') {
        return None;
    }
    if domain.bytes().any(|b| b.is_ascii_whitespace() || b == b'@') {
        return None;
    }
    // Only a quoted local part may hold spaces: `rfc822 jan@example.org` (a DSN field whose
    // `;` is missing or mangled) is a label and an address, never an address.
    let quoted = local.len() >= 2 && local.starts_with('"') && local.ends_with('"');
    if !quoted && local.bytes().any(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let mut out = String::with_capacity(local.len() + 1 + domain.len());
    out.push_str(local);
    out.push('@');
    out.push_str(domain);
    out[local.len() + 1..].make_ascii_lowercase();
    Some(out)
}

/// The local part and domain of a normalised address.
pub fn split(address: &str) -> (&str, &str) {
    match address.rfind('@') {
        Some(at) => (&address[..at], &address[at + 1..]),
        None => (address, ""),
    }
}

/// Local parts that belong to mail systems, never to a person the sender mailed.
const SYSTEM_LOCAL_PARTS: &[&str] = &[
    "mailer-daemon",
    "postmaster",
    "mail-daemon",
    "maildaemon",
    "mailerdaemon",
    "daemon",
    "root",
    "noreply",
    "no-reply",
    "bounce",
    "bounces",
    "mail.delivery.system",
];

/// Endings of the local parts a mailing list answers commands at (list-request@, list-ctl@,
/// list-owner@): a list's notice names them as where to write, never as a failed recipient.
const LIST_CONTROL_SUFFIXES: &[&str] = &["-request", "-ctl", "-owner"];

/// True for MAILER-DAEMON@..., postmaster@..., a list's command address and the like.
pub fn is_system_address(address: &str) -> bool {
    let (local, _) = split(address);
    let lower = local.to_ascii_lowercase();
    SYSTEM_LOCAL_PARTS.contains(&lower.as_str())
        || LIST_CONTROL_SUFFIXES.iter().any(|s| lower.ends_with(s))
}

/// True when `host` is `domain` or a name below it (`mx1.corp.example.com` is in
/// `example.com`, `notexample.com` is not), without regard to ASCII case. Compared as bytes:
/// a host read from a report may hold any text, and its last bytes may begin inside a
/// character.
pub fn in_domain(host: &str, domain: &str) -> bool {
    let (host, domain) = (host.as_bytes(), domain.as_bytes());
    if host.len() < domain.len() {
        return false;
    }
    let (head, tail) = host.split_at(host.len() - domain.len());
    tail.eq_ignore_ascii_case(domain) && (head.is_empty() || head.ends_with(b"."))
}

/// Case-insensitive address equality (the local part is matched without regard to case, as
/// the store does).
pub fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_brackets_mailto_and_domain_case() {
        assert_eq!(
            normalize("<Jan.Kowalski@Example.ORG>").as_deref(),
            Some("Jan.Kowalski@example.org")
        );
        assert_eq!(
            normalize("mailto:a@b.example").as_deref(),
            Some("a@b.example")
        );
        assert_eq!(normalize("root@localhost"), None);
        assert_eq!(normalize("nothing here"), None);
    }

    #[test]
    fn a_host_is_in_a_domain_or_below_it() {
        assert!(in_domain("example.com", "example.com"));
        assert!(in_domain("BAY004-MC1.Hotmail.COM", "hotmail.com"));
        assert!(!in_domain("nothotmail.com", "hotmail.com"));
        assert!(!in_domain("com", "example.com"));
        // A last byte inside a character is no panic.
        assert!(!in_domain("éutlook.com", "outlook.com"));
        assert!(in_domain("mx.é.outlook.com", "outlook.com"));
    }

    #[test]
    fn non_ascii_text_is_never_cut_inside_a_character() {
        // Byte 7 falls inside a character in each of these.
        assert_eq!(normalize("rfc822é jan@example.org"), None);
        assert_eq!(normalize("Zażółć@X.pl").as_deref(), Some("Zażółć@x.pl"));
        assert_eq!(normalize("mailtoé@x.pl").as_deref(), Some("mailtoé@x.pl"));
        assert_eq!(normalize("ééééé"), None);
    }

    #[test]
    fn only_a_quoted_local_part_holds_spaces() {
        assert_eq!(normalize("rfc822 jan@example.org"), None);
        assert_eq!(
            normalize("\"Jan Kowalski\"@example.org").as_deref(),
            Some("\"Jan Kowalski\"@example.org")
        );
    }

    #[test]
    fn finds_addresses_in_running_text() {
        let found =
            find_all("550 5.1.1 <kijitora@example.jp>... User unknown; to neko@Example.COM.");
        assert_eq!(found, vec!["kijitora@example.jp", "neko@example.com"]);
    }

    #[test]
    fn system_addresses_are_recognised() {
        assert!(is_system_address("MAILER-DAEMON@mx.example.org"));
        assert!(is_system_address("postmaster@example.org"));
        assert!(!is_system_address("jan@example.org"));
        assert!(is_system_address("team-request@lists.example.org"));
        assert!(is_system_address("team-ctl@lists.example.org"));
        assert!(!is_system_address("request@example.org"));
    }
}
