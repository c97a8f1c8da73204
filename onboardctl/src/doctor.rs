//! `onboardctl doctor`: is this deployment able to work? Each check prints one line, and a
//! failed one says what to fix: the configuration, the target organization against the
//! hub's own account (the acceptor's start-up check), the table, the event bus, and (with
//! `--account`) one customer account's spoke role.

use std::process::ExitCode;

use anyhow::Result;
use onboarding::config::{Config, SPOKE_ROLE_NAME};
use onboarding::domain::AccountId;
use onboarding::ports::{Credentials, TargetDirectory};
use onboarding::target_check::verify_target;

use crate::context::Context;

/// One check's verdict: `Ok(what is fine)` or `Err(what to fix)`.
type Verdict = Result<String, String>;

pub async fn doctor(cx: &Context, account: Option<&str>) -> Result<ExitCode> {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            report(
                "configuration",
                Err(format!("{error}: set it as the functions have it")),
            );
            return Ok(ExitCode::from(1));
        }
    };
    let wiring = cx.wiring()?;
    let mut verdicts = vec![
        (
            "configuration",
            Ok(format!(
                "target {} ({})",
                config.target.organization, config.target.management_account
            )),
        ),
        (
            "target organization",
            target(&wiring.target_organization(), &config).await,
        ),
        ("table", table(cx, &config.table_name).await),
        ("event bus", bus(cx, &config.event_bus_name).await),
    ];
    if let Some(account) = account {
        verdicts.push(("spoke role", spoke(&wiring, &config, account).await));
    }
    let failed = verdicts.iter().filter(|(_, v)| v.is_err()).count();
    for (what, verdict) in verdicts {
        report(what, verdict);
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn report(what: &str, verdict: Verdict) {
    match verdict {
        Ok(fine) => println!("ok    {what}: {fine}"),
        Err(fix) => println!("FAIL  {what}: {fix}"),
    }
}

async fn target(directory: &dyn TargetDirectory, config: &Config) -> Verdict {
    let own = directory
        .own_organization()
        .await
        .map_err(|e| format!("DescribeOrganization with the hub's credentials failed ({e}): run in the target management account with organizations:DescribeOrganization"))?;
    verify_target(&config.target, own.as_ref())?;
    Ok("the hub's account is the target organization's management account".into())
}

async fn table(cx: &Context, name: &str) -> Verdict {
    let client = aws_sdk_dynamodb::Client::new(&cx.aws);
    match client.describe_table().table_name(name).send().await {
        Ok(output) => Ok(format!(
            "{name} is {}",
            output
                .table()
                .and_then(|t| t.table_status())
                .map_or("present", |s| s.as_str())
        )),
        Err(error) => Err(format!(
            "DescribeTable {name} failed ({}): create it with `onboardctl init` or check TABLE_NAME",
            aws_sdk_dynamodb::error::DisplayErrorContext(error)
        )),
    }
}

async fn bus(cx: &Context, name: &str) -> Verdict {
    let client = aws_sdk_eventbridge::Client::new(&cx.aws);
    match client.describe_event_bus().name(name).send().await {
        Ok(_) => Ok(format!("{name} exists")),
        Err(error) => Err(format!(
            "DescribeEventBus {name} failed ({}): create it with `onboardctl init` or check EVENT_BUS_NAME",
            aws_sdk_eventbridge::error::DisplayErrorContext(error)
        )),
    }
}

async fn spoke(wiring: &onboarding::wiring::Wiring, config: &Config, account: &str) -> Verdict {
    let account = AccountId::parse(account).map_err(|e| e.to_string())?;
    let spoke = config.spoke.as_ref().ok_or_else(|| {
        format!(
            "{SPOKE_ROLE_NAME} is not set: set it and SPOKE_EXTERNAL_ID as the acceptor has them"
        )
    })?;
    let credentials = onboarding::adapters::organizations::StsCredentials::new(
        wiring.sdk_config(),
        &spoke.role_name,
        &spoke.external_id,
    );
    let organizations = credentials.organizations_for(&account).await.map_err(|e| {
        format!("cannot assume {} in {account} ({e}): deploy infra/spoke.yaml there with the hub's external id and its acceptor and reconciler roles", spoke.role_name)
    })?;
    let membership = organizations.membership().await.map_err(|e| {
        format!("DescribeOrganization in {account} failed ({e}): update the spoke stack")
    })?;
    Ok(match membership {
        Some(m) => format!(
            "{account} reachable; it is in organization {}",
            m.organization
        ),
        None => format!("{account} reachable; it is in no organization"),
    })
}
