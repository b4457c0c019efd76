//! Whether a mail domain can receive mail, asked of DNS: the MX records, falling back to the
//! domain's own A/AAAA records when it has none (the implicit MX of RFC 5321 §5.1); a Null MX
//! (RFC 7505, `MX 0 .`) says the domain takes no mail at all; NXDOMAIN says there is no such
//! domain. An MX host counts only when it has an address that could be connected to.
//!
//! Built for lists: the caller hands domains over one by one as it meets them, and many are
//! looked up at once (a bounded number in flight) on a thread of this module's own, which
//! runs a current-thread tokio runtime for hickory-resolver; the rest of bouncekit stays
//! synchronous. Each domain is asked once per run, and MX hosts shared by many domains are
//! looked up once too.
//!
//! A failure to get an answer (a timeout, SERVFAIL, REFUSED, a network error) is never a
//! verdict on the domain: it comes back as `Mail::Unknown`, and nothing here may turn it into
//! a "no".

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::rr::{Name, RData, Record};
use tokio::sync::{OnceCell, Semaphore, mpsc};
use tokio::task::JoinSet;

/// How lookups are made.
#[derive(Debug, Clone)]
pub struct Config {
    /// Name servers to ask (a recursive resolver); none means the system's (/etc/resolv.conf).
    pub nameservers: Vec<SocketAddr>,
    /// How long one domain may take in all; each query gets half of it and is sent once more
    /// when the first half passes without an answer.
    pub timeout: Duration,
    /// Domains looked up at the same time.
    pub concurrency: usize,
}

/// What DNS says about a domain's mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mail {
    /// A mail host with a usable address: an MX host, or the domain itself (implicit MX).
    Accepts,
    /// NXDOMAIN: there is no such domain.
    NoDomain,
    /// RFC 7505: the domain says it accepts no mail.
    NullMx,
    /// The domain exists but names no host that could take its mail: no MX and no address
    /// of its own, or MX hosts none of which has a usable address.
    NoMailHost,
    /// No answer could be had; says nothing about the domain.
    Unknown(Failure),
}

/// Why a domain got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No reply within the deadline (after the retry).
    Timeout,
    /// Any other failure: SERVFAIL, REFUSED, a network error; the text says which.
    Error(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Timeout => f.write_str("no answer in time"),
            Failure::Error(why) => f.write_str(why),
        }
    }
}

/// Looks domains up on a thread of its own while the caller goes on reading: `ask` queues a
/// domain (the caller asks each once), `finish` waits for the answers.
pub struct Checker {
    sender: mpsc::UnboundedSender<String>,
    thread: std::thread::JoinHandle<Result<HashMap<String, Mail>>>,
    /// Domains answered so far, for a progress display.
    answered: Arc<AtomicUsize>,
}

impl Checker {
    /// Builds the resolver and starts the thread; an unusable configuration (no name server
    /// in /etc/resolv.conf, say) is an error here, before any input is read.
    pub fn start(config: Config) -> Result<Checker> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the DNS runtime")?;
        let resolver = {
            // hickory may spawn its background tasks while it is built.
            let _entered = runtime.enter();
            build_resolver(&config)?
        };
        let (sender, receiver) = mpsc::unbounded_channel();
        let answered = Arc::new(AtomicUsize::new(0));
        let counter = answered.clone();
        let thread = std::thread::Builder::new()
            .name("dns".into())
            .spawn(move || Ok(runtime.block_on(run(resolver, config, receiver, counter))))
            .context("cannot start the DNS thread")?;
        Ok(Checker {
            sender,
            thread,
            answered,
        })
    }

    /// Queues a domain (lower-case ASCII, IDNA-encoded, no trailing dot).
    pub fn ask(&self, domain: &str) {
        // The thread only stops early by panicking, which `finish` reports.
        let _ = self.sender.send(domain.to_string());
    }

    /// Waits for every queued domain's answer.
    pub fn finish(self) -> Result<HashMap<String, Mail>> {
        self.finish_with_progress(|_| {})
    }

    /// `finish`, calling `progress` with the number of domains answered now and then.
    pub fn finish_with_progress(
        self,
        mut progress: impl FnMut(usize),
    ) -> Result<HashMap<String, Mail>> {
        drop(self.sender);
        while !self.thread.is_finished() {
            progress(self.answered.load(Ordering::Relaxed));
            std::thread::sleep(Duration::from_millis(100));
        }
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the DNS thread panicked"))?
    }
}

fn build_resolver(config: &Config) -> Result<TokioResolver> {
    let mut builder = if config.nameservers.is_empty() {
        TokioResolver::builder_tokio()
            .context("cannot read the system's DNS configuration (name one with --nameserver)")?
    } else {
        let servers = config
            .nameservers
            .iter()
            .map(|addr| {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
            })
            .collect();
        TokioResolver::builder_with_config(
            ResolverConfig::from_parts(None, vec![], servers),
            TokioRuntimeProvider::default(),
        )
    };
    let options = builder.options_mut();
    // Half the domain's time for a query, then once more: a lost datagram costs one retry,
    // a server that never answers costs the whole deadline and no more.
    options.timeout = config.timeout / 2;
    options.attempts = 1;
    options.use_hosts_file = ResolveHosts::Never;
    options.ndots = 0;
    // Every lookup of a run is different (the run keeps its own answers); a large cache
    // would only hold memory.
    options.cache_size = 1024;
    // A query waits for a slot instead of failing as "busy" when many are in flight.
    options.max_active_requests = config.concurrency.max(32);
    builder.build().context("cannot set up the DNS resolver")
}

/// What one host name's addresses say.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    /// At least one address that can be connected to.
    Usable,
    /// No address, or only ones no mail can go to (see `usable`).
    Unusable,
    Failed(Failure),
}

/// The addresses of MX hosts, shared by every domain of the run (many domains use the same
/// few providers' hosts): each is looked up once, by whichever domain needs it first.
type HostCache = Arc<Mutex<HashMap<Name, Arc<OnceCell<Host>>>>>;

async fn run(
    resolver: TokioResolver,
    config: Config,
    mut receiver: mpsc::UnboundedReceiver<String>,
    answered: Arc<AtomicUsize>,
) -> HashMap<String, Mail> {
    let resolver = Arc::new(resolver);
    let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let hosts: HostCache = Arc::default();
    let mut tasks = JoinSet::new();
    let mut answers = HashMap::new();
    loop {
        tokio::select! {
            domain = receiver.recv() => {
                let Some(domain) = domain else { break };
                let (resolver, slots, hosts) = (resolver.clone(), slots.clone(), hosts.clone());
                tasks.spawn(async move {
                    // The semaphore is never closed, so a permit always comes.
                    let _slot = slots.acquire_owned().await;
                    let deadline = Instant::now() + config.timeout;
                    let mail = tokio::time::timeout_at(
                        deadline.into(),
                        mail_of(&resolver, &hosts, &domain),
                    )
                    .await
                    .unwrap_or(Mail::Unknown(Failure::Timeout));
                    (domain, mail)
                });
            }
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if let Ok((domain, mail)) = done {
                    answers.insert(domain, mail);
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        if let Ok((domain, mail)) = done {
            answers.insert(domain, mail);
            answered.fetch_add(1, Ordering::Relaxed);
        }
    }
    answers
}

/// The verdict for one domain.
async fn mail_of(resolver: &TokioResolver, hosts: &HostCache, domain: &str) -> Mail {
    let Ok(name) = Name::from_ascii(format!("{domain}.")) else {
        return Mail::Unknown(Failure::Error(format!("{domain:?} is not a DNS name")));
    };
    let lookup = match resolver.mx_lookup(name.clone()).await {
        Ok(lookup) => lookup,
        Err(e) if e.is_nx_domain() => return Mail::NoDomain,
        // NOERROR without MX records: the domain's own addresses are its implicit MX.
        Err(e) if e.is_no_records_found() => {
            return match host(resolver, hosts, name).await {
                Host::Usable => Mail::Accepts,
                Host::Unusable => Mail::NoMailHost,
                Host::Failed(why) => Mail::Unknown(why),
            };
        }
        Err(e) => return Mail::Unknown(failure(&e)),
    };
    let mut exchanges: Vec<(u16, &Name)> = mx_records(lookup.answers()).collect();
    if exchanges.is_empty() {
        // An answer of CNAMEs alone: the name exists, with no MX at its end.
        return match host(resolver, hosts, name).await {
            Host::Usable => Mail::Accepts,
            Host::Unusable => Mail::NoMailHost,
            Host::Failed(why) => Mail::Unknown(why),
        };
    }
    // RFC 7505 §3: a Null MX is the domain's only MX. Should other records stand beside it
    // (a misconfiguration), those are what a sender would try, so they decide.
    exchanges.retain(|(_, host)| !host.is_root());
    if exchanges.is_empty() {
        return Mail::NullMx;
    }
    exchanges.sort_by_key(|(preference, _)| *preference);
    exchanges.dedup_by(|a, b| a.1 == b.1);
    // Addresses the server sent along (the additional section) spare a query per host.
    if exchanges.iter().any(|(_, host)| {
        addresses(lookup.additionals()).any(|(name, ip)| name == *host && usable(ip))
    }) {
        return Mail::Accepts;
    }
    let mut failed = None;
    for (_, exchange) in exchanges {
        match host(resolver, hosts, exchange.clone()).await {
            Host::Usable => return Mail::Accepts,
            Host::Unusable => {}
            Host::Failed(why) => failed = failed.or(Some(why)),
        }
    }
    match failed {
        Some(why) => Mail::Unknown(why),
        None => Mail::NoMailHost,
    }
}

fn mx_records(records: &[Record]) -> impl Iterator<Item = (u16, &Name)> {
    records.iter().filter_map(|r| match &r.data {
        RData::MX(mx) => Some((mx.preference, &mx.exchange)),
        _ => None,
    })
}

fn addresses(records: &[Record]) -> impl Iterator<Item = (&Name, IpAddr)> {
    records.iter().filter_map(|r| match &r.data {
        RData::A(a) => Some((&r.name, IpAddr::V4(a.0))),
        RData::AAAA(aaaa) => Some((&r.name, IpAddr::V6(aaaa.0))),
        _ => None,
    })
}

/// A host's addresses, from the run's cache or asked now (A and AAAA at once).
async fn host(resolver: &TokioResolver, hosts: &HostCache, name: Name) -> Host {
    let cell = {
        let mut map = hosts.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(name.clone()).or_default().clone()
    };
    cell.get_or_init(|| async {
        let (v4, v6) = tokio::join!(
            resolver.ipv4_lookup(name.clone()),
            resolver.ipv6_lookup(name.clone())
        );
        let mut failed = None;
        for answer in [v4, v6] {
            match answer {
                Ok(lookup) => {
                    if addresses(lookup.answers()).any(|(_, ip)| usable(ip)) {
                        return Host::Usable;
                    }
                }
                Err(e) if e.is_no_records_found() => {}
                Err(e) => failed = Some(failure(&e)),
            }
        }
        failed.map_or(Host::Unusable, Host::Failed)
    })
    .await
    .clone()
}

/// False for addresses no mail can be delivered to from outside: unspecified, loopback,
/// broadcast, multicast. Parked and abandoned domains point their MX at these.
fn usable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.octets()[0] == 0)
        }
        IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_loopback() || v6.is_multicast()),
    }
}

fn failure(error: &NetError) -> Failure {
    match error {
        NetError::Timeout => Failure::Timeout,
        NetError::Dns(DnsError::ResponseCode(code)) => {
            Failure::Error(format!("the name server answered {code}"))
        }
        NetError::Io(e) => Failure::Error(format!("network error: {e}")),
        NetError::NoConnections => Failure::Error("no name server could be reached".into()),
        other => Failure::Error(other.to_string()),
    }
}

/// Parses `IP`, `IP:PORT`, `[IPv6]:PORT` (port 53 when none is given).
pub fn parse_nameserver(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let bare = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    bare.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("not a name server address: {text:?} (use IP or IP:PORT)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameservers_parse_with_and_without_port() {
        assert_eq!(
            parse_nameserver("127.0.0.1:5353"),
            Ok("127.0.0.1:5353".parse().unwrap())
        );
        assert_eq!(
            parse_nameserver("192.0.2.53"),
            Ok("192.0.2.53:53".parse().unwrap())
        );
        assert_eq!(
            parse_nameserver("[::1]:53"),
            Ok("[::1]:53".parse().unwrap())
        );
        assert_eq!(parse_nameserver("::1"), Ok("[::1]:53".parse().unwrap()));
        assert_eq!(
            parse_nameserver("[2001:db8::1]"),
            Ok("[2001:db8::1]:53".parse().unwrap())
        );
        assert!(parse_nameserver("dns.example").is_err());
        assert!(parse_nameserver("127.0.0.1:99999").is_err());
    }

    #[test]
    fn addresses_no_mail_can_reach_are_unusable() {
        for bad in [
            "0.0.0.0",
            "127.0.0.1",
            "127.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "0.1.2.3",
            "::",
            "::1",
            "ff02::1",
        ] {
            assert!(!usable(bad.parse().unwrap()), "{bad}");
        }
        for good in ["192.0.2.10", "203.0.113.7", "10.1.2.3", "2001:db8::25"] {
            assert!(usable(good.parse().unwrap()), "{good}");
        }
    }
}
