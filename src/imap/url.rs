//! The mailbox URL of `fetch-bounces --imap`: `imaps://USER@HOST[:PORT]/MAILBOX` (TLS from
//! the first byte) or `imap://...` (STARTTLS), in the style of RFC 5092, and the RFC 5092
//! URL of one message that becomes a message record's `source`.
//!
//! A password in the URL is refused: it would sit in the shell history and in `ps` output.

use std::fmt;
use std::str::FromStr;

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

/// How the connection is protected, as the URL's scheme says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `imap://`: a plain connection upgraded with STARTTLS.
    Imap,
    /// `imaps://`: TLS from the start (RFC 8314).
    Imaps,
}

impl Scheme {
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Imap => 143,
            Scheme::Imaps => 993,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Imap => "imap",
            Scheme::Imaps => "imaps",
        }
    }
}

/// A parsed `--imap` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapUrl {
    pub scheme: Scheme,
    /// The user, percent-decoded (`bounces%40example.com` is `bounces@example.com`).
    pub user: Option<String>,
    /// The host name or address, without the brackets of an IPv6 literal.
    pub host: String,
    pub port: u16,
    /// The mailbox, percent-decoded; `INBOX` when the URL names none.
    pub mailbox: String,
}

/// What RFC 5092 leaves unencoded in a user name: unreserved characters and sub-delims
/// other than `;` (which starts `;AUTH=`), and `:` is encoded too.
const USER_SET: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b':')
    .add(b';')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A mailbox name keeps its hierarchy `/` but not `;`, which starts `;UIDVALIDITY=`.
const MAILBOX_SET: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b';')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

impl FromStr for ImapUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("not an IMAP URL: {text:?} (use imaps://USER@HOST/MAILBOX)"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "imap" => Scheme::Imap,
            "imaps" => Scheme::Imaps,
            other => {
                return Err(format!(
                    "unknown scheme {other:?} in {text:?}: use imaps:// (TLS) or imap:// (STARTTLS)"
                ));
            }
        };
        if rest.contains(['?', '#']) {
            return Err(format!(
                "unexpected query or fragment in {text:?}: give the mailbox as the path (percent-encode ? and #)"
            ));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        let user = match userinfo {
            Some(info) => {
                // RFC 5092 allows `;AUTH=<mechanism>` after the user: the client picks the
                // mechanism itself, so it is ignored.
                let info = match info.find(';') {
                    Some(i) => &info[..i],
                    None => info,
                };
                if info.contains(':') {
                    return Err(
                        "a password in the URL would show in the shell history and in ps: remove it and use --password-env or --password-file"
                            .to_string(),
                    );
                }
                let user = decode(info, "user")?;
                (!user.is_empty()).then_some(user)
            }
            None => None,
        };
        let (host, port) = split_host_port(hostport, text)?;
        let port = port.unwrap_or(scheme.default_port());
        let mailbox = decode(path.trim_end_matches('/'), "mailbox")?;
        let mailbox = if mailbox.is_empty() {
            "INBOX".to_string()
        } else {
            mailbox
        };
        if mailbox.contains(['\r', '\n', '\0']) {
            return Err("a mailbox name cannot hold line breaks or NUL".to_string());
        }
        Ok(ImapUrl {
            scheme,
            user,
            host,
            port,
            mailbox,
        })
    }
}

fn split_host_port(hostport: &str, text: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let end = rest
            .find(']')
            .ok_or_else(|| format!("unclosed [ in the host of {text:?}"))?;
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(format!("unexpected {after:?} after the host of {text:?}")),
        };
        (rest[..end].to_string(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hostport.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(format!("no host in {text:?}"));
    }
    let port = match port {
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| format!("not a port: {p:?} in {text:?}"))?,
        ),
        None => None,
    };
    Ok((host.to_ascii_lowercase(), port))
}

fn decode(text: &str, what: &str) -> Result<String, String> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| format!("the {what} in the URL is not UTF-8 once percent-decoded"))
}

impl ImapUrl {
    /// `host:port` (IPv6 in brackets): the server, as the remembered positions name it. The
    /// port is part of it: two servers on one host are two servers.
    pub fn server(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The URL of the mailbox for `user`, without any password, as messages show it.
    pub fn mailbox_url(&self, user: &str) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let port = if self.port == self.scheme.default_port() {
            String::new()
        } else {
            format!(":{}", self.port)
        };
        format!(
            "{}://{}@{host}{port}/{}",
            self.scheme.as_str(),
            utf8_percent_encode(user, USER_SET),
            utf8_percent_encode(&self.mailbox, MAILBOX_SET)
        )
    }

    /// The RFC 5092 URL of one message: `imaps://user@host/INBOX;UIDVALIDITY=7;UID=42`.
    pub fn message_url(&self, user: &str, uidvalidity: u32, uid: u32) -> String {
        format!(
            "{};UIDVALIDITY={uidvalidity};UID={uid}",
            self.mailbox_url(user)
        )
    }
}

impl fmt::Display for ImapUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.user {
            Some(user) => f.write_str(&self.mailbox_url(user)),
            None => {
                let url = self.mailbox_url("");
                f.write_str(&url.replacen("://@", "://", 1))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> ImapUrl {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn a_full_url_and_its_defaults() {
        let u = url("imaps://bounces@Mail.Example.com/INBOX");
        assert_eq!(
            u,
            ImapUrl {
                scheme: Scheme::Imaps,
                user: Some("bounces".into()),
                host: "mail.example.com".into(),
                port: 993,
                mailbox: "INBOX".into(),
            }
        );
        let u = url("imap://mail.example.com");
        assert_eq!((u.port, u.user, u.mailbox.as_str()), (143, None, "INBOX"));
        assert_eq!(url("IMAP://h:1143/").port, 1143);
    }

    #[test]
    fn users_and_mailboxes_are_percent_decoded() {
        let u = url("imaps://bounces%40example.com;AUTH=*@[::1]:10993/Returned%20mail/2026");
        assert_eq!(u.user.as_deref(), Some("bounces@example.com"));
        assert_eq!((u.host.as_str(), u.port), ("::1", 10993));
        assert_eq!(u.mailbox, "Returned mail/2026");
        assert_eq!(u.server(), "[::1]:10993");
        assert_eq!(
            u.message_url("bounces@example.com", 7, 42),
            "imaps://bounces%40example.com@[::1]:10993/Returned%20mail/2026;UIDVALIDITY=7;UID=42"
        );
    }

    #[test]
    fn the_source_of_a_message_leaves_out_the_default_port() {
        let u = url("imaps://bounces@mail.example.com:993/INBOX");
        assert_eq!(
            u.message_url("bounces", 1_700_000_000, 9),
            "imaps://bounces@mail.example.com/INBOX;UIDVALIDITY=1700000000;UID=9"
        );
        assert_eq!(u.server(), "mail.example.com:993");
    }

    #[test]
    fn bad_urls_say_why() {
        let err = |t: &str| t.parse::<ImapUrl>().unwrap_err();
        assert!(err("https://x/INBOX").contains("unknown scheme"));
        assert!(err("mail.example.com").contains("not an IMAP URL"));
        assert!(err("imaps://u:secret@h/INBOX").contains("password"));
        assert!(err("imaps://u@h:99999/INBOX").contains("not a port"));
        assert!(err("imaps://u@/INBOX").contains("no host"));
        assert!(err("imaps://u@h/INBOX?x").contains("query"));
        assert!(err("imaps://u@h/a%0Ab").contains("line breaks"));
    }
}
