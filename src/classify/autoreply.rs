//! Automatic replies (RFC 3834 and vendor markers) and human replies asking to be removed.
//!
//! These run only after the message was found not to be a delivery report: a bounce often
//! carries `Auto-Submitted` too, and must never be mistaken for a vacation notice. The person
//! the event is about is the author of the reply (its From), not the system that sent it.

use std::sync::LazyLock;

use regex::RegexSet;

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

/// Out-of-office subjects, in the languages of our users and the big mailers. Matched at the
/// start of the subject (optionally after "Re:"/"AW:"), case-insensitively.
const AUTOREPLY_SUBJECTS: &[&str] = &[
    // English
    r"auto(matic|mated)?[ -]?(reply|response|responder|answer)",
    r"autoreply",
    r"out of (the )?office",
    r"away from (the )?office",
    r"on (vacation|holiday|leave)",
    r"vacation (reply|notice|message)",
    r"away until",
    r"i am (currently )?(away|out)",
    r"auto:",
    // Polish
    r"odpowied[zź] automatyczna",
    r"automatyczna odpowied[zź]",
    r"nieobecno[sś][cć]",
    r"poza biurem",
    r"urlop",
    // Czech
    r"automatick[aá] odpov[eě][dď]",
    r"nep[rř][ií]tomnost",
    r"mimo kancel[aá][rř]",
    r"dovolen[aá]",
    // Norwegian (and Danish/Swedish, which share the words)
    r"automatisk svar",
    r"frav[aæ]r",
    r"ikke p[aå] kontoret",
    r"ferie",
    r"autosvar",
    // German
    r"automatische antwort",
    r"abwesenheitsnotiz",
    r"abwesenheit",
    r"nicht im b[uü]ro",
    r"urlaub",
    // French
    r"r[ée]ponse automatique",
    r"absence",
    r"absent du bureau",
    r"en cong[ée]s?",
    // Spanish
    r"respuesta autom[aá]tica",
    r"fuera de la oficina",
    r"ausencia",
    r"de vacaciones",
    // Japanese
    r"自動応答",
    r"自動返信",
    r"不在",
    r"休暇",
];

static SUBJECT_SET: LazyLock<RegexSet> =
    LazyLock::new(|| {
        RegexSet::new(AUTOREPLY_SUBJECTS.iter().map(|p| {
            format!(r"(?i)^\s*(?:(?:re|aw|sv|odp|fw|wg|tr)\s*:\s*)*(?:\[[^\]]*\]\s*)?{p}")
        }))
        .expect("autoreply subject patterns")
    });

/// Words of a reply that asks to be taken off the list, in our users' languages. Matched in
/// the subject or the first lines of the body.
const UNSUBSCRIBE_PHRASES: &[&str] = &[
    r"\bunsubscribe\b",
    r"\bremove me\b",
    r"\btake me off\b",
    r"\bstop (sending|emailing|mailing)\b",
    r"\bopt[ -]?out\b",
    r"\bwypisz\b",
    r"\bwypisanie\b",
    r"\bwypisa[cć]\b",
    r"\busu[nń] (mnie|m[oó]j)\b",
    r"\brezygnuj[eę]\b",
    r"\bodhl[aá]sit\b",
    r"\bodhl[aá][sš]en[ií]\b",
    r"\bodhlaste\b",
    r"\bavmeld\b",
    r"\bavmelding\b",
    r"\bmeld meg av\b",
    r"\babmelden\b",
    r"\babbestellen\b",
    r"\bd[ée]sinscri(re|ption|vez)\b",
    r"\bdarme de baja\b",
    r"\bdar de baja\b",
    r"配信停止",
];

static UNSUBSCRIBE_SET: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new(UNSUBSCRIBE_PHRASES.iter().map(|p| format!("(?i){p}")))
        .expect("unsubscribe patterns")
});

/// True when the headers or subject mark the message as an automatic reply.
pub fn is_autoreply(msg: &Message) -> bool {
    let header_marked = AUTOREPLY_HEADERS.iter().any(|(name, values)| {
        msg.headers.get_all(name).any(|v| match values {
            None => !v.eq_ignore_ascii_case("no"),
            Some(values) => {
                let v = v.to_ascii_lowercase();
                values.iter().any(|want| v.contains(want))
            }
        })
    });
    header_marked
        || msg
            .headers
            .get("Subject")
            .is_some_and(|s| SUBJECT_SET.is_match(s))
}

/// The autoreply event, about the person who is away.
pub fn read_autoreply(msg: &Message) -> Option<Event> {
    if !is_autoreply(msg) {
        return None;
    }
    Some(Event {
        recipient: author(msg),
        kind: Some(Kind::Autoreply),
        reason: Some(Reason::Autoreply),
        diagnostic: msg.headers.get("Subject").map(str::to_string),
        format: Some("rfc3834".into()),
        ..Event::default()
    })
}

/// The unsubscribe event for a reply whose subject or opening lines ask to be removed.
pub fn read_unsubscribe(msg: &Message) -> Option<Event> {
    let subject = msg.headers.get("Subject").unwrap_or("");
    let opening: String = msg
        .text
        .lines()
        .filter(|l| !l.trim_start().starts_with('>'))
        .filter(|l| !l.trim().is_empty())
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    let opening = &opening[..floor_char_boundary(&opening, 300)];
    if !UNSUBSCRIBE_SET.is_match(subject) && !UNSUBSCRIBE_SET.is_match(opening) {
        return None;
    }
    Some(Event {
        recipient: author(msg),
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
    UNSUBSCRIBE_SET.is_match(text)
}

fn author(msg: &Message) -> Option<String> {
    ["From", "Reply-To", "Sender", "Return-Path"]
        .iter()
        .filter_map(|h| msg.headers.get(h))
        .filter_map(address::find_first)
        .find(|a| !address::is_system_address(a))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn subject_matches(s: &str) -> bool {
        SUBJECT_SET.is_match(s)
    }

    #[test]
    fn out_of_office_subjects_in_many_languages() {
        for s in [
            "Automatic reply: Newsletter",
            "Out of Office: offer",
            "Re: Odpowiedź automatyczna",
            "Automatická odpověď: Nabídka",
            "Automatisk svar: tilbud",
            "Abwesenheitsnotiz: Angebot",
            "Réponse automatique : offre",
            "Respuesta automática: oferta",
            "自動応答: お知らせ",
            "Away until May 5",
        ] {
            assert!(subject_matches(s), "{s}");
        }
        for s in [
            "Your invoice",
            "Meeting tomorrow",
            "Undelivered Mail Returned to Sender",
        ] {
            assert!(!subject_matches(s), "{s}");
        }
    }

    #[test]
    fn unsubscribe_words_in_many_languages() {
        for s in [
            "Please unsubscribe me",
            "WYPISZ",
            "Prosím odhlásit",
            "avmeld meg",
            "abmelden bitte",
            "désinscrire",
        ] {
            assert!(UNSUBSCRIBE_SET.is_match(s), "{s}");
        }
        assert!(!UNSUBSCRIBE_SET.is_match("Thanks for the offer"));
    }
}
