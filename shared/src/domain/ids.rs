//! Identifiers validated at construction, so the rest of the code never re-checks them.
//!
//! Each wraps a `String` and (de)serializes as one; deserialization validates too, so a
//! malformed id in a stored item or an event is an error where it is read.
//!
//! [`handshake_arn_parts`] reads the ids a handshake ARN carries; it is here, not in the
//! CloudTrail reader, because the verification policy needs it too.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a string is not a valid identifier of its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {value:?}: expected {expected}")]
pub struct InvalidId {
    pub kind: &'static str,
    pub value: String,
    pub expected: &'static str,
}

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

macro_rules! validated_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $expected:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `value`.
            pub fn parse(value: impl Into<String>) -> Result<Self, InvalidId> {
                let value = value.into();
                let check: fn(&str) -> bool = $check;
                if check(&value) {
                    Ok(Self(value))
                } else {
                    Err(InvalidId { kind: $kind, value, expected: $expected })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }
    };
}

validated_id!(
    /// An AWS account id: exactly 12 digits.
    AccountId, "account id", "12 digits",
    |v| v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit())
);

validated_id!(
    /// An AWS Organizations organization id: `o-` and 10 to 32 lowercase letters or digits.
    OrganizationId, "organization id", "o- followed by 10 to 32 lowercase letters or digits",
    |v| v.strip_prefix("o-").is_some_and(|rest| (10..=32).contains(&rest.len()) && rest.chars().all(is_lower_alnum))
);

validated_id!(
    /// A handshake (invitation) id: `h-` and 8 to 32 lowercase letters or digits.
    HandshakeId, "handshake id", "h- followed by 8 to 32 lowercase letters or digits",
    |v| v.strip_prefix("h-").is_some_and(|rest| (8..=32).contains(&rest.len()) && rest.chars().all(is_lower_alnum))
);

validated_id!(
    /// An organization root id: `r-` and 4 to 32 lowercase letters or digits.
    RootId, "root id", "r- followed by 4 to 32 lowercase letters or digits",
    |v| v.strip_prefix("r-").is_some_and(|rest| (4..=32).contains(&rest.len()) && rest.chars().all(is_lower_alnum))
);

validated_id!(
    /// An enrollment's name, chosen by the operator: 1 to 64 letters, digits, `-`, `_` or `.`.
    /// It appears in keys and in notifications, hence the narrow alphabet.
    EnrollmentName, "enrollment name", "1 to 64 letters, digits, '-', '_' or '.'",
    |v| (1..=64).contains(&v.len()) && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
);

/// `(management account, organization id)` from a handshake ARN,
/// `arn:aws:organizations::<management account>:handshake/<org>/<action>/<id>`.
pub fn handshake_arn_parts(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:")?;
    let mut fields = rest.splitn(5, ':');
    let (_partition, service, _region, account, resource) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    if service != "organizations" {
        return None;
    }
    let mut path = resource.split('/');
    (path.next()? == "handshake").then_some(())?;
    Some((account, path.next()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_id_needs_exactly_twelve_digits() {
        assert!(AccountId::parse("123456789012").is_ok());
        for bad in [
            "12345678901",
            "1234567890123",
            "12345678901a",
            "",
            " 23456789012",
        ] {
            let err = AccountId::parse(bad).unwrap_err();
            assert_eq!(err.kind, "account id");
        }
    }

    #[test]
    fn organization_id_is_o_dash_and_lowercase_alphanumerics() {
        assert!(OrganizationId::parse("o-exampleorgid").is_ok());
        assert!(OrganizationId::parse("o-a1b2c3d4e5").is_ok());
        for bad in [
            "o-short",
            "o-UPPERCASE1",
            "x-exampleorgid",
            "o-",
            "o-abcdefghij-k",
        ] {
            assert!(OrganizationId::parse(bad).is_err(), "{bad}");
        }
        assert!(OrganizationId::parse(format!("o-{}", "a".repeat(33))).is_err());
    }

    #[test]
    fn handshake_id_is_h_dash_and_eight_to_thirty_two() {
        assert!(HandshakeId::parse("h-examplehandshakeid111").is_ok());
        assert!(HandshakeId::parse("h-1234567").is_err());
        assert!(HandshakeId::parse("h-ABCDEFGH").is_err());
    }

    #[test]
    fn ids_deserialize_with_validation() {
        let ok: AccountId = serde_json::from_str("\"111111111111\"").unwrap();
        assert_eq!(ok.as_str(), "111111111111");
        let err = serde_json::from_str::<AccountId>("\"1111\"").unwrap_err();
        assert!(err.to_string().contains("12 digits"), "{err}");
    }

    #[test]
    fn handshake_arns_name_the_management_account_and_organization() {
        let arn = "arn:aws:organizations::111111111111:handshake/o-exampleorgid/invite/h-examplehandshakeid111";
        assert_eq!(
            handshake_arn_parts(arn),
            Some(("111111111111", "o-exampleorgid"))
        );
        assert_eq!(
            handshake_arn_parts("arn:aws:iam::111111111111:role/x"),
            None
        );
        assert_eq!(
            handshake_arn_parts("arn:aws:organizations::111111111111:account/o-x/1"),
            None
        );
        assert_eq!(handshake_arn_parts("not an arn"), None);
    }

    #[test]
    fn enrollment_names_are_key_safe() {
        assert!(EnrollmentName::parse("acme-2026.q4_wave1").is_ok());
        assert!(EnrollmentName::parse("acme wave").is_err());
        assert!(EnrollmentName::parse("").is_err());
        assert!(RootId::parse("r-ab12").is_ok());
    }
}
