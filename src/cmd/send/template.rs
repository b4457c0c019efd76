//! The message template: an RFC 5322 file (headers and body, MIME allowed) or a subject with
//! text and/or HTML files, turned into one message per row with minijinja in strict mode.
//!
//! The file is parsed once into its MIME tree; every header value and every text part becomes
//! a template of its own, so each is rendered in its context: an HTML part escapes the values
//! put into it; a header refuses a value that holds a line break (it would start a header of
//! its own: header injection); a variable with no value in the row fails that row, and so
//! does an empty one, which would otherwise mail "Dear ,". Rendered text is re-encoded
//! (7bit when it can be, quoted-printable UTF-8 when not; RFC 2047 in headers), so the values
//! may hold any character. Parts that are not text (attachments) go out as they were written.
//!
//! It must never put out a message whose headers a row's values could have shaped, nor one
//! with a hole where a value should be.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, Value};

/// Why a row could not be rendered: the `reason` and `detail` of its `skipped` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub reason: &'static str,
    pub detail: String,
}

/// One header of a part: its name and the template of its value.
#[derive(Debug)]
struct Header {
    name: String,
    /// The template's name in the environment.
    value: String,
}

#[derive(Debug)]
enum Body {
    /// A text part: its template, its media subtype (`plain`, `html`, ...) and the
    /// Content-Type parameters other than charset.
    Text {
        template: String,
        subtype: String,
        params: Vec<(String, String)>,
    },
    /// A part sent as written: its raw (still encoded) body; its headers say how it is
    /// encoded.
    Raw(Vec<u8>),
    Multipart {
        subtype: String,
        params: Vec<(String, String)>,
        parts: Vec<Part>,
    },
}

#[derive(Debug)]
struct Part {
    headers: Vec<Header>,
    body: Body,
}

/// What every message of a run gets besides the template's own headers.
#[derive(Debug, Clone, Default)]
pub struct Fixed {
    /// The From header when the template has none.
    pub from: String,
    /// Headers added to the template, replacing its own of the same name (Message-ID is
    /// always replaced, by the message's own).
    pub extra: Vec<(String, String)>,
    /// Templates of extra headers that depend on the row (List-Unsubscribe).
    pub extra_templates: Vec<(String, String)>,
}

/// Per message.
pub struct Envelope<'a> {
    pub recipient: &'a str,
    pub message_id: &'a str,
    /// Unique per message: makes the MIME boundaries unique too.
    pub unique: &'a str,
    pub date: &'a str,
}

pub struct Template {
    env: Environment<'static>,
    root: Part,
    /// The variables each template names, for saying which one a row lacks.
    names: std::collections::HashMap<String, BTreeSet<String>>,
    /// The templates of `Fixed::extra_templates`, in order.
    extra: Vec<(String, String)>,
    has: Has,
    fixed: Fixed,
}

/// Headers the template itself has, so that defaults are only added when missing.
#[derive(Debug, Default)]
struct Has {
    from: bool,
    to: bool,
    date: bool,
    mime_version: bool,
}

/// Headers the template may not set: each message gets its own.
const REPLACED: &[&str] = &["message-id"];

struct Builder {
    env: Environment<'static>,
    names: std::collections::HashMap<String, BTreeSet<String>>,
    count: usize,
}

impl Builder {
    fn new() -> Builder {
        let mut env = Environment::new();
        // A missing value may not be printed or looped over (the row fails, never an empty
        // greeting), but may be tested: `{% if company %}` is how a template says "optional".
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        env.set_keep_trailing_newline(true);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        Builder {
            env,
            names: Default::default(),
            count: 0,
        }
    }

    /// Compiles `source` as a template; `what` names it in errors (a header, a part).
    fn add(&mut self, what: &str, source: String, html: bool) -> Result<String> {
        self.count += 1;
        let name = format!("{}{}", self.count, if html { ".html" } else { ".txt" });
        self.env
            .add_template_owned(name.clone(), source)
            .map_err(|e| anyhow::anyhow!("{what}: {}", describe(&e)))?;
        let names = self
            .env
            .get_template(&name)
            .expect("just added")
            .undeclared_variables(false);
        self.names.insert(name.clone(), names.into_iter().collect());
        Ok(name)
    }
}

/// A minijinja error in one line, with its place when known.
fn describe(e: &minijinja::Error) -> String {
    let mut text = e
        .detail()
        .map_or_else(|| e.kind().to_string(), str::to_string);
    if let Some(line) = e.line() {
        let _ = write!(text, " (line {line})");
    }
    text
}

impl Template {
    /// Loads an RFC 5322 template file.
    pub fn from_file(path: &Path, fixed: Fixed) -> Result<Template> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        if std::str::from_utf8(&bytes).is_err() {
            bail!("{}: a template must be UTF-8 text", path.display());
        }
        let parsed = mailparse::parse_mail(&bytes)
            .with_context(|| format!("{}: not a message", path.display()))?;
        if parsed.headers.is_empty() {
            bail!(
                "{}: no headers: a template file is a message (headers, a blank line, the body); \
                 for a body alone use --subject with --text or --html",
                path.display()
            );
        }
        let mut b = Builder::new();
        let root = part_of(&mut b, &parsed, true)
            .with_context(|| format!("in the template {}", path.display()))?;
        Self::finish(b, root, fixed)
    }

    /// Builds the template from a subject and text and/or HTML files.
    pub fn from_parts(
        subject: &str,
        text: Option<&Path>,
        html: Option<&Path>,
        fixed: Fixed,
    ) -> Result<Template> {
        if subject.contains(['\r', '\n', '\0']) {
            bail!("--subject holds a line break: a subject is one line");
        }
        let mut b = Builder::new();
        let read = |p: &Path| {
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
        };
        let headers = vec![Header {
            name: "Subject".into(),
            value: b.add("the subject", subject.to_string(), false)?,
        }];
        let mut leaves = Vec::new();
        if let Some(p) = text {
            leaves.push(Part {
                headers: vec![],
                body: Body::Text {
                    template: b.add(&p.display().to_string(), read(p)?, false)?,
                    subtype: "plain".into(),
                    params: vec![],
                },
            });
        }
        if let Some(p) = html {
            leaves.push(Part {
                headers: vec![],
                body: Body::Text {
                    template: b.add(&p.display().to_string(), read(p)?, true)?,
                    subtype: "html".into(),
                    params: vec![],
                },
            });
        }
        let root = match leaves.len() {
            0 => bail!("--subject needs --text or --html (or both)"),
            1 => {
                let mut leaf = leaves.pop().expect("one");
                leaf.headers = headers;
                leaf
            }
            _ => Part {
                headers,
                body: Body::Multipart {
                    subtype: "alternative".into(),
                    params: vec![],
                    parts: leaves,
                },
            },
        };
        Self::finish(b, root, fixed)
    }

    fn finish(mut b: Builder, mut root: Part, fixed: Fixed) -> Result<Template> {
        // What the command line sets replaces what the template says.
        let set: Vec<&str> = fixed
            .extra
            .iter()
            .chain(&fixed.extra_templates)
            .map(|(name, _)| name.as_str())
            .collect();
        root.headers
            .retain(|h| !set.iter().any(|n| n.eq_ignore_ascii_case(&h.name)));
        let mut extra = Vec::new();
        for (name, source) in &fixed.extra_templates {
            extra.push((name.clone(), b.add(name, source.clone(), false)?));
        }
        let has_header = |n: &str| root.headers.iter().any(|h| h.name.eq_ignore_ascii_case(n));
        let has = Has {
            from: has_header("From"),
            to: has_header("To"),
            date: has_header("Date"),
            mime_version: has_header("MIME-Version"),
        };
        Ok(Template {
            env: b.env,
            names: b.names,
            root,
            extra,
            has,
            fixed,
        })
    }

    /// Renders the message for one row (`vars`: the row's columns, empty ones left out).
    pub fn render(&self, vars: &Value, env: &Envelope) -> Result<Vec<u8>, RowError> {
        let mut out = Vec::with_capacity(4096);
        let mut headers = String::with_capacity(1024);
        for h in &self.root.headers {
            let value = self.render_header(&h.value, vars, &h.name)?;
            push_header(&mut headers, &h.name, &value);
        }
        if !self.has.from {
            push_header(&mut headers, "From", &self.fixed.from);
        }
        if !self.has.to {
            push_header(&mut headers, "To", &format!("<{}>", env.recipient));
        }
        if !self.has.date {
            push_header(&mut headers, "Date", env.date);
        }
        push_header(&mut headers, "Message-ID", env.message_id);
        for (name, value) in &self.fixed.extra {
            push_header(&mut headers, name, value);
        }
        for (name, template) in &self.extra {
            let value = self.render_header(template, vars, name)?;
            push_header(&mut headers, name, &value);
        }
        let is_mime = !matches!(self.root.body, Body::Raw(_)) || self.has.mime_version;
        if is_mime && !self.has.mime_version {
            push_header(&mut headers, "MIME-Version", "1.0");
        }
        out.extend_from_slice(headers.as_bytes());
        let mut counter = 0;
        self.render_body(&self.root, vars, env, &mut counter, &mut out)?;
        Ok(out)
    }

    fn render_template(&self, name: &str, vars: &Value) -> Result<String, RowError> {
        let template = self.env.get_template(name).expect("compiled at load");
        template.render(vars).map_err(|e| {
            if e.kind() == ErrorKind::UndefinedError {
                let missing: Vec<&str> = self.names[name]
                    .iter()
                    .filter(|n| vars.get_attr(n).map_or(true, |v| v.is_undefined()))
                    .map(String::as_str)
                    .collect();
                RowError {
                    reason: "missing_variable",
                    detail: if missing.is_empty() {
                        describe(&e)
                    } else {
                        format!("no value for {}", missing.join(", "))
                    },
                }
            } else {
                RowError {
                    reason: "template_error",
                    detail: describe(&e),
                }
            }
        })
    }

    fn render_header(
        &self,
        template: &str,
        vars: &Value,
        header: &str,
    ) -> Result<String, RowError> {
        let value = self.render_template(template, vars)?;
        if value.contains(['\r', '\n', '\0']) {
            let culprits: Vec<&str> = self.names[template]
                .iter()
                .filter(|n| {
                    vars.get_attr(n)
                        .ok()
                        .and_then(|v| v.as_str().map(|s| s.contains(['\r', '\n', '\0'])))
                        .unwrap_or(false)
                })
                .map(String::as_str)
                .collect();
            return Err(RowError {
                reason: "header_injection",
                detail: format!(
                    "the value of {} holds a line break, which would add headers to {header}",
                    if culprits.is_empty() {
                        "a variable".to_string()
                    } else {
                        culprits.join(", ")
                    }
                ),
            });
        }
        Ok(value.trim().to_string())
    }

    /// Appends the part's own headers (for the root: the content headers only) and its body.
    fn render_body(
        &self,
        part: &Part,
        vars: &Value,
        env: &Envelope,
        counter: &mut usize,
        out: &mut Vec<u8>,
    ) -> Result<(), RowError> {
        let is_root = std::ptr::eq(part, &self.root);
        let mut headers = String::new();
        if !is_root {
            for h in &part.headers {
                let value = self.render_header(&h.value, vars, &h.name)?;
                push_header(&mut headers, &h.name, &value);
            }
        }
        match &part.body {
            Body::Text {
                template,
                subtype,
                params,
            } => {
                let text = self.render_template(template, vars)?;
                let (encoding, body) = encode_text(&text);
                let mut ctype = format!("text/{subtype}; charset=utf-8");
                for (k, v) in params {
                    let _ = write!(ctype, "; {k}={}", quote_param(v));
                }
                push_header(&mut headers, "Content-Type", &ctype);
                push_header(&mut headers, "Content-Transfer-Encoding", encoding);
                out.extend_from_slice(headers.as_bytes());
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(body.as_bytes());
            }
            Body::Raw(raw) => {
                out.extend_from_slice(headers.as_bytes());
                out.extend_from_slice(b"\r\n");
                push_crlf(raw, out);
            }
            Body::Multipart {
                subtype,
                params,
                parts,
            } => {
                *counter += 1;
                let boundary = format!("=_bk{}_{}", counter, env.unique);
                let mut ctype = format!("multipart/{subtype}; boundary=\"{boundary}\"");
                for (k, v) in params {
                    let _ = write!(ctype, "; {k}={}", quote_param(v));
                }
                push_header(&mut headers, "Content-Type", &ctype);
                out.extend_from_slice(headers.as_bytes());
                out.extend_from_slice(b"\r\nThis is a message in MIME format.\r\n");
                for p in parts {
                    out.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
                    self.render_body(p, vars, env, counter, out)?;
                    if !out.ends_with(b"\r\n") {
                        out.extend_from_slice(b"\r\n");
                    }
                }
                out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            }
        }
        Ok(())
    }
}

/// Builds the tree of one part of the template.
fn part_of(b: &mut Builder, mail: &mailparse::ParsedMail, is_root: bool) -> Result<Part> {
    let mimetype = mail.ctype.mimetype.to_ascii_lowercase();
    let declared = mail
        .headers
        .iter()
        .any(|h| h.get_key_ref().eq_ignore_ascii_case("Content-Type"));
    let (major, subtype) = mimetype.split_once('/').unwrap_or(("text", "plain"));
    let params_except = |skip: &[&str]| -> Vec<(String, String)> {
        mail.ctype
            .params
            .iter()
            .filter(|(k, _)| !skip.contains(&k.to_ascii_lowercase().as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let (body, regenerated): (Body, &[&str]) = if major == "multipart" {
        let mut parts = Vec::new();
        for sub in &mail.subparts {
            parts.push(part_of(b, sub, false)?);
        }
        (
            Body::Multipart {
                subtype: subtype.to_string(),
                params: params_except(&["boundary"]),
                parts,
            },
            &["content-type"],
        )
    } else if major == "text" || !declared {
        let text = mail.get_body().context("cannot decode a text part")?;
        let html = subtype == "html";
        let what = if is_root {
            "the body".to_string()
        } else {
            format!("a text/{subtype} part")
        };
        (
            Body::Text {
                template: b.add(&what, text, html)?,
                subtype: subtype.to_string(),
                params: params_except(&["charset"]),
            },
            &["content-type", "content-transfer-encoding"],
        )
    } else {
        let raw = match mail.get_body_encoded() {
            mailparse::body::Body::Base64(e) | mailparse::body::Body::QuotedPrintable(e) => {
                e.get_raw().to_vec()
            }
            mailparse::body::Body::SevenBit(t) | mailparse::body::Body::EightBit(t) => {
                t.get_raw().to_vec()
            }
            mailparse::body::Body::Binary(bin) => bin.get_raw().to_vec(),
        };
        (Body::Raw(raw), &[])
    };
    let mut headers = Vec::new();
    for h in &mail.headers {
        let name = h.get_key();
        let lower = name.to_ascii_lowercase();
        if regenerated.contains(&lower.as_str()) || (is_root && REPLACED.contains(&lower.as_str()))
        {
            continue;
        }
        let raw = String::from_utf8_lossy(h.get_value_raw());
        // Unfolding (RFC 5322 section 2.2.3): the line breaks go, the white space stays.
        let value = raw.replace(['\r', '\n'], "").trim().to_string();
        let template = b.add(&format!("the {name} header"), value, false)?;
        headers.push(Header {
            name,
            value: template,
        });
    }
    Ok(Part { headers, body })
}

fn quote_param(v: &str) -> String {
    if !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    {
        v.to_string()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Appends `raw` with every line ending as CRLF.
fn push_crlf(raw: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'\r' if raw.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
}

/// The longest line a message may have (RFC 5322 section 2.1.1), less the CRLF.
const MAX_LINE: usize = 998;

/// A text body as it goes out: 7bit with CRLF line ends when it is ASCII with short lines,
/// else quoted-printable.
fn encode_text(text: &str) -> (&'static str, String) {
    let ascii = text.is_ascii() && text.lines().all(|l| l.len() <= MAX_LINE);
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    if ascii && !text.contains('\0') {
        for line in text.split_inclusive('\n') {
            let line = line.trim_end_matches(['\n', '\r']);
            out.push_str(line);
            out.push_str("\r\n");
        }
        return ("7bit", out);
    }
    for line in text.split_inclusive('\n') {
        let line = line.trim_end_matches(['\n', '\r']);
        qp_line(line.as_bytes(), &mut out);
        out.push_str("\r\n");
    }
    ("quoted-printable", out)
}

/// One line as quoted-printable (RFC 2045 section 6.7), soft-broken at 76 characters.
fn qp_line(line: &[u8], out: &mut String) {
    let mut width = 0;
    for (i, &b) in line.iter().enumerate() {
        let last = i + 1 == line.len();
        let literal = (b'!'..=b'~').contains(&b) && b != b'=' || (b == b' ' || b == b'\t') && !last;
        let len = if literal { 1 } else { 3 };
        if width + len > 75 {
            out.push_str("=\r\n");
            width = 0;
        }
        if literal {
            out.push(b as char);
        } else {
            let _ = write!(out, "={b:02X}");
        }
        width += len;
    }
}

/// Appends `Name: value` with CRLF, RFC 2047-encoding the runs of words that are not ASCII
/// and folding long lines at spaces.
fn push_header(out: &mut String, name: &str, value: &str) {
    let encoded = if value.is_ascii() {
        value.to_string()
    } else {
        encode_words(value)
    };
    let mut line_len = name.len() + 2;
    out.push_str(name);
    out.push(':');
    let mut first = true;
    for word in encoded.split(' ') {
        if !first && line_len + 1 + word.len() > 78 && line_len > name.len() + 2 {
            out.push_str("\r\n");
            line_len = 0;
        }
        out.push(' ');
        out.push_str(word);
        line_len += 1 + word.len();
        first = false;
    }
    out.push_str("\r\n");
}

/// RFC 2047: each run of words holding non-ASCII becomes encoded words (base64 UTF-8, at
/// most 75 characters each, split between characters); ASCII words and anything in `<>`
/// (addresses) stay as they are.
fn encode_words(value: &str) -> String {
    let words: Vec<&str> = value.split(' ').collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if words[i].is_ascii() {
            out.push(words[i].to_string());
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < words.len() && !words[j].is_ascii() {
            j += 1;
        }
        let run = words[i..j].join(" ");
        // Trailing punctuation that belongs to the syntax (an address after a name) stays
        // outside: `Jan Nováček <j@x>` keeps `<j@x>` as a word of its own already.
        out.extend(encoded_words(&run));
        i = j;
    }
    out.join(" ")
}

fn encoded_words(text: &str) -> Vec<String> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    // 75 - len("=?utf-8?b??=") = 63 base64 characters: 45 bytes of UTF-8.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?utf-8?b?{}?=", b64.encode(&chunk)));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?utf-8?b?{}?=", b64.encode(&chunk)));
    }
    words
}

/// The row's columns as template variables: empty cells are left out, so that a template
/// that prints one fails the row (strict mode) instead of printing nothing.
pub fn row_vars(row: &serde_json::Map<String, serde_json::Value>) -> Value {
    let kept: serde_json::Map<String, serde_json::Value> = row
        .iter()
        .filter(|(_, v)| match v {
            serde_json::Value::Null => false,
            serde_json::Value::String(s) => !s.trim().is_empty(),
            _ => true,
        })
        .map(|(k, v)| (k.trim().to_string(), v.clone()))
        .collect();
    Value::from_serialize(&kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(json: &str) -> Value {
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json).unwrap();
        row_vars(&map)
    }

    fn envelope() -> Envelope<'static> {
        Envelope {
            recipient: "jan@example.org",
            message_id: "<c.1@example.com>",
            unique: "u1",
            date: "Mon, 23 Nov 2026 10:00:00 +0000",
        }
    }

    fn file_template(text: &str) -> Template {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.eml");
        std::fs::write(&path, text).unwrap();
        Template::from_file(
            &path,
            Fixed {
                from: "News <news@example.com>".into(),
                ..Fixed::default()
            },
        )
        .unwrap()
    }

    fn render(t: &Template, json: &str) -> Result<String, RowError> {
        t.render(&vars(json), &envelope())
            .map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn headers_and_body_are_rendered_and_defaults_added() {
        let t = file_template(
            "Subject: Hello {{ first_name }}\nMessage-ID: <old@x>\n\nDear {{ first_name }},\n.\n",
        );
        let m = render(&t, r#"{"email":"jan@example.org","first_name":"Jan"}"#).unwrap();
        assert!(
            m.starts_with("Subject: Hello Jan\r\nFrom: News <news@example.com>\r\n"),
            "{m}"
        );
        assert!(m.contains("To: <jan@example.org>\r\n"), "{m}");
        assert!(
            m.contains("Message-ID: <c.1@example.com>\r\n") && !m.contains("old@x"),
            "{m}"
        );
        assert!(m.contains("\r\n\r\nDear Jan,\r\n.\r\n"), "{m}");
        assert!(m.contains("Content-Transfer-Encoding: 7bit"), "{m}");
    }

    #[test]
    fn a_missing_or_empty_variable_fails_the_row_naming_it() {
        let t = file_template("Subject: Hi\n\nDear {{ first_name }},\n");
        for row in [
            r#"{"email":"a@b.example"}"#,
            r#"{"email":"a@b.example","first_name":" "}"#,
        ] {
            let e = render(&t, row).unwrap_err();
            assert_eq!(e.reason, "missing_variable");
            assert!(e.detail.contains("first_name"), "{e:?}");
        }
        // An optional value says so with `default`, or is tested before it is printed.
        let t = file_template("Subject: Hi\n\nDear {{ first_name | default('reader') }},\n");
        assert!(
            render(&t, r#"{"email":"a@b.example"}"#)
                .unwrap()
                .contains("Dear reader,")
        );
        let t = file_template(
            "Subject: Hi\n\nDear reader{% if company %} at {{ company }}{% endif %},\n",
        );
        assert!(
            render(&t, r#"{"email":"a@b.example"}"#)
                .unwrap()
                .contains("Dear reader,")
        );
        assert!(
            render(&t, r#"{"email":"a@b.example","company":"ACME"}"#)
                .unwrap()
                .contains("Dear reader at ACME,")
        );
        // Looping over a missing value is no more allowed than printing it.
        let t = file_template("Subject: Hi\n\n{% for x in items %}{{ x }}{% endfor %}\n");
        assert_eq!(
            render(&t, r#"{"email":"a@b.example"}"#).unwrap_err().reason,
            "missing_variable"
        );
    }

    #[test]
    fn a_subject_given_on_the_command_line_is_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("t.txt");
        std::fs::write(&text, "Hi\n").unwrap();
        let e = Template::from_parts(
            "Hi\r\nBcc: x@y.example",
            Some(&text),
            None,
            Fixed::default(),
        )
        .err()
        .expect("refused");
        assert!(format!("{e:#}").contains("--subject"), "{e:#}");
    }

    #[test]
    fn a_line_break_in_a_header_value_fails_the_row() {
        let t = file_template("Subject: Hello {{ name }}\n\nHi\n");
        let e = render(&t, r#"{"name":"x\r\nBcc: victim@example.org"}"#).unwrap_err();
        assert_eq!(e.reason, "header_injection");
        assert!(e.detail.contains("name"), "{e:?}");
        // In the body a line break is just text.
        let t = file_template("Subject: Hi\n\n{{ name }}\n");
        assert!(render(&t, r#"{"name":"two\nlines"}"#).is_ok());
    }

    #[test]
    fn html_parts_escape_values_and_text_parts_do_not() {
        let t = file_template(
            "Subject: Hi\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nHi {{ name }}\n--b\nContent-Type: text/html\n\n<p>Hi {{ name }}</p>\n--b--\n",
        );
        let m = render(&t, r#"{"name":"<b>Tom & Jerry</b>"}"#).unwrap();
        assert!(m.contains("Hi <b>Tom & Jerry</b>\r\n"), "{m}");
        assert!(
            m.contains("<p>Hi &lt;b&gt;Tom &amp; Jerry&lt;&#x2f;b&gt;</p>"),
            "{m}"
        );
        assert!(m.contains("boundary=\"=_bk1_u1\""), "{m}");
        assert_eq!(m.matches("MIME-Version").count(), 1, "{m}");
    }

    #[test]
    fn non_ascii_values_are_encoded() {
        let t = file_template("Subject: Ahoj {{ name }}\n\nAhoj {{ name }}\n");
        let m = render(&t, r#"{"name":"Nováček"}"#).unwrap();
        assert!(
            m.contains("Subject: Ahoj =?utf-8?b?Tm92w6HEjWVr?=\r\n"),
            "{m}"
        );
        assert!(
            m.contains("Content-Transfer-Encoding: quoted-printable"),
            "{m}"
        );
        assert!(m.contains("Ahoj Nov=C3=A1=C4=8Dek\r\n"), "{m}");
    }

    #[test]
    fn headers_set_on_the_command_line_replace_the_templates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.eml");
        std::fs::write(&path, "Subject: Hi\nX-Bouncekit-Campaign: old\n\nHi\n").unwrap();
        let fixed = Fixed {
            from: "a@b.example".into(),
            extra: vec![("X-Bouncekit-Campaign".into(), "new".into())],
            ..Fixed::default()
        };
        let t = Template::from_file(&path, fixed).unwrap();
        let m = render(&t, "{}").unwrap();
        assert!(
            m.contains("X-Bouncekit-Campaign: new\r\n") && !m.contains("old"),
            "{m}"
        );
    }

    #[test]
    fn template_syntax_errors_are_reported_at_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.eml");
        std::fs::write(&path, "Subject: Hi\n\nDear {{ first_name ,\n").unwrap();
        let e = Template::from_file(&path, Fixed::default()).err().unwrap();
        assert!(format!("{e:#}").contains("the body"), "{e:#}");
    }

    #[test]
    fn quoted_printable_breaks_long_lines_softly() {
        let mut out = String::new();
        qp_line("é".repeat(40).as_bytes(), &mut out);
        assert!(out.lines().all(|l| l.len() <= 76), "{out}");
        let mut out = String::new();
        qp_line(b"ends with space ", &mut out);
        assert_eq!(out, "ends with space=20");
    }
}
