//! `onboardctl replay PATH…`: EventBridge CloudTrail events from files fed through the
//! tracker, one line per event (applied, duplicate, ignored or rejected), then the totals;
//! exit 1 when one was rejected.
//!
//! The same parse and origin rules as the tracker ([`onboarding::tracker::Tracker::replay_json`]):
//! a body that disagrees with its envelope is rejected, an event from an account that
//! cannot speak for a record is ignored, and what is applied is marked replayed in the
//! account's history. A file's envelope is only as trustworthy as the file: replay events
//! taken from the hub's own queues, never from a customer's (infra/DEPLOY.md).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use onboarding::tracker::Outcome;
use serde_json::Value;

use crate::context::Context;
use crate::terminal::{out, say, Terminal};

#[derive(clap::Args)]
pub struct Args {
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

pub async fn run(cx: &Context, args: Args) -> Result<ExitCode> {
    replay(cx, &args.paths).await
}

/// Events from files and directories: one event, a JSON array, or JSON Lines per file;
/// directories in name order.
fn read_events(paths: &[PathBuf]) -> Result<Vec<(String, Result<Value, String>)>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("reading {}", path.display()))?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()?;
            entries.retain(|p| {
                p.is_file() && p.extension().is_some_and(|x| x == "json" || x == "jsonl")
            });
            entries.sort();
            files.extend(entries);
        } else {
            files.push(path.clone());
        }
    }
    let mut events = Vec::new();
    for file in files {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {name}"))?;
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Array(items)) => {
                events.extend(items.into_iter().map(|v| (name.clone(), Ok(v))))
            }
            Ok(value) => events.push((name, Ok(value))),
            Err(_) => {
                for (n, line) in text
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| !l.trim().is_empty())
                {
                    let parsed =
                        serde_json::from_str::<Value>(line).map_err(|e| format!("not JSON: {e}"));
                    events.push((format!("{name}:{}", n + 1), parsed));
                }
            }
        }
    }
    Ok(events)
}

pub async fn replay(cx: &Context, paths: &[PathBuf]) -> Result<ExitCode> {
    // The tracker's own path, rules included; its rejections are this command's report
    // lines and exit status, not CloudWatch metrics on standard output.
    let tracker = cx.tracker()?.counting_with(std::sync::Arc::new(|_| {}));
    let events = read_events(paths)?;
    let bar = Terminal::detect().bar(events.len() as u64, "replaying");
    let (mut applied, mut duplicate, mut ignored, mut rejected) = (0, 0, 0, 0);
    for (source, event) in events {
        bar.inc(1);
        let id = event
            .as_ref()
            .map(onboarding::cloudtrail::event_id_of)
            .unwrap_or_else(|_| "unknown".into());
        let line = match event {
            Err(reason) => Err(reason),
            Ok(event) => match tracker.replay_json(&event).await {
                Ok(outcome) => Ok(outcome),
                Err(error) => Err(format!("{error} (at {})", cx.endpoint())),
            },
        };
        match line {
            Ok(Outcome::Applied { account, phase }) => {
                applied += 1;
                say(&bar, format!("applied    {id}  {account} -> {phase}"));
            }
            Ok(Outcome::Duplicate { account }) => {
                duplicate += 1;
                say(&bar, format!("duplicate  {id}  {account}"));
            }
            Ok(Outcome::Unchanged { account }) => {
                ignored += 1;
                say(&bar, format!("ignored    {id}  {account}: changes nothing"));
            }
            Ok(Outcome::NotEnrolled { account }) => {
                ignored += 1;
                say(&bar, format!("ignored    {id}  {account} is not enrolled"));
            }
            Ok(Outcome::Ignored { reason }) => {
                ignored += 1;
                say(&bar, format!("ignored    {id}  {reason}"));
            }
            Ok(Outcome::Rejected { reason }) | Err(reason) => {
                rejected += 1;
                say(&bar, format!("rejected   {id}  {source}: {reason}"));
            }
        }
    }
    bar.finish_and_clear();
    out!("{applied} applied, {duplicate} duplicate, {ignored} ignored, {rejected} rejected");
    Ok(if rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
