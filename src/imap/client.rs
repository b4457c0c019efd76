//! The IMAP connection: TCP with timeouts, TLS (implicit or STARTTLS) with rustls, login, and
//! the commands of `Session`, one tagged command at a time.
//!
//! The password goes over the wire only inside TLS, unless the caller chose
//! `Security::Plain` or allowed it when the server offers no STARTTLS; it never appears in an
//! error message.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use chrono::NaiveDate;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use super::wire::{Fetch, Reader, Reply, RespText, Status, Untagged};
use super::{MailboxInfo, Meta, Session, imap_date, parse_internal_date, quote_mailbox, uid_set};

/// How to protect the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (`imaps://`).
    Tls,
    /// STARTTLS; without it, go on in clear only when `required` is false.
    StartTls { required: bool },
    /// No TLS at all, even when offered (a server on this machine).
    Plain,
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// Trust only the CAs in this PEM file, instead of the system's.
    pub ca_file: Option<PathBuf>,
    /// For connecting and for every read and write.
    pub timeout: Duration,
}

/// Either side of STARTTLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
    /// In between, for the moment of the upgrade.
    Detached,
}

fn detached() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "the connection is being upgraded to TLS",
    )
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
            Stream::Detached => Err(detached()),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
            Stream::Detached => Err(detached()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
            Stream::Detached => Err(detached()),
        }
    }
}

/// A logged-in (or about to be) IMAP connection.
pub struct Client {
    reader: Reader<Stream>,
    tag: u32,
    capabilities: Vec<String>,
    /// `host:port`, for messages.
    server: String,
    /// Whether the connection is encrypted (it decides whether LOGIN may be sent).
    tls: bool,
    /// The mailbox open, for refusing to move messages into it.
    open: Option<String>,
    /// A warning already given (no UIDPLUS), so it is said once per session.
    warned_no_uidplus: bool,
    /// The tag and UIDs of a UID FETCH sent but not read yet (see `request_bodies`).
    pending: Option<(String, Vec<u32>)>,
}

impl Client {
    /// Connects, sets up TLS as asked and reads the greeting and capabilities.
    pub fn connect(options: &ConnectOptions) -> Result<Client> {
        let server = if options.host.contains(':') {
            format!("[{}]:{}", options.host, options.port)
        } else {
            format!("{}:{}", options.host, options.port)
        };
        let tcp = tcp_connect(&options.host, options.port, options.timeout)
            .with_context(|| format!("cannot connect to {server}"))?;
        let tls = options.security == Security::Tls;
        let stream = if tls {
            Stream::Tls(Box::new(tls_handshake(tcp, options, &server)?))
        } else {
            Stream::Plain(tcp)
        };
        let mut client = Client {
            reader: Reader::new(stream),
            tag: 0,
            capabilities: Vec::new(),
            server,
            tls,
            open: None,
            warned_no_uidplus: false,
            pending: None,
        };
        client.greeting()?;
        if let Security::StartTls { required } = options.security {
            if client.has("STARTTLS") {
                client.starttls(options)?;
            } else if required {
                bail!(
                    "{} offers no STARTTLS: refusing to send the password in clear (use imaps://, \
                     or --allow-plaintext-auth if the network is trusted)",
                    client.server
                );
            }
        }
        Ok(client)
    }

    /// Logs in: AUTHENTICATE PLAIN when offered (UTF-8 safe, one round trip with SASL-IR),
    /// else LOGIN.
    pub fn login(&mut self, user: &str, password: &str) -> Result<()> {
        let done = if self.has("AUTH=PLAIN") {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
            if self.has("SASL-IR") {
                self.run(&format!("AUTHENTICATE PLAIN {token}"), &mut |_| Ok(()))
            } else {
                self.run_with_continuation("AUTHENTICATE PLAIN", &token)
            }
        } else if self.has("LOGINDISABLED") {
            bail!(
                "{} refuses LOGIN on this connection and offers no AUTH=PLAIN",
                self.server
            );
        } else {
            self.login_command(user, password)
        };
        let done = done.with_context(|| format!("login as {user} on {}", self.server))?;
        // Servers often change what they offer once logged in (MOVE, UIDPLUS).
        match done.code_name().as_deref() {
            Some("CAPABILITY") => {
                self.capabilities = capability_list(done.code.as_deref().unwrap_or(""));
            }
            _ => self.capability()?,
        }
        Ok(())
    }

    fn login_command(&mut self, user: &str, password: &str) -> Result<RespText> {
        // A quoted string cannot hold 8-bit text, line breaks or NUL; a literal can.
        let quotable = |s: &str| s.bytes().all(|b| (0x20..0x7f).contains(&b));
        if quotable(user) && quotable(password) {
            return self.run(
                &format!("LOGIN {} {}", quote(user), quote(password)),
                &mut |_| Ok(()),
            );
        }
        let tag = self.next_tag();
        let plus = self.has("LITERAL+");
        let mut command = format!(
            "{tag} LOGIN {{{}{}}}\r\n",
            user.len(),
            if plus { "+" } else { "" }
        )
        .into_bytes();
        self.write(&command)?;
        if !plus {
            self.wait_continuation(&tag)?;
        }
        command.clear();
        command.extend_from_slice(user.as_bytes());
        command.extend_from_slice(
            format!(" {{{}{}}}\r\n", password.len(), if plus { "+" } else { "" }).as_bytes(),
        );
        self.write(&command)?;
        if !plus {
            self.wait_continuation(&tag)?;
        }
        let mut last = password.as_bytes().to_vec();
        last.extend_from_slice(b"\r\n");
        self.write(&last)?;
        self.finish(&tag, &mut |_| Ok(()))
    }

    fn greeting(&mut self) -> Result<()> {
        let reply = self
            .reader
            .read_reply()
            .with_context(|| format!("no IMAP greeting from {}", self.server))?;
        match reply {
            Reply::Untagged(Untagged::Status(Status::Ok | Status::Preauth, text)) => {
                if text.code_name().as_deref() == Some("CAPABILITY") {
                    self.capabilities = capability_list(text.code.as_deref().unwrap_or(""));
                    Ok(())
                } else {
                    self.capability()
                }
            }
            Reply::Untagged(Untagged::Status(Status::Bye, text)) => {
                bail!("{} refused the connection: {text}", self.server)
            }
            other => bail!("{} is not an IMAP server (it said {other:?})", self.server),
        }
    }

    fn capability(&mut self) -> Result<()> {
        let mut found = Vec::new();
        self.run("CAPABILITY", &mut |u| {
            if let Untagged::Capability(list) = u {
                found = list.iter().map(|c| c.to_ascii_uppercase()).collect();
            }
            Ok(())
        })
        .with_context(|| format!("asking {} what it offers (CAPABILITY)", self.server))?;
        self.capabilities = found;
        Ok(())
    }

    fn starttls(&mut self, options: &ConnectOptions) -> Result<()> {
        self.run("STARTTLS", &mut |_| Ok(()))
            .with_context(|| format!("STARTTLS with {}", self.server))?;
        let reader = std::mem::replace(&mut self.reader, Reader::new(Stream::Detached));
        let Stream::Plain(tcp) = reader.into_inner_checked()? else {
            bail!("STARTTLS on a connection that is already encrypted");
        };
        let tls = tls_handshake(tcp, options, &self.server)?;
        self.reader = Reader::new(Stream::Tls(Box::new(tls)));
        self.tls = true;
        // What was offered in clear may have been tampered with: ask again (RFC 3501 6.2.1).
        self.capability()
    }

    /// Whether the server offers a capability (upper case).
    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }

    /// Whether the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    fn next_tag(&mut self) -> String {
        self.tag += 1;
        format!("b{}", self.tag)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let stream = self.reader.get_mut();
        // As a message, not an io::Error: a broken pipe to the server is a failure, unlike
        // one on stdout (see main).
        stream
            .write_all(bytes)
            .and_then(|()| stream.flush())
            .map_err(|e| anyhow!("writing to {}: {e}", self.server))
    }

    /// Sends one command and reads its responses, handing the untagged ones to `each`.
    /// NO and BAD are errors carrying the server's text.
    fn run(
        &mut self,
        command: &str,
        each: &mut dyn FnMut(Untagged) -> Result<()>,
    ) -> Result<RespText> {
        // Responses come in order: one to a command sent later cannot be read first.
        if self.pending.is_some() {
            bail!("internal error: {command:.20} sent while a FETCH is still unread");
        }
        let tag = self.next_tag();
        self.write(format!("{tag} {command}\r\n").as_bytes())?;
        self.finish(&tag, each)
    }

    /// `command`, then `line` once the server asks for more (`+`).
    fn run_with_continuation(&mut self, command: &str, line: &str) -> Result<RespText> {
        let tag = self.next_tag();
        self.write(format!("{tag} {command}\r\n").as_bytes())?;
        self.wait_continuation(&tag)?;
        self.write(format!("{line}\r\n").as_bytes())?;
        self.finish(&tag, &mut |_| Ok(()))
    }

    fn wait_continuation(&mut self, tag: &str) -> Result<()> {
        loop {
            match self.read()? {
                Reply::Continue(_) => return Ok(()),
                Reply::Done {
                    tag: t,
                    status,
                    text,
                } if t == tag => {
                    return Err(status_error(status, &text));
                }
                _ => {}
            }
        }
    }

    /// The next response; callers say what they were doing, and with which server.
    fn read(&mut self) -> Result<Reply> {
        self.reader.read_reply()
    }

    fn finish(
        &mut self,
        tag: &str,
        each: &mut dyn FnMut(Untagged) -> Result<()>,
    ) -> Result<RespText> {
        let mut bye: Option<RespText> = None;
        loop {
            let reply = match self.read() {
                Ok(reply) => reply,
                // A server that said BYE before closing has said why.
                Err(e) => match bye {
                    Some(text) => bail!("{} closed the connection: {text}", self.server),
                    None => return Err(e),
                },
            };
            match reply {
                Reply::Done {
                    tag: t,
                    status,
                    text,
                } if t == tag => {
                    return match status {
                        Status::Ok => Ok(text),
                        _ => Err(status_error(status, &text)),
                    };
                }
                Reply::Done { tag: t, .. } => {
                    bail!("{} answered a command it was not sent ({t})", self.server)
                }
                Reply::Untagged(Untagged::Status(Status::Bye, text)) => bye = Some(text),
                Reply::Untagged(untagged) => each(untagged)?,
                Reply::Continue(_) => bail!("{} asked for data no command had", self.server),
            }
        }
    }

    fn expunge(&mut self, uids: &[u32]) -> Result<()> {
        if self.has("UIDPLUS") {
            self.run(&format!("UID EXPUNGE {}", uid_set(uids)), &mut |_| Ok(()))?;
        } else if !self.warned_no_uidplus {
            // A plain EXPUNGE would also remove what other clients marked \Deleted.
            eprintln!(
                "bouncekit: {} lacks UIDPLUS: messages are marked \\Deleted, not expunged; \
                 they go at the next EXPUNGE by any client",
                self.server
            );
            self.warned_no_uidplus = true;
        }
        Ok(())
    }
}

impl Session for Client {
    fn open(&mut self, mailbox: &str, writable: bool) -> Result<MailboxInfo> {
        let verb = if writable { "SELECT" } else { "EXAMINE" };
        let (mut uidvalidity, mut uidnext, mut exists) = (None, None, 0);
        let done = self
            .run(&format!("{verb} {}", quote_mailbox(mailbox)), &mut |u| {
                match u {
                    Untagged::Exists(n) => exists = n,
                    Untagged::Status(Status::Ok, text) => {
                        uidvalidity = text.code_number("UIDVALIDITY").or(uidvalidity);
                        uidnext = text.code_number("UIDNEXT").or(uidnext);
                    }
                    _ => {}
                }
                Ok(())
            })
            .with_context(|| format!("cannot open mailbox {mailbox} on {}", self.server))?;
        if writable && done.code_name().as_deref() == Some("READ-ONLY") {
            bail!(
                "mailbox {mailbox} on {} is read-only: --mark-seen, --move-to and --delete cannot work",
                self.server
            );
        }
        let uidvalidity = uidvalidity.with_context(|| {
            format!(
                "{} gave no UIDVALIDITY for {mailbox}: cannot remember a position in it",
                self.server
            )
        })?;
        self.open = Some(mailbox.to_string());
        Ok(MailboxInfo {
            uidvalidity,
            uidnext,
            exists,
        })
    }

    fn search(&mut self, after: u32, since: Option<NaiveDate>) -> Result<Vec<u32>> {
        let Some(first) = after.checked_add(1) else {
            return Ok(Vec::new());
        };
        let mut command = format!("UID SEARCH UID {first}:*");
        if let Some(date) = since {
            command += &format!(" SINCE {}", imap_date(date));
        }
        let mut uids = Vec::new();
        self.run(&command, &mut |u| {
            if let Untagged::Search(found) = u {
                uids.extend(found);
            }
            Ok(())
        })
        .with_context(|| format!("searching the mailbox on {}", self.server))?;
        // `N:*` always includes the last message, even when its UID is below N.
        uids.retain(|&uid| uid > after);
        uids.sort_unstable();
        uids.dedup();
        Ok(uids)
    }

    fn fetch_meta(&mut self, uids: &[u32]) -> Result<Vec<Meta>> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let mut metas = Vec::with_capacity(uids.len());
        self.run(
            &format!("UID FETCH {} (UID RFC822.SIZE INTERNALDATE)", uid_set(uids)),
            &mut |u| {
                if let Untagged::Fetch(Fetch {
                    uid: Some(uid),
                    size: Some(size),
                    internal_date,
                    ..
                }) = u
                    && uids.binary_search(&uid).is_ok()
                {
                    metas.push(Meta {
                        uid,
                        size,
                        internal_date: internal_date.as_deref().and_then(parse_internal_date),
                    });
                }
                Ok(())
            },
        )
        .with_context(|| format!("fetching message sizes from {}", self.server))?;
        metas.sort_unstable_by_key(|m| m.uid);
        metas.dedup_by_key(|m| m.uid);
        Ok(metas)
    }

    fn request_bodies(&mut self, uids: &[u32], max_size: u64) -> Result<()> {
        if self.pending.is_some() {
            bail!("internal error: a second FETCH requested before the first was read");
        }
        if uids.is_empty() {
            self.pending = Some((String::new(), Vec::new()));
            return Ok(());
        }
        // A message may have grown since its size was read only if the server is odd; allow
        // some slack, but never an unbounded allocation.
        self.reader.literal_limit = max_size.saturating_mul(2).max(1 << 20);
        let tag = self.next_tag();
        self.write(format!("{tag} UID FETCH {} (UID BODY.PEEK[])\r\n", uid_set(uids)).as_bytes())
            .with_context(|| format!("fetching messages from {}", self.server))?;
        self.pending = Some((tag, uids.to_vec()));
        Ok(())
    }

    fn read_bodies(&mut self, each: &mut dyn FnMut(u32, &[u8]) -> Result<()>) -> Result<()> {
        let Some((tag, uids)) = self.pending.take() else {
            bail!("internal error: read_bodies without request_bodies");
        };
        if tag.is_empty() {
            return Ok(());
        }
        let result = self.finish(&tag, &mut |u| {
            if let Untagged::Fetch(Fetch {
                uid: Some(uid),
                body: Some(body),
                ..
            }) = u
                && uids.binary_search(&uid).is_ok()
            {
                each(uid, &body)?;
            }
            Ok(())
        });
        self.reader.literal_limit = 16 << 20;
        result
            .map(drop)
            .with_context(|| format!("fetching messages from {}", self.server))
    }

    fn mark_seen(&mut self, uids: &[u32]) -> Result<()> {
        if uids.is_empty() {
            return Ok(());
        }
        self.run(
            &format!("UID STORE {} +FLAGS.SILENT (\\Seen)", uid_set(uids)),
            &mut |_| Ok(()),
        )
        .with_context(|| format!("marking messages seen on {}", self.server))
        .map(drop)
    }

    fn move_to(&mut self, uids: &[u32], folder: &str) -> Result<()> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uid_set(uids);
        let target = quote_mailbox(folder);
        let server = self.server.clone();
        let context = || format!("moving messages to {folder} on {server}");
        if self.has("MOVE") {
            self.run(&format!("UID MOVE {set} {target}"), &mut |_| Ok(()))
                .with_context(context)?;
            return Ok(());
        }
        self.run(&format!("UID COPY {set} {target}"), &mut |_| Ok(()))
            .with_context(context)?;
        self.run(
            &format!("UID STORE {set} +FLAGS.SILENT (\\Deleted)"),
            &mut |_| Ok(()),
        )
        .with_context(context)?;
        self.expunge(uids).with_context(context)
    }

    fn delete(&mut self, uids: &[u32]) -> Result<()> {
        if uids.is_empty() {
            return Ok(());
        }
        let server = self.server.clone();
        let context = || format!("deleting messages on {server}");
        self.run(
            &format!("UID STORE {} +FLAGS.SILENT (\\Deleted)", uid_set(uids)),
            &mut |_| Ok(()),
        )
        .with_context(context)?;
        self.expunge(uids).with_context(context)
    }

    fn check_mailbox(&mut self, mailbox: &str) -> Result<()> {
        if self.open.as_deref() == Some(mailbox) {
            bail!("--move-to {mailbox} is the mailbox being read");
        }
        self.run(
            &format!("STATUS {} (UIDVALIDITY)", quote_mailbox(mailbox)),
            &mut |_| Ok(()),
        )
        .with_context(|| {
            format!(
                "no mailbox {mailbox} on {} to move messages to (create it first)",
                self.server
            )
        })
        .map(drop)
    }

    fn logout(&mut self) {
        if self.pending.is_some() {
            return;
        }
        let _ = self.run("LOGOUT", &mut |_| Ok(()));
    }
}

fn status_error(status: Status, text: &RespText) -> anyhow::Error {
    match status {
        Status::No | Status::Ok | Status::Preauth => anyhow!("{text}"),
        Status::Bad | Status::Bye => anyhow!("{} {text}", status.as_str()),
    }
}

fn capability_list(code: &str) -> Vec<String> {
    code.split_whitespace()
        .skip(1)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// An IMAP quoted string (the caller has checked it holds printable ASCII only).
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn tcp_connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream> {
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {host}"))?
        .collect();
    let mut last: Option<io::Error> = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(tcp) => {
                tcp.set_read_timeout(Some(timeout))?;
                tcp.set_write_timeout(Some(timeout))?;
                tcp.set_nodelay(true)?;
                return Ok(tcp);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => anyhow::Error::new(e),
        None => anyhow!("{host} has no address"),
    })
}

/// The TLS client set-up: the CAs of `--ca-file` only, or else the system's.
fn tls_config(options: &ConnectOptions) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    match &options.ca_file {
        Some(file) => {
            let certs = CertificateDer::pem_file_iter(file)
                .with_context(|| format!("cannot read the CA file {}", file.display()))?;
            for cert in certs {
                let cert =
                    cert.with_context(|| format!("bad certificate in {}", file.display()))?;
                roots.add(cert).with_context(|| {
                    format!("cannot use a certificate of {} as a CA", file.display())
                })?;
            }
            if roots.is_empty() {
                bail!("no certificate in the CA file {}", file.display());
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                // One odd certificate in the system store is no reason to trust none.
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                bail!(
                    "no CA certificates found on this system (install ca-certificates, or name the server's CA with --ca-file)"
                );
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS set-up")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// TLS over `tcp`, the handshake done here so that a certificate problem is reported as one.
fn tls_handshake(
    tcp: TcpStream,
    options: &ConnectOptions,
    server: &str,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>> {
    let config = tls_config(options)?;
    let name = ServerName::try_from(options.host.clone())
        .map_err(|_| anyhow!("{} is not a valid TLS server name", options.host))?;
    let conn = rustls::ClientConnection::new(config, name).context("TLS set-up")?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        if let Err(e) = tls.conn.complete_io(&mut tls.sock) {
            // UnknownIssuer, or BadSignature when a CA of the same name signed it.
            let untrusted = matches!(
                e.get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>()),
                Some(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::UnknownIssuer
                        | rustls::CertificateError::BadSignature
                ))
            );
            let hint = match (untrusted, options.ca_file.is_some()) {
                (true, true) => " (the server's certificate is not signed by the CA of --ca-file)",
                (true, false) => " (a private CA? name it with --ca-file)",
                _ => "",
            };
            bail!("TLS handshake with {server} failed: {e}{hint}");
        }
    }
    Ok(tls)
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::thread::JoinHandle;

    use super::*;

    /// An IMAP server on loopback for one connection, playing a script: it greets offering
    /// `greeting` (capabilities), answers each command with the untagged lines `answer` gives
    /// (then a tagged OK), and hands back the commands it got, tags removed.
    struct FakeServer {
        port: u16,
        thread: JoinHandle<Vec<String>>,
    }

    impl FakeServer {
        fn start(greeting: &'static str, answer: fn(&str) -> String) -> FakeServer {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let thread = std::thread::spawn(move || {
                let (tcp, _) = listener.accept().unwrap();
                let mut out = tcp.try_clone().unwrap();
                let mut commands = Vec::new();
                write!(out, "* OK [CAPABILITY {greeting}] fake ready\r\n").unwrap();
                for line in BufReader::new(tcp).lines() {
                    let Ok(line) = line else { break };
                    let (tag, command) = line.split_once(' ').unwrap();
                    commands.push(command.to_string());
                    if command == "LOGOUT" {
                        let _ = write!(out, "* BYE\r\n{tag} OK bye\r\n");
                        break;
                    }
                    write!(out, "{}{tag} OK done\r\n", answer(command)).unwrap();
                }
                commands
            });
            FakeServer { port, thread }
        }

        fn options(&self, security: Security) -> ConnectOptions {
            ConnectOptions {
                host: "127.0.0.1".into(),
                port: self.port,
                security,
                ca_file: None,
                timeout: Duration::from_secs(10),
            }
        }

        /// The commands received, once the client has gone.
        fn commands(self) -> Vec<String> {
            self.thread.join().unwrap()
        }
    }

    /// A server that offers neither MOVE nor, unless `UIDPLUS` is in the capabilities it
    /// gives after login, UID EXPUNGE.
    fn answer_without_move(command: &str, after_login: &str) -> String {
        match command.split(' ').next().unwrap() {
            "CAPABILITY" => format!("* CAPABILITY {after_login}\r\n"),
            "SELECT" => "* 3 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 9] ok\r\n".into(),
            _ => String::new(),
        }
    }

    /// Logs in (in clear: it is a fake), opens INBOX for writing and moves UIDs 2 to 4.
    fn move_on(server: &FakeServer) -> Client {
        let mut client = Client::connect(&server.options(Security::Plain)).unwrap();
        client.login("u", "p").unwrap();
        client.open("INBOX", true).unwrap();
        client.move_to(&[2, 3, 4], "Processed").unwrap();
        client
    }

    #[test]
    fn without_move_messages_are_copied_flagged_deleted_and_expunged_by_uid() {
        let server =
            FakeServer::start("IMAP4rev1", |c| answer_without_move(c, "IMAP4rev1 UIDPLUS"));
        let mut client = move_on(&server);
        assert!(!client.warned_no_uidplus);
        client.logout();
        assert_eq!(
            server.commands(),
            [
                "LOGIN \"u\" \"p\"",
                "CAPABILITY",
                "SELECT \"INBOX\"",
                "UID COPY 2:4 \"Processed\"",
                "UID STORE 2:4 +FLAGS.SILENT (\\Deleted)",
                "UID EXPUNGE 2:4",
                "LOGOUT",
            ]
        );
    }

    #[test]
    fn without_uidplus_nothing_is_expunged_and_that_is_said() {
        let server = FakeServer::start("IMAP4rev1", |c| answer_without_move(c, "IMAP4rev1"));
        let mut client = move_on(&server);
        // A plain EXPUNGE would also remove what other clients marked \Deleted.
        assert!(client.warned_no_uidplus, "no warning about UIDPLUS");
        client.delete(&[7]).unwrap();
        client.logout();
        let commands = server.commands();
        assert!(
            !commands.iter().any(|c| c.contains("EXPUNGE")),
            "{commands:?}"
        );
        assert_eq!(
            commands[3..],
            [
                "UID COPY 2:4 \"Processed\"",
                "UID STORE 2:4 +FLAGS.SILENT (\\Deleted)",
                "UID STORE 7 +FLAGS.SILENT (\\Deleted)",
                "LOGOUT",
            ]
        );
    }

    #[test]
    fn with_move_one_uid_move_does_it() {
        let server = FakeServer::start("IMAP4rev1", |c| {
            answer_without_move(c, "IMAP4rev1 MOVE UIDPLUS")
        });
        move_on(&server).logout();
        assert_eq!(
            server.commands()[3..],
            ["UID MOVE 2:4 \"Processed\"", "LOGOUT"]
        );
    }

    #[test]
    fn imap_without_starttls_is_refused_before_any_password_is_sent() {
        let server = FakeServer::start("IMAP4rev1 AUTH=PLAIN", |_| String::new());
        let refused = Client::connect(&server.options(Security::StartTls { required: true }));
        let Err(e) = refused else {
            panic!("connected in clear without --allow-plaintext-auth")
        };
        let e = format!("{e:#}");
        assert!(
            e.contains("offers no STARTTLS") && e.contains("--allow-plaintext-auth"),
            "{e}"
        );
        assert_eq!(
            server.commands(),
            Vec::<String>::new(),
            "the client said something"
        );

        // With --allow-plaintext-auth (STARTTLS not required) the login goes ahead in clear.
        let server = FakeServer::start("IMAP4rev1 AUTH=PLAIN SASL-IR", |c| {
            answer_without_move(c, "IMAP4rev1")
        });
        let mut client =
            Client::connect(&server.options(Security::StartTls { required: false })).unwrap();
        assert!(!client.is_tls());
        client.login("u", "p").unwrap();
        client.logout();
        assert_eq!(
            server.commands(),
            ["AUTHENTICATE PLAIN AHUAcA==", "CAPABILITY", "LOGOUT"]
        );
    }

    #[test]
    fn quoted_strings_escape_quotes_and_backslashes() {
        assert_eq!(quote(r#"pa"ss\word"#), r#""pa\"ss\\word""#);
    }

    #[test]
    fn capability_codes_are_upper_cased_lists() {
        assert_eq!(
            capability_list("CAPABILITY IMAP4rev1 move Uidplus"),
            vec!["IMAP4REV1", "MOVE", "UIDPLUS"]
        );
    }
}
