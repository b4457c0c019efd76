//! A real DNS server for the tests of `validate`: Debian's dnsmasq, run with a configuration
//! of its own on a free port of 127.0.0.1 (UDP and TCP), serving the zones a test gives it
//! and nothing else: `--no-resolv --no-hosts`, and `local=/test/` so that every other name
//! under `.test` is NXDOMAIN. Two zones are forwarded to upstreams of the harness's own, on
//! loopback too: `slow.test` to a socket that never answers, and `servfail.test` to one that
//! answers every query with SERVFAIL, which dnsmasq passes on.
//!
//! It must never skip a test (a missing dnsmasq fails with the command that installs it) and
//! never leave a daemon behind: dnsmasq runs under a small shell that holds a pipe from this
//! process and stops dnsmasq, by the PID it started, when the pipe closes: when the
//! `DnsServer` is dropped, and also when the test binary dies without dropping it.

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// What every server serves besides the test's own lines: the zones the `validate` tests
/// share. Addresses are from the documentation ranges (never connected to).
pub const ZONES: &[&str] = &[
    // An MX host with an address.
    "mx-host=mx.test,mail.mx.test,10",
    "host-record=mail.mx.test,192.0.2.10",
    // No MX: the domain's own address is its implicit MX (RFC 5321 §5.1).
    "host-record=a-only.test,192.0.2.20",
    "host-record=aaaa-only.test,2001:db8::20",
    // RFC 7505 Null MX, `MX 0 .`: preference 0 and the root name, as raw RDATA.
    "dns-rr=nullmx.test,15,000000",
    "host-record=nullmx.test,192.0.2.30",
    // MX hosts that do not exist, or point at loopback.
    "mx-host=deadmx.test,nowhere.deadmx.test,10",
    "mx-host=loopmx.test,lo.loopmx.test,10",
    "host-record=lo.loopmx.test,127.0.0.1",
    // A name that exists with neither MX nor address.
    "txt-record=txt-only.test,\"v=spf1 -all\"",
];

/// A running dnsmasq and its helpers.
pub struct DnsServer {
    pub port: u16,
    dir: TempDir,
    /// The shell that started dnsmasq; closing its stdin stops dnsmasq.
    shell: Option<Child>,
    stdin: Option<ChildStdin>,
    stop: Arc<AtomicBool>,
    upstreams: Vec<thread::JoinHandle<()>>,
    /// Held open, never read: queries forwarded here are never answered.
    _silent: UdpSocket,
}

impl DnsServer {
    /// Starts a server with `ZONES` and `extra` configuration lines (dnsmasq syntax).
    pub fn start(extra: &[&str]) -> DnsServer {
        let binary = dnsmasq_binary();
        let mut last_error = String::new();
        // A port chosen free can be taken before dnsmasq binds it: try again with another.
        for _ in 0..5 {
            match Self::try_start(&binary, extra) {
                Ok(server) => return server,
                Err(e) => last_error = e,
            }
        }
        panic!("dnsmasq did not start:\n{last_error}");
    }

    fn try_start(binary: &PathBuf, extra: &[&str]) -> Result<DnsServer, String> {
        let dir = tempfile::Builder::new()
            .prefix("bouncekit-dns-")
            .tempdir()
            .map_err(|e| format!("cannot create a directory: {e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let silent = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let servfail = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = free_port()?;
        let mut conf = format!(
            "port={port}\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\n\
             no-negcache\nlog-queries\nlog-facility=-\nlocal=/test/\n\
             server=/slow.test/127.0.0.1#{}\nserver=/servfail.test/127.0.0.1#{}\n",
            silent.local_addr().map_err(|e| e.to_string())?.port(),
            servfail.local_addr().map_err(|e| e.to_string())?.port(),
        );
        for line in ZONES.iter().chain(extra) {
            conf.push_str(line);
            conf.push('\n');
        }
        let conf_path = dir.path().join("dnsmasq.conf");
        fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
        let log = fs::File::create(dir.path().join("dnsmasq.log")).map_err(|e| e.to_string())?;
        let upstreams = vec![answer_servfail(servfail, stop.clone())];
        // The shell prints dnsmasq's PID, waits for its stdin to close, then stops dnsmasq
        // by that PID and waits for it to exit.
        let script = r#"
            "$0" --keep-in-foreground --conf-file="$1" </dev/null & pid=$!
            echo "$pid"
            read -r _ || true
            kill "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
            exit 0
        "#;
        let mut shell = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(binary)
            .arg(&conf_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run sh: {e}"))?;
        let stdin = shell.stdin.take();
        let mut pid = String::new();
        if let Some(out) = shell.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut pid);
        }
        let mut server = DnsServer {
            port,
            dir,
            shell: Some(shell),
            stdin,
            stop,
            upstreams,
            _silent: silent,
        };
        if pid.trim().parse::<u32>().is_err() {
            return Err(format!("no PID from the start script\n{}", server.log()));
        }
        server.wait_ready()?;
        Ok(server)
    }

    /// `127.0.0.1:PORT`, as `--nameserver` takes it.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// dnsmasq's log (every query it got, with `log-queries`).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("dnsmasq.log")).unwrap_or_default()
    }

    /// How many queries dnsmasq logged for `name` with type `qtype` (e.g. "MX").
    pub fn queries(&self, qtype: &str, name: &str) -> usize {
        let wanted = format!("query[{qtype}] {name} from");
        self.log().lines().filter(|l| l.contains(&wanted)).count()
    }

    /// Waits until dnsmasq answers a query (it binds its port at start-up); an exited
    /// dnsmasq (port taken, bad configuration) is an error with its log.
    fn wait_ready(&mut self) -> Result<(), String> {
        let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .map_err(|e| e.to_string())?;
        let query = query_packet("ready.test");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let _ = socket.send_to(&query, ("127.0.0.1", self.port));
            let mut buf = [0u8; 512];
            if let Ok((n, _)) = socket.recv_from(&mut buf)
                && n >= 12
                && buf[..2] == query[..2]
            {
                return Ok(());
            }
            if let Some(shell) = self.shell.as_mut()
                && let Ok(Some(_)) = shell.try_wait()
            {
                return Err(format!("dnsmasq exited\n{}", self.log()));
            }
        }
        Err(format!("dnsmasq did not answer in time\n{}", self.log()))
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        // Closing the pipe makes the shell stop dnsmasq; waiting for the shell waits for
        // dnsmasq to be gone.
        drop(self.stdin.take());
        if let Some(mut shell) = self.shell.take() {
            let _ = shell.wait();
        }
        self.stop.store(true, Ordering::SeqCst);
        for upstream in self.upstreams.drain(..) {
            let _ = upstream.join();
        }
    }
}

/// The dnsmasq binary, or a failure saying how to install it (never a skipped test).
fn dnsmasq_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join("dnsmasq"))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!(
            "the validate tests need dnsmasq, a real DNS server they run on 127.0.0.1: \
             install it with `apt-get install dnsmasq-base` (`bash .ci/run` does)"
        )
    })
}

/// A port that was free on 127.0.0.1 for both UDP and TCP a moment ago.
fn free_port() -> Result<u16, String> {
    for _ in 0..20 {
        let udp = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = udp.local_addr().map_err(|e| e.to_string())?.port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err("no free port".into())
}

/// A query for `name`, type A, with recursion desired.
fn query_packet(name: &str) -> Vec<u8> {
    let mut q = vec![0xb0, 0x0c, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// An upstream that answers every query with SERVFAIL (the query echoed, no records), until
/// `stop` is set.
fn answer_servfail(socket: UdpSocket, stop: Arc<AtomicBool>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let _ = socket.set_read_timeout(Some(Duration::from_millis(100)));
        let mut buf = [0u8; 1500];
        while !stop.load(Ordering::SeqCst) {
            let Ok((n, from)) = socket.recv_from(&mut buf) else {
                continue;
            };
            if n < 12 {
                continue;
            }
            // The header and the question only (an EDNS record after it is left out).
            let mut end = 12;
            while end < n && buf[end] != 0 {
                end += 1 + buf[end] as usize;
            }
            let mut reply = buf[..(end + 5).min(n)].to_vec();
            // QR set, opcode and RD kept; RA set, RCODE 2 (SERVFAIL); one question, no records.
            reply[2] = 0x80 | (buf[2] & 0x79);
            reply[3] = 0x82;
            reply[4..12].copy_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
            let _ = socket.send_to(&reply, from);
        }
    })
}
