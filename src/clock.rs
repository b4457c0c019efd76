//! Times as the records carry them (RFC 3339, UTC) and as the store keeps them (Unix seconds).

use chrono::{DateTime, SecondsFormat, Utc};

/// Now, in Unix seconds.
pub fn now() -> i64 {
    Utc::now().timestamp()
}

/// An RFC 3339 time (any offset) in Unix seconds; `None` when it is not one.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.timestamp())
}

/// Unix seconds as RFC 3339 in UTC, e.g. `2026-05-05T07:14:07Z`.
pub fn format_rfc3339(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| secs.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_rfc3339() {
        let t = parse_rfc3339("2026-05-05T09:14:07+02:00").unwrap();
        assert_eq!(format_rfc3339(t), "2026-05-05T07:14:07Z");
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
