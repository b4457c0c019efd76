//! A JSONL record as `validate` needs it: its address field and a little about its keys,
//! read without building the record (every other value is skipped, no key is copied), since
//! the record itself is written back as its own text.
//!
//! The address field is chosen as `records::address_column` chooses a column: the one named
//! by `--column`, else the first of `ADDRESS_COLUMNS` present, names compared without regard
//! to case and surrounding space.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::COLUMNS;
use crate::records::ADDRESS_COLUMNS;

/// What a scanned record holds.
#[derive(Debug, Default, PartialEq)]
pub struct Scanned {
    /// The address field's value as text: a string as it is, another value as JSON; `None`
    /// when absent or null.
    pub address: Option<String>,
    /// How many fields the record has.
    pub fields: usize,
    /// Whether it has a field named like one of the columns `validate` adds.
    pub has_ours: bool,
}

/// Scans one line; an error when it is no JSON object.
pub fn scan(line: &[u8], column: Option<&str>) -> Result<Scanned, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(line);
    let scanned = ScanRecord { column }.deserialize(&mut de)?;
    de.end()?;
    Ok(scanned)
}

struct ScanRecord<'c> {
    column: Option<&'c str>,
}

impl<'de> DeserializeSeed<'de> for ScanRecord<'_> {
    type Value = Scanned;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Scanned, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ScanRecord<'_> {
    type Value = Scanned;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scanned, A::Error> {
        let mut scanned = Scanned::default();
        // The rank of the address field found so far (lower is preferred).
        let mut best = usize::MAX;
        while let Some(key) = map.next_key_seed(KeySeed {
            column: self.column,
        })? {
            scanned.fields += 1;
            match key {
                Key::Address(rank) if rank <= best => {
                    best = rank;
                    scanned.address = match map.next_value::<Value>()? {
                        Value::Null => None,
                        Value::String(s) => Some(s),
                        other => Some(other.to_string()),
                    };
                }
                Key::Ours => {
                    scanned.has_ours = true;
                    map.next_value::<IgnoredAny>()?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(scanned)
    }
}

/// What a key is to `validate`.
enum Key {
    /// A possible address field, with its rank among the names looked for.
    Address(usize),
    /// One of the columns `validate` adds.
    Ours,
    Other,
}

struct KeySeed<'c> {
    column: Option<&'c str>,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_> {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    // Called for borrowed and unescaped keys alike: nothing is copied.
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        let name = key.trim();
        let rank = match self.column {
            Some(wanted) => name.eq_ignore_ascii_case(wanted.trim()).then_some(0),
            None => ADDRESS_COLUMNS
                .iter()
                .position(|c| name.eq_ignore_ascii_case(c)),
        };
        Ok(match rank {
            Some(rank) => Key::Address(rank),
            None if COLUMNS.contains(&key) => Key::Ours,
            None => Key::Other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(line: &str, column: Option<&str>) -> Option<String> {
        scan(line.as_bytes(), column).unwrap().address
    }

    #[test]
    fn the_address_field_is_chosen_as_a_csv_column_is() {
        assert_eq!(
            address(r#"{"name":"Jan","Email":"jan@example.org"}"#, None).as_deref(),
            Some("jan@example.org")
        );
        // email is preferred to mail wherever it stands.
        assert_eq!(
            address(r#"{"mail":"a@x.example","email":"b@x.example"}"#, None).as_deref(),
            Some("b@x.example")
        );
        assert_eq!(
            address(r#"{"email":"b@x.example","mail":"a@x.example"}"#, None).as_deref(),
            Some("b@x.example")
        );
        assert_eq!(
            address(
                r#"{"email":"a@x.example","contact":"c@x.example"}"#,
                Some("Contact")
            )
            .as_deref(),
            Some("c@x.example")
        );
        assert_eq!(address(r#"{"email":null}"#, None), None);
        assert_eq!(address(r#"{"other":1}"#, None), None);
        assert_eq!(address(r#"{"email":42}"#, None).as_deref(), Some("42"));
        // Escapes in keys and values are read as JSON says.
        assert_eq!(
            address(r#"{"e\u006dail":"j\u0061n@example.org"}"#, None).as_deref(),
            Some("jan@example.org")
        );
    }

    #[test]
    fn fields_are_counted_and_ours_noticed() {
        let s = scan(
            br#"{"email":"a@x.example","n":[1,{"valid":2}],"x":{}}"#,
            None,
        )
        .unwrap();
        assert_eq!((s.fields, s.has_ours), (3, false));
        let s = scan(br#"{"email":"a@x.example","check":"old"}"#, None).unwrap();
        assert!(s.has_ours);
        assert_eq!(scan(b"{}", None).unwrap().fields, 0);
    }

    #[test]
    fn anything_but_one_object_is_an_error() {
        for line in ["[1]", "\"x\"", "{", "{}{}", "not json", "{\"a\":1} x"] {
            assert!(scan(line.as_bytes(), None).is_err(), "{line}");
        }
        assert!(scan(b"  {\"a\":1}  ", None).is_ok());
    }
}
