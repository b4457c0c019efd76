//! Automatic replies (RFC 3834 and vendor markers) and human replies asking to be removed.
//!
//! These run only after the message was found not to be a delivery report: a bounce often
//! carries `Auto-Submitted` too, and must never be mistaken for a vacation notice. The person
//! the event is about is the author of the reply (its From), not the system that sent it.

use std::sync::LazyLock;

use regex::Regex;

use crate::classify::address;
use crate::classify::mime::Message;
use crate::record::{Event, Kind, Reason};

/// Header markers of automatic replies: (header name, value test). A `None` value means the
/// header's presence is enough.
const AUTOREPLY_HEADERS: &[(&str, Option<&[&str]>)] = &[
    ("Auto-Submitted", Some(&["auto-replied", "auto-notified"])),
    ("X-Autoreply", None),
    ("X-Autorespond", None),
    ("X-Autoresponder", None),
    ("X-Auto-Reply", None),
    ("X-Vacation", None),
    ("Precedence", Some(&["auto_reply", "auto-reply"])),
    ("X-Precedence", Some(&["auto_reply", "auto-reply"])),
    ("X-Mailer", Some(&["vacation", "autoresponder"])),
];

/// How an out-of-office wording at the start of a subject has to end to count: a word that
/// only begins a longer one ("Urlaubsfotos") or a sentence about something else ("Absence of
/// invoice") is not a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ends {
    /// A phrase that says "away" by itself: it must end at a word boundary (or before kana,
    /// which follow Japanese words without a space).
    Phrase,
    /// A bare word ("Absent", "Urlaub", "Ferie") that is a notice only as the subject's label:
    /// followed by a colon or a dash, in brackets, or the whole subject.
    Label,
}

use Ends::{Label, Phrase};

/// Out-of-office subjects, in the languages of our users and the big mailers. Matched at the
/// start of the subject (optionally after "Re:"/"AW:" and a list tag), case-insensitively; any
/// of them may also stand in brackets ("[Auto-Reply]", "【自動返信】").
const AUTOREPLY_SUBJECTS: &[(&str, Ends)] = &[
    // English
    (
        r"auto(?:matic|mated)?[ -]?(?:reply|response|responder|answer)",
        Phrase,
    ),
    (r"autoreply", Phrase),
    (r"auto:", Phrase), // Lotus Notes: "AUTO: Jan is out of the office"
    (r"out of (?:the )?office", Phrase),
    (r"away from (?:the |my )?(?:office|desk)", Phrase),
    (r"on (?:vacation|holiday|leave)", Phrase),
    (r"vacation (?:reply|notice|message)", Phrase),
    (r"away until", Phrase),
    (
        r"i(?: am|'m) (?:currently )?(?:away|out of (?:the )?office|on (?:vacation|holiday|leave))",
        Phrase,
    ),
    // Polish
    (r"odpowied[zź] automatyczna", Phrase),
    (r"automatyczna odpowied[zź]", Phrase),
    (r"poza biurem", Phrase),
    (r"jestem na urlopie", Phrase),
    (r"(?:urlop|nieobecno[sś][cć]) (?:do|od)", Phrase),
    (r"nieobecno[sś][cć]", Label),
    (r"urlop", Label),
    // Czech
    (r"automatick[aá] odpov[eě][dď]", Phrase),
    (r"mimo kancel[aá][rř]", Phrase),
    (r"jsem na dovolen[eé]", Phrase),
    (r"nep[rř][ií]tomnost", Label),
    (r"dovolen[aá]", Label),
    // Norwegian (and Danish/Swedish, which share the words)
    (r"automatisk svar", Phrase),
    (r"autosvar", Phrase),
    (r"ikke p[aå] kontoret", Phrase),
    (r"frav[aæ]rende", Label),
    (r"frav[aæ]r", Label),
    (r"ferie", Label),
    // German
    (r"automatische antwort", Phrase),
    (r"abwesenheitsnotiz", Phrase),
    (r"abwesenheitsmeldung", Phrase),
    (r"nicht im b[uü]ro", Phrase),
    (r"abwesenheit", Label),
    (r"abwesend", Label),
    (r"urlaub", Label),
    // French
    (r"r[ée]ponse automatique", Phrase),
    (r"absente? du bureau", Phrase),
    (r"absence du bureau", Phrase),
    (r"message d'absence", Phrase),
    (r"en cong[ée]s?", Phrase),
    (r"absente?", Label),
    (r"absence", Label),
    // Spanish
    (r"respuesta autom[aá]tica", Phrase),
    (r"fuera de (?:la )?oficina", Phrase),
    (r"estoy de vacaciones", Phrase),
    (r"de vacaciones", Phrase),
    (r"ausente", Label),
    (r"ausencia", Label),
    // Japanese
    (r"自動応答", Phrase),
    (r"自動返信", Phrase),
    (r"不在通知", Phrase),
    (r"不在", Phrase),
    (r"休暇", Phrase),
];

/// What may come before an out-of-office wording: reply and forward prefixes, and a list tag.
const SUBJECT_PREFIX: &str =
    r"(?i)^\s*(?:(?:re|aw|sv|vs|odp|fw|fwd|wg|tr)\s*:\s*)*(?:\[[^\]]*\]\s*)?";

/// The out-of-office subjects as one pattern: a wording of the table in brackets, or ended as
/// its row says. One regex, not a set of one per row, so that the Unicode classes of the
/// endings are compiled once: as a set of ~70 patterns it took 175 million instructions to
/// build, a third of classifying a thousand messages.
fn subject_pattern() -> String {
    let of = |ends: Option<Ends>| {
        AUTOREPLY_SUBJECTS
            .iter()
            .filter(|(_, e)| ends.is_none_or(|want| *e == want))
            .map(|(wording, _)| format!("(?:{wording})"))
            .collect::<Vec<_>>()
            .join("|")
    };
    let (all, phrases, labels) = (of(None), of(Some(Phrase)), of(Some(Label)));
    format!(
        r"{SUBJECT_PREFIX}(?:[\[【(]\s*(?:{all})\s*[\]】)]|(?:{phrases})(?:$|[^\p{{L}}\p{{N}}]|\p{{Hiragana}})|(?:{labels})(?:\s*(?:$|[:：|(])|\s+[-–—]\s))"
    )
}

static SUBJECT_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&subject_pattern()).expect("autoreply subject patterns"));

/// What a person's out-of-office reply says in its first lines when its headers and subject
/// do not mark it: read only in a reply (see `is_reply`) with no delivery report in it.
const AUTOREPLY_BODY_PHRASES: &[&str] = &[
    // English
    r"\bi(?: am|'m|’m) (?:currently |now )?(?:on (?:vacation|holiday|leave)|out of (?:the )?office|away from (?:the |my )?(?:office|desk))\b",
    r"\bi will be out of (?:the )?office\b",
    // Polish
    r"\b(?:jestem|przebywam) (?:obecnie |teraz )?(?:na urlopie|poza biurem)\b",
    // Czech
    r"\bjsem (?:nyní |momentálně )?(?:na dovolen[eé]|mimo kancel[aá][rř])\b",
    // Norwegian
    r"\bjeg er (?:for tiden |nå )?(?:p[aå] ferie|ikke p[aå] kontoret|borte fra kontoret)\b",
    // German
    r"\bich bin (?:derzeit |zurzeit |momentan |bis [^.\n]{1,30} )?(?:im urlaub|nicht im b[uü]ro|abwesend|au[sß]er haus)\b",
    // French
    r"\bje suis (?:actuellement )?(?:en cong[ée]s?|en vacances|absente?|hors du bureau)\b",
    // Spanish
    r"\bestoy (?:actualmente )?(?:de vacaciones|fuera de (?:la )?oficina|ausente)\b",
    // Japanese
    r"不在にしております",
    r"休暇を(?:いただいて|頂いて|取って)",
];

static BODY_RE: LazyLock<Regex> =
    LazyLock::new(|| super::any_of_ignoring_case(AUTOREPLY_BODY_PHRASES));

/// Subject prefixes of a reply, in the languages of the big mail clients.
static REPLY_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:re|aw|sv|vs|odp|antw|r|rif|ré|res|回复|返信)\s*[:：]")
        .expect("reply subject pattern")
});

/// Words of a reply that asks to be taken off the list, in our users' languages. Matched in
/// the subject or the first lines of the body (see `opening`).
const UNSUBSCRIBE_PHRASES: &[&str] = &[
    // English
    r"\bunsubscribe\b",
    r"\bremove me\b",
    r"\btake me off\b",
    r"\bstop (?:sending|emailing|mailing)\b",
    r"\bopt[ -]?out\b",
    // Polish
    r"\bwypisz(?:cie)?\b",
    r"\bwypisanie\b",
    r"\bwypisa[cć]\b",
    r"\busu[nń](?:cie)? (?:mnie|m[oó]j)\b",
    r"\bo usuni[eę]cie (?:mnie|mojego|mojej|moich|adresu|danych|z (?:listy|bazy))\b",
    r"\brezygnuj[eę]\b",
    // Czech
    r"\bodhl[aá]sit\b",
    r"\bodhl[aá][sš]en[ií]\b",
    r"\bodhlaste\b",
    // Norwegian
    r"\bavmeld(?:e|ing)?\b",
    r"\bmeld meg av\b",
    // German
    r"\babmelden\b",
    r"\bmelden sie mich (?:[\p{L}-]+ ){0,4}ab\b",
    r"\babbestellen\b",
    // French
    r"\bd[ée]sabonne(?:r|z|ment)\b",
    r"\bd[ée]sinscri(?:re|ption|vez)\b",
    // Spanish
    r"\bdarme de baja\b",
    r"\bdar de baja\b",
    // Japanese
    r"配信停止",
    r"配信を停止",
];

/// One alternation of every phrase: a match's position is needed to read what precedes it.
static UNSUBSCRIBE_RE: LazyLock<Regex> =
    LazyLock::new(|| super::any_of_ignoring_case(UNSUBSCRIBE_PHRASES));

/// Words that turn a request round ("Do not unsubscribe me", "bitte nicht abmelden", "no me
/// den de baja") when they come earlier in the same clause.
const NEGATIONS: &[&str] = &[
    "not", "don't", "dont", "don’t", "never", "nie", "ne", "ikke", "nicht", "no", "pas", "nunca",
];

/// Headers of bulk and list mail (RFC 2369, RFC 2919, the Precedence convention): a newsletter
/// that mentions unsubscribing is not a person asking to be removed.
const BULK_HEADERS: &[(&str, Option<&[&str]>)] = &[
    ("List-Id", None),
    ("List-Unsubscribe", None),
    ("List-Post", None),
    ("Precedence", Some(&["bulk", "list", "junk"])),
    ("X-Precedence", Some(&["bulk", "list", "junk"])),
];

/// Lines where a reply's own words end and the quoted original, a forwarded copy or a signature
/// begins (their footers say "unsubscribe" too).
const REPLY_SEPARATORS: &[&str] = &[
    r"^-{2,}\s*(?:original message|ursprüngliche nachricht|wiadomo[sś][cć] oryginalna|p[uů]vodn[ií] zpr[aá]va|opprinnelig melding|message d'origine|mensaje original|forwarded message)",
    r"^-- ?$",
    r"^_{8,}\s*$",
    r"^(?:on|am|le|el|w dniu|dne|den)\s.*\b(?:wrote|schrieb|a [ée]crit|escribi[oó]|napisa[lł]|napsal|skrev)\s*:?\s*$",
    r"^(?:from|von|od|fra|de|van|差出人)\s*:\s",
];

static SEPARATOR_RE: LazyLock<Regex> =
    LazyLock::new(|| super::any_of_ignoring_case(REPLY_SEPARATORS));

/// True when any header of `table` is present with one of its values.
fn header_marked(msg: &Message, table: &[(&str, Option<&[&str]>)]) -> bool {
    table.iter().any(|(name, values)| {
        msg.headers.get_all(name).any(|v| match values {
            None => !v.eq_ignore_ascii_case("no"),
            Some(values) => {
                let v = v.to_ascii_lowercase();
                values.iter().any(|want| v.contains(want))
            }
        })
    })
}

/// True when the headers or subject mark the message as an automatic reply.
pub fn is_autoreply(msg: &Message) -> bool {
    header_marked(msg, AUTOREPLY_HEADERS)
        || msg
            .headers
            .get("Subject")
            .is_some_and(|s| SUBJECT_RE.is_match(s))
}

/// The autoreply event of a message whose headers or subject mark it, about the person who is
/// away (never one of our own addresses: `is_own`).
pub fn read_autoreply(msg: &Message, is_own: &dyn Fn(&str) -> bool) -> Option<Event> {
    is_autoreply(msg).then(|| autoreply_event(msg, is_own))
}

/// The autoreply event of a person's reply that says in its first lines that they are away,
/// though nothing marks it as automatic. Only a reply counts: an ordinary message saying "I am
/// on holiday" is news, not an answer to our mail. The caller makes sure it is no bounce.
pub fn read_body_autoreply(msg: &Message, is_own: &dyn Fn(&str) -> bool) -> Option<Event> {
    (is_reply(msg) && BODY_RE.is_match(&opening(msg, 5))).then(|| autoreply_event(msg, is_own))
}

fn autoreply_event(msg: &Message, is_own: &dyn Fn(&str) -> bool) -> Event {
    Event {
        recipient: author(msg, is_own),
        kind: Some(Kind::Autoreply),
        reason: Some(Reason::Autoreply),
        diagnostic: msg.headers.get("Subject").map(str::to_string),
        format: Some("rfc3834".into()),
        ..Event::default()
    }
}

/// A reply names what it answers (In-Reply-To, References) or says so in its subject.
fn is_reply(msg: &Message) -> bool {
    msg.headers.get("In-Reply-To").is_some()
        || msg.headers.get("References").is_some()
        || msg
            .headers
            .get("Subject")
            .is_some_and(|s| REPLY_SUBJECT.is_match(s))
}

/// The unsubscribe event for a person's reply whose subject or opening lines ask to be
/// removed. Bulk and list mail never is one, nor a request turned round by a negation, nor
/// words found only in the quoted original or below a signature.
pub fn read_unsubscribe(msg: &Message, is_own: &dyn Fn(&str) -> bool) -> Option<Event> {
    if header_marked(msg, BULK_HEADERS) {
        return None;
    }
    let subject = msg.headers.get("Subject").unwrap_or("");
    let opening = opening(msg, 3);
    if !asks_to_unsubscribe(subject) && !asks_to_unsubscribe(&opening) {
        return None;
    }
    Some(Event {
        recipient: author(msg, is_own),
        kind: Some(Kind::Unsubscribe),
        reason: Some(Reason::Unsubscribe),
        diagnostic: Some(if subject.is_empty() {
            opening.trim().to_string()
        } else {
            subject.to_string()
        }),
        format: Some("reply".into()),
        ..Event::default()
    })
}

/// True when `text` (a subject, say) asks to be taken off the list.
pub fn asks_to_unsubscribe(text: &str) -> bool {
    UNSUBSCRIBE_RE
        .find_iter(text)
        .any(|m| !negated(&text[..m.start()]))
}

/// Does the clause that ends at a request (`before`) turn it round?
fn negated(before: &str) -> bool {
    let clause = before
        .rsplit(['.', '!', '?', ';', ',', '\n'])
        .next()
        .unwrap_or("");
    clause
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .any(|word| NEGATIONS.iter().any(|n| word.eq_ignore_ascii_case(n)))
}

/// The reply's own first `lines` lines of text (blank lines, quoted lines and lines with a
/// link left out), up to the first separator, joined and cut at 300 bytes. A line carrying a
/// link is a footer's instruction ("To unsubscribe, click https://..."), not a request.
fn opening(msg: &Message, lines: usize) -> String {
    let opening = msg
        .text
        .lines()
        .map(str::trim)
        .take_while(|l| !SEPARATOR_RE.is_match(l))
        .filter(|l| !l.is_empty() && !l.starts_with('>') && !l.contains("://"))
        .take(lines)
        .collect::<Vec<_>>()
        .join(" ");
    let end = floor_char_boundary(&opening, 300);
    opening[..end].to_string()
}

/// The person a reply is from: the first address of its author headers that is neither a mail
/// system's nor one of ours.
fn author(msg: &Message, is_own: &dyn Fn(&str) -> bool) -> Option<String> {
    ["From", "Reply-To", "Sender", "Return-Path"]
        .iter()
        .filter_map(|h| msg.headers.get(h))
        .filter_map(address::find_first)
        .find(|a| !address::is_system_address(a) && !is_own(a))
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut i = max;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Builds the tables every message is checked against now (see `classify::warm_up`); those
/// only replies need are left until one comes.
pub(crate) fn warm_up() {
    LazyLock::force(&SUBJECT_RE);
    LazyLock::force(&UNSUBSCRIBE_RE);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject_matches(s: &str) -> bool {
        SUBJECT_RE.is_match(s)
    }

    fn message(headers: &str, body: &str) -> Message {
        let raw = format!(
            "From: Jan <jan@example.org>\nTo: news@example.com\n\
Content-Type: text/plain; charset=utf-8\n{headers}\n\n{body}"
        );
        Message::from_mail(&mailparse::parse_mail(raw.as_bytes()).unwrap())
    }

    fn nobody(_: &str) -> bool {
        false
    }

    #[test]
    fn out_of_office_subjects_in_many_languages() {
        for s in [
            "Automatic reply: Newsletter",
            "Auto-Reply: Newsletter",
            "[Auto-Reply] Newsletter",
            "AUTO: Jan is out of the office",
            "Out of Office: offer",
            "Re: Odpowiedź automatyczna",
            "Jestem na urlopie",
            "Urlop: oferta",
            "Automatická odpověď: Nabídka",
            "Jsem na dovolené",
            "Automatisk svar: tilbud",
            "Fraværende: tilbud",
            "Ferie",
            "Abwesenheitsnotiz: Angebot",
            "Urlaub - zurück am 5. Mai",
            "Réponse automatique : offre",
            "Absent: offre",
            "Absence du bureau: offre",
            "Respuesta automática: oferta",
            "Fuera de oficina: oferta",
            "Ausente: oferta",
            "Estoy de vacaciones",
            "自動応答: お知らせ",
            "【自動返信】お知らせ",
            "不在のお知らせ",
            "Away until May 5",
        ] {
            assert!(subject_matches(s), "{s}");
        }
        for s in [
            "Your invoice",
            "Meeting tomorrow",
            "Undelivered Mail Returned to Sender",
            // The start of a longer word, or a sentence about something else.
            "Absence of invoice in my order",
            "Urlaubsfotos",
            "Urlaub-Planung 2025",
            "Auto for sale",
            "Ferieplaner",
            "Absentee ballot",
            "休暇申請について",
        ] {
            assert!(!subject_matches(s), "{s}");
        }
    }

    #[test]
    fn away_in_the_first_lines_counts_only_in_a_reply() {
        for body in [
            "I am on holiday until Monday.",
            "Thank you. I'm out of the office this week.",
            "Dzień dobry, jestem na urlopie do 17 marca.",
            "Dobrý den, jsem na dovolené.",
            "Hei, jeg er på ferie.",
            "Ich bin derzeit im Urlaub.",
            "Bonjour, je suis en congé.",
            "Hola, estoy de vacaciones.",
            "ただいま不在にしております。",
        ] {
            let reply = message("Subject: Re: offer\nIn-Reply-To: <o-1@example.com>", body);
            assert!(read_body_autoreply(&reply, &nobody).is_some(), "{body}");
            let news = message("Subject: News from Jan", body);
            assert!(read_body_autoreply(&news, &nobody).is_none(), "{body}");
        }
        let quoted = message(
            "Subject: Re: offer",
            "Sounds good.\n\n> I am on holiday until Monday.\n",
        );
        assert!(read_body_autoreply(&quoted, &nobody).is_none());
    }

    #[test]
    fn unsubscribe_words_in_many_languages() {
        for s in [
            "Please unsubscribe me",
            "WYPISZ",
            "Wypiszcie mnie z listy",
            "Proszę o usunięcie mojego adresu",
            "Prosím odhlásit",
            "Odhlaste mě prosím",
            "avmeld meg",
            "Jeg vil avmelde meg",
            "Meld meg av",
            "abmelden bitte",
            "Bitte melden Sie mich vom Newsletter ab",
            "désinscrire",
            "Merci de me désabonner",
            "Por favor darme de baja",
            "配信停止をお願いします",
        ] {
            assert!(asks_to_unsubscribe(s), "{s}");
        }
        for s in [
            "Thanks for the offer",
            "Do not unsubscribe me, I love it",
            "Please don't remove me",
            "Bitte nicht abmelden",
            "No me den de baja, por favor",
            "Proszę o usunięcie załącznika",
        ] {
            assert!(!asks_to_unsubscribe(s), "{s}");
        }
        // A negation in another clause does not turn the request round.
        assert!(asks_to_unsubscribe(
            "I do not read these anymore. Unsubscribe me."
        ));
    }

    #[test]
    fn bulk_mail_and_quoted_footers_are_no_request() {
        let ask = "Unsubscribe me, please.";
        assert!(read_unsubscribe(&message("Subject: Re: offer", ask), &nobody).is_some());
        for headers in [
            "Subject: News\nList-Unsubscribe: <mailto:leave@example.net>",
            "Subject: News\nList-Id: <news.example.net>",
            "Subject: News\nPrecedence: bulk",
            "Subject: News\nPrecedence: list",
        ] {
            assert!(
                read_unsubscribe(&message(headers, ask), &nobody).is_none(),
                "{headers}"
            );
        }
        for body in [
            "Do you ship to Norway?\n\nOn Tue, 4 Mar 2025, News wrote:\n> To unsubscribe, reply STOP\n",
            "Do you ship to Norway?\n\n-----Original Message-----\nFrom: News\nTo unsubscribe write to us\n",
            "Do you ship to Norway?\n-- \nJan\nunsubscribe: https://example.com/u\n",
            "Do you ship to Norway?\nTo unsubscribe, click https://example.com/u\n",
        ] {
            let reply = message("Subject: Re: offer", body);
            assert!(read_unsubscribe(&reply, &nobody).is_none(), "{body}");
        }
    }

    #[test]
    fn the_author_is_never_one_of_our_addresses() {
        let msg = message("Subject: Out of office\nReply-To: jan.k@example.org", "");
        let ours = |a: &str| a == "jan@example.org";
        let event = read_autoreply(&msg, &ours).unwrap();
        assert_eq!(event.recipient.as_deref(), Some("jan.k@example.org"));
        let all_ours = |_: &str| true;
        assert_eq!(read_autoreply(&msg, &all_ours).unwrap().recipient, None);
    }
}
