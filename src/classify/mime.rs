//! A read-only view of one returned message: its headers, its report parts, its
//! human-readable text and the copy of the original message it carries.
//!
//! Parsing is done once by mailparse; everything here borrows from the raw bytes. Nothing in
//! this module may panic on hostile input: bad encodings degrade to lossy text.

use std::borrow::Cow;
use std::cell::OnceCell;

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
    "References",
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
    "X-NAI-Header",
    "List-Id",
    "List-Unsubscribe",
    "List-Post",
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
        for line in lines(raw) {
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
        let value = if has_encoded_word(&raw_value) {
            let mut line = name.clone().into_bytes();
            line.push(b':');
            line.extend_from_slice(&raw_value);
            match mailparse::parse_header(&line) {
                Ok((header, _)) => header.get_value(),
                Err(_) => String::from_utf8_lossy(&raw_value).into_owned(),
            }
        } else {
            let text = String::from_utf8_lossy(&raw_value);
            if text.contains('\n') {
                text.lines().map(str::trim).collect::<Vec<_>>().join(" ")
            } else {
                // One line: what joining its one trimmed line gives.
                text.trim().to_string()
            }
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

/// The lines of `raw`, split at every LF as `raw.split(|&b| b == b'\n')` splits them.
fn lines(raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(raw);
    std::iter::from_fn(move || {
        let text = rest?;
        match memchr::memchr(b'\n', text) {
            Some(nl) => {
                rest = Some(&text[nl + 1..]);
                Some(&text[..nl])
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
}

/// True when a raw header value holds `=?`, the start of an RFC 2047 encoded word (cheaper
/// than a substring search on the short values of a header block).
fn has_encoded_word(raw: &[u8]) -> bool {
    memchr::memchr_iter(b'=', raw).any(|at| raw.get(at + 1) == Some(&b'?'))
}

/// `MailHeader::get_value`, without its tokenizer for the common value that holds no
/// RFC 2047 encoded word: mailparse then returns the value's lines (as `str::lines` splits
/// them), each with its leading whitespace trimmed, joined by one space.
fn header_value(header: &MailHeader<'_>) -> String {
    let raw = header.get_value_raw();
    match std::str::from_utf8(raw) {
        Ok(value) if !has_encoded_word(raw) => {
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
///
/// Only what the recognisers read is kept: the body of a report part (delivery-status,
/// feedback-report, disposition-notification) and of a text or HTML part in full, of a
/// returned message (or returned headers part) only its header block, and of any other part
/// (images, attachments) nothing.
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
    /// `returned_headers`, worked out once (several recognisers ask). Leave it at its default.
    #[doc(hidden)]
    pub returned_cache: OnceCell<Option<Headers>>,
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
        let has_plain = has_plain_part(mail);
        collect_parts(mail, has_plain, &mut msg.parts, &mut msg.text);
        msg
    }

    /// The header block of the returned original message, from a message/rfc822 or
    /// text/rfc822-headers part, else from a copy inlined after a known marker line.
    pub fn returned_headers(&self) -> Option<Headers> {
        self.returned_headers_ref().cloned()
    }

    /// `returned_headers`, borrowed: the block is parsed once per message.
    pub fn returned_headers_ref(&self) -> Option<&Headers> {
        self.returned_cache
            .get_or_init(|| {
                self.parts
                    .iter()
                    .filter(|part| {
                        matches!(
                            part.role,
                            PartRole::ReturnedMessage | PartRole::ReturnedHeaders
                        )
                    })
                    .map(|part| Headers::parse(skip_leading_blank_lines(&part.body)))
                    .find(|headers| !headers.is_empty())
            })
            .as_ref()
    }

    pub fn parts_with(&self, role: PartRole) -> impl Iterator<Item = &Part> {
        self.parts.iter().filter(move |p| p.role == role)
    }

    pub fn has(&self, role: PartRole) -> bool {
        self.parts.iter().any(|p| p.role == role)
    }
}

/// The role a leaf is read with: a multipart whose boundaries are missing or wrong has no
/// parts, and is read as text so the report's words (and any delivery-status fields in
/// them) are still found.
fn leaf_role(mail: &ParsedMail<'_>) -> PartRole {
    match role_of(&mail.ctype.mimetype) {
        PartRole::Other if mail.ctype.mimetype.starts_with("multipart/") => PartRole::Text,
        role => role,
    }
}

/// True when some leaf is read as plain text (then HTML parts are not read).
fn has_plain_part(mail: &ParsedMail<'_>) -> bool {
    if mail.subparts.is_empty() {
        leaf_role(mail) == PartRole::Text
    } else {
        mail.subparts.iter().any(has_plain_part)
    }
}

/// Flattens the leaves into `out`, and appends the readable ones to `text`: every text/plain
/// part, or the de-tagged HTML parts when there is no plain one, each followed by a newline.
fn collect_parts(mail: &ParsedMail<'_>, has_plain: bool, out: &mut Vec<Part>, text: &mut String) {
    if !mail.subparts.is_empty() {
        for sub in &mail.subparts {
            collect_parts(sub, has_plain, out, text);
        }
        return;
    }
    let role = leaf_role(mail);
    let body = match role {
        PartRole::Text if mail.ctype.mimetype.starts_with("multipart/") => {
            let body = body_after_headers(mail);
            text.push_str(&String::from_utf8_lossy(&body));
            text.push('\n');
            body
        }
        PartRole::Text | PartRole::Html => {
            let readable = role == PartRole::Text || !has_plain;
            match body_text(mail) {
                Ok(decoded) => {
                    if readable {
                        push_readable(text, role, &decoded);
                    }
                    decoded.into_bytes()
                }
                Err(_) => {
                    let body = mail.get_body_raw().unwrap_or_default();
                    if readable {
                        push_readable(text, role, &String::from_utf8_lossy(&body));
                    }
                    body
                }
            }
        }
        PartRole::ReturnedMessage | PartRole::ReturnedHeaders => returned_header_block(mail),
        PartRole::Other => Vec::new(),
        PartRole::DeliveryStatus | PartRole::FeedbackReport | PartRole::DispositionNotification => {
            transfer_decoded(mail).into_owned()
        }
    };
    out.push(Part { role, body });
}

/// Appends a text part, or an HTML part de-tagged, and a newline to the readable text.
fn push_readable(text: &mut String, role: PartRole, body: &str) {
    if role == PartRole::Html {
        text.push_str(&strip_html(body));
    } else {
        text.push_str(body);
    }
    text.push('\n');
}

/// The body with its transfer encoding undone (`get_body_raw`), borrowed when there is none
/// to undo; the body as transferred when decoding fails.
fn transfer_decoded<'a>(mail: &'a ParsedMail<'a>) -> Cow<'a, [u8]> {
    use mailparse::body::Body;
    match mail.get_body_encoded() {
        Body::QuotedPrintable(b) => Cow::Owned(decode_quoted_printable(&b)),
        Body::Base64(b) => match b.get_decoded() {
            Ok(decoded) => Cow::Owned(decoded),
            Err(_) => Cow::Borrowed(b.get_raw()),
        },
        Body::SevenBit(t) | Body::EightBit(t) => Cow::Borrowed(t.get_raw()),
        Body::Binary(b) => Cow::Borrowed(b.get_raw()),
    }
}

/// Of a returned message, only the header block is ever read (`returned_headers`): its lines
/// from the first that is not blank up to the first empty line, which is all that is kept.
fn returned_header_block(mail: &ParsedMail<'_>) -> Vec<u8> {
    let body = transfer_decoded(mail);
    let block = skip_leading_blank_lines(&body);
    let mut end = 0;
    while let Some(nl) = memchr::memchr(b'\n', &block[end..]) {
        let line = &block[end..end + nl];
        if line.is_empty() || line == b"\r" {
            break;
        }
        end += nl + 1;
    }
    if end < block.len() && memchr::memchr(b'\n', &block[end..]).is_none() {
        // The last line has no newline: it ends the block as the end of the body does.
        end = block.len();
    }
    block[..end].to_vec()
}

/// `ParsedMail::get_body`, without the copy and the charset pass when decoding the charset
/// cannot change the bytes: ASCII in an ASCII-compatible charset, or UTF-8 declared as
/// UTF-8 that starts with no byte-order mark.
///
/// 8-bit text that declares no charset (mailparse then says us-ascii) or declares us-ascii
/// is read as UTF-8 when it is valid UTF-8: whatever wrote it did not say what it wrote, and
/// today that is UTF-8 (Latin-1 would turn "wypisać" into "wypisaÄ\u{87}", which no phrase
/// matches). Other bytes are decoded as mailparse decodes them.
fn body_text(mail: &ParsedMail<'_>) -> Result<String, mailparse::MailParseError> {
    use mailparse::body::Body;
    let bytes = match mail.get_body_encoded() {
        Body::QuotedPrintable(b) => Cow::Owned(decode_quoted_printable(&b)),
        Body::Base64(b) => Cow::Owned(b.get_decoded()?),
        Body::SevenBit(t) | Body::EightBit(t) => Cow::Borrowed(t.get_raw()),
        Body::Binary(b) => Cow::Borrowed(b.get_raw()),
    };
    let charset = mail.ctype.charset.as_bytes();
    let is_one_of = |labels: &[&str]| {
        labels
            .iter()
            .any(|c| c.as_bytes().eq_ignore_ascii_case(charset))
    };
    let utf8 = if bytes.is_ascii() {
        is_one_of(ASCII_CHARSETS)
    } else {
        (is_one_of(UTF8_CHARSETS) && !bytes.starts_with(b"\xEF\xBB\xBF"))
            || is_one_of(US_ASCII_CHARSETS)
    };
    if utf8 && let Ok(s) = String::from_utf8(bytes.into_owned()) {
        return Ok(s);
    }
    mail.get_body()
}

/// The labels of US-ASCII, which is also what mailparse reports when no charset is declared.
const US_ASCII_CHARSETS: &[&str] = &[
    "us-ascii",
    "ascii",
    "ansi_x3.4-1968",
    "iso646-us",
    "csascii",
];

/// Quoted-printable decoding exactly as mailparse does it (`quoted_printable::decode` in
/// robust mode, which never fails), without its per-byte copy of the input into a `String`:
/// every line loses its trailing white space, lines are joined by CRLF, `=XX` becomes its
/// byte, a final `=` joins the line to the next, and a malformed `=` sequence is kept as
/// written.
fn decode_quoted_printable(body: &mailparse::body::EncodedBody<'_>) -> Vec<u8> {
    // The library first drops every byte that is not printable ASCII, tab, CR or LF; such
    // input is rare enough to leave to it.
    decode_printable_quoted_printable(body.get_raw())
        .unwrap_or_else(|| body.get_decoded().unwrap_or_default())
}

/// `decode_quoted_printable` of input that holds only printable ASCII, tabs, CRs and LFs;
/// `None` for any other.
fn decode_printable_quoted_printable(input: &[u8]) -> Option<Vec<u8>> {
    if input
        .iter()
        .any(|&b| !matches!(b, b'\t' | b'\r' | b'\n' | b' '..=b'~'))
    {
        return None;
    }
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(input.len());
    // `None` before the first line, then whether the line just read ends in a hard break.
    let mut line_break: Option<bool> = None;
    let mut rest = input;
    while !rest.is_empty() {
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(nl) => (&rest[..nl], &rest[nl + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        let mut end = line.len();
        while end > 0 && matches!(line[end - 1], b' ' | b'\t' | b'\r') {
            end -= 1;
        }
        let line = &line[..end];
        if line_break == Some(true) {
            out.extend_from_slice(b"\r\n");
            line_break = Some(false);
        }
        let mut i = 0;
        loop {
            let Some(eq) = memchr::memchr(b'=', &line[i..]) else {
                out.extend_from_slice(&line[i..]);
                line_break = Some(true);
                break;
            };
            out.extend_from_slice(&line[i..i + eq]);
            i += eq + 1;
            let Some(&upper) = line.get(i) else {
                // A soft line break.
                break;
            };
            let Some(&lower) = line.get(i + 1) else {
                out.extend_from_slice(&[b'=', upper]);
                line_break = Some(true);
                break;
            };
            match (hex(upper), hex(lower)) {
                (Some(u), Some(l)) => out.push(u << 4 | l),
                _ => out.extend_from_slice(&[b'=', upper, lower]),
            }
            i += 2;
        }
    }
    if input.ends_with(b"\n") && line_break == Some(true) {
        out.extend_from_slice(b"\r\n");
    }
    Some(out)
}

/// Charset labels whose decoder maps ASCII bytes to themselves (all are single-byte or UTF-8
/// encodings in the WHATWG tables mailparse decodes with).
const ASCII_CHARSETS: &[&str] = &[
    "us-ascii",
    "ascii",
    "utf-8",
    "utf8",
    "iso-8859-1",
    "latin1",
    "iso-8859-15",
    "windows-1252",
];

const UTF8_CHARSETS: &[&str] = &["utf-8", "utf8"];

/// Everything after the header block, undecoded (mailparse keeps no body for a multipart
/// whose boundary never appears).
fn body_after_headers(mail: &ParsedMail<'_>) -> Vec<u8> {
    match mailparse::parse_headers(mail.raw_bytes) {
        Ok((_, offset)) => mail.raw_bytes[offset.min(mail.raw_bytes.len())..].to_vec(),
        Err(_) => Vec::new(),
    }
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
    fn quoted_printable_decodes_as_mailparse_does() {
        let cases: &[&[u8]] = &[
            b"",
            b"\n",
            b"\n\n",
            b"abc",
            b"abc\n",
            b"a=3Db=\n c  \r\nd\t\n\n=",
            b"soft=\nbreak=\r\nend=4",
            b"bad=zz=4g=\r\n=41=42=\n",
            b"x=\ny=\n",
            b"trail  =  \nmore\r",
            b"caf=C3=A9 =e9\r\n\r\n  \n",
            b"\xe9t\xe9 =41\x01\n",
        ];
        for &case in cases {
            let mut raw = b"Content-Transfer-Encoding: quoted-printable\n\n".to_vec();
            raw.extend_from_slice(case);
            let mail = mailparse::parse_mail(&raw).unwrap();
            let mailparse::body::Body::QuotedPrintable(body) = mail.get_body_encoded() else {
                panic!("not quoted-printable");
            };
            assert_eq!(body.get_raw(), case);
            let expected = body.get_decoded().unwrap();
            assert_eq!(
                decode_quoted_printable(&body),
                expected,
                "{:?}",
                String::from_utf8_lossy(case)
            );
            if case.iter().all(|&b| b < 0x7f && b != 0x01) {
                assert_eq!(decode_printable_quoted_printable(case), Some(expected));
            }
        }
    }

    #[test]
    fn quoted_printable_agrees_on_generated_input() {
        // A fixed pseudo-random walk over the bytes that matter to the decoder.
        const ALPHABET: &[u8] = b"=Af3z \t\r\nx=\n";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..5000 {
            let mut case = Vec::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            for _ in 0..state % 24 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                case.push(ALPHABET[(state % ALPHABET.len() as u64) as usize]);
            }
            let mut raw = b"Content-Transfer-Encoding: quoted-printable\n\n".to_vec();
            raw.extend_from_slice(&case);
            let mail = mailparse::parse_mail(&raw).unwrap();
            let mailparse::body::Body::QuotedPrintable(body) = mail.get_body_encoded() else {
                panic!("not quoted-printable");
            };
            assert_eq!(
                decode_printable_quoted_printable(body.get_raw()),
                Some(body.get_decoded().unwrap()),
                "{:?}",
                String::from_utf8_lossy(body.get_raw())
            );
        }
    }

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
