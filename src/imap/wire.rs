//! Reading IMAP server responses (RFC 3501 section 7, RFC 9051) straight off the stream.
//!
//! Only the responses `fetch-bounces` acts on are parsed into values: tagged and untagged
//! status lines with their response codes, CAPABILITY, SEARCH, EXISTS and FETCH; anything
//! else is read to its end (literals included) and handed back as `Untagged::Other`.
//!
//! A FETCH response is parsed as it arrives: a message's literal is read with one
//! `read_exact` into a buffer of its announced size, never scanned line by line, which is
//! what makes reading thousands of messages cost little more than copying them. Lines and
//! literals are capped, so a broken or hostile server cannot make the client allocate
//! without bound.

use std::io::{self, BufRead, BufReader, Read};

use anyhow::{Context, Result, bail};

/// The status of a tagged or untagged status response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
    Bye,
    Preauth,
}

impl Status {
    fn parse(word: &[u8]) -> Option<Status> {
        Some(match word.to_ascii_uppercase().as_slice() {
            b"OK" => Status::Ok,
            b"NO" => Status::No,
            b"BAD" => Status::Bad,
            b"BYE" => Status::Bye,
            b"PREAUTH" => Status::Preauth,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
            Status::Bye => "BYE",
            Status::Preauth => "PREAUTH",
        }
    }
}

/// The human part of a status response: an optional `[CODE ...]` and the text after it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RespText {
    /// The response code without its brackets, e.g. `UIDVALIDITY 7` or `AUTHENTICATIONFAILED`.
    pub code: Option<String>,
    pub text: String,
}

impl RespText {
    fn parse(line: &[u8]) -> RespText {
        let line = String::from_utf8_lossy(line);
        let line = line.trim();
        if let Some(rest) = line.strip_prefix('[')
            && let Some(end) = rest.find(']')
        {
            return RespText {
                code: Some(rest[..end].to_string()),
                text: rest[end + 1..].trim().to_string(),
            };
        }
        RespText {
            code: None,
            text: line.to_string(),
        }
    }

    /// The number after a code's name, e.g. 7 for `UIDVALIDITY 7`.
    pub fn code_number(&self, name: &str) -> Option<u32> {
        let code = self.code.as_deref()?;
        let (key, value) = code.split_once(' ')?;
        if key.eq_ignore_ascii_case(name) {
            value.trim().parse().ok()
        } else {
            None
        }
    }

    /// The code's name, upper-cased (`TRYCREATE`, `CAPABILITY`, ...).
    pub fn code_name(&self) -> Option<String> {
        let code = self.code.as_deref()?;
        Some(
            code.split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase(),
        )
    }
}

impl std::fmt::Display for RespText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) if self.text.is_empty() => write!(f, "[{code}]"),
            Some(code) => write!(f, "[{code}] {}", self.text),
            None => f.write_str(&self.text),
        }
    }
}

/// One FETCH response, with the items `fetch-bounces` asks for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Fetch {
    pub seq: u32,
    pub uid: Option<u32>,
    pub size: Option<u64>,
    /// INTERNALDATE as the server wrote it, e.g. `23-Nov-2026 10:00:00 +0000`.
    pub internal_date: Option<String>,
    /// `BODY[]` (or `RFC822`): the message's exact bytes.
    pub body: Option<Vec<u8>>,
}

/// An untagged response (`* ...`).
#[derive(Debug, PartialEq, Eq)]
pub enum Untagged {
    Status(Status, RespText),
    Capability(Vec<String>),
    Search(Vec<u32>),
    Exists(u32),
    Fetch(Fetch),
    Other,
}

/// One server response.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// The completion of a command: its tag, status and text.
    Done {
        tag: String,
        status: Status,
        text: RespText,
    },
    Untagged(Untagged),
    /// `+ ...`: the server waits for more of the command.
    Continue(String),
}

/// Longest response line accepted (a SEARCH answer for ten million messages fits).
const LINE_LIMIT: u64 = 128 << 20;

/// Reads responses from a buffered stream.
pub struct Reader<R> {
    r: BufReader<R>,
    /// The largest literal accepted; a FETCH of bodies raises it to what it expects.
    pub literal_limit: u64,
}

impl<R: Read> Reader<R> {
    pub fn new(inner: R) -> Self {
        Reader {
            r: BufReader::with_capacity(256 << 10, inner),
            literal_limit: 16 << 20,
        }
    }

    pub fn get_mut(&mut self) -> &mut R {
        self.r.get_mut()
    }

    /// The stream, provided nothing is buffered: after STARTTLS the server must send nothing
    /// more in clear, and bytes it did send would otherwise be taken as if they had come
    /// over TLS (the STARTTLS command injection of CVE-2011-0411 and kin).
    pub fn into_inner_checked(self) -> Result<R> {
        if !self.r.buffer().is_empty() {
            bail!("the server sent data after agreeing to STARTTLS; refusing to go on");
        }
        Ok(self.r.into_inner())
    }

    pub fn read_reply(&mut self) -> Result<Reply> {
        match self.peek()? {
            b'+' => {
                self.r.consume(1);
                let line = self.rest_of_line()?;
                Ok(Reply::Continue(
                    String::from_utf8_lossy(&line).trim().to_string(),
                ))
            }
            b'*' => {
                self.r.consume(1);
                self.expect(b' ')?;
                self.untagged().map(Reply::Untagged)
            }
            _ => {
                let tag = self.atom()?;
                self.expect(b' ')?;
                let word = self.atom()?;
                let Some(status) = Status::parse(&word) else {
                    bail!(
                        "unexpected response from the server: {} {}",
                        String::from_utf8_lossy(&tag),
                        String::from_utf8_lossy(&word)
                    );
                };
                let rest = self.rest_of_line()?;
                Ok(Reply::Done {
                    tag: String::from_utf8_lossy(&tag).into_owned(),
                    status,
                    text: RespText::parse(rest.strip_prefix(b" ").unwrap_or(&rest)),
                })
            }
        }
    }

    fn untagged(&mut self) -> Result<Untagged> {
        let word = self.atom()?;
        if !word.is_empty() && word.iter().all(u8::is_ascii_digit) {
            let n: u32 = parse_number(&word)?;
            self.expect(b' ')?;
            let kind = self.atom()?.to_ascii_uppercase();
            return match kind.as_slice() {
                b"FETCH" => {
                    self.expect(b' ')?;
                    let fetch = self.fetch(n)?;
                    self.rest_of_line()?;
                    Ok(Untagged::Fetch(fetch))
                }
                b"EXISTS" => {
                    self.rest_of_line()?;
                    Ok(Untagged::Exists(n))
                }
                _ => {
                    self.rest_of_line()?;
                    Ok(Untagged::Other)
                }
            };
        }
        if let Some(status) = Status::parse(&word) {
            let rest = self.rest_of_line()?;
            return Ok(Untagged::Status(
                status,
                RespText::parse(rest.strip_prefix(b" ").unwrap_or(&rest)),
            ));
        }
        let rest = self.rest_of_line()?;
        let words = || {
            String::from_utf8_lossy(&rest)
                .split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        Ok(match word.to_ascii_uppercase().as_slice() {
            b"CAPABILITY" => Untagged::Capability(words()),
            // `(MODSEQ n)` after the numbers (CONDSTORE) is left out by the filter.
            b"SEARCH" => Untagged::Search(words().iter().filter_map(|w| w.parse().ok()).collect()),
            _ => Untagged::Other,
        })
    }

    /// The parenthesised items of a FETCH response (RFC 3501 `msg-att`).
    fn fetch(&mut self, seq: u32) -> Result<Fetch> {
        let mut fetch = Fetch {
            seq,
            ..Fetch::default()
        };
        self.expect(b'(')?;
        loop {
            match self.peek()? {
                b')' => {
                    self.r.consume(1);
                    return Ok(fetch);
                }
                b' ' => self.r.consume(1),
                _ => {
                    let name = self.atom()?.to_ascii_uppercase();
                    self.expect(b' ')?;
                    match name.as_slice() {
                        b"UID" => fetch.uid = Some(parse_number(&self.atom()?)?),
                        b"RFC822.SIZE" => fetch.size = Some(parse_number(&self.atom()?)?),
                        b"INTERNALDATE" => {
                            fetch.internal_date = self
                                .nstring()?
                                .map(|d| String::from_utf8_lossy(&d).into_owned())
                        }
                        b"BODY[]" | b"RFC822" => fetch.body = self.nstring()?,
                        _ => self.skip_value(0)?,
                    }
                }
            }
        }
    }

    fn peek(&mut self) -> Result<u8> {
        let buf = self.r.fill_buf().map_err(eof_is_closed)?;
        match buf.first() {
            Some(&b) => Ok(b),
            None => Err(closed()),
        }
    }

    fn expect(&mut self, want: u8) -> Result<()> {
        let got = self.peek()?;
        if got != want {
            bail!(
                "malformed response from the server: expected {:?}, got {:?}",
                want as char,
                got as char
            );
        }
        self.r.consume(1);
        Ok(())
    }

    /// An atom (or number, tag, flag, `BODY[...]`): up to a space, parenthesis, quote, brace
    /// or line end. A `[` takes everything up to its `]` along, for section specs.
    fn atom(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut in_brackets = false;
        loop {
            let b = self.peek()?;
            let stop = if in_brackets {
                b == b'\r' || b == b'\n'
            } else {
                matches!(b, b' ' | b'(' | b')' | b'"' | b'{' | b'\r' | b'\n' | b']')
            };
            if stop {
                break;
            }
            if b == b'[' {
                in_brackets = true;
            } else if b == b']' {
                in_brackets = false;
            }
            out.push(b);
            self.r.consume(1);
            if out.len() > 1024 {
                bail!("malformed response from the server: an atom of over 1 KB");
            }
        }
        Ok(out)
    }

    /// A quoted string, a literal or NIL.
    fn nstring(&mut self) -> Result<Option<Vec<u8>>> {
        match self.peek()? {
            b'"' => self.quoted().map(Some),
            b'{' => {
                let mut out = Vec::new();
                self.literal(&mut out)?;
                Ok(Some(out))
            }
            _ => {
                let word = self.atom()?;
                if word.eq_ignore_ascii_case(b"NIL") {
                    Ok(None)
                } else {
                    bail!(
                        "malformed response from the server: expected a string, got {}",
                        String::from_utf8_lossy(&word)
                    )
                }
            }
        }
    }

    fn quoted(&mut self) -> Result<Vec<u8>> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            let b = self.peek()?;
            self.r.consume(1);
            match b {
                b'"' => return Ok(out),
                b'\\' => {
                    let escaped = self.peek()?;
                    self.r.consume(1);
                    out.push(escaped);
                }
                b'\r' | b'\n' => {
                    bail!("malformed response from the server: a line break in a quoted string")
                }
                _ => out.push(b),
            }
            if out.len() as u64 > LINE_LIMIT {
                bail!("malformed response from the server: an endless quoted string");
            }
        }
    }

    /// `{N}` CRLF and N bytes, appended to `into` (read in one go, not line by line).
    fn literal(&mut self, into: &mut Vec<u8>) -> Result<()> {
        let size = self.literal_header()?;
        if size > self.literal_limit {
            bail!(
                "the server sent a literal of {size} bytes, over the limit of {} bytes",
                self.literal_limit
            );
        }
        let start = into.len();
        into.resize(start + size as usize, 0);
        self.r
            .read_exact(&mut into[start..])
            .map_err(eof_is_closed)?;
        Ok(())
    }

    /// `{N}` (or `{N+}`) and its CRLF: the size of the literal that follows.
    fn literal_header(&mut self) -> Result<u64> {
        self.expect(b'{')?;
        let mut digits = Vec::new();
        while self.peek()?.is_ascii_digit() && digits.len() < 20 {
            digits.push(self.peek()?);
            self.r.consume(1);
        }
        if self.peek()? == b'+' {
            self.r.consume(1);
        }
        let size = parse_number(&digits)?;
        self.expect(b'}')?;
        self.expect(b'\r')?;
        self.expect(b'\n')?;
        Ok(size)
    }

    /// Skips one value of any kind: atom, number, NIL, quoted, literal or a nested list.
    fn skip_value(&mut self, depth: usize) -> Result<()> {
        if depth > 64 {
            bail!("malformed response from the server: lists nested over 64 deep");
        }
        match self.peek()? {
            b'"' => self.quoted().map(drop),
            b'{' => self.skip_literal(),
            b'(' => {
                self.r.consume(1);
                loop {
                    match self.peek()? {
                        b')' => {
                            self.r.consume(1);
                            return Ok(());
                        }
                        b' ' => self.r.consume(1),
                        b'\r' | b'\n' => {
                            bail!("malformed response from the server: an unclosed list")
                        }
                        _ => self.skip_value(depth + 1)?,
                    }
                }
            }
            _ => {
                if self.atom()?.is_empty() {
                    let b = self.peek()?;
                    bail!(
                        "malformed response from the server: unexpected {:?}",
                        b as char
                    );
                }
                Ok(())
            }
        }
    }

    /// A literal we do not want, read into nothing whatever its size.
    fn skip_literal(&mut self) -> Result<()> {
        let size = self.literal_header()?;
        let copied =
            io::copy(&mut (&mut self.r).take(size), &mut io::sink()).map_err(eof_is_closed)?;
        if copied < size {
            return Err(closed());
        }
        Ok(())
    }

    /// The rest of the current line without its CRLF; literals inside it are read and
    /// appended as they are, so the next response starts where it should.
    fn rest_of_line(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let start = out.len();
            let n = (&mut self.r)
                .take(LINE_LIMIT)
                .read_until(b'\n', &mut out)
                .map_err(eof_is_closed)?;
            if n == 0 {
                return Err(closed());
            }
            if !out.ends_with(b"\n") {
                if n as u64 >= LINE_LIMIT {
                    bail!("the server sent a line of over {LINE_LIMIT} bytes");
                }
                return Err(closed());
            }
            out.pop();
            if out.ends_with(b"\r") {
                out.pop();
            }
            match literal_size(&out[start..]) {
                Some(size) => {
                    if size > self.literal_limit {
                        bail!(
                            "the server sent a literal of {size} bytes, over the limit of {} bytes",
                            self.literal_limit
                        );
                    }
                    let at = out.len();
                    out.resize(at + size as usize, 0);
                    self.r.read_exact(&mut out[at..]).map_err(eof_is_closed)?;
                }
                None => return Ok(out),
            }
        }
    }
}

/// The size of the literal a line announces at its end (`... {123}`), if it does.
fn literal_size(line: &[u8]) -> Option<u64> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = &inner[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn parse_number<T: std::str::FromStr>(word: &[u8]) -> Result<T> {
    std::str::from_utf8(word)
        .ok()
        .and_then(|w| w.parse().ok())
        .with_context(|| {
            format!(
                "malformed response from the server: expected a number, got {:?}",
                String::from_utf8_lossy(word)
            )
        })
}

/// The error of a connection the server (or the network) closed mid-response. A TLS
/// connection closed without close_notify says the same, in rustls's longer words.
fn closed() -> anyhow::Error {
    anyhow::anyhow!("the server closed the connection")
}

/// A network error as a message. Never an `io::Error` in the chain: a broken pipe there would
/// be taken for stdout's reader going away, which `main` treats as success.
fn eof_is_closed(e: io::Error) -> anyhow::Error {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => closed(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            anyhow::anyhow!("the server did not answer in time (see --timeout)")
        }
        _ => anyhow::anyhow!("reading from the server: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replies(data: &[u8]) -> Vec<Reply> {
        let mut r = Reader::new(data);
        let mut out = Vec::new();
        loop {
            match r.read_reply() {
                Ok(reply) => out.push(reply),
                Err(e) => {
                    assert!(e.to_string().contains("closed"), "{e:#}");
                    return out;
                }
            }
        }
    }

    #[test]
    fn fetch_with_a_literal_body_and_other_items() {
        let data = b"* 12 FETCH (UID 42 RFC822.SIZE 5 INTERNALDATE \" 1-Jan-2026 10:00:00 +0100\" FLAGS (\\Seen $Junk) BODY[] {5}\r\nab\r\nc)\r\n\
            a1 OK Fetch completed.\r\n";
        let got = replies(data);
        assert_eq!(
            got[0],
            Reply::Untagged(Untagged::Fetch(Fetch {
                seq: 12,
                uid: Some(42),
                size: Some(5),
                internal_date: Some(" 1-Jan-2026 10:00:00 +0100".into()),
                body: Some(b"ab\r\nc".to_vec()),
            }))
        );
        assert_eq!(
            got[1],
            Reply::Done {
                tag: "a1".into(),
                status: Status::Ok,
                text: RespText {
                    code: None,
                    text: "Fetch completed.".into()
                }
            }
        );
    }

    #[test]
    fn fetch_items_in_any_order_and_unknown_ones_are_skipped() {
        let data = b"* 1 FETCH (MODSEQ (7) BODY[] \"x\" X-GM-LABELS ({3}\r\nabc \"d\") UID 9)\r\n\
            * 2 FETCH (FLAGS (\\Deleted))\r\n";
        let got = replies(data);
        let Reply::Untagged(Untagged::Fetch(first)) = &got[0] else {
            panic!("{got:?}")
        };
        assert_eq!(
            (first.uid, first.body.as_deref()),
            (Some(9), Some(&b"x"[..]))
        );
        let Reply::Untagged(Untagged::Fetch(second)) = &got[1] else {
            panic!("{got:?}")
        };
        assert_eq!(
            (second.seq, second.uid, second.body.is_none()),
            (2, None, true)
        );
    }

    #[test]
    fn status_lines_codes_and_continuations() {
        let data = b"* OK [UIDVALIDITY 1700000000] UIDs valid\r\n* 3 EXISTS\r\n* SEARCH 4 5 9\r\n\
            * CAPABILITY IMAP4rev1 MOVE UIDPLUS\r\n+ go ahead\r\n\
            b2 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n* BYE bye\r\n";
        let got = replies(data);
        let Reply::Untagged(Untagged::Status(Status::Ok, text)) = &got[0] else {
            panic!("{got:?}")
        };
        assert_eq!(text.code_number("UIDVALIDITY"), Some(1_700_000_000));
        assert_eq!(got[1], Reply::Untagged(Untagged::Exists(3)));
        assert_eq!(got[2], Reply::Untagged(Untagged::Search(vec![4, 5, 9])));
        assert_eq!(
            got[3],
            Reply::Untagged(Untagged::Capability(vec![
                "IMAP4rev1".into(),
                "MOVE".into(),
                "UIDPLUS".into()
            ]))
        );
        assert_eq!(got[4], Reply::Continue("go ahead".into()));
        let Reply::Done { status, text, .. } = &got[5] else {
            panic!("{got:?}")
        };
        assert_eq!(*status, Status::No);
        assert_eq!(
            text.to_string(),
            "[AUTHENTICATIONFAILED] Authentication failed."
        );
        assert!(matches!(
            got[6],
            Reply::Untagged(Untagged::Status(Status::Bye, _))
        ));
    }

    #[test]
    fn a_literal_in_another_response_is_read_through() {
        let data = b"* LIST () \"/\" {4}\r\nA\"(B\r\n* 1 EXISTS\r\n";
        let got = replies(data);
        assert_eq!(
            got,
            vec![
                Reply::Untagged(Untagged::Other),
                Reply::Untagged(Untagged::Exists(1))
            ]
        );
    }

    #[test]
    fn a_connection_closed_mid_literal_is_an_error_not_a_short_message() {
        let mut r = Reader::new(&b"* 1 FETCH (UID 1 BODY[] {10}\r\nabc"[..]);
        let err = r.read_reply().unwrap_err();
        assert!(err.to_string().contains("closed the connection"), "{err:#}");
    }

    #[test]
    fn an_oversized_literal_is_refused_before_allocating() {
        let mut r = Reader::new(&b"* 1 FETCH (UID 1 BODY[] {99999999999}\r\n"[..]);
        r.literal_limit = 1000;
        let err = r.read_reply().unwrap_err();
        assert!(err.to_string().contains("over the limit"), "{err:#}");
    }

    #[test]
    fn data_buffered_after_starttls_is_refused() {
        let mut r = Reader::new(&b"a1 OK Begin TLS\r\n* injected\r\n"[..]);
        r.read_reply().unwrap();
        assert!(r.into_inner_checked().is_err());
        let mut r = Reader::new(&b"a1 OK Begin TLS\r\n"[..]);
        r.read_reply().unwrap();
        assert!(r.into_inner_checked().is_ok());
    }
}
