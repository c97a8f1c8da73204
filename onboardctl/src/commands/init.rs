//! `onboardctl init`: the table and the event bus, created if missing (idempotent). It never
//! creates a table a stack already names: with `--stack` it uses the stack's table and bus
//! and creates nothing that exists; without, it refuses (exit 2) when a stack of the region
//! names another table, and warns when it cannot list the stacks.

use crate::terminal::{err, out};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Result};
use onboarding::adapters::dynamo::create_table;

use crate::aws_error;
use crate::context::Context;
use crate::stack;

pub async fn run(cx: &Context) -> Result<ExitCode> {
    let table = cx.table_name()?;
    let bus = cx.bus_name()?;
    match &cx.stack {
        Some(_) => {
            out!("table {table}: {}", stack_table(cx, &table).await?);
            out!("event bus {bus}: {}", stack_bus(cx, &bus).await?);
        }
        None => {
            match stack::named_tables(&cx.aws).await {
                Ok(named) => {
                    if let Some(refusal) = stack::refusal(&named, &table) {
                        bail!(refusal);
                    }
                }
                Err(unlisted) if unlisted.unreachable => {
                    bail!("reading the region's stacks at {}: {}", cx.endpoint(), unlisted.reason)
                }
                Err(unlisted) => err!(
                    "onboardctl: warning: {}: not checked that no stack of the region names another table",
                    unlisted.reason
                ),
            }
            create(cx, &table).await?;
            out!("table {table}: ready");
            out!("event bus {bus}: {}", create_bus(cx, &bus).await?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn create(cx: &Context, table: &str) -> Result<()> {
    let client = aws_sdk_dynamodb::Client::new(&cx.aws);
    cx.at(create_table(&client, table).await, "creating the table")
}

async fn create_bus(cx: &Context, bus: &str) -> Result<&'static str> {
    let events = aws_sdk_eventbridge::Client::new(&cx.aws);
    match events.create_event_bus().name(bus).send().await {
        Ok(_) => Ok("created"),
        Err(error) if aws_error::code(&error) == Some("ResourceAlreadyExistsException") => {
            Ok("ready")
        }
        Err(error) => Err(anyhow!(
            "creating the event bus at {}: {}",
            cx.endpoint(),
            aws_error::one_line(&error)
        )),
    }
}

/// The stack's table: left as it is when it exists.
async fn stack_table(cx: &Context, table: &str) -> Result<&'static str> {
    let client = aws_sdk_dynamodb::Client::new(&cx.aws);
    match client.describe_table().table_name(table).send().await {
        Ok(_) => Ok("ready (the stack's)"),
        Err(error) if aws_error::code(&error) == Some("ResourceNotFoundException") => {
            create(cx, table).await?;
            Ok("created (the stack names it, and it was missing)")
        }
        Err(error) => Err(anyhow!(
            "reading table {table} at {}: {}",
            cx.endpoint(),
            aws_error::one_line(&error)
        )),
    }
}

/// The stack's bus: left as it is when it exists.
async fn stack_bus(cx: &Context, bus: &str) -> Result<&'static str> {
    let events = aws_sdk_eventbridge::Client::new(&cx.aws);
    match events.describe_event_bus().name(bus).send().await {
        Ok(_) => Ok("ready (the stack's)"),
        Err(error) if aws_error::code(&error) == Some("ResourceNotFoundException") => {
            create_bus(cx, bus).await?;
            Ok("created (the stack names it, and it was missing)")
        }
        Err(error) => Err(anyhow!(
            "reading event bus {bus} at {}: {}",
            cx.endpoint(),
            aws_error::one_line(&error)
        )),
    }
}
