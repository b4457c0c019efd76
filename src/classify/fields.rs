//! The "Name: value" field groups of machine-readable report parts: RFC 3464
//! delivery-status, RFC 5965 feedback-report and RFC 8098 disposition-notification bodies.
//!
//! Hand-written rather than mailparse's header parser because real reports break the
//! grammar (missing blank lines, leading spaces, stray text) and one broken line must not lose
//! the rest of the group.

/// One group of fields (per-message or per-recipient), in order, names as written.
#[derive(Debug, Default, Clone)]
pub struct FieldGroup {
    pub fields: Vec<(String, String)>,
}

impl FieldGroup {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Fields that name one recipient of a delivery-status report. When one of them comes again
/// within a group, the next recipient's group has begun: some MTAs (AOL's) leave out the blank
/// line between recipients.
const RECIPIENT_FIELDS: &[&str] = &["Final-Recipient", "Original-Recipient"];

/// Splits a report body into field groups separated by blank lines (or by a repeated
/// recipient field), unfolding continuation lines. Lines that are not fields are ignored.
pub fn parse_groups(text: &str) -> Vec<FieldGroup> {
    let mut groups = Vec::new();
    let mut current = FieldGroup::default();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !current.fields.is_empty() {
                groups.push(std::mem::take(&mut current));
            }
            continue;
        }
        let continuation = line.starts_with([' ', '\t']) && !looks_like_field(line.trim_start());
        if continuation {
            if let Some((_, value)) = current.fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = split_field(line.trim_start()) {
            if RECIPIENT_FIELDS
                .iter()
                .any(|f| f.eq_ignore_ascii_case(name))
                && current.has(name)
            {
                groups.push(std::mem::take(&mut current));
            }
            current
                .fields
                .push((name.to_string(), value.trim().to_string()));
        }
    }
    if !current.fields.is_empty() {
        groups.push(current);
    }
    groups
}

fn split_field(line: &str) -> Option<(&str, &str)> {
    let colon = line.find(':')?;
    let name = &line[..colon];
    if name.is_empty()
        || name.len() > 40
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    Some((name, &line[colon + 1..]))
}

fn looks_like_field(line: &str) -> bool {
    split_field(line).is_some_and(|(name, _)| name.contains('-') && name.len() > 5)
}

/// Strips an RFC 3464 type prefix: `rfc822; a@b` → `a@b`, `smtp; 550 ...` → `550 ...`,
/// `dns; mx.example.org` → `mx.example.org`.
pub fn strip_type(value: &str) -> &str {
    match value.find(';') {
        Some(i)
            if i < 16
                && value[..i]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b' ') =>
        {
            value[i + 1..].trim()
        }
        _ => value.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_continuations() {
        let text = "Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; a@b.example\nAction: failed\nDiagnostic-Code: smtp; 550 5.1.1\n  user unknown\n\nFinal-Recipient: rfc822; c@d.example\n";
        let groups = parse_groups(text);
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[1].get("action"), Some("failed"));
        assert_eq!(
            groups[1].get("Diagnostic-Code"),
            Some("smtp; 550 5.1.1 user unknown")
        );
        assert_eq!(
            strip_type(groups[2].get("final-recipient").unwrap()),
            "c@d.example"
        );
    }

    #[test]
    fn a_repeated_recipient_field_starts_the_next_group() {
        let text = "Reporting-MTA: dns; mx.example.org\nFinal-Recipient: rfc822; a@b.example\nOriginal-Recipient: rfc822;a@b.example\nAction: failed\nFinal-Recipient: rfc822; c@d.example\nOriginal-Recipient: rfc822;c@d.example\nAction: failed\n";
        let groups = parse_groups(text);
        assert_eq!(groups.len(), 2);
        assert_eq!(
            groups[0].get("Final-Recipient"),
            Some("rfc822; a@b.example")
        );
        assert_eq!(
            groups[1].get("Original-Recipient"),
            Some("rfc822;c@d.example")
        );
    }

    #[test]
    fn strip_type_leaves_plain_values() {
        assert_eq!(
            strip_type("550 user unknown; sorry"),
            "550 user unknown; sorry"
        );
        assert_eq!(strip_type("dns;mx.example.org"), "mx.example.org");
    }
}
