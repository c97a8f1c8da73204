//! The product's functions by name: who observed an event (the prefix of its id), whose
//! sweep cursor, whose metrics, which function a trigger wakes, which variables a function
//! reads, whose IAM role. One list, so a new function is one variant here and the compiler
//! names every place that must say what it does.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One of the product's Lambda functions (its crate under `functions/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FunctionName {
    Tracker,
    Acceptor,
    Inviter,
    Reconciler,
    Placer,
    Preflight,
}

impl FunctionName {
    pub const ALL: [FunctionName; 6] = [
        FunctionName::Tracker,
        FunctionName::Acceptor,
        FunctionName::Inviter,
        FunctionName::Reconciler,
        FunctionName::Placer,
        FunctionName::Preflight,
    ];

    /// The function's crate and binary name, as event ids, sweep cursors, metrics and the
    /// template spell it.
    pub const fn as_str(self) -> &'static str {
        match self {
            FunctionName::Tracker => "tracker",
            FunctionName::Acceptor => "acceptor",
            FunctionName::Inviter => "inviter",
            FunctionName::Reconciler => "reconciler",
            FunctionName::Placer => "placer",
            FunctionName::Preflight => "preflight",
        }
    }
}

impl fmt::Display for FunctionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a function of the product")]
pub struct UnknownFunction(pub String);

impl FromStr for FunctionName {
    type Err = UnknownFunction;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        FunctionName::ALL
            .into_iter()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| UnknownFunction(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_reads_back_as_itself() {
        for function in FunctionName::ALL {
            assert_eq!(function.to_string().parse(), Ok(function));
            let json = serde_json::to_value(function).unwrap();
            assert_eq!(json, function.as_str());
        }
        assert!("spoke".parse::<FunctionName>().is_err());
    }
}
