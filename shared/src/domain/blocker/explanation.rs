//! The text of every [`BlockerCode::explain`](super::BlockerCode::explain): notifications
//! and the status report show these to people, so they say what to do, not what the code
//! is. One table, by the step a blocker stops.

use super::Explanation;

// Leaving: what AWS requires of a standalone account, and of the account that leaves.

pub const PAYMENT_METHOD_MISSING: Explanation = (
    "The account has no payment method, which a standalone account needs.",
    "Sign in to the account as its root user or a billing administrator, open Billing and Cost Management > Payment preferences, and add a valid credit card or bank account.",
);
pub const PAYMENT_METHOD_INVALID: Explanation = (
    "The account's payment method is not valid.",
    "In Billing and Cost Management > Payment preferences of the account, replace the expired or failed payment method, then retry.",
);
pub const CONTACT_INFO_MISSING: Explanation = (
    "The account is missing contact information required for a standalone account.",
    "Open Account settings > Contact information in the account and fill in the full name, address and phone number.",
);
pub const CUSTOMER_AGREEMENT_NOT_ACCEPTED: Explanation = (
    "The account has not accepted the AWS Customer Agreement.",
    "Sign in to the account as its root user and accept the AWS Customer Agreement when prompted (complete the account sign-up).",
);
pub const PHONE_NOT_VERIFIED: Explanation = (
    "The account's phone number has not been verified.",
    "Sign in to the account as its root user and complete phone verification in the account sign-up flow.",
);
pub const ACCOUNT_TOO_NEW: Explanation = (
    "The account was created less than 7 days ago and cannot leave its organization yet.",
    "Wait until the account is 7 days old; the onboarding resumes by itself when the next leave attempt succeeds.",
);
pub const ACCOUNT_SETUP_INCOMPLETE: Explanation = (
    "The account's creation has not finished.",
    "Wait for account creation to complete (usually minutes), then retry leaving the organization.",
);
pub const MARKETPLACE_ADDRESS_MISMATCH: Explanation = (
    "The management account's address does not match its AWS Marketplace seller address.",
    "Update the account address (Account settings) to match the Marketplace seller of record, then retry.",
);
pub const BUSINESS_LICENSE_MISSING: Explanation = (
    "The management account has no business license on file (required in some regions, e.g. India).",
    "Upload the business license in the account's settings, then retry.",
);

// Leaving or deleting the old organization, and joining while still in one.

pub const ORGANIZATION_NOT_EMPTY: Explanation = (
    "The old organization still has member accounts, so it cannot be deleted yet.",
    "Let the remaining members leave, be removed, or join the target organization; the management account moves on by itself once none is left.",
);
pub const MANAGEMENT_MUST_DELETE_ORGANIZATION: Explanation = (
    "This is its organization's management account: it cannot leave, it must delete its organization.",
    "Once every member is gone, delete the organization from the management account (AWS Organizations > Settings > Delete organization).",
);
pub const STILL_IN_ORGANIZATION: Explanation = (
    "The account is still a member of an organization, so it cannot join the target organization.",
    "Leave the current organization (or have its management account remove the account), or delete the organization if this is its management account.",
);
pub const DIFFERENT_SELLER_OF_RECORD: Explanation = (
    "The account and the target organization have different AWS sellers of record (e.g. AWS Inc. and AWS India, or different partitions).",
    "Ask AWS Support to align the sellers of record; an account can only join an organization of the same seller and partition.",
);

// Inviting: limits and state of the target organization.

pub const INVITATION_QUOTA_REACHED: Explanation = (
    "The target organization reached its daily invitation quota.",
    "Nothing to do: the inviter tries again on a later run. To go faster, ask AWS Support to raise the handshake quota.",
);
pub const ACCOUNT_LIMIT_REACHED: Explanation = (
    "The target organization reached its account limit.",
    "Request a higher 'accounts per organization' quota in Service Quotas (AWS Organizations) for the target organization; the inviter retries on its next run.",
);
pub const MEMBERSHIP_CHANGE_RATE_LIMITED: Explanation = (
    "Too many accounts joined or left this organization recently.",
    "Wait and retry later; AWS limits how often membership can change.",
);
pub const TARGET_ORGANIZATION_CHANGING_FEATURES: Explanation = (
    "The target organization is enabling all features, which pauses invitations or makes this handshake invalid.",
    "Finish (or cancel) the enable-all-features process in the target organization; the inviter retries on its next run.",
);
pub const MANAGEMENT_EMAIL_NOT_VERIFIED: Explanation = (
    "The target organization's management account email address is not verified.",
    "Verify the management account's email address from the AWS Organizations console of the target organization.",
);
pub const UNUSED_PREPAYMENT_BALANCE: Explanation = (
    "The account has an unused prepayment balance that blocks the move.",
    "Contact AWS Support to settle or transfer the prepayment balance, then retry.",
);
pub const LEGACY_PERMISSIONS_IN_USE: Explanation = (
    "The organization still uses legacy billing IAM permissions.",
    "Migrate the organization to the fine-grained billing, cost management and account IAM actions, then retry.",
);

// Any call: permissions, ids, handshakes and access through the spoke role.

pub const ACCESS_DENIED: Explanation = (
    "The caller is not allowed to perform this Organizations call.",
    "Check the IAM permissions of the role making the call (the spoke role in customer accounts, the hub function's role in the target organization).",
);
pub const SERVICE_CONTROL_POLICY_DENIES: Explanation = (
    "A service control policy of the account's organization denies this call (AWS: \"with an explicit deny in a service control policy\"); many organizations deny leaving as a guardrail.",
    "Ask the old organization's management account to lift the SCP for this account: in AWS Organizations > Policies, find the service control policy attached to the account, its OUs or the root that denies the action (often organizations:LeaveOrganization), and detach it from the account or add an exception for it (for instance a condition on aws:PrincipalArn that excludes the spoke role); the next attempt then succeeds.",
);
pub const ACCOUNT_NOT_FOUND: Explanation = (
    "AWS does not know this account id in this context.",
    "Check the account id in the enrollment; re-enroll with the correct id.",
);
pub const HANDSHAKE_NOT_FOUND: Explanation = (
    "The invitation no longer exists.",
    "Nothing to do: a new invitation is sent on the inviter's next run.",
);
pub const HANDSHAKE_NOT_OPEN: Explanation = (
    "The invitation is no longer open (accepted, declined, cancelled or expired).",
    "Nothing to do if the account joined; otherwise a new invitation is sent on the inviter's next run.",
);
pub const DUPLICATE_INVITATION: Explanation = (
    "An identical invitation is already open.",
    "Nothing to do: the open invitation is adopted.",
);
pub const SPOKE_ROLE_UNTRUSTED: Explanation = (
    "The hub cannot assume the spoke role in this account (not deployed, or the external id does not match).",
    "Deploy infra/spoke.yaml in the account (or the StackSet) with the hub account id and the configured external id.",
);

// Placing a joined account.

pub const OU_NOT_FOUND: Explanation = (
    "The organizational unit the enrollment names does not exist in the target organization.",
    "Create the OU in the target organization (AWS Organizations > AWS accounts > Actions > Create new), with the path or id the blocker's raw message names; the placer moves the account on its next run.",
);
pub const NOT_JOINED_THROUGH_ONBOARDING: Explanation = (
    "The account is in the target organization, but no invitation of this onboarding brought it in: it may be one of the target's own accounts.",
    "Nothing is moved or tagged. If it is one of the target's own accounts, it was enrolled by mistake and stays where it is; if a person invited it outside the product, place and tag it yourself.",
);
pub const ACCESS_ROLE_MISSING: Explanation = (
    "The target management account cannot assume the access role in this account.",
    "Deploy infra/spoke.yaml in the account with CreateAccessRole=true, or, if the account already has the role (accounts their old organization created do, trusting the old management account), change its trust policy to the target management account; the placer checks again on its next run.",
);
// Predicted by the preflight.

pub const ENROLLMENT_MISMATCH: Explanation = (
    "The account's role in its organization is not the one the enrollment gives it (a management account enrolled as a member, a member enrolled as a management account or under another management account, a standalone account that is in an organization).",
    "Read the detail on this blocker for where the account really is, then enroll it again with the right role (onboardctl enroll ... --management / --member / --standalone) in the right enrollment.",
);
pub const DELEGATED_ADMINISTRATOR: Explanation = (
    "The account is a delegated administrator of its old organization, which must be deregistered before it can leave.",
    "From the old management account, list its services (aws organizations list-delegated-services-for-account --account-id ID) and deregister each (aws organizations deregister-delegated-administrator --account-id ID --service-principal PRINCIPAL), after moving that administration elsewhere.",
);

// The billing transfer (billing mode).

pub const TRANSFER_TERMINATED: Explanation = (
    "The billing transfer was ended: the target organization no longer pays this organization's bill from the end date on this blocker.",
    "Ask both management accounts why it was ended (AWS Organizations > Responsibility transfers shows who ended it). To transfer again, enroll the management account again with --mode billing: a new invitation is sent.",
);
pub const UNKNOWN_ERROR: Explanation = (
    "AWS refused the call for a reason this tool does not know.",
    "Read the raw error code and message on this blocker and act on them; then retry.",
);
