//! The rules that move a recipient between states, as pure functions over one recipient's
//! row: the store reads the row, applies events here in order, and writes it back in the
//! same transaction.
//!
//! The rules are the design's: hard → bounced; soft → soft_bouncing with the streak counted,
//! and bounced when the streak reaches the limit; proof of life (delivered, read, autoreply)
//! → active with the streak reset; block and delay change nothing for the address;
//! unsubscribe → unsubscribed and complaint → complained, which nothing but a forced hand
//! undoes. Decisions of ours where the design is silent: proof of life never revives an
//! address that is bounced, unsubscribed, complained or inactive (that takes `unblock` or
//! `activate`, a person's decision); a hard or soft bounce of an inactive address is kept in
//! its history but leaves it inactive; a complaint outranks an unsubscribe.

use std::fmt;
use std::str::FromStr;

use crate::record::Kind;

/// A recipient's state (the design's "The recipient store"). Its names on the command line
/// are the ones the records use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum State {
    Unknown,
    Active,
    #[value(name = "soft_bouncing")]
    SoftBouncing,
    Bounced,
    Unsubscribed,
    Complained,
    Inactive,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Unknown,
        State::Active,
        State::SoftBouncing,
        State::Bounced,
        State::Unsubscribed,
        State::Complained,
        State::Inactive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Unknown => "unknown",
            State::Active => "active",
            State::SoftBouncing => "soft_bouncing",
            State::Bounced => "bounced",
            State::Unsubscribed => "unsubscribed",
            State::Complained => "complained",
            State::Inactive => "inactive",
        }
    }

    /// May be mailed.
    pub fn is_sendable(self) -> bool {
        matches!(self, State::Unknown | State::Active | State::SoftBouncing)
    }

    /// A recipient's own word (unsubscribed, complained): remembered forever, even after the
    /// address is deleted, and never undone without force.
    pub fn is_consent_withdrawn(self) -> bool {
        matches!(self, State::Unsubscribed | State::Complained)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        State::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown state {s:?}"))
    }
}

/// Thresholds of the rules (options, or settings kept in the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Consecutive soft bounces that make an address bounced.
    pub soft_limit: u32,
    /// A streak whose first bounce is older than this many seconds (before the new bounce)
    /// is forgotten and starts again.
    pub soft_window_secs: Option<i64>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            soft_limit: 5,
            soft_window_secs: None,
        }
    }
}

/// What the rules keep per recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub state: State,
    pub reason: Option<String>,
    /// When the current state began (Unix seconds).
    pub since: i64,
    pub soft_streak: u32,
    /// The time of the first soft bounce of the current streak.
    pub streak_start: Option<i64>,
    /// Every hard and soft bounce ever counted.
    pub bounces: u32,
    pub last_event: Option<i64>,
}

impl Standing {
    pub fn new(state: State, reason: Option<String>, since: i64) -> Self {
        Standing {
            state,
            reason,
            since,
            soft_streak: 0,
            streak_start: None,
            bounces: 0,
            last_event: None,
        }
    }
}

/// The facts of one event the rules look at.
#[derive(Debug, Clone, Copy)]
pub struct Fact<'a> {
    pub kind: Kind,
    pub reason: Option<&'a str>,
    /// When it happened (Unix seconds).
    pub time: i64,
}

/// Applies one event to a recipient; true when its state changed.
pub fn apply(standing: &mut Standing, fact: Fact<'_>, rules: &Rules) -> bool {
    let before = standing.state;
    standing.last_event = Some(standing.last_event.map_or(fact.time, |t| t.max(fact.time)));
    let reason = fact.reason.map(str::to_string);
    match fact.kind {
        Kind::Hard => {
            standing.bounces += 1;
            if standing.state.is_sendable() {
                enter(standing, State::Bounced, reason, fact.time);
            }
        }
        Kind::Soft => {
            standing.bounces += 1;
            if standing.state.is_sendable() {
                count_soft(standing, reason, fact.time, rules);
            }
        }
        Kind::Delivered | Kind::Read | Kind::Autoreply => {
            if matches!(standing.state, State::Unknown | State::SoftBouncing) {
                enter(
                    standing,
                    State::Active,
                    Some(fact.kind.as_str().into()),
                    fact.time,
                );
            }
            if standing.state == State::Active {
                standing.soft_streak = 0;
                standing.streak_start = None;
            }
        }
        Kind::Unsubscribe => {
            if standing.state != State::Complained && standing.state != State::Unsubscribed {
                enter(standing, State::Unsubscribed, reason, fact.time);
            }
        }
        Kind::Complaint => {
            if standing.state != State::Complained {
                enter(standing, State::Complained, reason, fact.time);
            }
        }
        Kind::Block | Kind::Delay | Kind::NotBounce | Kind::Unknown => {}
    }
    standing.state != before
}

/// What a person (or an imported list) does to a recipient's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// `import --state S`: the list's state, except that consent withdrawn (unsubscribed,
    /// complained) is never weakened by a list; a complaint list still outranks an
    /// unsubscribe.
    Import(State),
    /// `block`: mark as bounced by hand.
    Block,
    /// `unblock`: clear a bounce mark ("remove bounce mark"): back to unknown, streak zero.
    Unblock,
    /// `inactive`: kept, never mailed (a former employee, say).
    Inactive,
    /// `activate`: back to active by hand.
    Activate,
}

/// Why a decision was not carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

/// Applies a decision; `Ok(true)` when the state changed. Undoing a recipient's own word
/// (unsubscribed, complained) by hand needs `force`; an import never does it.
pub fn decide(
    standing: &mut Standing,
    decision: Decision,
    reason: Option<&str>,
    time: i64,
    force: bool,
) -> Result<bool, Refusal> {
    let before = standing.state;
    let target = match decision {
        Decision::Import(state) => {
            let keeps_consent = match before {
                State::Complained => true,
                State::Unsubscribed => state != State::Complained,
                _ => false,
            };
            if keeps_consent || state == before {
                return Ok(false);
            }
            state
        }
        Decision::Block => State::Bounced,
        // Unblocking clears a mark: an address with none (active, unknown) keeps its state.
        Decision::Unblock if matches!(before, State::Active | State::Unknown) => return Ok(false),
        Decision::Unblock => State::Unknown,
        Decision::Inactive => State::Inactive,
        Decision::Activate => State::Active,
    };
    if !matches!(decision, Decision::Import(_)) && before.is_consent_withdrawn() && !force {
        return Err(Refusal(format!(
            "is {before} (the recipient's own choice); use --force to override it"
        )));
    }
    let changed = target != before || standing.soft_streak != 0;
    enter(standing, target, reason.map(str::to_string), time);
    if target == State::Unknown || target == State::Active {
        standing.soft_streak = 0;
        standing.streak_start = None;
    }
    Ok(changed)
}

fn count_soft(standing: &mut Standing, reason: Option<String>, time: i64, rules: &Rules) {
    let expired = match (rules.soft_window_secs, standing.streak_start) {
        (Some(window), Some(start)) => time - start > window,
        _ => false,
    };
    if expired || standing.soft_streak == 0 {
        standing.soft_streak = 0;
        standing.streak_start = Some(time);
    }
    standing.soft_streak += 1;
    if standing.soft_streak >= rules.soft_limit {
        let why = format!(
            "{} soft bounces in a row (last: {})",
            standing.soft_streak,
            reason.as_deref().unwrap_or("undefined")
        );
        enter(standing, State::Bounced, Some(why), time);
    } else if standing.state != State::SoftBouncing {
        enter(standing, State::SoftBouncing, reason, time);
    } else {
        standing.reason = reason;
    }
}

fn enter(standing: &mut Standing, state: State, reason: Option<String>, time: i64) {
    standing.state = state;
    standing.reason = reason;
    standing.since = time;
    if !matches!(state, State::SoftBouncing | State::Bounced) {
        standing.soft_streak = 0;
        standing.streak_start = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(kind: Kind, time: i64) -> Fact<'static> {
        Fact {
            kind,
            reason: Some("why"),
            time,
        }
    }

    fn run(kinds: &[Kind], rules: &Rules) -> Standing {
        let mut s = Standing::new(State::Unknown, None, 0);
        for (i, &k) in kinds.iter().enumerate() {
            apply(&mut s, fact(k, i as i64 * 86_400), rules);
        }
        s
    }

    #[test]
    fn hard_bounces_at_once() {
        let s = run(&[Kind::Hard], &Rules::default());
        assert_eq!((s.state, s.bounces), (State::Bounced, 1));
    }

    #[test]
    fn soft_limit_consecutive_soft_bounces_bounce() {
        let rules = Rules::default();
        let s = run(&[Kind::Soft; 4], &rules);
        assert_eq!((s.state, s.soft_streak), (State::SoftBouncing, 4));
        let s = run(&[Kind::Soft; 5], &rules);
        assert_eq!(s.state, State::Bounced);
        assert!(s.reason.unwrap().starts_with("5 soft bounces"));
    }

    #[test]
    fn proof_of_life_resets_the_streak() {
        let rules = Rules::default();
        let mut kinds = vec![Kind::Soft; 4];
        kinds.push(Kind::Delivered);
        let s = run(&kinds, &rules);
        assert_eq!((s.state, s.soft_streak), (State::Active, 0));
        kinds.extend([Kind::Soft; 4]);
        assert_eq!(run(&kinds, &rules).state, State::SoftBouncing);
    }

    #[test]
    fn sender_side_and_delays_change_nothing() {
        let s = run(&[Kind::Block, Kind::Delay, Kind::Block], &Rules::default());
        assert_eq!((s.state, s.bounces), (State::Unknown, 0));
    }

    #[test]
    fn a_streak_older_than_the_window_starts_again() {
        let rules = Rules {
            soft_limit: 3,
            soft_window_secs: Some(86_400),
        };
        let mut s = Standing::new(State::Unknown, None, 0);
        apply(&mut s, fact(Kind::Soft, 0), &rules);
        apply(&mut s, fact(Kind::Soft, 3 * 86_400), &rules);
        apply(&mut s, fact(Kind::Soft, 3 * 86_400 + 10), &rules);
        assert_eq!((s.state, s.soft_streak), (State::SoftBouncing, 2));
    }

    #[test]
    fn consent_is_never_weakened_by_events() {
        let s = run(
            &[Kind::Unsubscribe, Kind::Delivered, Kind::Hard],
            &Rules::default(),
        );
        assert_eq!(s.state, State::Unsubscribed);
        let s = run(&[Kind::Complaint, Kind::Unsubscribe], &Rules::default());
        assert_eq!(s.state, State::Complained);
        let s = run(&[Kind::Unsubscribe, Kind::Complaint], &Rules::default());
        assert_eq!(s.state, State::Complained);
    }

    #[test]
    fn proof_of_life_does_not_revive_a_bounced_address() {
        let s = run(&[Kind::Hard, Kind::Autoreply], &Rules::default());
        assert_eq!(s.state, State::Bounced);
    }

    #[test]
    fn unblock_refuses_consent_without_force() {
        let mut s = run(&[Kind::Unsubscribe], &Rules::default());
        let refused = decide(&mut s, Decision::Unblock, None, 9, false);
        assert!(refused.unwrap_err().0.contains("--force"));
        assert_eq!(s.state, State::Unsubscribed);
        assert_eq!(decide(&mut s, Decision::Unblock, None, 9, true), Ok(true));
        assert_eq!(s.state, State::Unknown);
    }

    #[test]
    fn unblock_clears_a_bounce_mark_and_the_streak() {
        let mut s = run(&[Kind::Soft; 5], &Rules::default());
        assert_eq!(
            decide(&mut s, Decision::Unblock, Some("typo fixed"), 9, false),
            Ok(true)
        );
        assert_eq!((s.state, s.soft_streak), (State::Unknown, 0));
    }

    #[test]
    fn imports_never_weaken_consent() {
        let mut s = run(&[Kind::Unsubscribe], &Rules::default());
        assert_eq!(
            decide(&mut s, Decision::Import(State::Bounced), None, 9, false),
            Ok(false)
        );
        assert_eq!(
            decide(&mut s, Decision::Import(State::Complained), None, 9, false),
            Ok(true)
        );
        let mut s = run(&[Kind::Delivered], &Rules::default());
        assert_eq!(
            decide(&mut s, Decision::Import(State::Inactive), None, 9, false),
            Ok(true)
        );
        assert_eq!(s.state, State::Inactive);
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for s in State::ALL {
            assert_eq!(s.as_str().parse::<State>(), Ok(s));
        }
        assert!("gone".parse::<State>().is_err());
    }
}
