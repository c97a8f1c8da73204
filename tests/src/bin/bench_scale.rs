//! `make bench-scale`: the product at 1,000 and at 10,000 accounts on the local emulator.
//!
//! For each size N it enrolls N accounts in batches (as `onboardctl enroll --file` does),
//! replays four CloudTrail events through the tracker (the invitation, its redelivery, the
//! acceptance, the target's `AccountJoinedOrganization`) for a sample of K standalone
//! accounts spread over the enrollment, the same K at every size (`--sample K`, default
//! 500; `--full` replays every account), runs the inviter's and the acceptor's sweeps and
//! reads the status, then runs one reconciler pass over the records not joined (each of which
//! knows its old organization, as after the preflight). The other N − K accounts are a management account and its members
//! still leaving their old organization, so the sweeps read every due account of the
//! N-account table and find none, as after a full replay. Usage:
//! `bench_scale [SIZE]... [--sample K] [--full]`.
//!
//! It prints, per size, the peak heap of each sweep (the inviter's, the acceptor's, the
//! placer's, the reconciler's pass: the most bytes live during it above those live before
//! it, counted by [`PeakHeap`] installed as this binary's allocator; the emulator is
//! another process), to hold against the functions' 128 MB; events per second and the DynamoDB, EventBridge and Organizations
//! calls per event with their time (an SDK interceptor, [`CallCounter`]), and two growth
//! ratios of the time per event, the last size ÷ the first:
//! - raw: wall clock. Emulator-bound: fakecloud copies the whole table in every
//!   TransactWriteItems (tests/README.md difference 15), so it does not decide the exit code;
//! - product: wall clock − the time in TransactWriteItems + their count × the one-item
//!   transaction latency measured at the first size, i.e. with the emulator's
//!   transaction growth taken out. That latency is itself far above DynamoDB's and damps
//!   the ratio, so the time outside TransactWriteItems is printed beside it.
//!
//! A benchmark, not a test: it exits 1 if a step fails, if the calls per event differ
//! between sizes or if the product ratio is 1.5 or more; 2 on a usage error.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use onboarding::adapters::organizations::{AmbientCredentials, SdkTargetOrganization};
use onboarding::domain::{AccountId, Enrollment, EnrollmentName, Phase, TransferMode};
use onboarding::ports::{CountReader, RecordCreator, RecordReader};
use onboarding::reconciler::{Reconciler, ReconcilerOutcome};
use onboarding::tracker::Outcome;
use onboarding_e2e::counter::CallCounter;
use onboarding_e2e::hub::Hub;
use onboarding_e2e::peak_heap::PeakHeap;
use onboarding_e2e::{Emulator, Recorder};
use serde_json::Value;

/// The fixtures replayed for every sampled account, in order.
const EVENTS: [&str; 4] = [
    "invite-account-to-organization.json",
    "invite-account-to-organization.json",
    "accept-handshake.json",
    "service-event-account-joined-organization.json",
];

#[global_allocator]
static HEAP: PeakHeap = PeakHeap;

const TRANSACT: &str = "TransactWriteItems";

const USAGE: &str = "usage: bench_scale [SIZE]... [--sample K] [--full]";

struct Args {
    sizes: Vec<usize>,
    /// Accounts replayed at each size; `None`: every account.
    sample: Option<usize>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut sizes = Vec::new();
    let mut sample = Some(500);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--full" => sample = None,
            "--sample" => {
                let k = args.next().and_then(|k| k.parse().ok()).filter(|&k| k > 0);
                sample = Some(k.ok_or("--sample needs a number of accounts above 0")?);
            }
            size => sizes.push(
                size.parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or(format!("not a size: {size}"))?,
            ),
        }
    }
    if sizes.is_empty() {
        sizes = vec![1_000, 10_000];
    }
    Ok(Args { sizes, sample })
}

struct Figures {
    accounts: usize,
    sampled: usize,
    enroll: Duration,
    events: usize,
    replay: Duration,
    calls: BTreeMap<String, usize>,
    /// Time spent in each operation's calls during the replay.
    time: BTreeMap<String, Duration>,
    sweeps: Duration,
    /// One reconciler pass over the records not joined, and its calls.
    reconcile: Duration,
    reconciled: usize,
    reconcile_calls: BTreeMap<String, usize>,
    status: Duration,
    /// The emulator's own latency at this table size: a key read, a one-item transaction.
    get_item: Duration,
    transaction: Duration,
}

impl Figures {
    fn per_event(&self) -> Duration {
        self.replay / self.events as u32
    }

    /// The time per event with each transaction counted at `transaction` instead of its
    /// time on the emulator.
    fn product_per_event(&self, transaction: Duration) -> Duration {
        let spent = self.time.get(TRANSACT).copied().unwrap_or_default();
        let count = self.calls.get(TRANSACT).copied().unwrap_or_default() as u32;
        (self.replay.saturating_sub(spent) + transaction * count) / self.events as u32
    }

    fn calls_per_event(&self) -> BTreeMap<&str, f64> {
        self.calls
            .iter()
            .map(|(op, n)| (op.as_str(), *n as f64 / self.events as f64))
            .collect()
    }
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(error) => {
            eprintln!("bench-scale: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let emulator = match Emulator::start() {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("bench-scale: cannot start the emulator: {error:#}");
            return ExitCode::from(1);
        }
    };
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")
        .and_then(|runtime| runtime.block_on(measure_all(&emulator, &args)));
    emulator.stop();
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("bench-scale: {error:#}");
            ExitCode::from(1)
        }
    }
}

async fn measure_all(emulator: &Emulator, args: &Args) -> Result<bool> {
    let mut all = Vec::new();
    for (run, size) in args.sizes.iter().enumerate() {
        let sampled = args.sample.map_or(*size, |k| k.min(*size));
        let figures = measure(emulator, *size, sampled, run).await?;
        print(&figures);
        all.push(figures);
    }
    let (Some(first), Some(last)) = (all.first(), all.last()) else {
        return Ok(true);
    };
    Ok(compare(first, last))
}

/// Prints the calls per event and both ratios of `last` to `first`; true if they pass.
fn compare(first: &Figures, last: &Figures) -> bool {
    let (a, b) = (first.calls_per_event(), last.calls_per_event());
    // To the printed precision: a full replay's one completion of the enrollment adds a
    // few calls in all, not per event.
    let rate = |calls: &BTreeMap<&str, f64>, op: &str| calls.get(op).copied().unwrap_or(0.0);
    let same_calls = a
        .keys()
        .chain(b.keys())
        .all(|op| (rate(&a, op) - rate(&b, op)).abs() < 0.01);
    let baseline = first.transaction;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let raw = last.per_event().as_secs_f64() / first.per_event().as_secs_f64();
    let product = last.product_per_event(baseline).as_secs_f64()
        / first.product_per_event(baseline).as_secs_f64();
    let (n1, n2) = (first.accounts, last.accounts);
    println!();
    if same_calls {
        println!("calls per event: the same at {n1} and at {n2} accounts");
    } else {
        println!("calls per event differ: {a:?} at {n1}, {b:?} at {n2}");
    }
    for figures in [first, last] {
        println!(
            "time per event at {}: {:.2} ms raw, {:.2} ms product, of which {:.2} ms outside TransactWriteItems",
            figures.accounts,
            ms(figures.per_event()),
            ms(figures.product_per_event(baseline)),
            ms(figures.product_per_event(Duration::ZERO))
        );
    }
    println!(
        "raw ratio     {raw:.2}  wall-clock time per event at {n2} ÷ at {n1}: emulator-bound (its transactions copy the whole table, tests/README.md difference 15), does not decide the exit code"
    );
    println!(
        "product ratio {product:.2}  the same with each TransactWriteItems counted at the one-item transaction latency measured at {n1} ({:.2} ms) instead of its time on the emulator (must stay under 1.5)",
        ms(baseline)
    );
    same_calls && product < 1.5
}

async fn measure(emulator: &Emulator, size: usize, sampled: usize, run: usize) -> Result<Figures> {
    let recorder = Recorder::new(emulator);
    let hub = Hub::create(emulator, &recorder, &format!("scale{run}")).await?;
    let (enrollment, sample) = enrollment(size, sampled, run)?;
    // What the preflight records in a real move before any reconciler pass: each account
    // still in its old organization knows that organization, here the one the pass's
    // reads answer for every account (the hub's), so the pass finds the records in step.
    let mut records = enrollment.records(chrono::Utc::now())?;
    for record in records.iter_mut().filter(|r| r.in_old_organization) {
        record.source_organization = Some(hub.target.organization.clone());
    }
    let started = Instant::now();
    hub.store().create_many(&records).await?;
    let enroll = started.elapsed();

    let counter = CallCounter::default();
    let tracker = hub.counted_tracker(&counter);
    let texts: Vec<String> = EVENTS
        .iter()
        .map(|name| onboarding::fixtures::text(name))
        .collect();
    let started = Instant::now();
    let mut events = 0;
    for account in &sample {
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

    let started = Instant::now();
    let (invited, inviter_peak) = PeakHeap::measure(hub.inviter().sweep()).await;
    let (accepted, acceptor_peak) = PeakHeap::measure(hub.acceptor().sweep()).await;
    let (invited, accepted) = (invited?, accepted?);
    let sweeps = started.elapsed();
    anyhow::ensure!(
        invited.done.is_empty() && accepted.done.is_empty(),
        "the sweeps found accounts due: {invited:?} {accepted:?}"
    );
    let (placed, placer_peak) = PeakHeap::measure(hub.placer().sweep()).await;
    anyhow::ensure!(placed?.failed.is_empty(), "the placer's sweep failed");
    let (pass, reconciler_peak) = PeakHeap::measure(reconciler_pass(&hub)).await;
    let (held, held_peak) = PeakHeap::measure(every_record_not_joined(&hub)).await;
    let peaks = [
        ("inviter", inviter_peak),
        ("acceptor", acceptor_peak),
        ("placer", placer_peak),
        ("reconciler", reconciler_peak),
        ("reconciler as before (every record read first)", held_peak),
    ];
    print_peaks(&peaks);
    anyhow::ensure!(
        held? == size - sampled,
        "not every record not joined was read"
    );
    let (reconcile, reconciled, reconcile_calls) = pass?;
    let started = Instant::now();
    let counts = hub.store().load_counts(&enrollment.name).await?;
    let listed = hub.store().list_by_enrollment(&enrollment.name).await?;
    let status = started.elapsed();
    anyhow::ensure!(
        counts.in_phase(Phase::Joined) == sampled as i64 && listed.len() == size,
        "not every sampled account joined: {counts:?}, {} listed",
        listed.len()
    );
    let (get_item, transaction) = emulator_latency(&hub, &sample[0]).await?;
    Ok(Figures {
        accounts: size,
        sampled,
        enroll,
        events,
        replay,
        calls: counter.counts(),
        time: counter.durations(),
        sweeps,
        reconcile,
        reconciled,
        reconcile_calls,
        status,
        get_item,
        transaction,
    })
}

type BenchReconciler = Reconciler<
    onboarding::adapters::dynamo::DynamoRecordStore,
    onboarding::adapters::eventbridge::EventBridgeNotifier,
    SdkTargetOrganization,
    AmbientCredentials,
>;

/// A reconciler whose calls `counter` counts. The benchmark's accounts do not exist on
/// the emulator, so the per-account reads (DescribeOrganization through the spoke role)
/// are answered with the hub's own credentials: each account seems to be in the hub's
/// organization, which is not the target's management account's old organization.
fn counted_reconciler(hub: &Hub, counter: &CallCounter) -> BenchReconciler {
    let organizations = aws_sdk_organizations::Client::from_conf(
        aws_sdk_organizations::config::Builder::from(hub.account.config())
            .interceptor(counter.clone())
            .build(),
    );
    Reconciler::new(
        hub.counted_tracker(counter),
        SdkTargetOrganization::new(organizations.clone()),
        AmbientCredentials(organizations),
    )
}

/// One reconciler pass over records in step, timed, with its calls: every read a pass
/// over records still leaving their organization does, less the AssumeRole per account.
async fn reconciler_pass(hub: &Hub) -> Result<(Duration, usize, BTreeMap<String, usize>)> {
    let counter = CallCounter::default();
    let reconciler = counted_reconciler(hub, &counter);
    let started = Instant::now();
    let pass = reconciler.pass().await?;
    let elapsed = started.elapsed();
    let report = &pass.accounts;
    anyhow::ensure!(
        report.failed.is_empty()
            && !report.out_of_time
            && report
                .done
                .iter()
                .all(|(_, o)| *o == ReconcilerOutcome::InStep),
        "the reconciler's pass was not a pass over records in step: {:?}, out of time: {}, first outcomes not in step: {:?}",
        report.failed,
        report.out_of_time,
        report
            .done
            .iter()
            .filter(|(_, o)| *o != ReconcilerOutcome::InStep)
            .take(3)
            .collect::<Vec<_>>()
    );
    Ok((elapsed, report.done.len(), counter.counts()))
}

/// What the sweeps did before they streamed (`sweep::records_in`, gone): every record of
/// the swept phases read into one map first, here the reconciler's (every phase not
/// joined); its peak is the least those sweeps needed. How many records it held.
async fn every_record_not_joined(hub: &Hub) -> Result<usize> {
    let mut records = std::collections::HashMap::new();
    for phase in Phase::ALL.into_iter().filter(|p| !p.is_terminal()) {
        let listed = hub.store().list_by_phase(phase).await?;
        records.extend(listed.into_iter().map(|r| (r.account_id.clone(), r)));
    }
    Ok(records.len())
}

/// An enrollment of `size` accounts and the `sampled` standalone ones among them whose
/// events are replayed, spread evenly. The others are a management account and its
/// members, in the standalone mode: still leaving their old organization.
fn enrollment(size: usize, sampled: usize, run: usize) -> Result<(Enrollment, Vec<AccountId>)> {
    let accounts: Vec<AccountId> = (0..size)
        .map(|i| AccountId::parse(format!("{}", 700_000_000_000 + (run * 100_000 + i) as u64)))
        .collect::<Result<_, _>>()?;
    let picked: BTreeSet<usize> = (0..sampled).map(|j| j * size / sampled).collect();
    let (sample, rest): (Vec<_>, Vec<_>) = accounts
        .into_iter()
        .enumerate()
        .partition(|(i, _)| picked.contains(i));
    let sample: Vec<AccountId> = sample.into_iter().map(|(_, a)| a).collect();
    let mut rest = rest.into_iter().map(|(_, a)| a);
    let enrollment = Enrollment {
        name: EnrollmentName::parse(format!("scale-{size}"))?,
        transfer_mode: TransferMode::Standalone,
        management_account: rest.next(),
        members: rest.collect(),
        standalone_accounts: sample.clone(),
        placement: Default::default(),
    };
    Ok((enrollment, sample))
}

/// The emulator's latency for a consistent GetItem of a record and a TransactWriteItems of
/// one conditional put, 200 of each, from sending the request to receiving the response
/// (the [`CallCounter`]'s measure of the replay's calls).
async fn emulator_latency(hub: &Hub, account: &AccountId) -> Result<(Duration, Duration)> {
    use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
    const CALLS: u32 = 200;
    let probe = CallCounter::default();
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(hub.account.config())
            .interceptor(probe.clone())
            .build(),
    );
    let key = |pk: String, sk: &str| {
        [("pk", pk), ("sk", sk.to_owned())]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), AttributeValue::S(v)))
            .collect::<std::collections::HashMap<_, _>>()
    };
    for _ in 0..CALLS {
        client
            .get_item()
            .table_name(&hub.table)
            .set_key(Some(key(format!("ACCOUNT#{account}"), "RECORD")))
            .consistent_read(true)
            .send()
            .await?;
    }
    for i in 0..CALLS {
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
    let time = probe.durations();
    let per_call = |op: &str| time.get(op).copied().unwrap_or_default() / CALLS;
    Ok((per_call("GetItem"), per_call(TRANSACT)))
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

/// Each sweep's peak heap, printed as soon as measured.
fn print_peaks(peaks: &[(&str, usize)]) {
    for (sweep, bytes) in peaks {
        println!(
            "  peak heap, {sweep} sweep: {:>7.2} MiB (the function has 128 MB)",
            *bytes as f64 / (1024.0 * 1024.0)
        );
    }
}

fn print(figures: &Figures) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (n, k) = (figures.accounts, figures.sampled);
    if k == n {
        println!("\n{n} accounts, every one replayed:");
    } else {
        println!(
            "\n{n} accounts, {k} replayed, {} still leaving their old organization:",
            n - k
        );
    }
    println!(
        "  enroll (batches of 99):  {:.2} s",
        figures.enroll.as_secs_f64()
    );
    println!(
        "  replay:                  {} events in {:.1} s: {:.0} events/s, {:.2} ms per event",
        figures.events,
        figures.replay.as_secs_f64(),
        figures.events as f64 / figures.replay.as_secs_f64(),
        ms(figures.per_event())
    );
    for (operation, count) in &figures.calls {
        let time = figures.time.get(operation).copied().unwrap_or_default();
        println!(
            "  {operation:<24} {:.2} per event, {:.2} ms per call",
            *count as f64 / figures.events as f64,
            ms(time) / *count as f64
        );
    }
    println!(
        "  sweeps (inviter, acceptor; nothing due): {:.2} s",
        figures.sweeps.as_secs_f64()
    );
    let reconcile_calls: Vec<String> = figures
        .reconcile_calls
        .iter()
        .map(|(op, count)| {
            format!(
                "{op} {:.2}",
                *count as f64 / figures.reconciled.max(1) as f64
            )
        })
        .collect();
    println!(
        "  reconciler pass:         {} records not joined in {:.2} s; per record: {}",
        figures.reconciled,
        figures.reconcile.as_secs_f64(),
        reconcile_calls.join(", ")
    );
    println!(
        "  status (counters + listing {n}): {:.2} s",
        figures.status.as_secs_f64()
    );
    println!(
        "  emulator at this size:   GetItem {:.2} ms, one-item TransactWriteItems {:.2} ms",
        ms(figures.get_item),
        ms(figures.transaction)
    );
}
