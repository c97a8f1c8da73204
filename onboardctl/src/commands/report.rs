//! `onboardctl report`: the report for people who track a move, as one HTML page, CSV or
//! Markdown, to stdout or a file.

use crate::terminal::err;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use chrono::Utc;
use onboarding::domain::EnrollmentName;
use onboarding::report::{self, view::plural, Format};

use super::for_each_record;
use crate::context::Context;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, value_parser = parse_format, default_value = "html")]
    format: Format,
    #[arg(long)]
    enrollment: Option<String>,
    /// Write to this file instead of stdout.
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
}

fn parse_format(value: &str) -> Result<Format, String> {
    value.parse()
}

pub async fn run(cx: &Context, args: Args) -> Result<ExitCode> {
    let enrollment = args
        .enrollment
        .as_deref()
        .map(EnrollmentName::parse)
        .transpose()?;
    write(cx, args.format, enrollment.as_ref(), args.output.as_deref()).await?;
    Ok(ExitCode::SUCCESS)
}

/// Renders every record of `enrollment` (or all) in `format` to `output` (or stdout).
async fn write(
    cx: &Context,
    format: Format,
    enrollment: Option<&EnrollmentName>,
    output: Option<&Path>,
) -> Result<()> {
    // Every format needs every record (the HTML page groups and sorts them): collected
    // page by page, then rendered once.
    let mut records = Vec::new();
    for_each_record(cx, enrollment, |record| {
        records.push(record);
        Ok(())
    })
    .await?;
    let text = report::render(format, &records, Utc::now())?;
    match output {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
            err!(
                "wrote {} ({})",
                path.display(),
                plural(records.len(), "account", "accounts")
            );
        }
        None => crate::terminal::print_text(&text),
    }
    Ok(())
}
