//! `onboardctl report`: the report for people who track a move, as one HTML page, CSV or
//! Markdown, to stdout or a file.

use std::path::Path;

use anyhow::{Context as _, Result};
use chrono::Utc;
use onboarding::domain::EnrollmentName;
use onboarding::report::{self, view::plural, Format};

use crate::context::Context;
use crate::status::for_each_record;

pub async fn report(
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
            eprintln!(
                "wrote {} ({})",
                path.display(),
                plural(records.len(), "account", "accounts")
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}
