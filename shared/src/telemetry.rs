//! Logging set-up for the binaries: `tracing` with structured fields, JSON lines in Lambda
//! (CloudWatch Logs Insights reads the fields), `RUST_LOG` to choose the levels.
//!
//! `RUST_LOG` is read as `tracing_subscriber`'s `Targets` (`info`, `onboarding=debug,warn`),
//! not `EnvFilter`: the same syntax for levels and targets without the regex engine,
//! which would add about half a megabyte to every Lambda binary.

use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The levels `RUST_LOG` asks for, else `default`.
pub fn filter_from_env(default: Level) -> Targets {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|value| value.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(default))
}

/// JSON logs, no ANSI colours, no timestamps (Lambda adds its own).
pub fn init_lambda() {
    let format = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_ansi(false)
        .without_time()
        .with_target(false);
    tracing_subscriber::registry()
        .with(format)
        .with(filter_from_env(Level::INFO))
        .init();
}
