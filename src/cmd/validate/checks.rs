//! What `validate` says about one address: the checks, the facts about each domain of the
//! list (gathered once per domain, not once per row), and the verdict that becomes the
//! `valid`, `check`, `suggestion` and `normalized` columns.
//!
//! Syntax is the shared normaliser's (`address::normalize`: RFC 5322 by the `email_address`
//! crate, IDNA, the length limits of RFC 5321) with what mail servers add on top of RFC
//! 5322 for the domain: host names of letters, digits and hyphens, no all-numeric TLD,
//! A-labels that decode, address literals that are real IP addresses. An address the
//! normaliser accepts always gets its normalised form, even when a check then fails.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use anyhow::{Context, Result};
use xxhash_rust::xxh3::Xxh3DefaultBuilder;

use super::typos::{self, Suggester};
use crate::address;
use crate::dns::{Failure, Mail};

/// What failed, or what is worth a look (the `check` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Check {
    /// No address at all in the field.
    Empty,
    /// Not an address a mail server would take.
    Syntax,
    /// NXDOMAIN.
    NoDomain,
    /// RFC 7505 Null MX: the domain takes no mail.
    NullMx,
    /// The domain names no host that could take its mail.
    NoMailHost,
    /// A domain of the disposable list.
    Disposable,
    /// DNS did not answer in time: unknown, not invalid.
    DnsTimeout,
    /// DNS failed otherwise (SERVFAIL, REFUSED, ...): unknown, not invalid.
    DnsError,
    /// Valid, but probably a mistyped domain (see `suggestion`).
    Typo,
    /// Valid, but a role account (postmaster@, info@, noreply@, ...).
    Role,
    /// A JSONL line that is no JSON object: no record to check.
    Unreadable,
}

/// Every check, in the order the summary counts them.
pub const CHECKS: [Check; 11] = [
    Check::Empty,
    Check::Syntax,
    Check::NoDomain,
    Check::NullMx,
    Check::NoMailHost,
    Check::Disposable,
    Check::DnsTimeout,
    Check::DnsError,
    Check::Typo,
    Check::Role,
    Check::Unreadable,
];

/// The `valid` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    Valid,
    Invalid,
    /// DNS gave no answer: the address may well be fine.
    Unknown,
}

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Empty => "empty",
            Check::Syntax => "syntax",
            Check::NoDomain => "no_domain",
            Check::NullMx => "null_mx",
            Check::NoMailHost => "no_mail_host",
            Check::Disposable => "disposable",
            Check::DnsTimeout => "dns_timeout",
            Check::DnsError => "dns_error",
            Check::Typo => "typo",
            Check::Role => "role",
            Check::Unreadable => "unreadable",
        }
    }

    pub fn validity(self) -> Validity {
        match self {
            Check::Typo | Check::Role => Validity::Valid,
            Check::DnsTimeout | Check::DnsError => Validity::Unknown,
            _ => Validity::Invalid,
        }
    }

    /// What the check means, for the store's history.
    pub fn describe(self) -> &'static str {
        match self {
            Check::Empty => "no address",
            Check::Syntax => "not an address a mail server would take",
            Check::NoDomain => "no such domain (NXDOMAIN)",
            Check::NullMx => "the domain takes no mail (Null MX, RFC 7505)",
            Check::NoMailHost => "the domain names no host that takes mail",
            Check::Disposable => "a disposable address",
            Check::DnsTimeout => "no DNS answer in time",
            Check::DnsError => "DNS failed",
            Check::Typo => "probably a mistyped domain",
            Check::Role => "a role account",
            Check::Unreadable => "not a record",
        }
    }
}

impl Validity {
    /// The CSV cell.
    pub fn as_str(self) -> &'static str {
        match self {
            Validity::Valid => "true",
            Validity::Invalid => "false",
            Validity::Unknown => "unknown",
        }
    }

    /// The JSON value: unknown is null, as everywhere in bouncekit's records.
    pub fn to_json(self) -> serde_json::Value {
        match self {
            Validity::Valid => true.into(),
            Validity::Invalid => false.into(),
            Validity::Unknown => serde_json::Value::Null,
        }
    }
}

/// Local parts that name a function, not a person: flagged, never rejected. RFC 2142's
/// mailbox names, no-reply and system accounts, and shared mailboxes in the source
/// documents' languages too (biuro, kontakt, sekretariat, post, postmottak).
pub const ROLE_ACCOUNTS: &[&str] = &[
    "abuse",
    "accounting",
    "accounts",
    "admin",
    "administrator",
    "billing",
    "biuro",
    "bounce",
    "bounces",
    "careers",
    "contact",
    "do-not-reply",
    "do_not_reply",
    "donotreply",
    "enquiries",
    "feedback",
    "help",
    "hostmaster",
    "hr",
    "info",
    "inquiries",
    "jobs",
    "kontakt",
    "legal",
    "mailer-daemon",
    "marketing",
    "newsletter",
    "no-reply",
    "no_reply",
    "nobody",
    "noc",
    "noreply",
    "office",
    "post",
    "postmaster",
    "postmottak",
    "press",
    "privacy",
    "root",
    "sales",
    "security",
    "sekretariat",
    "support",
    "webmaster",
];

/// True for a role account: the local part, without a `+tag`, in `ROLE_ACCOUNTS` (case
/// does not matter).
pub fn is_role(local: &str) -> bool {
    let base = local.split('+').next().unwrap_or(local);
    base.len() <= 16
        && ROLE_ACCOUNTS
            .iter()
            .any(|role| role.eq_ignore_ascii_case(base))
}

/// The disposable domains used when no `--disposable` list is given: a few of the best
/// known. A real list (thousands of domains, kept up to date elsewhere) is for
/// `--disposable`.
pub const DISPOSABLE_DEFAULT: &[&str] = &[
    "10minutemail.com",
    "dispostable.com",
    "getnada.com",
    "guerrillamail.com",
    "mailinator.com",
    "maildrop.cc",
    "sharklasers.com",
    "temp-mail.org",
    "trashmail.com",
    "yopmail.com",
];

/// Domains whose addresses are disposable (a domain's subdomains too).
pub struct Disposable {
    domains: HashSet<String>,
}

impl Disposable {
    pub fn default_list() -> Disposable {
        Disposable {
            domains: DISPOSABLE_DEFAULT.iter().map(|d| d.to_string()).collect(),
        }
    }

    /// Reads lists of one domain per line (`#` starts a comment; a leading `@` or `*.` is
    /// ignored; IDN domains may be written in Unicode).
    pub fn from_files(paths: &[impl AsRef<Path>]) -> Result<Disposable> {
        let mut domains = HashSet::new();
        for path in paths {
            let path = path.as_ref();
            let text = std::fs::read(path)
                .with_context(|| format!("cannot read the disposable list {}", path.display()))?;
            for line in String::from_utf8_lossy(&text).lines() {
                let entry = line.split('#').next().unwrap_or("").trim();
                let entry = entry.trim_start_matches('@').trim_start_matches("*.");
                let entry = entry.trim_end_matches('.');
                if entry.is_empty() {
                    continue;
                }
                let ascii = idna::domain_to_ascii(entry).unwrap_or_else(|_| entry.to_lowercase());
                domains.insert(ascii);
            }
        }
        Ok(Disposable { domains })
    }

    /// True when `domain` (normalised) or a domain above it is on the list.
    pub fn contains(&self, domain: &str) -> bool {
        let mut rest = domain;
        loop {
            if self.domains.contains(rest) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, parent)) if parent.contains('.') => rest = parent,
                _ => return false,
            }
        }
    }
}

/// What a normalised domain is, for a mail server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainKind {
    /// A host name (DNS decides the rest).
    Name,
    /// An address literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`): nothing to look up.
    Literal,
    /// Not a mail domain.
    Bad,
}

/// Checks a domain as normalised (lower-case ASCII) beyond RFC 5322.
pub fn domain_kind(domain: &str) -> DomainKind {
    if let Some(inner) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        let ok = match inner.get(..5) {
            Some(tag) if tag.eq_ignore_ascii_case("ipv6:") => {
                inner[5..].parse::<Ipv6Addr>().is_ok()
            }
            _ => inner.parse::<Ipv4Addr>().is_ok(),
        };
        return if ok {
            DomainKind::Literal
        } else {
            DomainKind::Bad
        };
    }
    // RFC 5321 §4.1.2: sub-domain = Let-dig [Ldh-str] (the normaliser has checked the
    // hyphens, the lengths and the number of labels).
    let ldh = domain
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    // RFC 3696 §2: a TLD is never all-numeric (else 192.0.2.1 would read as a name).
    let tld = domain.rsplit('.').next().unwrap_or("");
    if !ldh || tld.bytes().all(|b| b.is_ascii_digit()) {
        return DomainKind::Bad;
    }
    if domain.contains("xn--") && idna::domain_to_unicode(domain).1.is_err() {
        return DomainKind::Bad;
    }
    DomainKind::Name
}

/// What is known about one domain of the list.
#[derive(Debug, Clone)]
pub struct DomainInfo {
    /// Addresses of the list at this domain.
    pub count: u32,
    pub kind: DomainKind,
    pub disposable: bool,
    /// DNS's answer; `None` when DNS was not asked.
    pub mail: Option<Mail>,
    /// The domain probably meant.
    pub suggestion: Option<String>,
}

/// Every domain of the list, with its facts.
pub struct Domains {
    map: HashMap<Box<str>, DomainInfo, Xxh3DefaultBuilder>,
    disposable: Disposable,
}

impl Domains {
    pub fn new(disposable: Disposable) -> Domains {
        Domains {
            map: HashMap::default(),
            disposable,
        }
    }

    /// Counts `n` addresses at `domain`; the first time, `first` is called when the domain
    /// is one DNS should be asked about.
    pub fn add(&mut self, domain: &str, n: u32, first: impl FnOnce(&str)) {
        if let Some(info) = self.map.get_mut(domain) {
            info.count += n;
            return;
        }
        let kind = domain_kind(domain);
        if kind == DomainKind::Name {
            first(domain);
        }
        let info = DomainInfo {
            count: n,
            kind,
            disposable: kind == DomainKind::Name && self.disposable.contains(domain),
            mail: None,
            suggestion: None,
        };
        self.map.insert(domain.into(), info);
    }

    pub fn get(&self, domain: &str) -> Option<&DomainInfo> {
        self.map.get(domain)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Takes DNS's answers in.
    pub fn set_mail(&mut self, mut answers: HashMap<String, Mail>) {
        for (domain, info) in &mut self.map {
            if info.kind == DomainKind::Name {
                // A domain the checker never answered for (it cannot happen, but "unknown"
                // is the only honest word for it).
                info.mail = Some(
                    answers
                        .remove(&**domain)
                        .unwrap_or(Mail::Unknown(Failure::Error("not looked up".into()))),
                );
            }
        }
    }

    /// Works out the suggestions, once every domain is counted (and looked up).
    pub fn suggest(&mut self) -> Suggester {
        let counts: HashMap<&str, u32> = self.map.iter().map(|(d, i)| (&**d, i.count)).collect();
        let suggester = Suggester::new(&counts);
        let suggestions: Vec<(Box<str>, String)> = self
            .map
            .iter()
            .filter(|(_, info)| info.kind == DomainKind::Name)
            .filter_map(|(domain, info)| {
                let dns = match &info.mail {
                    Some(Mail::Accepts) => typos::Dns::Accepts,
                    Some(Mail::NoDomain | Mail::NullMx | Mail::NoMailHost) => typos::Dns::Fails,
                    Some(Mail::Unknown(_)) | None => typos::Dns::Unknown,
                };
                suggester
                    .suggest(domain, info.count, dns)
                    .map(|s| (domain.clone(), s))
            })
            .collect();
        for (domain, suggestion) in suggestions {
            if let Some(info) = self.map.get_mut(&domain) {
                info.suggestion = Some(suggestion);
            }
        }
        suggester
    }

    /// How many looked-up domains got no answer, and how many were looked up.
    pub fn unanswered(&self) -> (usize, usize) {
        let asked = self.map.values().filter(|i| i.mail.is_some());
        let failed = asked
            .clone()
            .filter(|i| matches!(i.mail, Some(Mail::Unknown(_))))
            .count();
        (failed, asked.count())
    }

    /// Up to `n` domains that got no answer, with why.
    pub fn unanswered_examples(&self, n: usize) -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = self
            .map
            .iter()
            .filter_map(|(d, i)| match &i.mail {
                Some(Mail::Unknown(why)) => Some((d.to_string(), why.to_string())),
                _ => None,
            })
            .collect();
        found.sort();
        found.truncate(n);
        found
    }
}

/// The verdict on one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `None`: valid, nothing to say.
    pub check: Option<Check>,
    pub suggestion: Option<String>,
    /// Whether `Judge::normalized` holds this address's normalised form.
    pub normalized: bool,
}

impl Verdict {
    pub fn validity(&self) -> Validity {
        self.check.map_or(Validity::Valid, Check::validity)
    }

    fn of(check: Option<Check>) -> Verdict {
        Verdict {
            check,
            suggestion: None,
            normalized: false,
        }
    }
}

/// Judges fields one after another, reusing its buffers.
pub struct Judge<'a> {
    domains: &'a Domains,
    suggester: &'a Suggester,
    /// Whether DNS was asked (else a domain missing from `domains` is no DNS failure).
    dns: bool,
    normalized: String,
    /// The corrections of the domain parts of values that are not addresses: the same bad
    /// domain tends to come back row after row, and comparing it with every candidate is
    /// the costliest thing done to a row.
    repaired: HashMap<String, Option<String>, Xxh3DefaultBuilder>,
}

impl<'a> Judge<'a> {
    pub fn new(domains: &'a Domains, suggester: &'a Suggester, dns: bool) -> Judge<'a> {
        Judge {
            domains,
            suggester,
            dns,
            normalized: String::new(),
            repaired: HashMap::default(),
        }
    }

    /// The normalised form of the field last judged (see `Verdict::normalized`).
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// The verdict on a field's raw bytes.
    pub fn judge(&mut self, raw: &[u8]) -> Verdict {
        match address::normalize_bytes(raw, &mut self.normalized) {
            Ok(()) => {}
            Err(address::Invalid::Empty) => return Verdict::of(Some(Check::Empty)),
            Err(_) => {
                let suggestion = std::str::from_utf8(raw)
                    .ok()
                    .and_then(|text| self.repair(text));
                return Verdict {
                    suggestion,
                    ..Verdict::of(Some(Check::Syntax))
                };
            }
        }
        let at = memchr::memrchr(b'@', self.normalized.as_bytes())
            .expect("a normalised address has an @");
        let (local, domain) = (&self.normalized[..at], &self.normalized[at + 1..]);
        let looked_up;
        let info = match self.domains.get(domain) {
            Some(info) => info,
            None => {
                // Not seen by the first pass (the input changed under us): judge it alone.
                looked_up = DomainInfo {
                    count: 1,
                    kind: domain_kind(domain),
                    disposable: false,
                    mail: self
                        .dns
                        .then(|| Mail::Unknown(Failure::Error("not looked up".into()))),
                    suggestion: None,
                };
                &looked_up
            }
        };
        let suggestion = match &info.suggestion {
            Some(d) => Some(format!("{local}@{d}")),
            // An IP address where a name belongs: the address literal was meant.
            None if info.kind == DomainKind::Bad && domain.parse::<Ipv4Addr>().is_ok() => {
                Some(format!("{local}@[{domain}]"))
            }
            None => None,
        };
        let dns = match (info.kind, &info.mail) {
            (DomainKind::Bad, _) => Some(Check::Syntax),
            (DomainKind::Literal, _) => None,
            (DomainKind::Name, Some(Mail::NoDomain)) => Some(Check::NoDomain),
            (DomainKind::Name, Some(Mail::NullMx)) => Some(Check::NullMx),
            (DomainKind::Name, Some(Mail::NoMailHost)) => Some(Check::NoMailHost),
            (DomainKind::Name, Some(Mail::Unknown(Failure::Timeout))) => Some(Check::DnsTimeout),
            (DomainKind::Name, Some(Mail::Unknown(Failure::Error(_)))) => Some(Check::DnsError),
            (DomainKind::Name, Some(Mail::Accepts) | None) => None,
        };
        // What syntax and DNS proved first, then the list's verdict, then what DNS could
        // not say, then the advice.
        let check = match dns {
            Some(c) if c.validity() == Validity::Invalid => Some(c),
            _ if info.disposable => Some(Check::Disposable),
            Some(c) => Some(c),
            None if suggestion.is_some() => Some(Check::Typo),
            None if is_role(local) => Some(Check::Role),
            None => None,
        };
        Verdict {
            check,
            suggestion,
            normalized: true,
        }
    }

    /// A likely address for a value that is not one: the address inside `Name <...>`, or
    /// the domain part corrected (`jan@gmail,com`, `jan@gmailcom`, `jan@@gmail.com`).
    fn repair(&mut self, text: &str) -> Option<String> {
        let mut scratch = String::new();
        if let (Some(open), Some(close)) = (text.rfind('<'), text.rfind('>'))
            && open < close
            && address::normalize(&text[open + 1..close], &mut scratch).is_ok()
        {
            return Some(scratch);
        }
        let text = text.trim();
        let at = text.rfind('@')?;
        let local = text[..at].trim().trim_end_matches('@').trim();
        let raw_domain = &text[at + 1..];
        let domain = match self.repaired.get(raw_domain) {
            Some(found) => found.clone(),
            None => {
                let found = self.suggester.suggest_raw(raw_domain);
                if self.repaired.len() < REPAIRS_KEPT {
                    self.repaired.insert(raw_domain.to_string(), found.clone());
                }
                found
            }
        }?;
        address::normalize(&format!("{local}@{domain}"), &mut scratch).ok()?;
        Some(scratch)
    }
}

/// At most this many corrected domains are remembered (a list of garbage has no end of
/// different ones).
const REPAIRS_KEPT: usize = 100_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_checked_as_mail_servers_do() {
        for (domain, kind) in [
            ("example.org", DomainKind::Name),
            ("xn--mnchen-3ya.de", DomainKind::Name),
            ("a-b.example", DomainKind::Name),
            ("[192.0.2.1]", DomainKind::Literal),
            ("[ipv6:2001:db8::1]", DomainKind::Literal),
            ("[300.1.1.1]", DomainKind::Bad),
            ("[ipv6:2001:db8::zz]", DomainKind::Bad),
            ("[tag:content]", DomainKind::Bad),
            ("ex_ample.org", DomainKind::Bad),
            ("example.123", DomainKind::Bad),
            ("123.45.67.89", DomainKind::Bad),
            ("xn--zz.example", DomainKind::Bad),
        ] {
            assert_eq!(domain_kind(domain), kind, "{domain}");
        }
    }

    #[test]
    fn role_accounts_are_recognised_in_any_case_and_with_tags() {
        for local in [
            "postmaster",
            "Abuse",
            "noreply",
            "no-reply",
            "info+list",
            "BIURO",
        ] {
            assert!(is_role(local), "{local}");
        }
        for local in ["jan", "information", "noreplyx", "jan.info", "\"info\""] {
            assert!(!is_role(local), "{local}");
        }
    }

    #[test]
    fn disposable_lists_match_subdomains_and_read_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.txt");
        std::fs::write(&path, "# temporary mail\nTemp.Example\n@burner.example  # comment\n\n*.wild.example\nwegwerf-bücher.example\n").unwrap();
        let list = Disposable::from_files(&[&path]).unwrap();
        assert!(list.contains("temp.example"));
        assert!(list.contains("x.temp.example"));
        assert!(list.contains("burner.example"));
        assert!(list.contains("a.wild.example"));
        assert!(list.contains(&idna::domain_to_ascii("wegwerf-bücher.example").unwrap()));
        assert!(!list.contains("example"));
        assert!(
            !list.contains("mailinator.com"),
            "a list replaces the default"
        );
        assert!(Disposable::default_list().contains("mailinator.com"));
    }
}
