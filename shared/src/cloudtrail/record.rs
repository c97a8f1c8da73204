//! The CloudTrail `detail` of an Organizations event, read leniently: only what the product
//! uses, camelCase (CloudTrail) or PascalCase (API) keys, timestamps in any format AWS uses.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TrailRecord {
    pub event_name: String,
    #[serde(default)]
    pub event_time: Option<Value>,
    #[serde(default)]
    pub user_identity: Option<Identity>,
    #[serde(default)]
    pub recipient_account_id: Option<String>,
    #[serde(default)]
    pub request_parameters: Option<Value>,
    #[serde(default)]
    pub response_elements: Option<Value>,
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub service_event_details: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Identity {
    #[serde(default)]
    pub account_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct TrailHandshake {
    #[serde(alias = "Id")]
    pub id: String,
    #[serde(default, alias = "Arn")]
    pub arn: Option<String>,
    /// `INVITE`, `APPROVE_ALL_FEATURES`, … (lowercase in some real payloads).
    #[serde(default, alias = "Action")]
    pub action: Option<String>,
    #[serde(default, alias = "Parties")]
    pub parties: Vec<Party>,
    #[serde(default, rename = "expirationTimestamp", alias = "ExpirationTimestamp")]
    pub expiration_timestamp: Option<Value>,
    #[serde(default, alias = "Resources")]
    pub resources: Vec<Resource>,
}

/// One of a handshake's resources (`ORGANIZATION`, `RESPONSIBILITY_TRANSFER`, …).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Resource {
    #[serde(rename = "type", alias = "Type")]
    pub kind: String,
    #[serde(default, alias = "Value")]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct Party {
    #[serde(alias = "Id")]
    pub id: String,
    #[serde(rename = "type", alias = "Type")]
    pub kind: String,
}

impl TrailHandshake {
    /// The responsibility transfer (`rt-…`) the handshake carries, when it names one.
    pub fn transfer(&self) -> Option<String> {
        self.resources
            .iter()
            .find(|r| r.kind.eq_ignore_ascii_case("RESPONSIBILITY_TRANSFER"))
            .and_then(|r| r.value.clone())
    }

    /// The id of the first party of this type (`ACCOUNT`, `ORGANIZATION`, `EMAIL`), any case.
    pub fn party(&self, kind: &str) -> Option<&str> {
        self.parties
            .iter()
            .find(|p| p.kind.eq_ignore_ascii_case(kind))
            .map(|p| p.id.as_str())
    }

    /// `(management account, organization id)` from
    /// `arn:aws:organizations::<management account>:handshake/<org>/<action>/<id>`.
    pub fn arn_parts(&self) -> Option<(&str, &str)> {
        crate::domain::handshake_arn_parts(self.arn.as_deref()?)
    }
}

/// A timestamp as AWS writes it: RFC 3339, epoch seconds, or `Jan 18, 2017 9:41:16 PM`
/// (the documented CloudTrail example). Anything else is `None`, never an error: a
/// timestamp alone never decides a transition.
pub(super) fn timestamp(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::Number(n) => {
            let seconds = n.as_f64()?;
            Utc.timestamp_millis_opt((seconds * 1000.0) as i64).single()
        }
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                NaiveDateTime::parse_from_str(s, "%b %d, %Y %I:%M:%S %p")
                    .ok()
                    .map(|t| t.and_utc())
            }),
        _ => None,
    }
}

/// The first string under `key`, searched depth-first: service event details nest the
/// account id one level down, under a key named after the event.
pub(super) fn find_str<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    match value {
        Value::Object(map) => map
            .get(key)
            .and_then(Value::as_str)
            .or_else(|| map.values().find_map(|v| find_str(v, key))),
        Value::Array(items) => items.iter().find_map(|v| find_str(v, key)),
        _ => None,
    }
}
