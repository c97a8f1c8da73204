//! The session policy each function passes when it assumes the spoke role, built from the
//! manifest ([`super::spoke_operations`]): an Allow of exactly the actions its own spoke
//! operations need (their implied permissions included), on `*`.
//!
//! Why a session policy rather than a spoke role per function: the spoke is deployed in
//! every customer account (a StackSet the customer runs), and a session policy narrows
//! every spoke already deployed without asking anyone to update it. AWS grants a session
//! only the intersection of the role's identity policies and the session policy ("The
//! resulting session's permissions are the intersection of the role's identity-based
//! policy and the session policies", STS API Reference, AssumeRole, `Policy`; IAM User
//! Guide, "Policy evaluation logic" and "Session policies",
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session>).
//! So the role keeps scoping resources and conditions (the target's handshakes only, the
//! Deny on declining the target), and the session policy only takes actions away: the
//! preflight's session, which parses every customer's policy documents, and the
//! reconciler's cannot accept, decline or leave, whatever they are made to call.
//!
//! Size: "The plaintext that you use for both inline and managed session policies can't
//! exceed 2,048 characters", and "An AWS conversion compresses the passed inline session
//! policy, managed policy ARNs, and session tags into a packed binary format that has a
//! separate limit" (STS API Reference, AssumeRole, `Policy`; over it the call fails with
//! PackedPolicyTooLarge). The plaintext limit is held by a test for every function (the
//! largest, the preflight's, is under a third of it); the packed size cannot be computed
//! offline, so AssumeRole's report of it (`SessionTokenUtilization`, a percentage, which
//! replaced `PackedPolicySize`) is logged at each AssumeRole and warned about near 100.

use serde_json::{json, Value};

use super::spoke_operations;
use crate::domain::FunctionName;

/// AWS's limit on an inline session policy's plaintext (STS API Reference, AssumeRole,
/// `Policy`: "can't exceed 2,048 characters").
pub const PLAINTEXT_LIMIT: usize = 2048;

/// A `SessionTokenUtilization` (percent of the session token's allowed size, which the
/// packed session policy counts towards) from which an AssumeRole is logged as a warning:
/// the policy is close to being refused.
pub const TOKEN_WARNING_PERCENT: i32 = 80;

/// The IAM actions `function`'s spoke session needs, sorted, each once.
pub fn actions(function: FunctionName) -> Vec<&'static str> {
    let mut actions: Vec<&'static str> = spoke_operations(function)
        .iter()
        .flat_map(|op| op.grants.iter().map(|g| g.action))
        .collect();
    actions.sort_unstable();
    actions.dedup();
    actions
}

/// `function`'s session policy as a document; `None` for a function that never assumes the
/// spoke role.
pub fn document(function: FunctionName) -> Option<Value> {
    let actions = actions(function);
    if actions.is_empty() {
        return None;
    }
    Some(json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": sid(function),
            "Effect": "Allow",
            "Action": actions,
            "Resource": "*",
        }],
    }))
}

/// `function`'s session policy as AssumeRole's `Policy` takes it: compact JSON.
pub fn policy(function: FunctionName) -> Option<String> {
    document(function).map(|d| d.to_string())
}

/// `OnlyWhatTheAcceptorCalls`: a Sid is alphanumeric.
fn sid(function: FunctionName) -> String {
    let name = function.as_str();
    let mut capitalized = name[..1].to_uppercase();
    capitalized.push_str(&name[1..]);
    format!("OnlyWhatThe{capitalized}Calls")
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRITES: [&str; 3] = [
        "organizations:AcceptHandshake",
        "organizations:DeclineHandshake",
        "organizations:LeaveOrganization",
    ];

    fn allowed(function: FunctionName) -> Vec<String> {
        let document = document(function).expect("the function assumes the spoke role");
        let statements = document["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 1);
        assert_eq!(statements[0]["Effect"], "Allow");
        assert_eq!(statements[0]["Resource"], "*");
        statements[0]["Action"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn every_session_policy_fits_the_plaintext_limit() {
        for function in FunctionName::ALL {
            let Some(policy) = policy(function) else {
                continue;
            };
            // Characters AWS accepts: \u0020 to \u00FF (and tab, LF, CR).
            assert!(policy.chars().all(|c| (' '..='\u{ff}').contains(&c)));
            assert!(
                policy.chars().count() <= PLAINTEXT_LIMIT,
                "{function}: {} characters",
                policy.len()
            );
        }
    }

    #[test]
    fn the_preflight_and_reconciler_sessions_allow_no_spoke_write() {
        for function in [FunctionName::Preflight, FunctionName::Reconciler] {
            let allowed = allowed(function);
            for write in WRITES {
                assert!(!allowed.iter().any(|a| a == write), "{function}: {write}");
            }
            assert!(
                allowed.iter().all(|a| !a.contains('*')),
                "{function}: no wildcard"
            );
        }
    }

    #[test]
    fn the_acceptors_session_allows_the_spoke_writes_and_the_role_it_may_create() {
        let allowed = allowed(FunctionName::Acceptor);
        for write in WRITES {
            assert!(allowed.iter().any(|a| a == write), "{write}");
        }
        // Accepting may create the Organizations service-linked role (implied permission).
        assert!(allowed.iter().any(|a| a == "iam:CreateServiceLinkedRole"));
    }

    #[test]
    fn the_reconcilers_session_reads_the_organization_only() {
        assert_eq!(
            allowed(FunctionName::Reconciler),
            [
                "organizations:DescribeOrganization",
                "organizations:ListAccounts"
            ]
        );
    }

    #[test]
    fn functions_that_never_assume_the_spoke_role_have_no_session_policy() {
        for function in [
            FunctionName::Tracker,
            FunctionName::Inviter,
            FunctionName::Placer,
        ] {
            assert_eq!(policy(function), None);
        }
        assert_eq!(sid(FunctionName::Acceptor), "OnlyWhatTheAcceptorCalls");
    }
}
