//! One way to run a function in Lambda: JSON logs, the configuration read once (a missing
//! variable fails the cold start, naming it), the handler built by [`crate::wiring`], then
//! the Runtime API loop, each event run as its invocation ([`crate::invocation`]). A failure reaches Lambda with its class as the error type.

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;

use crate::config::Config;
use crate::error_class::FunctionError;
use crate::telemetry;
use crate::wiring::{Function, Wiring};

pub use lambda_runtime::Error;

/// Serves `F` until the runtime stops it.
pub async fn serve<F: Function>() -> Result<(), Error> {
    telemetry::init_lambda();
    let config = Config::from_env()?;
    let aws = aws_config::load_from_env().await;
    let function = &F::build(&Wiring::new(&aws, &config))?;
    tracing::info!(function = %F::NAME, "ready");
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let request_id = event.context.request_id.clone();
        crate::invocation::scope(request_id, function.invoke(&event.payload)).await
    }))
    .await
}

impl From<FunctionError> for Diagnostic {
    fn from(error: FunctionError) -> Self {
        Diagnostic {
            error_type: error.class.as_str().to_owned(),
            error_message: error.message,
        }
    }
}
