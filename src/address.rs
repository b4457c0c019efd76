//! Recipient addresses as the store, `suppress filter` and `send` see them: normalised one way
//! everywhere, checked for syntax, and reduced to a matching key.
//!
//! Normalising trims the value, removes `<>` and `mailto:`, lower-cases the domain and
//! IDNA-encodes it; the local part is kept as written (some servers do distinguish case) but
//! matched without regard to case, so the key is the whole address lower-cased. Nothing here
//! guesses: a value that is not one syntactically valid address is an error, never "fixed".

use std::fmt;

use xxhash_rust::xxh3::xxh3_64;

/// The longest address a mail server must accept (RFC 5321: 64 + 1 + 255, limited by the
/// 256-octet path including its angle brackets).
const MAX_ADDRESS_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;

/// A normalised, syntactically valid address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The address as it is kept and written: local part as given, domain lower-case ASCII.
    pub email: String,
    /// What matching uses: `email` lower-cased.
    pub key: String,
}

/// Why a value is not an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    Empty,
    NoAt,
    TooLong,
    BadDomain,
    Syntax,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Invalid::Empty => "empty address",
            Invalid::NoAt => "no @ in the address",
            Invalid::TooLong => "address too long",
            Invalid::BadDomain => "not a valid mail domain",
            Invalid::Syntax => "not a valid address",
        })
    }
}

impl std::error::Error for Invalid {}

impl Address {
    /// Normalises and checks `raw` (see the module doc).
    pub fn parse(raw: &str) -> Result<Address, Invalid> {
        let mut email = String::new();
        normalize_into(raw, &mut email)?;
        let key = key_of(&email);
        Ok(Address { email, key })
    }
}

/// `Address::parse` into a buffer the caller reuses: `out` gets the normalised address (the
/// `email` of `Address`), for the hot path of `validate`, which looks at millions of them.
pub fn normalize(raw: &str, out: &mut String) -> Result<(), Invalid> {
    normalize_into(raw, out)
}

/// The `key_hash` of `raw`'s key, or why `raw` is not an address: `Address::parse` without
/// its two allocations, for the hot path of `suppress filter` (`scratch` is reused).
pub fn parse_key_hash(raw: &str, scratch: &mut String) -> Result<u64, Invalid> {
    normalize_into(raw, scratch)?;
    if scratch.is_ascii() {
        scratch.make_ascii_lowercase();
    } else {
        *scratch = scratch.to_lowercase();
    }
    Ok(key_hash(scratch))
}

/// `parse_key_hash` of raw bytes (a CSV field): for the plain form almost every list holds
/// (see `plain_key_hash`) in one pass with no allocation, anything else through
/// `parse_key_hash`; the result is the same either way (tested).
pub fn key_hash_of_bytes(raw: &[u8], scratch: &mut String) -> Result<u64, Invalid> {
    if let Some(hash) = plain_key_hash(raw) {
        return Ok(hash);
    }
    let text = std::str::from_utf8(raw).map_err(|_| Invalid::Syntax)?;
    parse_key_hash(text, scratch)
}

/// `normalize` of raw bytes (a CSV field): the plain form (see `plain_at`) is copied with
/// its domain lower-cased, in one pass; anything else goes through `normalize`. The result
/// is the same either way (tested).
pub fn normalize_bytes(raw: &[u8], out: &mut String) -> Result<(), Invalid> {
    if let Some(at) = plain_at(raw) {
        out.clear();
        // The plain form is ASCII.
        out.push_str(std::str::from_utf8(&raw[..=at]).map_err(|_| Invalid::Syntax)?);
        out.extend(raw[at + 1..].iter().map(|b| b.to_ascii_lowercase() as char));
        return Ok(());
    }
    let text = std::str::from_utf8(raw).map_err(|_| Invalid::Syntax)?;
    normalize_into(text, out)
}

/// The key hash of an address already in plain form (see `plain_at`); `None` for anything
/// else, which the full parse then decides.
fn plain_key_hash(raw: &[u8]) -> Option<u64> {
    plain_at(raw)?;
    let mut lower = [0u8; MAX_ADDRESS_LEN];
    for (l, b) in lower.iter_mut().zip(raw) {
        *l = b.to_ascii_lowercase();
    }
    Some(xxh3_64(&lower[..raw.len()]))
}

/// Where the `@` is, when `raw` is an address in the plain form almost every list holds:
/// nothing around it, a local part of the usual atom characters (no leading, trailing or
/// double dot), one `@`, and a dotted domain of letters, digits and hyphens (no label
/// empty, longer than 63 or starting or ending with a hyphen). Every such address is valid
/// and normalises to itself with its domain lower-cased.
fn plain_at(raw: &[u8]) -> Option<usize> {
    let at = memchr::memchr(b'@', raw)?;
    let (local, domain) = (&raw[..at], &raw[at + 1..]);
    if local.is_empty() || local.len() > MAX_LOCAL_LEN || raw.len() > MAX_ADDRESS_LEN {
        return None;
    }
    let mut previous = b'.';
    for &b in local {
        let ok = b.is_ascii_alphanumeric()
            || matches!(b, b'_' | b'-' | b'+' | b'=' | b'\'')
            || (b == b'.' && previous != b'.');
        if !ok {
            return None;
        }
        previous = b;
    }
    if previous == b'.' {
        return None;
    }
    let (mut label_len, mut dots) = (0usize, 0usize);
    let mut previous = b'.';
    for &b in domain {
        if b == b'.' {
            if label_len == 0 || previous == b'-' {
                return None;
            }
            dots += 1;
            label_len = 0;
        } else if b.is_ascii_alphanumeric() || (b == b'-' && label_len > 0) {
            label_len += 1;
            if label_len > 63 {
                return None;
            }
        } else {
            return None;
        }
        previous = b;
    }
    if label_len == 0 || previous == b'-' || dots == 0 {
        return None;
    }
    Some(at)
}

/// Writes the normalised form of `raw` into `out` (cleared first), checking its syntax.
fn normalize_into(raw: &str, out: &mut String) -> Result<(), Invalid> {
    out.clear();
    let bare = strip_decoration(raw);
    if bare.is_empty() {
        return Err(Invalid::Empty);
    }
    let at = bare.rfind('@').ok_or(Invalid::NoAt)?;
    let (local, domain) = (&bare[..at], &bare[at + 1..]);
    if local.is_empty() {
        return Err(Invalid::Syntax);
    }
    if local.len() > MAX_LOCAL_LEN {
        return Err(Invalid::TooLong);
    }
    out.push_str(local);
    out.push('@');
    push_domain(domain, out)?;
    if out.len() > MAX_ADDRESS_LEN {
        return Err(Invalid::TooLong);
    }
    let domain = &out[local.len() + 1..];
    if !is_common_form(local, domain) && !email_address::EmailAddress::is_valid(out) {
        return Err(Invalid::Syntax);
    }
    Ok(())
}

/// Removes what surrounds an address in lists and headers: white space, `<>`, `mailto:`.
fn strip_decoration(raw: &str) -> &str {
    fn unbracket(a: &str) -> &str {
        let a = a.trim();
        a.strip_prefix('<')
            .and_then(|s| s.strip_suffix('>'))
            .unwrap_or(a)
            .trim()
    }
    let a = unbracket(raw);
    match a.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("mailto:") => unbracket(&a[7..]),
        _ => a,
    }
}

/// Appends a domain to `out` lower-cased and IDNA-encoded; it must have at least two labels
/// (a dotless host gets no mail from the Internet) or be an address literal.
fn push_domain(domain: &str, out: &mut String) -> Result<(), Invalid> {
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    if domain.starts_with('[') && domain.ends_with(']') {
        out.push_str(domain);
        return Ok(());
    }
    let encoded;
    let ascii = if domain.is_ascii() {
        domain
    } else {
        encoded = idna::domain_to_ascii(domain).map_err(|_| Invalid::BadDomain)?;
        &encoded
    };
    let labels_ok = ascii.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    if !labels_ok || !ascii.contains('.') || ascii.len() > 253 {
        return Err(Invalid::BadDomain);
    }
    let start = out.len();
    out.push_str(ascii);
    out[start..].make_ascii_lowercase();
    Ok(())
}

/// True for the plain form almost every list holds: a dot-atom local part of the usual
/// characters and a domain already checked by `normalize_domain`. Every address this accepts
/// is also valid RFC 5322 (tested against the `email_address` crate); anything else (quoted
/// local parts, rarer atom characters, UTF-8) is left to that crate. This keeps the check
/// cheap on the hot path of `suppress filter`.
fn is_common_form(local: &str, domain: &str) -> bool {
    let atom_char =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+' | b'=' | b'\'');
    let bytes = local.as_bytes();
    !bytes.is_empty()
        && bytes.iter().all(|&b| atom_char(b))
        && bytes[0] != b'.'
        && bytes[bytes.len() - 1] != b'.'
        && memchr::memmem::find(bytes, b"..").is_none()
        && !domain.contains('_')
        && !domain.starts_with('[')
}

/// The matching key of a normalised address: the address lower-cased.
pub fn key_of(email: &str) -> String {
    if email.is_ascii() {
        email.to_ascii_lowercase()
    } else {
        email.to_lowercase()
    }
}

/// A 64-bit hash of a key, for the in-memory sets of `suppress filter` (10 million rows fit
/// in a few hundred megabytes only as hashes). A collision can only make two different
/// addresses look alike, which drops a row; it can never let a suppressed address through.
pub fn key_hash(key: &str) -> u64 {
    xxh3_64(key.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(raw: &str) -> String {
        Address::parse(raw).expect(raw).email
    }

    #[test]
    fn normalises_decoration_and_domain_case() {
        assert_eq!(email("  <Jan.Novak@Example.ORG> "), "Jan.Novak@example.org");
        assert_eq!(email("mailto:a@b.example"), "a@b.example");
        assert_eq!(email("MAILTO:<x@y.example>"), "x@y.example");
        assert_eq!(email("a@b.example."), "a@b.example");
    }

    #[test]
    fn key_ignores_case_of_the_local_part() {
        let a = Address::parse("Jan@Example.org").unwrap();
        let b = Address::parse("jan@example.ORG").unwrap();
        assert_eq!(a.key, b.key);
        assert_ne!(a.email, b.email);
    }

    #[test]
    fn the_key_hash_is_the_hash_of_the_key() {
        let mut scratch = String::new();
        for raw in ["Jan@Example.ORG", "<x@bücher.example>", "\"A b\"@x.example"] {
            let address = Address::parse(raw).unwrap();
            assert_eq!(
                parse_key_hash(raw, &mut scratch),
                Ok(key_hash(&address.key))
            );
        }
        assert_eq!(parse_key_hash("nope", &mut scratch), Err(Invalid::NoAt));
    }

    #[test]
    fn the_plain_path_agrees_with_the_full_parse() {
        // Local parts and domains built from the characters that matter to either path,
        // with a stray one now and then.
        const LOCAL: &[u8] = b"aZ09._-+='";
        const DOMAIN: &[u8] = b"aZ09-.";
        const STRAY: &[u8] = b"@\"<> _.-";
        let mut state = 0x1234_5678_9abc_def1u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut scratch = String::new();
        let mut plain = 0;
        for _ in 0..50_000 {
            let mut raw = Vec::new();
            for _ in 0..1 + next() % 8 {
                raw.push(LOCAL[(next() % LOCAL.len() as u64) as usize]);
            }
            raw.push(b'@');
            for _ in 0..1 + next() % 10 {
                raw.push(DOMAIN[(next() % DOMAIN.len() as u64) as usize]);
            }
            raw.extend_from_slice(b".example");
            if next() % 4 == 0 {
                let at = (next() % raw.len() as u64) as usize;
                raw.insert(at, STRAY[(next() % STRAY.len() as u64) as usize]);
            }
            let text = String::from_utf8(raw.clone()).unwrap();
            let full = parse_key_hash(&text, &mut scratch);
            if let Some(hash) = plain_key_hash(&raw) {
                plain += 1;
                assert_eq!(full, Ok(hash), "{text:?}");
            }
            assert_eq!(key_hash_of_bytes(&raw, &mut scratch), full, "{text:?}");
            let mut fast = String::new();
            let parsed = Address::parse(&text);
            assert_eq!(
                normalize_bytes(&raw, &mut fast).map(|()| fast),
                parsed.map(|a| a.email),
                "{text:?}"
            );
        }
        assert!(
            plain > 5_000,
            "the generator reaches the plain path ({plain})"
        );
        assert_eq!(
            plain_key_hash(b"Jan.Novak@Example.ORG"),
            Some(key_hash("jan.novak@example.org"))
        );
    }

    #[test]
    fn idn_domains_are_encoded() {
        assert_eq!(email("jan@München.de"), "jan@xn--mnchen-3ya.de");
        assert_eq!(email("x@bücher.example"), "x@xn--bcher-kva.example");
    }

    #[test]
    fn invalid_values_say_why() {
        assert_eq!(Address::parse(""), Err(Invalid::Empty));
        assert_eq!(Address::parse(" <> "), Err(Invalid::Empty));
        assert_eq!(Address::parse("jan.example.org"), Err(Invalid::NoAt));
        assert_eq!(Address::parse("@example.org"), Err(Invalid::Syntax));
        assert_eq!(Address::parse("a@localhost"), Err(Invalid::BadDomain));
        assert_eq!(Address::parse("a@-x.example"), Err(Invalid::BadDomain));
        assert_eq!(Address::parse("a@x..example"), Err(Invalid::BadDomain));
        assert_eq!(Address::parse("a..b@x.example"), Err(Invalid::Syntax));
        assert_eq!(Address::parse(".a@x.example"), Err(Invalid::Syntax));
        assert_eq!(Address::parse("a b@x.example"), Err(Invalid::Syntax));
        let long_local = format!("{}@x.example", "a".repeat(65));
        assert_eq!(Address::parse(&long_local), Err(Invalid::TooLong));
    }

    #[test]
    fn unusual_but_valid_forms_are_accepted() {
        assert!(Address::parse("\"jan novak\"@example.org").is_ok());
        assert!(Address::parse("o'brien@example.ie").is_ok());
        assert!(Address::parse("a!#$%&*/?^`{|}~@example.org").is_ok());
        assert!(Address::parse("user@[192.0.2.1]").is_ok());
    }

    #[test]
    fn the_fast_path_accepts_nothing_the_crate_rejects() {
        const CHARS: &[u8] = b"aZ09._-+='@";
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = 1 + next() % 12;
            let local: String = (0..len)
                .map(|_| CHARS[(next() % CHARS.len() as u64) as usize] as char)
                .filter(|&c| c != '@')
                .collect();
            if is_common_form(&local, "example.org") {
                let email = format!("{local}@example.org");
                assert!(
                    email_address::EmailAddress::is_valid(&email),
                    "fast path accepted {email:?}"
                );
            }
        }
    }
}
