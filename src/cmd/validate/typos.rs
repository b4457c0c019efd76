//! Likely corrections of mistyped mail domains: `gmial.com` → `gmail.com`, `wp.lp` →
//! `wp.pl`, and the source documents' own `dżmail.pl` for `gmail.com`.
//!
//! A domain is compared with two sets of candidates: the big mailbox providers (a fixed,
//! documented list) and the domains common in the same list (a company's own domain, a
//! regional provider missing from the fixed list). Edits are counted as Damerau–Levenshtein
//! (optimal string alignment: a swap of two neighbours is one edit) over the Unicode form.
//!
//! A suggestion is advice, never a verdict: it never makes an address invalid. So that it is
//! worth reading, a domain that DNS shows to take mail keeps a suggestion only when it is one
//! edit from a long provider name or is a provider's name under another TLD (typo domains of
//! the big providers are registered by typo-squatters and do take mail); otherwise a
//! suggestion is made only where DNS found nothing, or was not asked.

use std::collections::HashMap;

/// The mailbox providers whose typos are suggested, with the source documents' Polish,
/// Czech and Norwegian ones. A domain in this list is never "corrected" to another.
pub const PROVIDERS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "ymail.com",
    "hotmail.com",
    "hotmail.co.uk",
    "hotmail.de",
    "hotmail.fr",
    "hotmail.es",
    "hotmail.it",
    "hotmail.nl",
    "hotmail.be",
    "hotmail.co.jp",
    "hotmail.com.br",
    "outlook.com",
    "outlook.de",
    "outlook.fr",
    "outlook.es",
    "outlook.it",
    "outlook.jp",
    "live.com",
    "live.co.uk",
    "live.de",
    "live.fr",
    "live.nl",
    "live.it",
    "msn.com",
    "yahoo.co.uk",
    "yahoo.de",
    "yahoo.fr",
    "yahoo.es",
    "yahoo.it",
    "yahoo.co.jp",
    "yahoo.com.br",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "t-online.de",
    "mail.com",
    "email.com",
    "proton.me",
    "protonmail.com",
    "yandex.ru",
    "mail.ru",
    "zoho.com",
    "fastmail.com",
    "wp.pl",
    "o2.pl",
    "op.pl",
    "onet.pl",
    "interia.pl",
    "poczta.fm",
    "tlen.pl",
    "seznam.cz",
    "email.cz",
    "centrum.cz",
    "atlas.cz",
    "post.cz",
    "online.no",
    "start.no",
];

/// Providers whose mail lives under one domain only, so that their name under any other TLD
/// (`gmail.pl`) is a typo whatever DNS says about it.
const ONE_DOMAIN: &[&str] = &["gmail.com", "googlemail.com", "icloud.com"];

/// A list domain is a candidate when it has at least this many addresses...
const COMMON_MIN: u32 = 5;
/// ...and at least this many times as many as the domain being corrected.
const COMMON_RATIO: u32 = 10;
/// How many of a list's most common domains are candidates (the cost of suggesting grows
/// with it, and the rest are too rare to be what someone meant).
const COMMON_TOP: usize = 100;

/// What DNS said about the domain being corrected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dns {
    /// The domain takes mail.
    Accepts,
    /// The domain takes no mail (no such domain, Null MX, no mail host).
    Fails,
    /// Not asked, or no answer.
    Unknown,
}

struct Candidate {
    ascii: String,
    chars: Vec<char>,
    count: u32,
    provider: bool,
}

/// The candidates of one list, built once its domains have been counted.
pub struct Suggester {
    candidates: Vec<Candidate>,
    /// Domains that are never corrected (the providers).
    providers: Vec<String>,
}

impl Suggester {
    /// `counts`: addresses per (ASCII) domain in the list.
    pub fn new(counts: &HashMap<&str, u32>) -> Suggester {
        let mut candidates: Vec<Candidate> = PROVIDERS
            .iter()
            .map(|p| Candidate {
                ascii: p.to_string(),
                chars: unicode(p).chars().collect(),
                count: counts.get(p).copied().unwrap_or(0),
                provider: true,
            })
            .collect();
        let mut common: Vec<(&str, u32)> = counts
            .iter()
            .filter(|(d, n)| **n >= COMMON_MIN && !PROVIDERS.contains(d))
            .map(|(d, n)| (*d, *n))
            .collect();
        common.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        common.truncate(COMMON_TOP);
        candidates.extend(common.into_iter().map(|(d, n)| Candidate {
            ascii: d.to_string(),
            chars: unicode(d).chars().collect(),
            count: n,
            provider: false,
        }));
        Suggester {
            candidates,
            providers: PROVIDERS.iter().map(|p| p.to_string()).collect(),
        }
    }

    /// The domain `domain` (ASCII, lower-case, as normalised) was probably meant to be, if
    /// any; `count` is its number of addresses in the list.
    pub fn suggest(&self, domain: &str, count: u32, dns: Dns) -> Option<String> {
        if self.providers.iter().any(|p| p == domain) {
            return None;
        }
        let text: Vec<char> = unicode(domain).chars().collect();
        // Each match as (edits, weak, not a provider, rarer) and the candidate: the least
        // is the best (fewer edits, then a strong match, a provider, a commoner domain).
        let mut matches: Vec<((usize, bool, bool, u32), usize)> = Vec::new();
        let mut consider = |edits: usize, strong: bool, i: usize| {
            let c = &self.candidates[i];
            if dns != Dns::Accepts || strong {
                matches.push(((edits, !strong, !c.provider, u32::MAX - c.count), i));
            }
        };
        for (i, c) in self.candidates.iter().enumerate() {
            if c.ascii == domain || (!c.provider && c.count < count.saturating_mul(COMMON_RATIO)) {
                continue;
            }
            let limit = if c.chars.len() >= 9 { 2 } else { 1 };
            if let Some(edits) = distance(&text, &c.chars, limit) {
                consider(edits, c.provider && edits == 1 && c.chars.len() >= 8, i);
            }
        }
        // A one-domain provider's name under another TLD, spelt as it sounds in Polish
        // (`dż` for the English g) or one edit off.
        if let Some(name) = registered_name(&text) {
            let folded = fold(name);
            for (i, c) in self.candidates.iter().enumerate() {
                if !ONE_DOMAIN.contains(&c.ascii.as_str()) {
                    continue;
                }
                let label: Vec<char> = c.ascii.split('.').next().unwrap_or("").chars().collect();
                match distance(&folded, &label, 1) {
                    Some(0) => consider(0, true, i),
                    Some(1) if folded.len() >= 5 => consider(1, false, i),
                    _ => {}
                }
            }
        }
        matches
            .into_iter()
            .min()
            .map(|(_, i)| self.candidates[i].ascii.clone())
    }

    /// A correction for the domain part of a value that is not an address at all
    /// (`gmail,com`, `gmailcom`): the same candidates, compared as text.
    pub fn suggest_raw(&self, domain: &str) -> Option<String> {
        let domain = domain.trim().to_lowercase().replace([',', ' '], ".");
        let domain = domain.trim_matches('.');
        if domain.is_empty() {
            return None;
        }
        if self.providers.iter().any(|p| p == domain) {
            return Some(domain.to_string());
        }
        self.suggest(domain, 0, Dns::Unknown)
    }
}

/// The Unicode form of an ASCII (IDNA) domain, for counting edits as a person typed them.
fn unicode(domain: &str) -> String {
    if domain.contains("xn--") {
        idna::domain_to_unicode(domain).0
    } else {
        domain.to_string()
    }
}

/// The label before the TLD (`dżmail` of `dżmail.pl`), for domains of two labels or more.
fn registered_name(domain: &[char]) -> Option<&[char]> {
    let last_dot = domain.iter().rposition(|&c| c == '.')?;
    let before = &domain[..last_dot];
    let start = before.iter().rposition(|&c| c == '.').map_or(0, |i| i + 1);
    Some(&before[start..])
}

/// Polish spellings of the English g sound, as in "dżimejl" for "gmail".
fn fold(name: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(name.len());
    let mut i = 0;
    while i < name.len() {
        if name[i] == 'd' && matches!(name.get(i + 1), Some('ż' | 'z')) {
            out.push('g');
            i += 2;
        } else {
            out.push(name[i]);
            i += 1;
        }
    }
    out
}

/// The optimal-string-alignment distance of `a` and `b` when it is at most `limit`.
///
/// Only the cells within `limit` of the diagonal are computed (any cell further off is
/// more than `limit` edits away, so a value above `limit` stands for all of them): this runs
/// for every domain of a list against every candidate.
fn distance(a: &[char], b: &[char], limit: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let far = limit + 1;
    let width = b.len() + 1;
    // Three rows: two back (for swaps), one back, and the current one; on the stack for any
    // domain of a usual length.
    let mut stack = [0usize; 3 * 80];
    let mut heap = Vec::new();
    let rows: &mut [usize] = if 3 * width <= stack.len() {
        &mut stack[..3 * width]
    } else {
        heap.resize(3 * width, 0);
        &mut heap
    };
    for (j, cell) in rows[2 * width..].iter_mut().enumerate() {
        *cell = j.min(far);
    }
    for i in 1..=a.len() {
        rows.copy_within(width.., 0);
        let (older, rest) = rows.split_at_mut(width);
        let (previous, current) = rest.split_at_mut(width);
        let low = i.saturating_sub(limit).max(1);
        let high = (i + limit).min(b.len());
        current[low - 1] = if low == 1 { i.min(far) } else { far };
        let mut row_min = current[low - 1];
        for j in low..=high {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(older[j - 2] + 1);
            }
            current[j] = d.min(far);
            row_min = row_min.min(d);
        }
        if high < b.len() {
            current[high + 1] = far;
        }
        if row_min > limit {
            return None;
        }
    }
    let d = rows[3 * width - 1];
    (d <= limit).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    fn suggester(list: &[(&'static str, u32)]) -> Suggester {
        Suggester::new(&list.iter().copied().collect())
    }

    /// The whole table, for checking the banded one.
    fn full_distance(a: &[char], b: &[char]) -> usize {
        let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in d[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                d[i][j] = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                }
            }
        }
        d[a.len()][b.len()]
    }

    #[test]
    fn the_banded_distance_agrees_with_the_whole_table() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        const ALPHABET: &[char] = &['a', 'b', 'c', '.', 'ż'];
        for _ in 0..20_000 {
            let (la, lb) = (next() % 9, next() % 9);
            let a: Vec<char> = (0..la).map(|_| ALPHABET[(next() % 5) as usize]).collect();
            let b: Vec<char> = (0..lb).map(|_| ALPHABET[(next() % 5) as usize]).collect();
            let full = full_distance(&a, &b);
            for limit in 0..4 {
                let want = (full <= limit).then_some(full);
                assert_eq!(distance(&a, &b, limit), want, "{a:?} {b:?} limit {limit}");
            }
        }
    }

    #[test]
    fn distance_counts_a_swap_as_one_edit() {
        let d = |a: &str, b: &str| distance(&chars(a), &chars(b), 3);
        assert_eq!(d("gmial.com", "gmail.com"), Some(1));
        assert_eq!(d("wp.lp", "wp.pl"), Some(1));
        assert_eq!(d("gmai.com", "gmail.com"), Some(1));
        assert_eq!(d("gmail.con", "gmail.com"), Some(1));
        assert_eq!(d("gmial.con", "gmail.com"), Some(2));
        assert_eq!(d("abc", "abc"), Some(0));
        assert_eq!(d("", "ab"), Some(2));
        assert_eq!(d("kitten", "sitting"), Some(3));
        assert_eq!(distance(&chars("kitten"), &chars("sitting"), 2), None);
        assert_eq!(distance(&chars("a"), &chars("abcd"), 2), None);
    }

    #[test]
    fn typos_of_the_big_providers_are_corrected() {
        let s = suggester(&[]);
        for (typo, meant) in [
            ("gmial.com", "gmail.com"),
            ("gmai.com", "gmail.com"),
            ("gmail.co", "gmail.com"),
            ("gmail.con", "gmail.com"),
            ("gnail.com", "gmail.com"),
            ("hotmial.com", "hotmail.com"),
            ("yahooo.com", "yahoo.com"),
            ("outlok.com", "outlook.com"),
            ("wp.lp", "wp.pl"),
            ("seznam.c", "seznam.cz"),
            ("gmail.pl", "gmail.com"),
            ("icloud.co", "icloud.com"),
        ] {
            assert_eq!(
                s.suggest(typo, 1, Dns::Unknown).as_deref(),
                Some(meant),
                "{typo}"
            );
        }
    }

    #[test]
    fn the_source_documents_example_is_corrected() {
        // "kowalski@dżmail.pl zamiast kowalski@gmail.com" (001): the IDN form is what is
        // compared, so the punycode of the normalised address is no obstacle.
        let ascii = idna::domain_to_ascii("dżmail.pl").unwrap();
        let s = suggester(&[]);
        assert_eq!(
            s.suggest(&ascii, 1, Dns::Fails).as_deref(),
            Some("gmail.com")
        );
        assert_eq!(
            s.suggest(&ascii, 1, Dns::Accepts).as_deref(),
            Some("gmail.com")
        );
    }

    #[test]
    fn providers_and_unrelated_domains_are_left_alone() {
        let s = suggester(&[]);
        for domain in [
            "gmail.com",
            "wp.pl",
            "o2.pl",
            "email.cz",
            "mail.com",
            "example.org",
            "firma.pl",
            "gmx.de",
            // The providers' country domains, one edit from each other.
            "hotmail.es",
            "hotmail.it",
            "hotmail.co.jp",
            "live.de",
            "yahoo.fr",
        ] {
            assert_eq!(s.suggest(domain, 1, Dns::Unknown), None, "{domain}");
            assert_eq!(s.suggest(domain, 1, Dns::Accepts), None, "{domain}");
        }
    }

    #[test]
    fn a_domain_that_takes_mail_keeps_only_strong_suggestions() {
        let s = suggester(&[]);
        // One edit from a long provider name: a typo-squatter's domain.
        assert_eq!(
            s.suggest("gmial.com", 1, Dns::Accepts).as_deref(),
            Some("gmail.com")
        );
        // Two edits, or one from a short name: a real domain of its own more likely.
        assert_eq!(s.suggest("gmial.con", 1, Dns::Accepts), None);
        assert_eq!(
            s.suggest("gmial.con", 1, Dns::Fails).as_deref(),
            Some("gmail.com")
        );
        assert_eq!(s.suggest("wb.pl", 1, Dns::Accepts), None);
        assert_eq!(s.suggest("wb.pl", 1, Dns::Fails).as_deref(), Some("wp.pl"));
        // A name one edit from a one-domain provider's, under another TLD.
        assert_eq!(s.suggest("email.it", 1, Dns::Accepts), None);
    }

    #[test]
    fn common_domains_of_the_list_are_candidates() {
        let s = suggester(&[
            ("acme-corp.com", 40),
            ("acme-crop.com", 1),
            ("firma1.pl", 4),
            ("firma2.pl", 30),
        ]);
        assert_eq!(
            s.suggest("acme-crop.com", 1, Dns::Fails).as_deref(),
            Some("acme-corp.com")
        );
        // firma1.pl (4) is not rare enough next to firma2.pl (30): ten times as many needed.
        assert_eq!(s.suggest("firma1.pl", 4, Dns::Fails), None);
        assert_eq!(
            s.suggest("firma1.pl", 3, Dns::Fails).as_deref(),
            Some("firma2.pl")
        );
        assert_eq!(
            s.suggest("firma3.pl", 1, Dns::Fails).as_deref(),
            Some("firma2.pl")
        );
        // A list domain that takes mail is somebody's: no suggestion.
        assert_eq!(s.suggest("firma3.pl", 1, Dns::Accepts), None);
        // Too few addresses to be common.
        let s = suggester(&[("acme-corp.com", 4)]);
        assert_eq!(s.suggest("acme-crop.com", 0, Dns::Fails), None);
    }

    #[test]
    fn values_that_are_not_addresses_get_their_domain_corrected() {
        let s = suggester(&[]);
        assert_eq!(s.suggest_raw("gmail,com").as_deref(), Some("gmail.com"));
        assert_eq!(s.suggest_raw("gmailcom").as_deref(), Some("gmail.com"));
        assert_eq!(s.suggest_raw("wp,pl").as_deref(), Some("wp.pl"));
        assert_eq!(s.suggest_raw("nothing-like-it"), None);
    }
}
