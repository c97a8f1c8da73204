//! Replays the CloudTrail fixtures, as a story, through the pure domain and prints every
//! account's record as a table. No AWS, no emulator: the domain alone.

use std::collections::BTreeMap;

use chrono::Utc;
use onboarding::cloudtrail::parse_event_str;
use onboarding::domain::*;

const STORY: &[&str] = &[
    "leave-organization-payment-instrument-required.json",
    "leave-organization.json",
    "remove-account-from-organization.json",
    "delete-organization-not-empty.json",
    "delete-organization.json",
    "invite-account-to-organization-foreign.json",
    "invite-account-to-organization.json",
    "accept-handshake.json",
];

fn main() -> anyhow::Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/cloudtrail");
    let target = Target {
        organization: OrganizationId::parse("o-exampleorgid")?,
        management_account: AccountId::parse("111111111111")?,
    };
    let enrollment = Enrollment {
        name: EnrollmentName::parse("acme")?,
        transfer_mode: TransferMode::Standalone,
        management_account: Some(AccountId::parse("222222222222")?),
        members: vec![
            AccountId::parse("333333333333")?,
            AccountId::parse("444444444444")?,
        ],
        standalone_accounts: vec![AccountId::parse("555555555555")?],
    };
    let mut records: BTreeMap<AccountId, OnboardingRecord> = enrollment
        .records(Utc::now())?
        .into_iter()
        .map(|r| (r.account_id.clone(), r))
        .collect();
    for file in STORY {
        let event = parse_event_str(&std::fs::read_to_string(dir.join(file))?)?;
        let Some(record) = records.get(&event.account) else {
            continue;
        };
        let transition = apply(record, &event, &target, Utc::now());
        for note in &transition.notifications {
            println!("{file:<55} {} {}", event.account, describe(note));
        }
        records.insert(event.account.clone(), transition.record);
    }
    println!(
        "\n{:<14} {:<11} {:<22} BLOCKERS",
        "ACCOUNT", "ROLE", "PHASE",
    );
    for record in records.values() {
        let blockers: Vec<&str> = record.blockers.iter().map(|b| b.message.as_str()).collect();
        println!(
            "{:<14} {:<11} {:<22} {}",
            record.account_id,
            record.role.as_str(),
            record.phase,
            blockers.join("; ")
        );
    }
    Ok(())
}

fn describe(note: &Notification) -> String {
    match note {
        Notification::PhaseChanged { from, to, .. } => format!("phase {from} -> {to}"),
        Notification::Blocked { blockers } => format!("blocked: {}", blockers[0].code),
        Notification::Unblocked { cleared } => {
            format!(
                "unblocked: {}",
                cleared
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        Notification::AccountJoined => "joined the target organization".into(),
        Notification::UnexpectedInvitation { reason, .. } => {
            format!("unexpected invitation: {reason}")
        }
    }
}
