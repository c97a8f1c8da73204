//! Logging set-up for the binaries: `tracing` with structured fields, JSON lines in Lambda
//! (CloudWatch Logs Insights reads the fields), `RUST_LOG` to choose the level.

/// JSON logs, no ANSI colours, no timestamps (Lambda adds its own).
pub fn init_lambda() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_current_span(false)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .init();
}
