//! AWS error codes as the product reads them, in every spelling AWS uses for one code.
//!
//! An API response names an error by its exception (`AccessDeniedException`); CloudTrail
//! records some of the same errors without the `Exception` suffix: a call IAM or a
//! service control policy denied is recorded with `errorCode` `AccessDenied` (CloudTrail
//! User Guide, "CloudTrail record contents": `errorCode` is the service's error; the
//! public detection rules' test events of a failed `LeaveOrganization`, e.g. Elastic's and
//! Panther's Organizations rules, show `"errorCode": "AccessDenied"`). STS and the query
//! protocols spell throttling `Throttling`, the JSON protocols `ThrottlingException`. So
//! every comparison of a code goes through [`same_code`], which ignores that suffix, and
//! the lists below keep one spelling each.

/// The suffix some spellings of a code carry and others drop.
const SUFFIX: &str = "Exception";

/// A code without its `Exception` suffix: the form two spellings of one code share.
pub fn canonical(code: &str) -> &str {
    code.strip_suffix(SUFFIX).unwrap_or(code)
}

/// Whether `code` (as an API response or CloudTrail spells it) is `expected`.
pub fn same_code(code: &str, expected: &str) -> bool {
    canonical(code) == canonical(expected)
}

/// Whether `code` is one of `codes`, in any spelling.
pub fn is_one_of(code: &str, codes: &[&str]) -> bool {
    codes.iter().any(|expected| same_code(code, expected))
}

/// The wording AWS puts in a denial's message when a service control policy denied the
/// call (IAM User Guide, "Troubleshoot access denied error messages": "... with an
/// explicit deny in a service control policy").
pub const SCP_DENIAL_WORDING: &str = "explicit deny in a service control policy";

/// Whether a denial's message says a service control policy denied it.
pub fn denied_by_scp(message: &str) -> bool {
    message.to_ascii_lowercase().contains(SCP_DENIAL_WORDING)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudtrail_and_api_spellings_are_the_same_code() {
        assert!(same_code("AccessDenied", "AccessDeniedException"));
        assert!(same_code("AccessDeniedException", "AccessDenied"));
        assert!(same_code("Throttling", "ThrottlingException"));
        assert!(!same_code(
            "AccessDeniedForDependency",
            "AccessDeniedException"
        ));
        assert!(is_one_of("TooManyRequests", &["TooManyRequestsException"]));
    }

    #[test]
    fn an_scp_denial_is_told_by_its_wording() {
        assert!(denied_by_scp("User: arn:aws:sts::222222222222:assumed-role/OrgOnboardingSpoke/s is not authorized to perform: organizations:LeaveOrganization on resource: * with an explicit deny in a service control policy"));
        assert!(!denied_by_scp("User: x is not authorized to perform: organizations:LeaveOrganization because no identity-based policy allows the organizations:LeaveOrganization action"));
    }
}
