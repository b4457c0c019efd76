//! The test mail stack (a private Postfix and Dovecot on 127.0.0.1, see
//! tests/mailstack/mailstack.sh) as the integration tests see it: a `MailStack` value that
//! starts the stack on creation and stops it on drop, one stack shared by every test of the
//! binary, and small SMTP (lettre) and IMAP (imap over rustls) clients to talk to it.
//!
//! It must never skip a test: when the stack cannot start (packages missing, not root), every
//! test that needs it fails with a message saying how to fix that. And it must never leave a
//! daemon behind, however the test binary ends; see `shared`.

use std::collections::HashMap;
use std::ffi::c_int;
use std::fs;
use std::io;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use lettre::Address;
use lettre::transport::smtp::client::SmtpConnection;
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Quit, Rcpt};
use lettre::transport::smtp::extension::{ClientId, MailParameter, RcptParameter};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

/// Every stack of this binary lives in the system's temporary directory under this prefix, so
/// that one left behind by a killed run can be found and stopped (`mailstack.sh reap`).
const DIR_PREFIX: &str = "bouncekit-mailstack-";

/// The client name the tests give in EHLO.
const CLIENT_NAME: &str = "client.example.test";

/// How long a network call to the stack may take before the test fails instead of hanging.
const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a test waits for mail to arrive (it takes a fraction of a second here).
const REPORT_TIMEOUT: Duration = Duration::from_secs(30);

/// The user whose address is the envelope sender of the tests' mail, so it gets the reports.
pub const BOUNCES: &str = "bounces";

/// The start script, run with bash so that its executable bit does not matter.
fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mailstack/mailstack.sh")
}

/// A running Postfix and Dovecot, and what a test needs to reach them.
pub struct MailStack {
    pub dir: PathBuf,
    pub domain: String,
    pub smtp_port: u16,
    pub smtps_port: u16,
    pub imap_port: u16,
    pub imaps_port: u16,
    /// The certificate of the per-run CA that signed the IMAPS (and STARTTLS) certificate.
    pub ca_file: PathBuf,
    /// A CA that signed nothing of this stack: trusting only it must fail.
    pub other_ca_file: PathBuf,
    passwords: HashMap<String, String>,
    logs: Vec<PathBuf>,
    stopped: AtomicBool,
}

impl MailStack {
    /// Starts a stack of its own in a fresh temporary directory. A failure to start comes back
    /// as the script's explanation (with the daemons' log tails); a start that lost a port to
    /// someone else between choosing and binding it is retried with new ports.
    pub fn start() -> Result<MailStack, String> {
        reap_abandoned();
        let mut last_error = String::new();
        for _ in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix(DIR_PREFIX)
                .tempdir()
                .map_err(|e| format!("cannot create the mail stack's directory: {e}"))?
                .keep();
            let out = Command::new("bash")
                .arg(script())
                .arg("start")
                .arg(&dir)
                .arg("--owner")
                .arg(std::process::id().to_string())
                .output()
                .map_err(|e| format!("cannot run {}: {e}", script().display()))?;
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            match out.status.code() {
                Some(0) => {
                    let stdout = String::from_utf8_lossy(&out.stdout);
                    return Self::from_env(dir, &stdout).map_err(|e| {
                        let _ = stop_dir(Path::new(&e.0));
                        format!("{}\n--- the script printed ---\n{stdout}", e.1)
                    });
                }
                // Missing packages or privileges: retrying cannot help.
                Some(3) => {
                    let _ = fs::remove_dir_all(&dir);
                    return Err(format!("the test mail stack cannot start:\n{stderr}"));
                }
                code => {
                    let _ = fs::remove_dir_all(&dir);
                    last_error = format!(
                        "the test mail stack did not start (exit {code:?}):\n{stderr}{}",
                        String::from_utf8_lossy(&out.stdout)
                    );
                }
            }
        }
        Err(last_error)
    }

    /// Reads the MAILSTACK_* lines the start script printed. On error, gives back the
    /// directory (to stop what was started there) and the reason.
    fn from_env(dir: PathBuf, stdout: &str) -> Result<MailStack, (PathBuf, String)> {
        let vars: HashMap<&str, &str> = stdout
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim().trim_matches('\'')))
            .collect();
        let get = |key: &str| -> Result<&str, (PathBuf, String)> {
            vars.get(key)
                .copied()
                .ok_or_else(|| (dir.clone(), format!("the start script did not print {key}")))
        };
        let port = |key: &str| -> Result<u16, (PathBuf, String)> {
            get(key)?
                .parse()
                .map_err(|e| (dir.clone(), format!("{key} is not a port: {e}")))
        };
        let passwords = get("MAILSTACK_USERS")?
            .split_whitespace()
            .filter_map(|pair| pair.split_once(':'))
            .map(|(user, password)| (user.to_string(), password.to_string()))
            .collect();
        Ok(MailStack {
            domain: get("MAILSTACK_DOMAIN")?.to_string(),
            smtp_port: port("MAILSTACK_SMTP_PORT")?,
            smtps_port: port("MAILSTACK_SMTPS_PORT")?,
            imap_port: port("MAILSTACK_IMAP_PORT")?,
            imaps_port: port("MAILSTACK_IMAPS_PORT")?,
            ca_file: PathBuf::from(get("MAILSTACK_CA_FILE")?),
            other_ca_file: PathBuf::from(get("MAILSTACK_OTHER_CA_FILE")?),
            passwords,
            logs: vec![
                PathBuf::from(get("MAILSTACK_POSTFIX_LOG")?),
                PathBuf::from(get("MAILSTACK_DOVECOT_LOG")?),
            ],
            stopped: AtomicBool::new(false),
            dir,
        })
    }

    /// Stops the daemons (by the PIDs they recorded) and deletes the directory; a second call
    /// does nothing. Never panics: it also runs while the process exits.
    pub fn stop(&self) -> Result<(), String> {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        stop_dir(&self.dir)
    }

    /// `user@example.test`.
    pub fn address(&self, user: &str) -> String {
        format!("{user}@{}", self.domain)
    }

    pub fn password(&self, user: &str) -> &str {
        self.passwords
            .get(user)
            .unwrap_or_else(|| panic!("the mail stack has no user {user}"))
    }

    /// The `smtp://` URL of the stack's Postfix, for `bouncekit send --smtp`.
    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.smtp_port)
    }

    /// The `smtps://` URL of the stack's Postfix (TLS from the first byte).
    pub fn smtps_url(&self) -> String {
        format!("smtps://127.0.0.1:{}", self.smtps_port)
    }

    /// Every message in `user`'s Maildir (new and cur), read straight from Dovecot's store:
    /// faster than IMAP for the thousands of messages of a volume test.
    pub fn maildir_messages(&self, user: &str) -> Vec<Vec<u8>> {
        let maildir = self.dir.join("dovecot/mail").join(user).join("Maildir");
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = fs::read_dir(maildir.join(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                // A file may move from new/ to cur/ while we read: skip what vanished.
                if let Ok(bytes) = fs::read(entry.path()) {
                    out.push(bytes);
                }
            }
        }
        out
    }

    /// The last lines of the Postfix and Dovecot logs, for failure messages: what the servers
    /// did is usually the explanation.
    pub fn log_tail(&self) -> String {
        let mut out = String::new();
        for log in &self.logs {
            let text = fs::read_to_string(log).unwrap_or_else(|e| format!("(unreadable: {e})"));
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            out += &format!("--- {} (last {} lines) ---\n", log.display(), tail.len());
            for line in tail {
                out += line;
                out.push('\n');
            }
        }
        out
    }

    /// An SMTP session on the stack's port, EHLO already done.
    pub fn smtp(&self) -> Smtp {
        let conn = SmtpConnection::connect(
            ("127.0.0.1", self.smtp_port),
            Some(IO_TIMEOUT),
            &ClientId::Domain(CLIENT_NAME.into()),
            None,
            None,
        )
        .unwrap_or_else(|e| panic!("SMTP connect failed: {e}\n{}", self.log_tail()));
        Smtp { conn }
    }

    /// An IMAP session over implicit TLS, trusting only the per-run CA (what `--ca-file` does).
    pub fn imaps(&self, user: &str) -> Result<imap::Session<TlsStream>, String> {
        let tls = tls_connect(self.imaps_port, &[&self.ca_file])?;
        login(imap::Client::new(tls), user, self.password(user))
    }

    /// An IMAP session in plain text (fine on loopback).
    pub fn imap_plain(&self, user: &str) -> Result<imap::Session<TcpStream>, String> {
        let tcp = tcp_connect(self.imap_port)?;
        login(imap::Client::new(tcp), user, self.password(user))
    }

    /// Creates `mailbox` of `user` (deleting any mailbox of that name first) and appends
    /// `messages` to it, in order, quickly: one MULTIAPPEND (RFC 3502) per 500 messages with
    /// non-synchronising literals (LITERAL+), so thousands go in well under a second.
    pub fn fill(&self, user: &str, mailbox: &str, messages: impl IntoIterator<Item = Vec<u8>>) {
        let mut session = self
            .imap_plain(user)
            .unwrap_or_else(|e| panic!("IMAP login failed: {e}\n{}", self.log_tail()));
        // Dovecot has been seen answering CREATE with "Mailbox already exists" for a name
        // nobody used, while several sessions touch the user's mail for the first time: try
        // again, and take an existing mailbox only if it is empty.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let _ = session.delete(mailbox);
            match session.create(mailbox) {
                Ok(()) => break,
                Err(e) => {
                    let empty = session.examine(mailbox).is_ok_and(|m| m.exists == 0);
                    if empty {
                        break;
                    }
                    assert!(attempt < 5, "CREATE {mailbox}: {e}\n{}", self.log_tail());
                    thread::sleep(Duration::from_millis(100));
                }
            }
        }
        let _ = session.logout();
        self.append(user, mailbox, messages);
    }

    /// Appends `messages` to the existing `mailbox` of `user` (see `fill`).
    pub fn append(&self, user: &str, mailbox: &str, messages: impl IntoIterator<Item = Vec<u8>>) {
        use std::io::{BufRead, BufReader, Write};
        let tcp = tcp_connect(self.imap_port).expect("connect for APPEND");
        let mut reader = BufReader::new(tcp.try_clone().expect("clone the socket"));
        let mut writer = tcp;
        let mut line = String::new();
        let mut expect_ok = |reader: &mut BufReader<TcpStream>, tag: &str| loop {
            line.clear();
            reader
                .read_line(&mut line)
                .expect("read from the IMAP server");
            assert!(!line.is_empty(), "the IMAP server closed the connection");
            if let Some(rest) = line.strip_prefix(&format!("{tag} ")) {
                assert!(
                    rest.starts_with("OK"),
                    "{tag} failed: {line}\n{}",
                    self.log_tail()
                );
                return;
            }
        };
        expect_ok(&mut reader, "*");
        writer
            .write_all(format!("l LOGIN {user} \"{}\"\r\n", self.password(user)).as_bytes())
            .unwrap();
        expect_ok(&mut reader, "l");
        let quoted = format!("\"{}\"", mailbox.replace('\\', "\\\\").replace('"', "\\\""));
        let mut messages = messages.into_iter().peekable();
        let mut n = 0;
        while messages.peek().is_some() {
            n += 1;
            let tag = format!("a{n}");
            let mut command = format!("{tag} APPEND {quoted}").into_bytes();
            for message in messages.by_ref().take(500) {
                command.extend_from_slice(format!(" {{{}+}}\r\n", message.len()).as_bytes());
                command.extend_from_slice(&message);
            }
            command.extend_from_slice(b"\r\n");
            writer.write_all(&command).expect("APPEND");
            expect_ok(&mut reader, &tag);
        }
        let _ = writer.write_all(b"z LOGOUT\r\n");
    }

    /// The UIDs of `mailbox` of `user` and whether each is \Seen, in UID order.
    pub fn seen_flags(&self, user: &str, mailbox: &str) -> Vec<(u32, bool)> {
        let mut session = self
            .imap_plain(user)
            .unwrap_or_else(|e| panic!("IMAP login failed: {e}\n{}", self.log_tail()));
        session.examine(mailbox).expect("EXAMINE");
        let fetches = session
            .uid_fetch("1:*", "(UID FLAGS)")
            .expect("UID FETCH FLAGS");
        let mut out: Vec<(u32, bool)> = fetches
            .iter()
            .filter_map(|f| Some((f.uid?, f.flags().contains(&imap::types::Flag::Seen))))
            .collect();
        out.sort();
        let _ = session.logout();
        out
    }

    /// Deletes `mailbox` of `user` and creates it again (a new UIDVALIDITY).
    pub fn recreate(&self, user: &str, mailbox: &str) {
        let mut session = self
            .imap_plain(user)
            .unwrap_or_else(|e| panic!("IMAP login failed: {e}\n{}", self.log_tail()));
        session.delete(mailbox).expect("DELETE");
        session.create(mailbox).expect("CREATE");
        let _ = session.logout();
    }

    /// Kills every Dovecot process of the stack at once (a crash of the server).
    pub fn kill_dovecot(&self) {
        self.script_command("dovecot-kill");
    }

    /// Starts the killed Dovecot again, same ports, same mail.
    pub fn start_dovecot(&self) {
        self.script_command("dovecot-start");
    }

    fn script_command(&self, command: &str) {
        let out = Command::new("bash")
            .arg(script())
            .arg(command)
            .arg(&self.dir)
            .output()
            .expect("run mailstack.sh");
        assert!(
            out.status.success(),
            "mailstack.sh {command} failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            self.log_tail()
        );
    }

    /// Waits until the bounce mailbox (the envelope sender of the tests' mail), read over
    /// IMAPS, holds the delivery report whose Original-Envelope-Id is `envid`, and returns its
    /// exact bytes.
    pub fn wait_for_report(&self, envid: &str) -> Vec<u8> {
        let session = self
            .imaps(BOUNCES)
            .unwrap_or_else(|e| panic!("IMAPS login failed: {e}\n{}", self.log_tail()));
        let field = format!("Original-Envelope-Id: {envid}");
        self.wait_in_inbox(session, &format!("report with {field}"), |m| {
            contains(m, field.as_bytes())
        })
    }

    /// Waits until `user`'s INBOX, read over plain IMAP, holds the message with this
    /// Message-ID, and returns its exact bytes.
    pub fn wait_for_delivery(&self, user: &str, message_id: &str) -> Vec<u8> {
        let session = self
            .imap_plain(user)
            .unwrap_or_else(|e| panic!("IMAP login failed: {e}\n{}", self.log_tail()));
        let field = format!("Message-ID: {message_id}");
        self.wait_in_inbox(session, &format!("message with {field}"), |m| {
            contains(m, field.as_bytes())
        })
    }

    /// Polls INBOX until a message satisfies `wanted`. Fetches with BODY.PEEK, so it marks
    /// nothing seen; after REPORT_TIMEOUT the panic lists what was there, and the logs.
    fn wait_in_inbox<T: io::Read + io::Write>(
        &self,
        mut session: imap::Session<T>,
        what: &str,
        wanted: impl Fn(&[u8]) -> bool,
    ) -> Vec<u8> {
        let deadline = Instant::now() + REPORT_TIMEOUT;
        loop {
            // SELECT again each time: it is how a plain IMAP client sees new mail.
            session
                .select("INBOX")
                .unwrap_or_else(|e| panic!("SELECT INBOX failed: {e}\n{}", self.log_tail()));
            let fetches = session
                .uid_fetch("1:*", "BODY.PEEK[]")
                .unwrap_or_else(|e| panic!("UID FETCH failed: {e}\n{}", self.log_tail()));
            let bodies: Vec<&[u8]> = fetches.iter().filter_map(|f| f.body()).collect();
            if let Some(found) = bodies.iter().find(|b| wanted(b)) {
                let found = found.to_vec();
                let _ = session.logout();
                return found;
            }
            if Instant::now() > deadline {
                let seen: Vec<String> = bodies.iter().map(|b| summary(b)).collect();
                panic!(
                    "no {what} after {REPORT_TIMEOUT:?}; the INBOX holds {} message(s):\n{}\n{}",
                    seen.len(),
                    seen.join("\n"),
                    self.log_tail()
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

impl Drop for MailStack {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("{e}");
        }
    }
}

/// The stack every test of this binary shares, started by the first test that asks.
///
/// One stack rather than one per test: starting takes well under a second but stopping about
/// one (Dovecot's master waits a second), each stack is a dozen processes on a two-core machine,
/// and the tests do not disturb each other anyway: each sends its own message with its own
/// envelope id and looks only for the report that carries it.
///
/// A static is never dropped, so the stack is stopped by an `atexit` handler, which runs however
/// the test harness exits (all passed, or `exit(101)` after failures). When the process is
/// killed instead, the script's watchdog notices its owner is gone and stops the stack; and
/// should even the watchdog have been killed, the next start reaps what was left behind.
pub fn shared() -> &'static MailStack {
    static SHARED: OnceLock<Result<MailStack, String>> = OnceLock::new();
    unsafe extern "C" {
        fn atexit(callback: extern "C" fn()) -> c_int;
    }
    extern "C" fn stop_shared() {
        if let Some(Ok(stack)) = SHARED.get()
            && let Err(e) = stack.stop()
        {
            eprintln!("{e}");
        }
    }
    let started = SHARED.get_or_init(|| {
        let stack = MailStack::start();
        if stack.is_ok() {
            // SAFETY: registers a plain function with the C library; it touches only the
            // static above, which outlives every atexit handler.
            unsafe { atexit(stop_shared) };
        }
        stack
    });
    match started {
        Ok(stack) => stack,
        Err(e) => panic!("{e}"),
    }
}

/// Stops and deletes the stacks of earlier runs whose test process is gone.
fn reap_abandoned() {
    let out = Command::new("bash")
        .arg(script())
        .arg("reap")
        .arg(std::env::temp_dir())
        .arg(DIR_PREFIX)
        .output();
    if let Ok(out) = out
        && !out.status.success()
    {
        eprintln!(
            "mailstack: reaping abandoned stacks failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn stop_dir(dir: &Path) -> Result<(), String> {
    let out = Command::new("bash")
        .arg(script())
        .arg("stop")
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script().display()))?;
    if !out.status.success() {
        return Err(format!(
            "mailstack: stopping the stack in {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    fs::remove_dir_all(dir).map_err(|e| format!("cannot remove {}: {e}", dir.display()))
}

/// One line about a message: its Subject and envelope id, for "not found" messages.
fn summary(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or("-")
            .trim()
            .to_string()
    };
    format!(
        "  Subject: {} | Original-Envelope-Id: {}",
        field("Subject:"),
        field("Original-Envelope-Id:")
    )
}

pub type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

fn tcp_connect(port: u16) -> Result<TcpStream, String> {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .map_err(|e| format!("connect to 127.0.0.1:{port}: {e}"))?;
    tcp.set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|()| tcp.set_write_timeout(Some(IO_TIMEOUT)))
        .map_err(|e| format!("set timeouts: {e}"))?;
    Ok(tcp)
}

/// A TLS connection to 127.0.0.1:`port` that trusts only the certificates in `ca_files` and
/// checks the server's certificate against the name 127.0.0.1, as a client given
/// `--ca-file` would. The handshake happens here, so a certificate problem is reported here.
pub fn tls_connect(port: u16, ca_files: &[&Path]) -> Result<TlsStream, String> {
    let mut roots = rustls::RootCertStore::empty();
    for file in ca_files {
        for cert in CertificateDer::pem_file_iter(file)
            .map_err(|e| format!("read {}: {e}", file.display()))?
        {
            let cert = cert.map_err(|e| format!("parse {}: {e}", file.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("use {} as a CA: {e}", file.display()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("127.0.0.1").expect("an IP address is a server name");
    let conn = rustls::ClientConnection::new(Arc::new(config), name)
        .map_err(|e| format!("TLS setup: {e}"))?;
    let mut tls = rustls::StreamOwned::new(conn, tcp_connect(port)?);
    while tls.conn.is_handshaking() {
        tls.conn
            .complete_io(&mut tls.sock)
            .map_err(|e| format!("TLS handshake with 127.0.0.1:{port}: {e}"))?;
    }
    Ok(tls)
}

fn login<T: io::Read + io::Write>(
    mut client: imap::Client<T>,
    user: &str,
    password: &str,
) -> Result<imap::Session<T>, String> {
    client
        .read_greeting()
        .map_err(|e| format!("IMAP greeting: {e}"))?;
    client
        .login(user, password)
        .map_err(|(e, _)| format!("IMAP LOGIN as {user}: {e}"))
}

/// An SMTP session through lettre's low-level connection: its high-level transports cannot
/// send DSN parameters, which is what these tests are about.
pub struct Smtp {
    conn: SmtpConnection,
}

/// An SMTP reply: the code and the text lines joined by spaces.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.text)
    }
}

/// lettre turns 4xx and 5xx replies into errors; the tests want every reply alike.
fn reply(
    result: Result<lettre::transport::smtp::response::Response, lettre::transport::smtp::Error>,
) -> Reply {
    match result {
        Ok(response) => Reply {
            code: response.code().to_string().parse().unwrap_or(0),
            text: response.message().collect::<Vec<_>>().join(" "),
        },
        Err(e) => Reply {
            code: e
                .status()
                .and_then(|c| c.to_string().parse().ok())
                .unwrap_or_else(|| panic!("SMTP failed without a reply: {e}")),
            text: std::error::Error::source(&e)
                .map(ToString::to_string)
                .unwrap_or_default(),
        },
    }
}

impl Smtp {
    /// The lines of a fresh EHLO reply. lettre's parsed server info drops the keywords it
    /// does not use (DSN among them), so the tests read the lines themselves.
    pub fn ehlo_lines(&mut self) -> Vec<String> {
        let response = self
            .conn
            .command(Ehlo::new(ClientId::Domain(CLIENT_NAME.into())))
            .expect("EHLO");
        response.message().map(str::to_string).collect()
    }

    /// MAIL FROM with DSN parameters: RET=HDRS and ENVID (xtext-encoded by lettre).
    pub fn mail_from(&mut self, from: &str, envid: &str) -> Reply {
        let params = vec![
            MailParameter::Other {
                keyword: "RET".into(),
                value: Some("HDRS".into()),
            },
            MailParameter::Other {
                keyword: "ENVID".into(),
                value: Some(envid.into()),
            },
        ];
        reply(self.conn.command(Mail::new(Some(address(from)), params)))
    }

    /// RCPT TO with NOTIFY=`notify` and ORCPT=rfc822;`to`.
    pub fn rcpt_to(&mut self, to: &str, notify: &str) -> Reply {
        let params = vec![
            RcptParameter::Other {
                keyword: "NOTIFY".into(),
                value: Some(notify.into()),
            },
            RcptParameter::Other {
                keyword: "ORCPT".into(),
                value: Some(format!("rfc822;{to}")),
            },
        ];
        reply(self.conn.command(Rcpt::new(address(to), params)))
    }

    /// DATA and the message (dot-stuffed by lettre); the reply to the final dot.
    pub fn data(&mut self, message: &[u8]) -> Reply {
        let go = reply(self.conn.command(Data));
        assert_eq!(go.code, 354, "DATA refused: {go}");
        reply(self.conn.message(message))
    }

    pub fn quit(mut self) {
        let _ = self.conn.command(Quit);
    }
}

fn address(text: &str) -> Address {
    text.parse()
        .unwrap_or_else(|e| panic!("not an address: {text}: {e}"))
}
