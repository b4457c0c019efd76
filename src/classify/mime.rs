//! A read-only view of one returned message: its headers, its report parts, its
//! human-readable text and the copy of the original message it carries.
//!
//! Parsing is done once by mailparse; everything here borrows from the raw bytes. Nothing in
//! this module may panic on hostile input: bad encodings degrade to lossy text.

use std::borrow::Cow;

use mailparse::{MailHeader, MailHeaderMap, ParsedMail};

/// Converts CR-only line endings (old Mac mail, some exports) to LF; LF and CRLF input is
/// returned unchanged, because mailparse reads both.
pub fn normalize_line_endings(raw: &[u8]) -> Cow<'_, [u8]> {
    let head = &raw[..raw.len().min(8192)];
    if memchr::memchr(b'\n', head).is_some() || memchr::memchr(b'\r', head).is_none() {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(
        raw.iter()
            .map(|&b| if b == b'\r' { b'\n' } else { b })
            .collect(),
    )
}

/// The header fields the classifier ever reads. Only these are decoded and kept: a bounce
/// carries dozens of Received, DKIM and ARC lines that nothing here looks at.
const READ_HEADERS: &[&str] = &[
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "Reply-To",
    "Sender",
    "Return-Path",
    "Delivered-To",
    "X-Original-To",
    "Envelope-To",
    "X-Envelope-To",
    "X-Failed-Recipients",
    "Auto-Submitted",
    "Precedence",
    "X-Precedence",
    "X-Autoreply",
    "X-Autorespond",
    "X-Autoresponder",
    "X-Auto-Reply",
    "X-Vacation",
    "X-Mailer",
    "X-Bouncekit-Campaign",
    "Content-Type",
];

/// Fields whose presence says "this is an e-mail message" (beyond the ones read).
const MAIL_MARKERS: &[&str] = &["Received", "MIME-Version"];

fn is_read(name: &[u8]) -> bool {
    READ_HEADERS
        .iter()
        .any(|h| h.as_bytes().eq_ignore_ascii_case(name))
}

/// A header block: owned (name, decoded value) pairs of the fields the classifier reads,
/// looked up case-insensitively.
#[derive(Debug, Default, Clone)]
pub struct Headers {
    pub fields: Vec<(String, String)>,
    /// The block had at least one field that only e-mail messages have.
    mail_like: bool,
}

impl Headers {
    pub fn from_mail(headers: &[MailHeader<'_>]) -> Self {
        let mut out = Headers::default();
        for h in headers {
            let key = h.get_key_raw();
            if is_read(key) {
                out.fields.push((h.get_key(), header_value(h)));
                out.mail_like = true;
            } else if MAIL_MARKERS
                .iter()
                .any(|m| m.as_bytes().eq_ignore_ascii_case(key))
            {
                out.mail_like = true;
            }
        }
        out
    }

    /// Reads the fields we use from a raw header block (e.g. the returned original or a
    /// text/rfc822-headers part), leniently. Lines are scanned directly; only a value that
    /// holds an RFC 2047 encoded word goes through mailparse's decoder.
    pub fn parse(raw: &[u8]) -> Self {
        let mut out = Headers::default();
        let mut current: Option<(String, Vec<u8>)> = None;
        for line in raw.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                break;
            }
            if line[0] == b' ' || line[0] == b'\t' {
                if let Some((_, value)) = current.as_mut() {
                    value.push(b'\n');
                    value.extend_from_slice(line);
                }
                continue;
            }
            if let Some(done) = current.take() {
                out.push_raw(done);
            }
            let Some(colon) = memchr::memchr(b':', line) else {
                continue;
            };
            let name = &line[..colon];
            if MAIL_MARKERS
                .iter()
                .any(|m| m.as_bytes().eq_ignore_ascii_case(name))
            {
                out.mail_like = true;
            }
            if is_read(name) {
                current = Some((
                    String::from_utf8_lossy(name).into_owned(),
                    line[colon + 1..].to_vec(),
                ));
            }
        }
        if let Some(done) = current.take() {
            out.push_raw(done);
        }
        out
    }

    fn push_raw(&mut self, (name, raw_value): (String, Vec<u8>)) {
        let value = if memchr::memmem::find(&raw_value, b"=?").is_some() {
            let mut line = name.clone().into_bytes();
            line.push(b':');
            line.extend_from_slice(&raw_value);
            match mailparse::parse_header(&line) {
                Ok((header, _)) => header.get_value(),
                Err(_) => String::from_utf8_lossy(&raw_value).into_owned(),
            }
        } else {
            let text = String::from_utf8_lossy(&raw_value);
            text.lines().map(str::trim).collect::<Vec<_>>().join(" ")
        };
        self.fields.push((name, value));
        self.mail_like = true;
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// True when the block has any field only e-mail has (From, Received, Message-ID, ...):
    /// binary junk and plain text files have none.
    pub fn looks_like_mail(&self) -> bool {
        self.mail_like
    }
}

/// `MailHeader::get_value`, without its tokenizer for the common value that holds no
/// RFC 2047 encoded word: mailparse then returns the value's lines (as `str::lines` splits
/// them), each with its leading whitespace trimmed, joined by one space.
fn header_value(header: &MailHeader<'_>) -> String {
    let raw = header.get_value_raw();
    match std::str::from_utf8(raw) {
        Ok(value) if memchr::memmem::find(raw, b"=?").is_none() => {
            let mut out = String::with_capacity(value.len());
            for (i, line) in value.lines().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(line.trim_start());
            }
            out
        }
        _ => header.get_value(),
    }
}

/// What kind of content a leaf part holds, for the recognisers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartRole {
    DeliveryStatus,
    FeedbackReport,
    DispositionNotification,
    ReturnedMessage,
    ReturnedHeaders,
    Text,
    Html,
    Other,
}

fn role_of(mimetype: &str) -> PartRole {
    match mimetype {
        "message/delivery-status" | "message/global-delivery-status" => PartRole::DeliveryStatus,
        "message/feedback-report" => PartRole::FeedbackReport,
        "message/disposition-notification" | "message/global-disposition-notification" => {
            PartRole::DispositionNotification
        }
        "message/rfc822" | "message/global" | "message/partial" => PartRole::ReturnedMessage,
        "text/rfc822-headers"
        | "message/rfc822-headers"
        | "text/rfc822-header"
        | "message/global-headers" => PartRole::ReturnedHeaders,
        "text/plain" | "text" => PartRole::Text,
        "text/html" => PartRole::Html,
        // A broken Content-Type ("text/plain charset=...") still names its type first.
        t if t.starts_with("text/plain") => PartRole::Text,
        t if t.starts_with("text/html") => PartRole::Html,
        _ => PartRole::Other,
    }
}

/// One leaf of the MIME tree with its decoded body.
#[derive(Debug, Clone)]
pub struct Part {
    pub role: PartRole,
    pub body: Vec<u8>,
}

impl Part {
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

/// The whole message, flattened for the recognisers.
#[derive(Debug, Default)]
pub struct Message {
    pub headers: Headers,
    /// Top-level content type (e.g. `multipart/report`) and its report-type parameter.
    pub mimetype: String,
    pub report_type: Option<String>,
    pub parts: Vec<Part>,
    /// The decoded human-readable text (text/plain parts, or de-tagged HTML when no plain
    /// part exists), in order, excluding the returned message.
    pub text: String,
}

impl Message {
    pub fn from_mail(mail: &ParsedMail<'_>) -> Self {
        let mut msg = Message {
            headers: Headers::from_mail(&mail.headers),
            mimetype: mail.ctype.mimetype.clone(),
            report_type: mail
                .ctype
                .params
                .get("report-type")
                .map(|s| s.to_ascii_lowercase()),
            ..Message::default()
        };
        collect_parts(mail, &mut msg.parts);
        msg.text = readable_text(&msg.parts);
        msg
    }

    /// The header block of the returned original message, from a message/rfc822 or
    /// text/rfc822-headers part, else from a copy inlined after a known marker line.
    pub fn returned_headers(&self) -> Option<Headers> {
        for part in &self.parts {
            if matches!(
                part.role,
                PartRole::ReturnedMessage | PartRole::ReturnedHeaders
            ) {
                let body = skip_leading_blank_lines(&part.body);
                let headers = Headers::parse(body);
                if !headers.is_empty() {
                    return Some(headers);
                }
            }
        }
        None
    }

    pub fn parts_with(&self, role: PartRole) -> impl Iterator<Item = &Part> {
        self.parts.iter().filter(move |p| p.role == role)
    }

    pub fn has(&self, role: PartRole) -> bool {
        self.parts.iter().any(|p| p.role == role)
    }
}

fn collect_parts(mail: &ParsedMail<'_>, out: &mut Vec<Part>) {
    if !mail.subparts.is_empty() {
        for sub in &mail.subparts {
            collect_parts(sub, out);
        }
        return;
    }
    // A multipart whose boundaries are missing or wrong has no parts: read it as text so
    // the report's words (and any delivery-status fields in them) are still found.
    let role = match role_of(&mail.ctype.mimetype) {
        PartRole::Other if mail.ctype.mimetype.starts_with("multipart/") => PartRole::Text,
        role => role,
    };
    let body = match role {
        PartRole::Text if mail.ctype.mimetype.starts_with("multipart/") => body_after_headers(mail),
        PartRole::Text | PartRole::Html => match mail.get_body() {
            Ok(s) => s.into_bytes(),
            Err(_) => mail.get_body_raw().unwrap_or_default(),
        },
        _ => mail
            .get_body_raw()
            .unwrap_or_else(|_| encoded_body(mail).to_vec()),
    };
    out.push(Part { role, body });
}

/// Everything after the header block, undecoded (mailparse keeps no body for a multipart
/// whose boundary never appears).
fn body_after_headers(mail: &ParsedMail<'_>) -> Vec<u8> {
    match mailparse::parse_headers(mail.raw_bytes) {
        Ok((_, offset)) => mail.raw_bytes[offset.min(mail.raw_bytes.len())..].to_vec(),
        Err(_) => Vec::new(),
    }
}

/// The body as transferred, when decoding it failed (bad base64 and the like).
fn encoded_body<'a>(mail: &'a ParsedMail<'a>) -> &'a [u8] {
    use mailparse::body::Body;
    match mail.get_body_encoded() {
        Body::Base64(b) | Body::QuotedPrintable(b) => b.get_raw(),
        Body::SevenBit(t) | Body::EightBit(t) => t.get_raw(),
        Body::Binary(b) => b.get_raw(),
    }
}

fn readable_text(parts: &[Part]) -> String {
    let mut text = String::new();
    let has_plain = parts.iter().any(|p| p.role == PartRole::Text);
    for part in parts {
        match part.role {
            PartRole::Text => {
                text.push_str(&part.text());
                text.push('\n');
            }
            PartRole::Html if !has_plain => {
                text.push_str(&strip_html(&part.text()));
                text.push('\n');
            }
            _ => {}
        }
    }
    text
}

/// Removes tags and decodes the handful of entities bounce HTML uses. Good enough to find
/// addresses and phrases; not a renderer.
pub fn strip_html(html: &str) -> String {
    /// Tags that end a line.
    fn breaks_line(tag: &str) -> bool {
        let t = tag.trim_start_matches('/').as_bytes();
        let starts = |p: &[u8]| t.len() >= p.len() && t[..p.len()].eq_ignore_ascii_case(p);
        starts(b"br") || starts(b"p") || starts(b"div") || starts(b"tr") || starts(b"li")
    }
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    // Text up to a '<', then a tag up to its '>' (an unclosed tag is dropped).
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let tag = &rest[open + 1..];
        match tag.find('>') {
            Some(close) => {
                if breaks_line(&tag[..close]) {
                    text.push('\n');
                }
                rest = &tag[close + 1..];
            }
            None => {
                rest = "";
            }
        }
    }
    text.push_str(rest);
    decode_entities(&text)
}

/// The entities `strip_html` decodes. None of the replacements can form another entity, and
/// `&amp;` goes last, so one pass gives what replacing them one after the other would.
const ENTITIES: &[(&str, &str)] = &[
    ("&nbsp;", " "),
    ("&lt;", "<"),
    ("&gt;", ">"),
    ("&quot;", "\""),
    ("&#39;", "'"),
    ("&amp;", "&"),
];

fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        match ENTITIES.iter().find(|(e, _)| tail.starts_with(e)) {
            Some((entity, decoded)) => {
                out.push_str(decoded);
                rest = &tail[entity.len()..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

pub fn skip_leading_blank_lines(body: &[u8]) -> &[u8] {
    let mut i = 0;
    while i < body.len()
        && (body[i] == b'\n' || body[i] == b'\r' || body[i] == b' ' || body[i] == b'\t')
    {
        i += 1;
    }
    // Back up to the start of the line so a header is not cut.
    while i > 0 && body[i - 1] != b'\n' {
        i -= 1;
    }
    &body[i..]
}

/// The header lookup shortcut for a mailparse header list.
pub fn first_header(headers: &[MailHeader<'_>], name: &str) -> Option<String> {
    headers.get_first_value(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cr_only_line_endings_become_lf() {
        let raw = b"Subject: x\rFrom: a@b.example\r\rbody\r";
        assert_eq!(
            normalize_line_endings(raw).as_ref(),
            b"Subject: x\nFrom: a@b.example\n\nbody\n"
        );
        let crlf = b"Subject: x\r\n\r\nbody\r\n";
        assert!(matches!(normalize_line_endings(crlf), Cow::Borrowed(_)));
    }

    #[test]
    fn header_values_read_as_mailparse_reads_them() {
        let values: &[&[u8]] = &[
            b"plain",
            b"  leading and trailing  ",
            b"",
            b"   ",
            b"folded\n  over\r\n\tthree lines",
            b"folded\n   \n  blank",
            b"ends in a newline\n",
            b"bare\rcarriage return\r",
            b"=?utf-8?q?caf=C3=A9?= and =?iso-8859-1?Q?=A1Hola?=",
            b"=?utf-8?b?Y2Fmw6k=?=\n =?utf-8?b?Y2Fmw6k=?=",
            b"half =? an encoded word",
            b"latin-1 \xe9t\xe9",
            b"utf-8 \xc3\xa9t\xc3\xa9\n  folded",
        ];
        for value in values {
            let mut raw = b"X-Test: ".to_vec();
            raw.extend_from_slice(value);
            raw.extend_from_slice(b"\nNext: x\n");
            let (header, _) = mailparse::parse_header(&raw).unwrap();
            assert_eq!(
                header_value(&header),
                header.get_value(),
                "{:?}",
                String::from_utf8_lossy(value)
            );
        }
    }

    /// The plain definition `strip_html` must agree with.
    fn strip_html_slowly(html: &str) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        let mut tag = String::new();
        for c in html.chars() {
            match (in_tag, c) {
                (false, '<') => {
                    in_tag = true;
                    tag.clear();
                }
                (true, '>') => {
                    in_tag = false;
                    let t = tag.trim_start_matches('/').to_ascii_lowercase();
                    if ["br", "p", "div", "tr", "li"]
                        .iter()
                        .any(|p| t.starts_with(p))
                    {
                        out.push('\n');
                    }
                }
                (true, c) => tag.push(c),
                (false, c) => out.push(c),
            }
        }
        out.replace("&nbsp;", " ")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    #[test]
    fn strip_html_agrees_with_its_definition() {
        let cases = [
            "<p>Hello&nbsp;<b>you</b></p>",
            "<BR/>a<Div class=x>b</DIV><TR><td>c</td></tr><li>d<LI>e",
            "<<p>>x<//p>y</>z<>",
            "unclosed <p tag",
            "a > b < c",
            "&amp;lt; &amp;amp; &&lt;; &lt&gt; &#39;&quot;&nbsp&nbsp; &",
            "caf\u{e9} <p\u{e9}>\u{2014}&amp;\u{e9}<br>",
            "<a href=\"x>y\">link</a>",
            "",
        ];
        for html in cases {
            assert_eq!(strip_html(html), strip_html_slowly(html), "{html:?}");
        }
    }

    #[test]
    fn html_is_reduced_to_text() {
        assert_eq!(strip_html("<p>Hello&nbsp;<b>you</b></p>"), "\nHello you\n");
    }
}
