//! The placer on the emulator: a standalone customer joins the target organization
//! through the real inviter and acceptor, then the placer moves it into its OU (by id and
//! by path), applies its tags and assumes the access role, with the hub's own clients.
//! Each blocker (a missing OU, a missing access role) clears once a person fixes it, a
//! re-run changes nothing, and a placed account a person moves afterwards is left alone.

mod common;

use std::collections::BTreeMap;

use onboarding::config::DEFAULT_ACCESS_ROLE_NAME;
use onboarding::domain::{BlockerCode, OuRef, Phase, Placement, Step};
use onboarding::notifications::{self as n, AccountPlaced, Detail as _};
use onboarding::placer::PlacerOutcome;

use onboarding_e2e::accounts::AwsAccount;
use onboarding_e2e::counter::CallCounter;
use onboarding_e2e::hub::Hub;
use onboarding_e2e::Emulator;

use common::*;

/// The placement of an enrollment asking for `ou` and the tag team=data.
fn placement(ou: &str) -> Placement {
    Placement {
        ou: Some(OuRef::parse(ou).unwrap()),
        tags: BTreeMap::from([("team".to_owned(), "data".to_owned())]),
        ..Placement::default()
    }
}

/// A standalone customer enrolled with `placement`, invited and accepted by the real
/// functions: joined, not yet placed. With `access_role`, the account has the role.
async fn joined_customer(
    emulator: &Emulator,
    hub: &Hub,
    enrollment: &str,
    placement: Placement,
    access_role: bool,
) -> AwsAccount {
    let customer = AwsAccount::create_unique(emulator).await.unwrap();
    hub.add_spoke(&customer).await.unwrap();
    if access_role {
        hub.grant_access(&customer).await.unwrap();
    }
    let mut enrolled = standalone_enrollment(enrollment, customer.account_id());
    enrolled.placement = placement;
    hub.enroll(&enrolled).await.unwrap();
    let id = acct(customer.account_id());
    hub.inviter().process(&id, false).await.unwrap();
    hub.acceptor().process(&id).await.unwrap();
    let record = record_of(&hub.store(), customer.account_id()).await;
    assert_eq!(record.phase, Phase::Joined);
    assert!(record.placed.is_none(), "an OU was asked: not placed yet");
    customer
}

/// Creates the OUs of `path` (names from the root down) in the target; their ids, in order.
async fn create_units(hub: &Hub, path: &[&str]) -> Vec<String> {
    let mut parent = hub.account.root_id().await.unwrap();
    let mut ids = Vec::new();
    for name in path {
        parent = hub
            .account
            .create_organizational_unit(&parent, name)
            .await
            .unwrap();
        ids.push(parent.clone());
    }
    ids
}

/// The placer's own calls (Organizations and STS) among `calls`, each counted, zero too.
fn placing_calls(calls: &BTreeMap<String, usize>) -> BTreeMap<&'static str, usize> {
    [
        "ListParents",
        "ListRoots",
        "ListOrganizationalUnitsForParent",
        "MoveAccount",
        "ListTagsForResource",
        "TagResource",
        "AssumeRole",
    ]
    .into_iter()
    .map(|op| (op, calls.get(op).copied().unwrap_or(0)))
    .collect()
}

async fn place(hub: &Hub, account: &AwsAccount) -> PlacerOutcome {
    hub.placer()
        .place(&acct(account.account_id()))
        .await
        .unwrap()
}

/// The `Account Placed` notifications published (their account ids).
fn placed_accounts(published: &[serde_json::Value]) -> Vec<String> {
    published
        .iter()
        .filter_map(|event| AccountPlaced::from_event(event).ok())
        .map(|placed| placed.context.account_id.to_string())
        .collect()
}

#[tokio::test]
async fn accounts_are_placed_by_path_and_by_id_tagged_and_reachable_and_a_rerun_changes_nothing() {
    let (emulator, _recorder, hub) = hub("place").await;
    let queue = notifications(&hub).await;
    let root = hub.account.root_id().await.unwrap();
    let [customers_ou, acme] =
        <[String; 2]>::try_from(create_units(&hub, &["Customers", "Acme"]).await).unwrap();
    let by_path = joined_customer(emulator, &hub, "acme", placement("Customers/Acme"), true).await;
    let by_id = joined_customer(emulator, &hub, "globex", placement(&customers_ou), true).await;
    assert_eq!(
        hub.account.parent_of(by_path.account_id()).await.unwrap(),
        root
    );

    let counter = CallCounter::default();
    assert_eq!(
        hub.counted_placer(&counter)
            .place(&acct(by_path.account_id()))
            .await
            .unwrap(),
        PlacerOutcome::Placed {
            placed_in: Some(acme.clone())
        }
    );
    let calls = counter.counts();
    let placing = placing_calls(&calls);
    assert_eq!(
        placing,
        BTreeMap::from([
            ("AssumeRole", 1),
            ("ListOrganizationalUnitsForParent", 2),
            ("ListParents", 1),
            ("ListRoots", 1),
            ("ListTagsForResource", 1),
            ("MoveAccount", 1),
            ("TagResource", 1),
        ]),
        "a first placement by a two-level path: {calls:?}"
    );
    println!("placer calls for one account placed by path: {calls:?}");
    assert_eq!(
        place(&hub, &by_id).await,
        PlacerOutcome::Placed {
            placed_in: Some(customers_ou.clone())
        }
    );
    assert_eq!(
        hub.account.parent_of(by_path.account_id()).await.unwrap(),
        acme
    );
    assert_eq!(
        hub.account.parent_of(by_id.account_id()).await.unwrap(),
        customers_ou
    );
    let tags = hub
        .account
        .account_tags(by_path.account_id())
        .await
        .unwrap();
    assert_eq!(tags["team"], "data");
    assert_eq!(tags["org-onboarding:enrollment"], "acme");
    assert_eq!(tags["org-onboarding:source-organization"], "none");

    let record = record_of(&hub.store(), by_path.account_id()).await;
    let placed = record.placed.clone().expect("placed");
    assert_eq!(placed.placed_in.as_deref(), Some(acme.as_str()));
    assert_eq!(
        placed.access_role.as_deref(),
        Some(DEFAULT_ACCESS_ROLE_NAME)
    );
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["ou"], "Customers/Acme");
    assert_eq!(json["tags"]["team"], "data");
    assert_eq!(json["placed"]["placed_in"], acme.as_str());

    let published = drain_all(&queue).await;
    let mut placed = placed_accounts(&published);
    placed.sort();
    let mut expected = vec![
        by_path.account_id().to_owned(),
        by_id.account_id().to_owned(),
    ];
    expected.sort();
    assert_eq!(placed, expected, "one Account Placed each");
    let completed: Vec<&serde_json::Value> = published
        .iter()
        .filter(|e| e["detail-type"] == n::ENROLLMENT_COMPLETED)
        .collect();
    assert_eq!(
        completed.len(),
        2,
        "each one-account enrollment completed once placed"
    );

    // A re-run, one account and the sweep: nothing moves, nothing is written.
    assert_eq!(place(&hub, &by_path).await, PlacerOutcome::AlreadyPlaced);
    let swept = hub.placer().sweep().await.unwrap();
    assert!(
        swept.done.is_empty(),
        "no joined account awaits placing: {swept:?}"
    );
    assert_eq!(
        record_of(&hub.store(), by_path.account_id()).await.version,
        record.version
    );
    assert!(placed_accounts(&drain_all(&queue).await).is_empty());
}

#[tokio::test]
async fn a_missing_ou_blocks_with_its_remediation_and_clears_once_it_is_created() {
    let (emulator, _recorder, hub) = hub("place-ou").await;
    let customer = joined_customer(
        emulator,
        &hub,
        "initech",
        placement("Customers/Initech"),
        true,
    )
    .await;

    assert_eq!(
        place(&hub, &customer).await,
        PlacerOutcome::Blocked {
            codes: vec![BlockerCode::OuNotFound]
        }
    );
    let record = record_of(&hub.store(), customer.account_id()).await;
    let blocker = &record.blockers[0];
    assert_eq!(
        (blocker.code, blocker.step),
        (BlockerCode::OuNotFound, Step::Place)
    );
    assert!(
        blocker.remediation.contains("Create the OU"),
        "{}",
        blocker.remediation
    );
    assert!(
        blocker
            .raw_message
            .as_deref()
            .is_some_and(|m| m.contains("Customers/Initech") && m.contains("\"Customers\"")),
        "the message names the path and the missing unit: {blocker:?}"
    );
    assert!(record.placed.is_none());
    // Tags do not wait for the OU.
    let tags = hub
        .account
        .account_tags(customer.account_id())
        .await
        .unwrap();
    assert_eq!(tags["team"], "data");

    // The same problem again writes nothing.
    place(&hub, &customer).await;
    assert_eq!(
        record_of(&hub.store(), customer.account_id()).await.version,
        record.version
    );

    let initech = create_units(&hub, &["Customers", "Initech"])
        .await
        .pop()
        .unwrap();
    let swept = hub.placer().sweep().await.unwrap();
    assert_eq!(
        swept.done,
        [(
            acct(customer.account_id()),
            PlacerOutcome::Placed {
                placed_in: Some(initech.clone())
            }
        )]
    );
    let record = record_of(&hub.store(), customer.account_id()).await;
    assert!(record.blockers.is_empty(), "{:?}", record.blockers);
    assert_eq!(
        hub.account.parent_of(customer.account_id()).await.unwrap(),
        initech
    );
}

#[tokio::test]
async fn a_missing_access_role_blocks_and_clears_once_the_role_exists() {
    let (emulator, _recorder, hub) = hub("place-role").await;
    let ou = create_units(&hub, &["Acquired"]).await.pop().unwrap();
    let customer = joined_customer(emulator, &hub, "hooli", placement("Acquired"), false).await;

    assert_eq!(
        place(&hub, &customer).await,
        PlacerOutcome::Blocked {
            codes: vec![BlockerCode::AccessRoleMissing]
        }
    );
    let record = record_of(&hub.store(), customer.account_id()).await;
    assert_eq!(record.blockers[0].code, BlockerCode::AccessRoleMissing);
    assert!(record.blockers[0]
        .raw_message
        .as_deref()
        .is_some_and(|m| m.contains(&format!(
            "arn:aws:iam::{}:role/{DEFAULT_ACCESS_ROLE_NAME}",
            customer.account_id()
        ))));
    assert_eq!(
        hub.account.parent_of(customer.account_id()).await.unwrap(),
        ou,
        "the move does not wait for the role"
    );

    hub.grant_access(&customer).await.unwrap();
    assert_eq!(
        place(&hub, &customer).await,
        PlacerOutcome::Placed {
            placed_in: Some(ou)
        }
    );
    assert!(record_of(&hub.store(), customer.account_id())
        .await
        .blockers
        .is_empty());
}

#[tokio::test]
async fn a_placed_account_a_person_moves_afterwards_is_left_where_they_put_it() {
    let (emulator, _recorder, hub) = hub("place-moved").await;
    let landing = create_units(&hub, &["Landing"]).await.pop().unwrap();
    let production = create_units(&hub, &["Production"]).await.pop().unwrap();
    let customer = joined_customer(emulator, &hub, "umbrella", placement("Landing"), true).await;
    assert!(matches!(
        place(&hub, &customer).await,
        PlacerOutcome::Placed { .. }
    ));

    // A person moves it on to Production and drops a tag.
    hub.account
        .organizations()
        .move_account()
        .account_id(customer.account_id())
        .source_parent_id(&landing)
        .destination_parent_id(&production)
        .send()
        .await
        .unwrap();
    hub.account
        .organizations()
        .untag_resource()
        .resource_id(customer.account_id())
        .tag_keys("team")
        .send()
        .await
        .unwrap();

    assert_eq!(place(&hub, &customer).await, PlacerOutcome::AlreadyPlaced);
    assert!(hub.placer().sweep().await.unwrap().done.is_empty());
    assert_eq!(
        hub.account.parent_of(customer.account_id()).await.unwrap(),
        production
    );
    assert!(!hub
        .account
        .account_tags(customer.account_id())
        .await
        .unwrap()
        .contains_key("team"));
}

#[tokio::test]
async fn an_enrollment_asking_no_ou_and_no_tag_is_placed_only_once_the_target_can_reach_it() {
    let (emulator, _recorder, hub) = hub("place-none").await;
    let queue = notifications(&hub).await;
    let customer = AwsAccount::create_unique(emulator).await.unwrap();
    hub.add_spoke(&customer).await.unwrap();
    hub.enroll(&standalone_enrollment("plain", customer.account_id()))
        .await
        .unwrap();
    let id = acct(customer.account_id());
    hub.inviter().process(&id, false).await.unwrap();
    hub.acceptor().process(&id).await.unwrap();
    let record = record_of(&hub.store(), customer.account_id()).await;
    assert_eq!(record.phase, Phase::Joined);
    assert!(record.placed.is_none(), "joined, not yet reachable");

    // The e-mail promises the target can reach the account: no access role, no placement.
    assert_eq!(
        place(&hub, &customer).await,
        PlacerOutcome::Blocked {
            codes: vec![BlockerCode::AccessRoleMissing]
        }
    );
    hub.grant_access(&customer).await.unwrap();
    assert_eq!(
        place(&hub, &customer).await,
        PlacerOutcome::Placed { placed_in: None }
    );
    let placed = record_of(&hub.store(), customer.account_id())
        .await
        .placed
        .expect("placed");
    assert_eq!(
        (placed.placed_in, placed.access_role.as_deref()),
        (None, Some(DEFAULT_ACCESS_ROLE_NAME))
    );
    assert_eq!(
        placed_accounts(&drain_all(&queue).await),
        [customer.account_id()]
    );
    assert_eq!(place(&hub, &customer).await, PlacerOutcome::AlreadyPlaced);
}
