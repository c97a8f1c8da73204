//! The e-mails: the plain text a person reads for each notification they must see, and
//! template.yaml's rules that send it. EventBridge turns the event into the text with an
//! input transformer (each `<name>` is a path of the `detail`); the SNS topic e-mails it.
//! The hub bus keeps the full JSON for machines.
//!
//! template.yaml's blocks between `# begin generated <name>` and `# end generated <name>`
//! are [`template_blocks`]' output: `make notification-rules` writes them and
//! tests/tests/template_contract.rs fails when they differ.

use super::NotificationKind;

/// What EventBridge e-mails for one detail-type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Email {
    /// What the e-mail tells, ending the rule's description "E-mails, as plain text, …".
    pub tells: &'static str,
    /// Each placeholder of the text and the path of the `detail` it reads. An input
    /// transformer cannot loop over a list: texts show the first blocker and point to
    /// `onboardctl show` for the rest.
    pub fields: &'static [(&'static str, &'static str)],
    pub text: &'static str,
}

/// The context fields most account e-mails start with.
const ACCOUNT: (&str, &str) = ("account", "account_id");
const ENROLLMENT: (&str, &str) = ("enrollment", "enrollment");
const ROLE: (&str, &str) = ("role", "role");
const PHASE: (&str, &str) = ("phase", "phase");

impl NotificationKind {
    /// The e-mail a person receives, or `None` for notifications meant for machines and
    /// dashboards (phase changes, unblocks) and for those the enrollment's `Onboarding
    /// Digest` tells (unexpected invitations; see [`super::digest`]).
    pub const fn email(self) -> Option<Email> {
        use NotificationKind::*;
        let email = match self {
            PhaseChanged | Unblocked | UnexpectedInvitation => return None,
            Blocked => Email {
                tells: "that an account is blocked and a person must act.",
                fields: &[
                    ACCOUNT,
                    ENROLLMENT,
                    ROLE,
                    PHASE,
                    ("code", "new_blockers[0].code"),
                    ("message", "new_blockers[0].message"),
                    ("remediation", "new_blockers[0].remediation"),
                ],
                text: "Account <account> (<role>, enrollment <enrollment>) is blocked in phase <phase>.\n\n\
                       What happened: <code>: <message>\n\n\
                       What to do: <remediation>\n\n\
                       The account moves on by itself once this is fixed. Every blocker of the account: onboardctl show <account>",
            },
            AccountJoined => Email {
                tells: "that an account joined the target organization.",
                fields: &[ACCOUNT, ENROLLMENT, ROLE],
                text: "Account <account> (<role>, enrollment <enrollment>) joined the target organization. Nothing to do.",
            },
            Stalled => Email {
                tells: "that an account has made no progress for too long.",
                fields: &[
                    ACCOUNT,
                    ENROLLMENT,
                    ROLE,
                    PHASE,
                    ("since", "stalled_since"),
                    ("code", "blockers[0].code"),
                    ("message", "blockers[0].message"),
                    ("remediation", "blockers[0].remediation"),
                ],
                text: "Account <account> (<role>, enrollment <enrollment>) has made no progress in phase <phase> since <since>.\n\n\
                       What stops it: <code>: <message>\n\n\
                       What to do: <remediation>\n\n\
                       With no blocker shown, no step was refused: the account waits for a person or for AWS. Every blocker and the history: onboardctl show <account>",
            },
            InvitationExpiring => Email {
                tells: "that an account's invitation closes soon and is not accepted yet.",
                fields: &[
                    ACCOUNT,
                    ENROLLMENT,
                    ROLE,
                    ("handshake", "expiring_handshake_id"),
                    ("expires", "expires_at"),
                    ("code", "blockers[0].code"),
                    ("message", "blockers[0].message"),
                    ("remediation", "blockers[0].remediation"),
                ],
                text: "Account <account> (<role>, enrollment <enrollment>) has not accepted invitation <handshake> yet; it expires at <expires>.\n\n\
                       What stops it: <code>: <message>\n\n\
                       What to do: <remediation>\n\n\
                       If it expires, the inviter sends a new one, which uses one more invitation of the daily quota. Every blocker: onboardctl show <account>",
            },
            AccountPlaced => Email {
                tells: "that an account is placed, tagged and reachable: onboarded.",
                fields: &[ACCOUNT, ENROLLMENT, ROLE, ("placed_in", "placed_in")],
                text: "Account <account> (<role>, enrollment <enrollment>) is onboarded: in its OU (<placed_in>; null when the enrollment asked for none), tagged, and reachable by the target. Nothing to do.",
            },
            BillingTransferred => Email {
                tells: "that a customer organization's bill is transferred to the target organization.",
                fields: &[
                    ACCOUNT,
                    ENROLLMENT,
                    ("transfer", "transfer_id"),
                    ("starts", "starts_at"),
                ],
                // Named by its management account: the organization's id may not be known
                // yet (null in the detail).
                text: "The bill of the organization managed by account <account> (enrollment <enrollment>) is transferred to the target organization: transfer <transfer>, from <starts>.\n\n\
                       The organization and its members stay as they are; onboarding of this account is complete. Nothing to do.",
            },
            EnrollmentCompleted => Email {
                tells: "that every account of an enrollment finished its move.",
                fields: &[ENROLLMENT, ("accounts", "accounts")],
                // One text for every transfer mode: a billing transfer joins nothing.
                text: "Enrollment <enrollment> is complete: each of its <accounts> accounts finished its move \
                       (joined the target organization and placed, or its organization's bill transferred). \
                       Nothing to do; onboardctl report --enrollment <enrollment> gives the page to share.",
            },
            OnboardingDigest => Email {
                tells: "what a run found about an enrollment's accounts: those that began waiting for an invitation slot, invitations from other organizations (never accepted).",
                fields: &[
                    ENROLLMENT,
                    ("function", "function"),
                    ("summary", "summary"),
                ],
                text: "Enrollment <enrollment>, in a run of the <function>:\n\n\
                       <summary>\n\n\
                       This is one e-mail for the run, not one per account. Every account, its blockers and its place in line: onboardctl status --enrollment <enrollment>; one account and its history: onboardctl show ACCOUNT",
            },
            PreflightCompleted => Email {
                tells: "what a preflight predicts for an enrollment's accounts before they leave their organization.",
                fields: &[
                    ENROLLMENT,
                    ("accounts", "accounts"),
                    ("blocked", "accounts_blocked"),
                    ("policies", "policies"),
                    ("with_policies", "accounts_with_policies"),
                    ("checks", "checks"),
                    ("unreachable", "unreachable"),
                ],
                text: "Preflight of enrollment <enrollment>: <accounts> accounts checked before they leave their organization.\n\n\
                       Predicted blockers: <blocked> accounts have at least one (AWS would refuse a step until it is fixed).\n\
                       Policies that trust the old organization: <policies>, in <with_policies> accounts; they stop matching after the move.\n\
                       Items a person must look at (what no API answers, reads that were refused): <checks>.\n\
                       Accounts the spoke role could not reach: <unreachable>.\n\n\
                       What to do: fix the predicted blockers and change those policies before the accounts leave. \
                       Each account, with its remediation: onboardctl status --enrollment <enrollment> --blocked, then onboardctl show ACCOUNT",
            },
        };
        Some(email)
    }

    /// What this kind's e-mail rule further asks of the event's `detail`: each field with
    /// the YAML list of the values it matches. An `Onboarding Blocked` whose new blockers
    /// are all waits is the digest's to tell.
    pub const fn email_only_when(self) -> &'static [(&'static str, &'static str)] {
        match self {
            NotificationKind::Blocked => &[("in_digest", "[false]")],
            _ => &[],
        }
    }

    /// template.yaml's logical id of this kind's e-mail rule.
    pub fn email_rule(self) -> String {
        format!("Notification{}Rule", self.name())
    }
}

/// The kinds a person must see, in [`NotificationKind::ALL`]'s order.
pub const EMAILED_KINDS: [NotificationKind; emailed_count()] = emailed_kinds();

const fn emailed_count() -> usize {
    let mut count = 0;
    let mut i = 0;
    while i < NotificationKind::ALL.len() {
        if NotificationKind::ALL[i].email().is_some() {
            count += 1;
        }
        i += 1;
    }
    count
}

const fn emailed_kinds() -> [NotificationKind; emailed_count()] {
    let mut kinds = [NotificationKind::Blocked; emailed_count()];
    let (mut i, mut next) = (0, 0);
    while i < NotificationKind::ALL.len() {
        if NotificationKind::ALL[i].email().is_some() {
            kinds[next] = NotificationKind::ALL[i];
            next += 1;
        }
        i += 1;
    }
    kinds
}

/// template.yaml's generated blocks, by name: the e-mail rules, and the list of their
/// ARNs that the topic and the dead-letter queue admit (each list at its indentation).
pub fn template_blocks() -> Vec<(&'static str, String)> {
    vec![
        ("notification e-mail rules", rules_yaml()),
        ("notification e-mail rule arns", rule_arns_yaml(18)),
    ]
}

fn rules_yaml() -> String {
    EMAILED_KINDS
        .iter()
        .filter_map(|kind| kind.email().map(|email| rule_yaml(*kind, &email)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn rule_yaml(kind: NotificationKind, email: &Email) -> String {
    let description = json_string(&format!("E-mails, as plain text, {}", email.tells));
    let only_when = kind.email_only_when();
    let detail: String = if only_when.is_empty() {
        String::new()
    } else {
        let fields: String = only_when
            .iter()
            .map(|(field, values)| format!("\n          {field}: {values}"))
            .collect();
        format!("\n        detail:{fields}")
    };
    let paths: String = email
        .fields
        .iter()
        .map(|(name, path)| format!("              {name}: \"$.detail.{path}\"\n"))
        .collect();
    // A JSON string inside a single-quoted YAML scalar, where a quote is doubled.
    let template = json_string(email.text).replace('\'', "''");
    format!(
        "  {rule}:
    Type: AWS::Events::Rule
    Properties:
      Description: {description}
      EventBusName: !Ref HubEventBus
      EventPattern:
        source: [{source}]
        detail-type: [{detail_type}]{detail}
      State: ENABLED
      Targets:
        - Id: NotificationTopic
          Arn: !Ref NotificationTopic
          DeadLetterConfig:
            Arn: !GetAtt NotificationDeadLetterQueue.Arn
          RetryPolicy:
            MaximumRetryAttempts: 185
            MaximumEventAgeInSeconds: 86400
          InputTransformer:
            InputPathsMap:
{paths}            InputTemplate: '{template}'
",
        rule = kind.email_rule(),
        source = super::SOURCE,
        detail_type = kind.detail_type(),
    )
}

fn rule_arns_yaml(indent: usize) -> String {
    EMAILED_KINDS
        .iter()
        .map(|kind| format!("{:indent$}- !GetAtt {}.Arn\n", "", kind.email_rule()))
        .collect()
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}
