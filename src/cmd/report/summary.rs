//! The figures of a report, worked out from the joined sends and events: per campaign, per
//! reason, per recipient domain, and the sender-side alerts.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::data::{Data, NO_CAMPAIGN};
use crate::record::Kind;

/// One campaign's figures. Counts of kinds are of sent messages with at least one report of
/// that kind (a message reported twice counts once).
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct Campaign {
    pub campaign: String,
    pub sent: u64,
    /// Refused by the server at send time (5xx): never sent.
    pub rejected: u64,
    pub deferred: u64,
    pub skipped: u64,
    /// Committed, but no reply came before the connection broke: it may have been taken.
    pub unknown_outcome: u64,
    pub delivered: u64,
    pub read: u64,
    pub hard: u64,
    pub soft: u64,
    pub block: u64,
    pub delay: u64,
    pub autoreply: u64,
    pub unsubscribe: u64,
    pub complaint: u64,
    /// Sent with no report of any kind.
    pub no_feedback: u64,
    /// (hard + soft) / sent.
    pub bounce_rate: Option<f64>,
    /// (sent − hard − soft) / sent.
    pub deliverability: Option<f64>,
}

impl Campaign {
    fn count_mut(&mut self, kind: Kind) -> Option<&mut u64> {
        Some(match kind {
            Kind::Delivered => &mut self.delivered,
            Kind::Read => &mut self.read,
            Kind::Hard => &mut self.hard,
            Kind::Soft => &mut self.soft,
            Kind::Block => &mut self.block,
            Kind::Delay => &mut self.delay,
            Kind::Autoreply => &mut self.autoreply,
            Kind::Unsubscribe => &mut self.unsubscribe,
            Kind::Complaint => &mut self.complaint,
            Kind::NotBounce | Kind::Unknown => return None,
        })
    }

    fn finish(&mut self) {
        if self.sent > 0 {
            let bounced = (self.hard + self.soft) as f64;
            self.bounce_rate = Some(bounced / self.sent as f64);
            self.deliverability = Some((self.sent as f64 - bounced) / self.sent as f64);
        }
    }
}

/// A count under a name (a reason, a blocklist, a domain).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Count {
    pub name: String,
    pub count: u64,
}

/// One recipient domain's figures.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct Domain {
    pub domain: String,
    pub sent: u64,
    pub delivered: u64,
    pub hard: u64,
    pub soft: u64,
    pub block: u64,
    pub complaint: u64,
}

/// A group of sender-side refusals, with one of their lines as an example.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Alert {
    pub name: String,
    pub count: u64,
    pub example: String,
}

/// Everything a report shows.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub campaigns: Vec<Campaign>,
    /// Why messages failed (hard, soft and block reports and send-time refusals).
    pub reasons: Vec<Count>,
    pub domains: Vec<Domain>,
    /// Refusals that are the sender's problem, by receiving domain.
    pub blocks_by_domain: Vec<Alert>,
    /// ... and by the blocklist or provider their words name.
    pub blocks_by_list: Vec<Alert>,
    /// Events that matched no send in the logs read.
    pub unmatched_events: u64,
    /// Addresses per state in the store (with `--db`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<Vec<Count>>,
}

/// Blocklists and providers as their refusals name them: lower-case words or domain names
/// found in the diagnostic or the remote server's name, on label boundaries (see `names`).
/// The first that matches names the group.
const BLOCKLISTS: &[(&str, &[&str])] = &[
    ("Spamhaus", &["spamhaus"]),
    (
        "Barracuda",
        &["barracuda", "barracudacentral", "barracudanetworks"],
    ),
    ("SpamCop", &["spamcop"]),
    ("SORBS", &["sorbs"]),
    ("UCEPROTECT", &["uceprotect"]),
    ("SURBL", &["surbl"]),
    ("URIBL", &["uribl"]),
    ("Cloudmark", &["cloudmark", "cmae"]),
    ("Proofpoint", &["proofpoint", "pphosted"]),
    ("Mimecast", &["mimecast"]),
    (
        "Microsoft",
        &[
            "outlook.com",
            "hotmail",
            "live.com",
            "microsoft",
            "messagelabs",
        ],
    ),
    ("Gmail", &["gmail", "google.com", "gsmtp"]),
    ("Yahoo", &["yahoo", "yahoodns"]),
    ("AOL", &["aol.com"]),
    ("Apple", &["icloud", "me.com"]),
    ("GMX / Web.de", &["gmx", "web.de"]),
    ("Orange", &["orange.fr", "wanadoo"]),
    ("Mail.ru", &["mail.ru"]),
    ("Seznam", &["seznam"]),
    ("Comcast", &["comcast"]),
];

/// The blocklist or provider a refusal names, if any.
pub fn named_list(text: &str) -> Option<&'static str> {
    let lower = text.to_ascii_lowercase();
    BLOCKLISTS
        .iter()
        .find(|(_, needles)| needles.iter().any(|n| names(&lower, n)))
        .map(|(name, _)| *name)
}

/// Whether `text` holds `name` as a word or a whole domain name, not inside a longer one: a
/// bare substring made `mx.acme.com` Apple (me.com) and `olive.com` Microsoft (live.com).
/// Before it: the start, or anything but a letter, digit, `-` or `_` (which a host name label
/// may hold); typically `.`, `@`, a space, `/`, `(` or `[`. After it: the end, or anything
/// but a letter or digit (`gmail-smtp-in.l.google.com` names Gmail).
fn names(text: &str, name: &str) -> bool {
    let inside_label = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(inside_label) && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

/// Works out the report; `top` limits the reason, domain and alert lists.
pub fn summarize(data: &Data, top: usize) -> Report {
    let mut campaigns: BTreeMap<String, Campaign> = BTreeMap::new();
    let mut domains: HashMap<String, Domain> = HashMap::new();
    for send in &data.sends {
        let c = campaigns
            .entry(send.campaign.clone())
            .or_insert_with(|| Campaign {
                campaign: send.campaign.clone(),
                ..Campaign::default()
            });
        let d = domain_entry(&mut domains, &send.recipient);
        match send.status.as_str() {
            "sent" => {
                c.sent += 1;
                d.sent += 1;
            }
            "failed" => c.rejected += 1,
            "deferred" => c.deferred += 1,
            "unknown" => c.unknown_outcome += 1,
            _ => c.skipped += 1,
        }
    }

    // Which kinds each sent message got (each counted once per message).
    let mut seen: HashSet<(usize, Kind)> = HashSet::new();
    let mut any_report: HashSet<usize> = HashSet::new();
    let mut reasons: HashMap<String, u64> = HashMap::new();
    let mut by_domain: BTreeMap<String, Alert> = BTreeMap::new();
    let mut by_list: BTreeMap<String, Alert> = BTreeMap::new();
    let mut unmatched = 0;
    for (event, send) in &data.events {
        if event.kind.is_failure() {
            *reasons
                .entry(event.reason.clone().unwrap_or_else(|| "undefined".into()))
                .or_default() += 1;
        }
        if event.kind == Kind::Block {
            let example = event.diagnostic.clone().unwrap_or_default();
            let words = format!(
                "{} {}",
                example,
                event.remote_mta.as_deref().unwrap_or_default()
            );
            add_alert(&mut by_domain, domain_of(&event.recipient), &example);
            if let Some(list) = named_list(&words) {
                add_alert(&mut by_list, list, &example);
            }
        }
        let Some(i) = *send else {
            unmatched += 1;
            continue;
        };
        let s = &data.sends[i];
        if s.status != "sent" {
            continue;
        }
        any_report.insert(i);
        if !seen.insert((i, event.kind)) {
            continue;
        }
        let c = campaigns
            .get_mut(&s.campaign)
            .expect("every send has its campaign");
        if let Some(n) = c.count_mut(event.kind) {
            *n += 1;
        }
        let d = domain_entry(&mut domains, &s.recipient);
        match event.kind {
            Kind::Delivered => d.delivered += 1,
            Kind::Hard => d.hard += 1,
            Kind::Soft => d.soft += 1,
            Kind::Block => d.block += 1,
            Kind::Complaint => d.complaint += 1,
            _ => {}
        }
    }
    // Refusals at send time are failures too, and the sender-side ones are alerts.
    for send in data.sends.iter().filter(|s| s.status == "failed") {
        *reasons
            .entry(send.reason.clone().unwrap_or_else(|| "undefined".into()))
            .or_default() += 1;
        if send.kind == Some(Kind::Block) {
            let example = send.response.clone().unwrap_or_default();
            add_alert(&mut by_domain, domain_of(&send.recipient), &example);
            if let Some(list) = named_list(&example) {
                add_alert(&mut by_list, list, &example);
            }
        }
    }
    for (i, send) in data.sends.iter().enumerate() {
        if send.status == "sent" && !any_report.contains(&i) {
            campaigns
                .get_mut(&send.campaign)
                .expect("every send has its campaign")
                .no_feedback += 1;
        }
    }
    let mut campaigns: Vec<Campaign> = campaigns.into_values().collect();
    campaigns.iter_mut().for_each(Campaign::finish);
    // The campaign-less bucket last.
    campaigns.sort_by_key(|c| c.campaign == NO_CAMPAIGN);

    Report {
        campaigns,
        reasons: top_counts(reasons, top),
        domains: top_domains(domains, top),
        blocks_by_domain: top_alerts(by_domain, top),
        blocks_by_list: top_alerts(by_list, top),
        unmatched_events: unmatched,
        store: None,
    }
}

fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or(address, |(_, d)| d)
}

fn domain_entry<'a>(domains: &'a mut HashMap<String, Domain>, recipient: &str) -> &'a mut Domain {
    let domain = domain_of(recipient).to_ascii_lowercase();
    domains.entry(domain.clone()).or_insert_with(|| Domain {
        domain,
        ..Domain::default()
    })
}

fn add_alert(alerts: &mut BTreeMap<String, Alert>, name: &str, example: &str) {
    let alert = alerts.entry(name.to_string()).or_insert_with(|| Alert {
        name: name.to_string(),
        count: 0,
        example: example.to_string(),
    });
    alert.count += 1;
    if alert.example.is_empty() {
        alert.example = example.to_string();
    }
}

/// The `top` largest counts, largest first (ties by name).
fn top_counts(counts: HashMap<String, u64>, top: usize) -> Vec<Count> {
    let mut counts: Vec<Count> = counts
        .into_iter()
        .map(|(name, count)| Count { name, count })
        .collect();
    counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    counts.truncate(top);
    counts
}

/// The `top` domains by messages sent (then by problems), largest first.
fn top_domains(domains: HashMap<String, Domain>, top: usize) -> Vec<Domain> {
    let mut domains: Vec<Domain> = domains.into_values().collect();
    domains.sort_by(|a, b| {
        (b.sent, b.hard + b.soft + b.block)
            .cmp(&(a.sent, a.hard + a.soft + a.block))
            .then_with(|| a.domain.cmp(&b.domain))
    });
    domains.truncate(top);
    domains
}

fn top_alerts(alerts: BTreeMap<String, Alert>, top: usize) -> Vec<Alert> {
    let mut alerts: Vec<Alert> = alerts.into_values().collect();
    alerts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    alerts.truncate(top);
    alerts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocklists_are_named_from_the_servers_words() {
        assert_eq!(
            named_list(
                "550 5.7.1 Service unavailable; client [192.0.2.1] blocked using zen.spamhaus.org"
            ),
            Some("Spamhaus")
        );
        assert_eq!(
            named_list("554 5.7.1 rejected: listed at b.barracudacentral.org"),
            Some("Barracuda")
        );
        assert_eq!(
            named_list("550 5.7.1 ... https://www.spamcop.net/bl.shtml?192.0.2.1"),
            Some("SpamCop")
        );
        assert_eq!(
            named_list(
                "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred - mta1.am0.yahoodns.net"
            ),
            Some("Yahoo")
        );
        assert_eq!(named_list("550 5.7.1 policy rejection"), None);
    }

    #[test]
    fn microsoft_and_gmail_are_named_by_their_servers_and_links() {
        assert_eq!(
            named_list(
                "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact \
                 your Internet service provider since part of their network is on our block list \
                 (S3150). You can also refer your provider to \
                 http://mail.live.com/mail/troubleshooting.aspx#errors."
            ),
            Some("Microsoft")
        );
        assert_eq!(
            named_list(
                "550 5.7.606 Access denied, banned sending IP [192.0.2.1] \
                        example-com.mail.protection.outlook.com"
            ),
            Some("Microsoft")
        );
        assert_eq!(
            named_list(
                "550-5.7.1 [192.0.2.1] Our system has detected that this message is likely \
                 unsolicited mail. https://support.google.com/mail/?p=UnsolicitedMessageError \
                 a1si2345 - gsmtp"
            ),
            Some("Gmail")
        );
        assert_eq!(
            named_list("421 4.7.0 try again later gmail-smtp-in.l.google.com"),
            Some("Gmail")
        );
        assert_eq!(
            named_list("554 refused by (GMX.net) mx01"),
            Some("GMX / Web.de")
        );
        assert_eq!(
            named_list("554 rejected by mx00.web.de"),
            Some("GMX / Web.de")
        );
        assert_eq!(named_list("550 <x@me.com> refused"), Some("Apple"));
    }

    /// Regression: names were bare substrings, so a longer domain named a provider it is not.
    #[test]
    fn a_name_inside_a_longer_word_or_domain_names_nothing() {
        for text in [
            "550 5.7.1 rejected by policy at mx.acme.com",
            "554 5.7.1 blocked by mx1.olive.com",
            "550 5.7.1 refused by kaol.com",
            "550 5.7.1 refused by smtp.nuance-me.com",
            "550 5.7.1 refused by mail.my_web.de",
            "550 5.7.1 refused by me.community.example",
            "550 5.7.1 refused by antispamhaus-like.example",
            "550 5.7.1 refused by gmailer.example",
            "550 5.7.1 refused by mx.netgmx.example",
        ] {
            assert_eq!(named_list(text), None, "{text}");
        }
    }
}
