//! What a function observed through the API, before it is an event: who observed it, a
//! key, the account and what. The event id is built here and nowhere else, from the key:
//! an observation that happens once has a deterministic id (a repeat is a duplicate); a
//! state that may be seen again and again gets a new id per sighting (each is judged on
//! the record's state, so a repeat changes nothing). The prefix of every id is the
//! observer, which the history shows as the event's source ([`DomainEvent::source`]).

use chrono::{DateTime, Utc};

use super::event::{DomainEvent, EventKind};
use super::function::FunctionName;
use super::ids::AccountId;

/// How an observation is keyed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObservationKey {
    /// Happens once (a handshake accepted, an account placed): `observer:what:subject`.
    Once { what: &'static str, subject: String },
    /// May be seen again (access refused, no invitation slot):
    /// `observer:what:account:nanoseconds`, or `observer:account:nanoseconds` without `what`.
    Sighting { what: Option<&'static str> },
}

/// One function's observation about one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub by: FunctionName,
    pub key: ObservationKey,
    pub account: AccountId,
    pub kind: EventKind,
}

impl Observation {
    /// An observation that happens once: `subject` names it (a handshake, a transfer, the
    /// account).
    pub fn once(
        by: FunctionName,
        what: &'static str,
        subject: impl ToString,
        account: &AccountId,
        kind: EventKind,
    ) -> Self {
        Self {
            by,
            key: ObservationKey::Once {
                what,
                subject: subject.to_string(),
            },
            account: account.clone(),
            kind,
        }
    }

    /// A sighting of a state that may be seen again.
    pub fn sighting(
        by: FunctionName,
        what: &'static str,
        account: &AccountId,
        kind: EventKind,
    ) -> Self {
        Self {
            by,
            key: ObservationKey::Sighting { what: Some(what) },
            account: account.clone(),
            kind,
        }
    }

    /// The event id: deterministic for what happens once, unique per sighting (`at`).
    pub fn id(&self, at: DateTime<Utc>) -> String {
        let by = self.by;
        match &self.key {
            ObservationKey::Once { what, subject } => format!("{by}:{what}:{subject}"),
            ObservationKey::Sighting { what } => {
                let account = &self.account;
                let nanos = timestamp_nanos(at);
                match what {
                    Some(what) => format!("{by}:{what}:{account}:{nanos}"),
                    None => format!("{by}:{account}:{nanos}"),
                }
            }
        }
    }

    /// The domain event, seen at `at`.
    pub fn into_event(self, at: DateTime<Utc>) -> DomainEvent {
        DomainEvent::observed(self.id(at), self.account, self.kind)
    }
}

/// `at` in nanoseconds since the epoch: what makes a sighting's id (or an announcement's
/// marker) unique.
pub fn timestamp_nanos(at: DateTime<Utc>) -> i64 {
    at.timestamp_nanos_opt().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_observers_own() {
        let account = AccountId::parse("555555555555").unwrap();
        let at = DateTime::from_timestamp(1, 5).unwrap();
        let kind = EventKind::AccessChecked { failure: None };
        let once = Observation::once(
            FunctionName::Placer,
            "placed",
            &account,
            &account,
            kind.clone(),
        );
        assert_eq!(once.id(at), "placer:placed:555555555555");
        let seen =
            Observation::sighting(FunctionName::Acceptor, "access-ok", &account, kind.clone());
        assert_eq!(seen.id(at), "acceptor:access-ok:555555555555:1000000005");
        let bare = Observation {
            key: ObservationKey::Sighting { what: None },
            ..seen
        };
        assert_eq!(bare.id(at), "acceptor:555555555555:1000000005");
        assert_eq!(once.into_event(at).source(), "placer");
    }
}
