//! `make bench-scale`: the product at 1,000 and at 10,000 accounts on the local emulator.
//! For each size it enrolls the accounts from a CSV-shaped list in batches (as
//! `onboardctl enroll --file` does), replays four CloudTrail events per account through the
//! tracker (the invitation, its redelivery, the acceptance, the target's
//! `AccountJoinedOrganization`), runs the inviter's and the acceptor's sweeps and reads the
//! status, then prints events per second, the DynamoDB, EventBridge and Organizations calls
//! per event, and the growth ratio (time per event at 10,000 ÷ at 1,000, which must stay
//! under 1.5). A benchmark, not a test: it prints figures and exits 1 only if the ratio is
//! over 1.5 or a step fails.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use onboarding::domain::{AccountId, Enrollment, EnrollmentName, Phase, TransferMode};
use onboarding::ports::RecordStore;
use onboarding::tracker::Outcome;
use onboarding_e2e::counter::CallCounter;
use onboarding_e2e::hub::Hub;
use onboarding_e2e::{Emulator, Recorder};
use serde_json::Value;

/// The fixtures replayed for every account, in order.
const EVENTS: [&str; 4] = [
    "invite-account-to-organization.json",
    "invite-account-to-organization.json",
    "accept-handshake.json",
    "service-event-account-joined-organization.json",
];

struct Figures {
    accounts: usize,
    enroll: Duration,
    events: usize,
    replay: Duration,
    calls: std::collections::BTreeMap<String, usize>,
    sweeps: Duration,
    status: Duration,
    /// The emulator's own latency at this table size: a key read, a one-item transaction.
    get_item: Duration,
    transaction: Duration,
}

impl Figures {
    fn per_event(&self) -> Duration {
        self.replay / self.events as u32
    }
}

fn main() -> ExitCode {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000]
    } else {
        sizes
    };
    let emulator = match Emulator::start() {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("bench-scale: cannot start the emulator: {error:#}");
            return ExitCode::from(2);
        }
    };
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")
        .and_then(|runtime| runtime.block_on(measure_all(&emulator, &sizes)));
    emulator.stop();
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("bench-scale: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn measure_all(emulator: &Emulator, sizes: &[usize]) -> Result<bool> {
    let mut all = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let figures = measure(emulator, *size, i).await?;
        print(&figures);
        all.push(figures);
    }
    let (Some(first), Some(last)) = (all.first(), all.last()) else {
        return Ok(true);
    };
    let ratio = last.per_event().as_secs_f64() / first.per_event().as_secs_f64();
    println!(
        "growth ratio (time per event at {} ÷ at {}): {ratio:.2} (must stay under 1.5)",
        last.accounts, first.accounts
    );
    Ok(ratio < 1.5)
}

async fn measure(emulator: &Emulator, size: usize, run: usize) -> Result<Figures> {
    let recorder = Recorder::new(emulator);
    let hub = Hub::create(emulator, &recorder, &format!("scale{run}")).await?;
    let accounts: Vec<AccountId> = (0..size)
        .map(|i| {
            AccountId::parse(format!(
                "{}",
                700_000_000_000u64 + (run * 100_000 + i) as u64
            ))
        })
        .collect::<Result<_, _>>()?;
    let enrollment = Enrollment {
        name: EnrollmentName::parse(format!("scale-{size}"))?,
        transfer_mode: TransferMode::Standalone,
        management_account: None,
        members: Vec::new(),
        standalone_accounts: accounts.clone(),
    };
    let started = Instant::now();
    hub.store()
        .create_many(&enrollment.records(chrono::Utc::now())?)
        .await?;
    let enroll = started.elapsed();

    let counter = CallCounter::default();
    let tracker = hub.counted_tracker(&counter);
    let texts: Vec<String> = EVENTS
        .iter()
        .map(|name| onboarding::fixtures::text(name))
        .collect();
    let started = Instant::now();
    let mut events = 0;
    for account in &accounts {
        for (n, text) in texts.iter().enumerate() {
            let event = rewrite(text, &hub, account, n);
            let outcome = tracker.handle_json(&event).await?;
            anyhow::ensure!(
                !matches!(outcome, Outcome::Rejected { .. } | Outcome::Ignored { .. }),
                "{account}: {outcome:?}"
            );
            events += 1;
        }
    }
    let replay = started.elapsed();
    let calls = counter.counts();

    let started = Instant::now();
    hub.inviter().sweep().await?;
    hub.acceptor().sweep().await?;
    let sweeps = started.elapsed();
    let started = Instant::now();
    let counts = hub.store().load_counts(&enrollment.name).await?;
    let listed = hub.store().list_by_enrollment(&enrollment.name).await?;
    let status = started.elapsed();
    anyhow::ensure!(
        counts.in_phase(Phase::Joined) == size as i64 && listed.len() == size,
        "not every account joined: {counts:?}"
    );
    let (get_item, transaction) = emulator_latency(&hub, &accounts[0]).await?;
    Ok(Figures {
        get_item,
        transaction,
        accounts: size,
        enroll,
        events,
        replay,
        calls,
        sweeps,
        status,
    })
}

/// The emulator's latency for a consistent GetItem of a record and a TransactWriteItems of
/// one conditional put, 200 of each: what the product's time per event is made of.
async fn emulator_latency(hub: &Hub, account: &AccountId) -> Result<(Duration, Duration)> {
    use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
    let client = aws_sdk_dynamodb::Client::new(hub.account.config());
    let key = |pk: String, sk: &str| {
        [("pk", pk), ("sk", sk.to_owned())]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), AttributeValue::S(v)))
            .collect::<std::collections::HashMap<_, _>>()
    };
    let started = Instant::now();
    for _ in 0..200 {
        client
            .get_item()
            .table_name(&hub.table)
            .set_key(Some(key(format!("ACCOUNT#{account}"), "RECORD")))
            .consistent_read(true)
            .send()
            .await?;
    }
    let get_item = started.elapsed() / 200;
    let started = Instant::now();
    for i in 0..200 {
        let put = Put::builder()
            .table_name(&hub.table)
            .set_item(Some(key(format!("LATENCY#{i}"), "PROBE")))
            .condition_expression("attribute_not_exists(pk)")
            .build()?;
        client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await?;
    }
    Ok((get_item, started.elapsed() / 200))
}

/// The fixture as an event about `account` in the hub's organization, with its own ids.
fn rewrite(text: &str, hub: &Hub, account: &AccountId, n: usize) -> Value {
    let text = text
        .replace("111111111111", hub.target.management_account.as_str())
        .replace("o-exampleorgid", hub.target.organization.as_str())
        .replace("555555555555", account.as_str())
        .replace(
            "h-examplehandshakeid111",
            &format!("h-scale{}", account.as_str()),
        );
    let mut event: Value = serde_json::from_str(&text).expect("a fixture is JSON");
    // The invitation's redelivery keeps its id; every other event has its own.
    let copy = if n == 1 { 0 } else { n };
    let id = format!("scale-{account}-{copy}");
    event["detail"]["eventID"] = Value::from(id.clone());
    event["id"] = Value::from(id);
    event
}

fn print(figures: &Figures) {
    let per_event = |n: usize| n as f64 / figures.events as f64;
    println!("\n{} accounts:", figures.accounts);
    println!(
        "  enroll (batches of 99):  {:.2} s",
        figures.enroll.as_secs_f64()
    );
    println!(
        "  replay:                  {} events in {:.1} s: {:.0} events/s, {:.2} ms per event",
        figures.events,
        figures.replay.as_secs_f64(),
        figures.events as f64 / figures.replay.as_secs_f64(),
        figures.per_event().as_secs_f64() * 1000.0
    );
    for (operation, count) in &figures.calls {
        println!("  {operation:<24} {:.2} per event", per_event(*count));
    }
    println!(
        "  sweeps (inviter, acceptor): {:.2} s",
        figures.sweeps.as_secs_f64()
    );
    println!(
        "  status (counters + listing): {:.2} s",
        figures.status.as_secs_f64()
    );
    println!(
        "  emulator at this size:   GetItem {:.2} ms, one-item TransactWriteItems {:.2} ms",
        figures.get_item.as_secs_f64() * 1000.0,
        figures.transaction.as_secs_f64() * 1000.0
    );
}
