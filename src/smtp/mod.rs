//! A small SMTP client for `send`: one session per `Connection`, reused for many messages.
//!
//! It speaks what a mailing needs and lettre's transports do not give: the DSN parameters of
//! RFC 3461 (RET, ENVID on MAIL; NOTIFY, ORCPT on RCPT), the EHLO keywords read from the reply
//! itself (DSN, PIPELINING, STARTTLS, AUTH, SIZE, 8BITMIME, SMTPUTF8), command pipelining
//! (RFC 2920: MAIL, RCPT and DATA go out in one write), and a hook between the server's 354
//! and the final dot, where `send` flushes its journal: the one moment after which a message
//! may be delivered.
//!
//! TLS is rustls: implicit (`smtps://`) or STARTTLS, which is used whenever offered and always
//! before authenticating. This module never sends a password over a connection that is not
//! encrypted unless the caller explicitly allows it, and never retries on its own: what to do
//! about a reply is the caller's decision.

mod tls;

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

pub use tls::client_config;

/// Where to send: `smtp://host[:port]` (STARTTLS when offered; port 25 by default) or
/// `smtps://host[:port]` (TLS from the first byte; port 465).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub implicit_tls: bool,
}

impl Server {
    pub fn parse(url: &str) -> Result<Server, String> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            format!("not an SMTP URL: {url:?} (use smtp://host:port or smtps://host:port)")
        })?;
        let implicit_tls = match scheme.to_ascii_lowercase().as_str() {
            "smtp" => false,
            "smtps" => true,
            other => return Err(format!("unknown scheme {other:?}: use smtp:// or smtps://")),
        };
        let authority = rest.trim_end_matches('/');
        if authority.contains('@') {
            return Err("credentials do not go in the URL: use --user and --password-env or --password-file".into());
        }
        if authority.contains('/') {
            return Err(format!("an SMTP URL has no path: {url:?}"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("unclosed [ in {url:?}"))?;
            (host.to_string(), after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (authority.to_string(), None),
            }
        };
        if host.is_empty() {
            return Err(format!("no host in {url:?}"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| format!("not a port: {p:?}"))?,
            None if implicit_tls => 465,
            None => 25,
        };
        Ok(Server {
            host,
            port,
            implicit_tls,
        })
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.implicit_tls { "smtps" } else { "smtp" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// One reply: the code and its text lines (without the code and separator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// The RFC 3463 enhanced status code at the start of the first line, when given.
    pub fn enhanced_status(&self) -> Option<String> {
        let first = self.lines.first()?;
        let word = first.split_whitespace().next()?;
        let mut parts = word.split('.');
        let class = parts.next()?;
        let ok = matches!(class, "2" | "4" | "5")
            && parts.clone().count() == 2
            && parts
                .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()));
        ok.then(|| word.to_string())
    }

    /// The whole reply on one line, code first (`550 5.1.1 <a@b>: User unknown`).
    pub fn one_line(&self) -> String {
        let mut out = self.code.to_string();
        for line in &self.lines {
            out.push(' ');
            out.push_str(line.trim());
        }
        out
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.one_line())
    }
}

/// What the server offers, from its EHLO reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions {
    pub dsn: bool,
    pub pipelining: bool,
    pub starttls: bool,
    pub eight_bit_mime: bool,
    pub smtputf8: bool,
    pub size: Option<u64>,
    /// SASL mechanisms, upper-case.
    pub auth: Vec<String>,
}

impl Extensions {
    /// Reads the keywords of an EHLO reply (the first line is the greeting, not a keyword).
    pub fn parse(reply: &Reply) -> Extensions {
        let mut ext = Extensions::default();
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            match keyword.to_ascii_uppercase().as_str() {
                "DSN" => ext.dsn = true,
                "PIPELINING" => ext.pipelining = true,
                "STARTTLS" => ext.starttls = true,
                "8BITMIME" => ext.eight_bit_mime = true,
                "SMTPUTF8" => ext.smtputf8 = true,
                "SIZE" => ext.size = words.next().and_then(|n| n.parse().ok()).filter(|&n| n > 0),
                "AUTH" => ext.auth.extend(words.map(|w| w.to_ascii_uppercase())),
                _ => {}
            }
        }
        ext
    }
}

/// Encodes a DSN parameter value as xtext (RFC 3461 section 4): `+`, `=`, controls, space and
/// anything outside printable ASCII as `+HH`.
pub fn xtext(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if (b'!'..=b'~').contains(&b) && b != b'+' && b != b'=' {
            out.push(b as char);
        } else {
            out.push_str(&format!("+{b:02X}"));
        }
    }
    out
}

/// Appends `message` to `out` as DATA content: CRLF line ends (a bare LF or CR becomes CRLF),
/// a leading dot doubled (RFC 5321 section 4.5.2), and the final `.` line.
pub fn dot_stuff_into(message: &[u8], out: &mut Vec<u8>) {
    out.reserve(message.len() + message.len() / 64 + 5);
    let mut at_line_start = true;
    let mut i = 0;
    while i < message.len() {
        let b = message[i];
        match b {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if message.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                at_line_start = true;
            }
            b'\n' => {
                out.extend_from_slice(b"\r\n");
                at_line_start = true;
            }
            _ => {
                if at_line_start && b == b'.' {
                    out.push(b'.');
                }
                out.push(b);
                at_line_start = false;
            }
        }
        i += 1;
    }
    if !at_line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
}

/// How to reach and greet the server; shared by every connection of a run.
#[derive(Clone)]
pub struct Connector {
    pub server: Server,
    /// The name given in EHLO.
    pub helo: String,
    pub timeout: Duration,
    pub tls: Arc<rustls::ClientConfig>,
    pub credentials: Option<Credentials>,
    /// Authenticate even when the connection is not encrypted (the server offers no STARTTLS).
    pub allow_plaintext_auth: bool,
}

#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Credentials {{ user: {:?}, password: (hidden) }}",
            self.user
        )
    }
}

/// Why a session could not be set up, by what can be done about it.
#[derive(Debug)]
pub enum ConnectError {
    /// Worth trying again later: the network, a 4xx greeting, a server closing on us.
    Transient(anyhow::Error),
    /// Trying again cannot help: a certificate that is not trusted, refused credentials, a
    /// server that will not take a password safely.
    Fatal(anyhow::Error),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Transient(e) | ConnectError::Fatal(e) => write!(f, "{e:#}"),
        }
    }
}

impl std::error::Error for ConnectError {}

enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
    /// Only while the socket moves into a TLS session.
    Moving,
}

fn moving() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "the connection is being upgraded",
    )
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
            Stream::Moving => Err(moving()),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
            Stream::Moving => Err(moving()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
            Stream::Moving => Err(moving()),
        }
    }
}

/// The longest reply line we accept; RFC 5321 allows 512 octets, servers send more.
const MAX_LINE: usize = 64 * 1024;

/// One SMTP session, greeted and (when asked) authenticated.
pub struct Connection {
    stream: Stream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    pub ext: Extensions,
    pub encrypted: bool,
    /// The server's name from its greeting, for messages.
    pub greeting: String,
    out: Vec<u8>,
}

/// Which command a reply answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Rset,
    MailFrom,
    RcptTo,
    Data,
    /// The reply to the final dot.
    EndOfData,
}

/// What became of one transaction.
#[derive(Debug)]
pub enum Outcome {
    /// 2xx to the final dot.
    Accepted(Reply),
    /// A refusal: the stage and the reply (4xx or 5xx). After a refusal the session is still
    /// usable (the caller resets it); after a 421 it is not.
    Refused(Stage, Reply),
    /// The connection failed before the message was committed: nothing was delivered.
    BrokenBefore(anyhow::Error),
    /// The connection failed after the final dot was sent, before its reply: the server may
    /// have taken the message.
    BrokenAfter(anyhow::Error),
    /// The hook before the final dot said no (the journal could not be written): the
    /// message was not committed and the session must be dropped.
    Aborted(anyhow::Error),
}

/// The envelope of one message: its sender with MAIL parameters, one recipient with RCPT
/// parameters.
pub struct Envelope<'a> {
    pub from: &'a str,
    pub mail_params: &'a [String],
    pub to: &'a str,
    pub rcpt_params: &'a [String],
}

impl Connection {
    /// Connects, reads the greeting, says EHLO, upgrades with STARTTLS when offered (or is
    /// TLS from the start for smtps), and authenticates when credentials are given.
    pub fn open(c: &Connector) -> Result<Connection, ConnectError> {
        use ConnectError::{Fatal, Transient};
        let addrs: Vec<_> = (c.server.host.as_str(), c.server.port)
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve {}", c.server.host))
            .map_err(Transient)?
            .collect();
        let mut last = None;
        let mut tcp = None;
        for addr in &addrs {
            match TcpStream::connect_timeout(addr, c.timeout) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let tcp = tcp.ok_or_else(|| {
            Transient(anyhow::anyhow!(
                "cannot connect to {}: {}",
                c.server,
                last.map_or_else(|| "no address".to_string(), |e| e.to_string())
            ))
        })?;
        let _ = tcp.set_nodelay(true);
        tcp.set_read_timeout(Some(c.timeout))
            .and_then(|()| tcp.set_write_timeout(Some(c.timeout)))
            .map_err(|e| Transient(e.into()))?;
        let mut conn = Connection {
            stream: Stream::Plain(tcp),
            buf: vec![0; 16 * 1024],
            start: 0,
            end: 0,
            ext: Extensions::default(),
            encrypted: false,
            greeting: String::new(),
            out: Vec::with_capacity(8 * 1024),
        };
        if c.server.implicit_tls {
            conn.start_tls(c).map_err(Fatal)?;
        }
        let greeting = conn
            .read_reply()
            .with_context(|| format!("no greeting from {}", c.server))
            .map_err(Transient)?;
        if greeting.code != 220 {
            let e = anyhow::anyhow!("{} refused the session: {greeting}", c.server);
            return Err(if greeting.is_permanent() {
                Fatal(e)
            } else {
                Transient(e)
            });
        }
        conn.greeting = greeting.lines.first().cloned().unwrap_or_default();
        conn.ehlo(c).map_err(Transient)?;
        if !conn.encrypted && conn.ext.starttls {
            let reply = conn.command(b"STARTTLS\r\n").map_err(Transient)?;
            if reply.code != 220 {
                return Err(Transient(anyhow::anyhow!(
                    "{} offered STARTTLS but refused it: {reply}",
                    c.server
                )));
            }
            conn.start_tls(c).map_err(Fatal)?;
            // RFC 3207: forget what was said in plain text and ask again.
            conn.ehlo(c).map_err(Transient)?;
        }
        if let Some(creds) = &c.credentials {
            if !conn.encrypted && !c.allow_plaintext_auth {
                return Err(Fatal(anyhow::anyhow!(
                    "{} offers no TLS (no STARTTLS): refusing to send the password in plain text \
                     (use smtps://, or --allow-plaintext-auth on a network you trust)",
                    c.server
                )));
            }
            conn.authenticate(creds, &c.server)?;
        }
        Ok(conn)
    }

    fn ehlo(&mut self, c: &Connector) -> Result<()> {
        let reply = self.command(format!("EHLO {}\r\n", c.helo).as_bytes())?;
        if reply.code != 250 {
            bail!("{} refused EHLO: {reply}", c.server);
        }
        self.ext = Extensions::parse(&reply);
        Ok(())
    }

    fn start_tls(&mut self, c: &Connector) -> Result<()> {
        let name = rustls::pki_types::ServerName::try_from(c.server.host.clone())
            .with_context(|| format!("not a TLS server name: {}", c.server.host))?;
        let session =
            rustls::ClientConnection::new(c.tls.clone(), name).context("cannot set up TLS")?;
        let tcp = match std::mem::replace(&mut self.stream, Stream::Moving) {
            Stream::Plain(tcp) => tcp,
            _ => bail!("TLS is already on"),
        };
        // Whatever the server said before the handshake is void (RFC 3207).
        self.start = 0;
        self.end = 0;
        let mut tls = rustls::StreamOwned::new(session, tcp);
        while tls.conn.is_handshaking() {
            tls.conn
                .complete_io(&mut tls.sock)
                .with_context(|| format!("TLS handshake with {} failed", c.server))?;
        }
        self.stream = Stream::Tls(Box::new(tls));
        self.encrypted = true;
        Ok(())
    }

    fn authenticate(&mut self, creds: &Credentials, server: &Server) -> Result<(), ConnectError> {
        use ConnectError::{Fatal, Transient};
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let reply = if self.ext.auth.iter().any(|m| m == "PLAIN") {
            let token = b64.encode(format!("\0{}\0{}", creds.user, creds.password));
            self.command(format!("AUTH PLAIN {token}\r\n").as_bytes())
                .map_err(Transient)?
        } else if self.ext.auth.iter().any(|m| m == "LOGIN") {
            let mut reply = self.command(b"AUTH LOGIN\r\n").map_err(Transient)?;
            for secret in [&creds.user, &creds.password] {
                if reply.code != 334 {
                    break;
                }
                reply = self
                    .command(format!("{}\r\n", b64.encode(secret)).as_bytes())
                    .map_err(Transient)?;
            }
            reply
        } else if self.ext.auth.is_empty() {
            return Err(Fatal(anyhow::anyhow!(
                "{server} does not offer authentication (no AUTH in its EHLO reply)"
            )));
        } else {
            return Err(Fatal(anyhow::anyhow!(
                "{server} offers no authentication mechanism bouncekit speaks (it offers {}; \
                 bouncekit speaks PLAIN and LOGIN)",
                self.ext.auth.join(" ")
            )));
        };
        match reply.code {
            // 235 is the answer; a sink (Postfix's smtp-sink) says 250: success all the same.
            200..=299 => Ok(()),
            c if (400..500).contains(&c) => Err(Transient(anyhow::anyhow!(
                "{server} could not authenticate {} now: {reply}",
                creds.user
            ))),
            _ => Err(Fatal(anyhow::anyhow!(
                "{server} refused the credentials of {}: {reply}",
                creds.user
            ))),
        }
    }

    /// Sends one command and reads its reply.
    fn command(&mut self, line: &[u8]) -> Result<Reply> {
        self.stream.write_all(line)?;
        self.stream.flush()?;
        self.read_reply()
    }

    /// Reads one (possibly multi-line) reply.
    pub fn read_reply(&mut self) -> Result<Reply> {
        let mut lines = Vec::new();
        loop {
            let line = self.read_line()?;
            if line.len() < 3 || !line.as_bytes()[..3].iter().all(u8::is_ascii_digit) {
                bail!("not an SMTP reply: {line:?}");
            }
            let code: u16 = line[..3].parse().expect("three digits");
            let sep = line.as_bytes().get(3).copied();
            lines.push(line.get(4..).unwrap_or("").to_string());
            if sep != Some(b'-') {
                return Ok(Reply { code, lines });
            }
        }
    }

    fn read_line(&mut self) -> Result<String> {
        loop {
            if let Some(nl) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                let raw = &self.buf[self.start..self.start + nl];
                let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
                let line = String::from_utf8_lossy(raw).into_owned();
                self.start += nl + 1;
                return Ok(line);
            }
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                if self.buf.len() >= MAX_LINE {
                    bail!("a reply line longer than {MAX_LINE} bytes");
                }
                self.buf.resize(self.buf.len() * 2, 0);
            }
            let n = match self.stream.read(&mut self.buf[self.end..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(anyhow::Error::new(e).context("reading the server's reply")),
            };
            if n == 0 {
                bail!("the server closed the connection");
            }
            self.end += n;
        }
    }

    /// Runs one transaction: (RSET when `reset`), MAIL, RCPT, DATA, then `before_commit`, then
    /// the message (already dot-stuffed, ending with the `.` line) and its reply. With
    /// PIPELINING the commands up to DATA go out in one write; without, one by one, stopping
    /// at the first refusal.
    ///
    /// `before_commit` runs after the server's 354 and before any byte of the message is
    /// sent: once it returns Ok, the message may be delivered.
    pub fn transaction(
        &mut self,
        reset: bool,
        env: &Envelope,
        stuffed: &[u8],
        before_commit: impl FnOnce() -> Result<()>,
    ) -> Outcome {
        let mut commands: Vec<(Stage, Vec<u8>)> = Vec::with_capacity(4);
        if reset {
            commands.push((Stage::Rset, b"RSET\r\n".to_vec()));
        }
        commands.push((
            Stage::MailFrom,
            envelope_line("MAIL FROM", env.from, env.mail_params),
        ));
        commands.push((
            Stage::RcptTo,
            envelope_line("RCPT TO", env.to, env.rcpt_params),
        ));
        commands.push((Stage::Data, b"DATA\r\n".to_vec()));
        let mut refusal: Option<(Stage, Reply)> = None;
        let mut data_open = false;
        if self.ext.pipelining {
            self.out.clear();
            for (_, line) in &commands {
                self.out.extend_from_slice(line);
            }
            let out = std::mem::take(&mut self.out);
            let written = self
                .stream
                .write_all(&out)
                .and_then(|()| self.stream.flush());
            self.out = out;
            if let Err(e) = written {
                return Outcome::BrokenBefore(e.into());
            }
            for (stage, _) in &commands {
                let reply = match self.read_reply() {
                    Ok(r) => r,
                    Err(e) => return Outcome::BrokenBefore(e),
                };
                if *stage == Stage::Data {
                    data_open = reply.code == 354;
                    if !data_open && refusal.is_none() {
                        refusal = Some((Stage::Data, reply));
                    }
                } else if !(200..300).contains(&reply.code) && refusal.is_none() {
                    refusal = Some((*stage, reply));
                }
            }
        } else {
            for (stage, line) in &commands {
                let reply = match self.command(line) {
                    Ok(r) => r,
                    Err(e) => return Outcome::BrokenBefore(e),
                };
                let ok = if *stage == Stage::Data {
                    reply.code == 354
                } else {
                    (200..300).contains(&reply.code)
                };
                if !ok {
                    refusal = Some((*stage, reply));
                    break;
                }
                data_open = *stage == Stage::Data;
            }
        }
        if let Some((stage, reply)) = refusal {
            if data_open {
                // A server that opened DATA after refusing the recipient: close it empty.
                if let Err(e) = self.command(b".\r\n") {
                    return Outcome::BrokenBefore(e);
                }
            }
            return Outcome::Refused(stage, reply);
        }
        if let Err(e) = before_commit() {
            return Outcome::Aborted(e);
        }
        if let Err(e) = self
            .stream
            .write_all(stuffed)
            .and_then(|()| self.stream.flush())
        {
            return Outcome::BrokenAfter(e.into());
        }
        match self.read_reply() {
            Ok(reply) if (200..300).contains(&reply.code) => Outcome::Accepted(reply),
            Ok(reply) => Outcome::Refused(Stage::EndOfData, reply),
            Err(e) => Outcome::BrokenAfter(e),
        }
    }

    /// Ends the session politely; errors do not matter any more.
    pub fn quit(mut self) {
        let _ = self.command(b"QUIT\r\n");
    }
}

/// `MAIL FROM:<a> P1 P2\r\n`.
fn envelope_line(verb: &str, address: &str, params: &[String]) -> Vec<u8> {
    let mut line = format!("{verb}:<{address}>");
    for p in params {
        line.push(' ');
        line.push_str(p);
    }
    line.push_str("\r\n");
    line.into_bytes()
}

/// Reads a password file: its first line, without the line end.
pub fn read_password_file(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the password file {}", path.display()))?;
    Ok(text.lines().next().unwrap_or("").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_host_port_and_tls() {
        assert_eq!(
            Server::parse("smtp://mail.example.com:587"),
            Ok(Server {
                host: "mail.example.com".into(),
                port: 587,
                implicit_tls: false
            })
        );
        let s = Server::parse("smtps://mail.example.com").unwrap();
        assert_eq!((s.port, s.implicit_tls), (465, true));
        assert_eq!(Server::parse("smtp://[::1]:2525").unwrap().host, "::1");
        assert_eq!(Server::parse("smtp://h").unwrap().port, 25);
        assert!(
            Server::parse("smtp://u:p@h")
                .unwrap_err()
                .contains("--user")
        );
        assert!(Server::parse("http://h").is_err());
        assert!(Server::parse("mail.example.com").is_err());
    }

    #[test]
    fn ehlo_keywords_are_read_from_the_reply() {
        let reply = Reply {
            code: 250,
            lines: vec![
                "mail.example.test".into(),
                "PIPELINING".into(),
                "SIZE 10240000".into(),
                "STARTTLS".into(),
                "AUTH PLAIN login".into(),
                "ENHANCEDSTATUSCODES".into(),
                "8BITMIME".into(),
                "DSN".into(),
            ],
        };
        let ext = Extensions::parse(&reply);
        assert!(ext.dsn && ext.pipelining && ext.starttls && ext.eight_bit_mime);
        assert!(!ext.smtputf8);
        assert_eq!(ext.size, Some(10_240_000));
        assert_eq!(ext.auth, ["PLAIN", "LOGIN"]);
        // The greeting line is no keyword, even when it looks like one.
        let only = Reply {
            code: 250,
            lines: vec!["DSN".into()],
        };
        assert!(!Extensions::parse(&only).dsn);
    }

    #[test]
    fn enhanced_status_is_the_first_word_when_it_is_one() {
        let r = |t: &str| Reply {
            code: 550,
            lines: vec![t.into()],
        };
        assert_eq!(
            r("5.1.1 <a@b>: User unknown").enhanced_status().as_deref(),
            Some("5.1.1")
        );
        assert_eq!(r("User unknown").enhanced_status(), None);
        assert_eq!(r("5.1 nope").enhanced_status(), None);
        assert_eq!(r("5.7.1").one_line(), "550 5.7.1");
    }

    #[test]
    fn xtext_escapes_plus_equals_and_non_printables() {
        assert_eq!(
            xtext("rfc822;a+b=c@example.org"),
            "rfc822;a+2Bb+3Dc@example.org"
        );
        assert_eq!(xtext("x y"), "x+20y");
    }

    #[test]
    fn data_is_dot_stuffed_with_crlf_line_ends() {
        let mut out = Vec::new();
        dot_stuff_into(b"a\n.b\r\n..c\rd", &mut out);
        assert_eq!(out, b"a\r\n..b\r\n...c\r\nd\r\n.\r\n");
        let mut out = Vec::new();
        dot_stuff_into(b".\r\n", &mut out);
        assert_eq!(out, b"..\r\n.\r\n");
    }
}
