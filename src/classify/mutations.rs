//! Fuzz-style tests of `Classifier::classify`: our own fixtures, mutated where the readers
//! look at fixed byte offsets (right after a field's colon or a type's semicolon, around an
//! `@`, at line starts) and at pseudo-random places, must never make it panic or return no
//! record. Deterministic, so a failure names the fixture and the mutation that broke it.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::{Classifier, Options};

/// One fixture of each recogniser, and the one with non-ASCII fields.
const FIXTURES: &[(&str, &[u8])] = &[
    (
        "rfc3464_two_recipients.eml",
        include_bytes!("../../tests/fixtures/rfc3464_two_recipients.eml"),
    ),
    (
        "dsn_non_ascii_fields.eml",
        include_bytes!("../../tests/fixtures/dsn_non_ascii_fields.eml"),
    ),
    (
        "dsn_without_report_type.eml",
        include_bytes!("../../tests/fixtures/dsn_without_report_type.eml"),
    ),
    (
        "exim_user_unknown.eml",
        include_bytes!("../../tests/fixtures/exim_user_unknown.eml"),
    ),
    (
        "qmail_user_unknown.eml",
        include_bytes!("../../tests/fixtures/qmail_user_unknown.eml"),
    ),
    (
        "postfix_spamhaus_block.eml",
        include_bytes!("../../tests/fixtures/postfix_spamhaus_block.eml"),
    ),
    (
        "gmail_permanent_failure.eml",
        include_bytes!("../../tests/fixtures/gmail_permanent_failure.eml"),
    ),
    (
        "arf_abuse.eml",
        include_bytes!("../../tests/fixtures/arf_abuse.eml"),
    ),
    (
        "mdn_displayed.eml",
        include_bytes!("../../tests/fixtures/mdn_displayed.eml"),
    ),
    (
        "rfc3834_autoreply.eml",
        include_bytes!("../../tests/fixtures/rfc3834_autoreply.eml"),
    ),
    (
        "reply_unsubscribe_polish.eml",
        include_bytes!("../../tests/fixtures/reply_unsubscribe_polish.eml"),
    ),
    (
        "verp_names_no_recipient.eml",
        include_bytes!("../../tests/fixtures/verp_names_no_recipient.eml"),
    ),
];

/// Two-, three- and four-byte characters (and a lone continuation byte, which is not UTF-8).
const INSERTS: &[&[u8]] = &[
    "é".as_bytes(),
    "ł".as_bytes(),
    "日".as_bytes(),
    "😀".as_bytes(),
    b"\x80",
];

/// Offsets worth a character: after the bytes that readers cut text at, and every 11th.
fn offsets(raw: &[u8]) -> impl Iterator<Item = usize> + '_ {
    (0..=raw.len()).filter(|&i| {
        i % 11 == 0
            || matches!(
                i.checked_sub(1).map(|p| raw[p]),
                Some(b':' | b';' | b'@' | b'<' | b'\n' | b'.' | b'=' | b'(')
            )
            || raw.get(i) == Some(&b'@')
    })
}

/// xorshift64: the same "random" bytes on every run.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Every mutation of `raw`: a character inserted at each offset of `offsets`, then single
/// bytes flipped or set to a high byte at pseudo-random places.
fn mutations(raw: &[u8], seed: u64) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (n, at) in offsets(raw).enumerate() {
        let insert = INSERTS[n % INSERTS.len()];
        let mut m = raw.to_vec();
        m.splice(at..at, insert.iter().copied());
        out.push((format!("{insert:?} inserted at byte {at}"), m));
    }
    let mut rng = Xorshift(seed | 1);
    for _ in 0..150 {
        let at = (rng.next() % raw.len() as u64) as usize;
        let byte = match rng.next() % 3 {
            0 => raw[at] ^ (1 << (rng.next() % 8)),
            1 => 0x80 | (rng.next() as u8),
            _ => 0,
        };
        let mut m = raw.to_vec();
        m[at] = byte;
        out.push((format!("byte {at} set to {byte:#04x}"), m));
    }
    out
}

#[test]
fn mutated_fixtures_never_panic_and_always_give_a_record() {
    let classifier = Classifier::new(&Options {
        own_domains: vec!["example.com".into()],
        own_addresses: vec!["Zażółć@x.pl".into()],
        verp: vec!["bounces@example.com".into()],
    });
    let mut failures = Vec::new();
    let mut tried = 0;
    for (i, (name, raw)) in FIXTURES.iter().enumerate() {
        for (what, mutated) in mutations(raw, 0x9E37_79B9_7F4A_7C15 ^ i as u64) {
            tried += 1;
            match catch_unwind(AssertUnwindSafe(|| classifier.classify(&mutated))) {
                Ok(events) if events.is_empty() => {
                    failures.push(format!("{name}, {what}: no record"))
                }
                Ok(_) => {}
                Err(_) => failures.push(format!("{name}, {what}: panicked")),
            }
        }
    }
    assert!(tried > 2000, "only {tried} mutations");
    assert!(
        failures.is_empty(),
        "{} of {tried} mutations failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
