//! Counting the AWS calls of the clients a test or a benchmark attaches it to: how many
//! HTTP attempts of each operation (retries included), and how long they took (from
//! sending the request to receiving the response, summed per operation).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// Counts and times the HTTP attempts of each operation of the clients it is attached to.
#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<Mutex<Calls>>);

#[derive(Debug, Default)]
struct Calls {
    attempts: Vec<String>,
    time: BTreeMap<String, Duration>,
}

/// When the current attempt was sent, kept in the operation's interceptor state.
#[derive(Debug, Clone, Copy)]
struct SentAt(Instant);

impl Storable for SentAt {
    type Storer = StoreReplace<Self>;
}

impl CallCounter {
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for op in self.0.lock().unwrap().attempts.iter() {
            *counts.entry(op.clone()).or_default() += 1;
        }
        counts
    }

    /// The time spent in each operation's attempts that got a response.
    pub fn durations(&self) -> BTreeMap<String, Duration> {
        self.0.lock().unwrap().time.clone()
    }

    pub fn total(&self) -> usize {
        self.0.lock().unwrap().attempts.len()
    }

    pub fn reset(&self) {
        *self.0.lock().unwrap() = Calls::default();
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(metadata) = cfg.load::<Metadata>() {
            let name = metadata.name().to_owned();
            self.0.lock().unwrap().attempts.push(name);
        }
        cfg.interceptor_state().store_put(SentAt(Instant::now()));
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let (Some(metadata), Some(SentAt(sent))) = (cfg.load::<Metadata>(), cfg.load::<SentAt>())
        {
            let elapsed = sent.elapsed();
            *self
                .0
                .lock()
                .unwrap()
                .time
                .entry(metadata.name().to_owned())
                .or_default() += elapsed;
        }
        Ok(())
    }
}
