//! Running the `onboardctl` binary as an operator would, for the CLI tests: the binary
//! built once per test process, and what one run printed and returned.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use aws_credential_types::provider::ProvideCredentials;
use serde_json::Value;

use crate::accounts::AwsAccount;
use crate::emulator::Emulator;

/// An operator's shell on the emulator: its endpoint and `admin`'s keys, nothing else, and
/// an empty `HOME` (no profile file of the machine is read) whose name ends in `suffix`.
pub async fn operator_environment(
    emulator: &Emulator,
    admin: &AwsAccount,
    suffix: &str,
) -> (HashMap<&'static str, String>, PathBuf) {
    let credentials = admin
        .config()
        .credentials_provider()
        .expect("credentials provider")
        .provide_credentials()
        .await
        .expect("credentials");
    let home = std::env::temp_dir().join(format!("onboardctl-home-{suffix}"));
    std::fs::create_dir_all(&home).expect("home");
    let env = HashMap::from([
        ("AWS_ENDPOINT_URL", emulator.endpoint().to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ACCESS_KEY_ID", credentials.access_key_id().to_string()),
        (
            "AWS_SECRET_ACCESS_KEY",
            credentials.secret_access_key().to_string(),
        ),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
    ]);
    (env, home)
}

/// The onboardctl binary, built once per test process.
pub fn onboardctl() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut cargo = Command::new(env!("CARGO"));
        // The variables cargo set for this test process must not reach the nested build:
        // build scripts track some of them (ring: CARGO_MANIFEST_DIR), and a changed value
        // would rebuild the whole SDK stack here and again in the next outer build.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let set_by_cargo = name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_BIN_EXE_")
                || [
                    "CARGO_MANIFEST_DIR",
                    "CARGO_MANIFEST_PATH",
                    "CARGO_CRATE_NAME",
                    "CARGO_BIN_NAME",
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                    "OUT_DIR",
                    "LD_LIBRARY_PATH",
                ]
                .contains(&name.as_ref());
            if set_by_cargo {
                cargo.env_remove(name.as_ref());
            }
        }
        let output = cargo
            .args([
                "build",
                "--quiet",
                "-p",
                "onboardctl",
                "--bin",
                "onboardctl",
                "--message-format=json",
            ])
            .current_dir(&workspace)
            .output()
            .expect("run cargo build -p onboardctl");
        assert!(
            output.status.success(),
            "cargo build -p onboardctl failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "onboardctl")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo reported no onboardctl executable")
    })
}

/// What one run printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Runs onboardctl with `args`, only `env` in its environment and `HOME` pointing to
    /// `home` (an empty directory, so no profile file of the machine is read).
    pub fn of<K, V>(args: &[&str], home: &Path, env: impl IntoIterator<Item = (K, V)>) -> Run
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let output = Command::new(onboardctl())
            .args(args)
            .env_clear()
            .env("HOME", home)
            .envs(env)
            .output()
            .expect("run onboardctl");
        Run {
            code: output.status.code().expect("exit code"),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// The stdout lines that start with `prefix` (`"FAIL  permissions:"`).
    pub fn lines(&self, prefix: &str) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with(prefix))
            .collect()
    }

    /// The one stdout line that starts with `prefix`.
    pub fn line(&self, prefix: &str) -> &str {
        match self.lines(prefix)[..] {
            [one] => one,
            _ => panic!("one line starting {prefix:?} expected: {self:#?}"),
        }
    }
}
