//! Starts and stops the `fakecloud` AWS emulator as a separate process.
//!
//! Why a separate process: fakecloud is AGPL and is used as a tool, never linked; and a
//! process boundary is also what the SDK clients see in AWS (HTTP, SigV4, wire errors).
//!
//! How it is started: `fakecloud --addr 127.0.0.1:0 --log-level warn`. With port 0 the
//! OS picks a free port atomically and fakecloud prints `FAKECLOUD_PORT=<port>` on
//! stdout, so parallel test processes never race for a port. We then poll
//! `GET /_fakecloud/health` until it answers 200.
//!
//! How it is stopped, also when a test panics or the test process is killed:
//! * the child is spawned from a dedicated *guardian thread* that lives exactly as long
//!   as the child (it blocks in `wait()`), with `prctl(PR_SET_PDEATHSIG, SIGKILL)` set in
//!   `pre_exec`. The kernel sends that signal when the spawning *thread* dies, which is
//!   why it must not be a tokio worker or `spawn_blocking` thread (those come and go);
//!   the guardian thread only dies with the process, so the emulator dies with the test
//!   process, whatever the way it ends (normal exit, panic = abort, SIGKILL by nextest).
//! * [`Emulator::shared`] keeps one instance per test process (nextest runs each test in
//!   its own process; `cargo test` runs many tests in one process and they share it;
//!   tests isolate themselves with unique account ids, see [`crate::accounts`]).
//! * an owned instance ([`Emulator::start`], for the demo) is also killed on `Drop` and
//!   by [`Emulator::stop`].
//!
//! The binary is found through `FAKECLOUD_BIN`, else `fakecloud` on `PATH`, else
//! `~/.cargo/bin/fakecloud` (where `cargo install fakecloud --locked --version 0.51.0`
//! puts it). Its logs go to `$FAKECLOUD_LOG_DIR` (default: the temp dir), one file per
//! instance, named in error messages.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::http;

/// The fakecloud version the harness is written against.
pub const FAKECLOUD_VERSION: &str = "0.51.0";

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// A running fakecloud process.
#[derive(Debug)]
pub struct Emulator {
    addr: SocketAddr,
    endpoint: String,
    pid: u32,
    log_path: PathBuf,
    startup: Duration,
    stopped: Arc<AtomicBool>,
    /// Owned instances are killed on drop; the shared one lives for the process.
    owned: bool,
}

static SHARED: OnceLock<std::result::Result<Emulator, String>> = OnceLock::new();

impl Emulator {
    /// The emulator of this test process, started on first use.
    ///
    /// Runs the (blocking) start-up on a blocking thread so that it can be awaited from
    /// any runtime flavour; the process itself is owned by a guardian thread (see the
    /// module docs), not by the calling runtime.
    pub async fn shared() -> Result<&'static Emulator> {
        let result = tokio::task::spawn_blocking(Self::shared_blocking)
            .await
            .map_err(|e| anyhow!("emulator start-up task failed: {e}"))?;
        result
    }

    /// Blocking variant of [`Emulator::shared`].
    pub fn shared_blocking() -> Result<&'static Emulator> {
        let result = SHARED.get_or_init(|| {
            Self::spawn(false)
                .map_err(|e| format!("{e:#}"))
                .inspect(|emulator| {
                    tracing::info!(
                        endpoint = %emulator.endpoint,
                        startup_ms = emulator.startup.as_millis() as u64,
                        "fakecloud started"
                    )
                })
        });
        result.as_ref().map_err(|e| anyhow!("{e}"))
    }

    /// Starts an instance owned by the caller (the demo): it is stopped by
    /// [`Emulator::stop`], on drop, and in any case when this process ends.
    pub fn start() -> Result<Emulator> {
        Self::spawn(true)
    }

    /// Stops an owned instance and waits until it is gone.
    pub fn stop(self) {
        self.kill();
    }

    /// The endpoint URL to give the SDK, e.g. `http://127.0.0.1:38211`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Socket address of the emulator.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Process id of the emulator.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The emulator's log file.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// How long the emulator took from spawn to a healthy answer.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// `GET /_fakecloud/health`: the parsed JSON when it answers 200.
    pub fn health(&self) -> Result<serde_json::Value> {
        let response = http::request(
            self.addr,
            "GET",
            "/_fakecloud/health",
            None,
            Duration::from_secs(2),
        )?;
        if response.status != 200 {
            bail!("health answered HTTP {}", response.status);
        }
        response.json()
    }

    /// Whether the process is still running.
    pub fn is_running(&self) -> bool {
        !self.stopped.load(Ordering::SeqCst)
    }

    /// Calls an admin endpoint (`/_fakecloud/...`) with a JSON body. Blocking; the
    /// emulator is local so calls take about a millisecond.
    pub fn admin_post(&self, path: &str, body: &serde_json::Value) -> Result<serde_json::Value> {
        let response = http::request(self.addr, "POST", path, Some(body), Duration::from_secs(10))?;
        if response.status != 200 {
            bail!(
                "POST {path} answered HTTP {}: {}",
                response.status,
                String::from_utf8_lossy(&response.body)
            );
        }
        response.json()
    }

    /// Calls an admin endpoint with GET. Blocking, see [`Emulator::admin_post`].
    pub fn admin_get(&self, path: &str) -> Result<serde_json::Value> {
        let response = http::request(self.addr, "GET", path, None, Duration::from_secs(10))?;
        if response.status != 200 {
            bail!("GET {path} answered HTTP {}", response.status);
        }
        response.json()
    }

    fn kill(&self) {
        if !self.stopped.load(Ordering::SeqCst) {
            // SAFETY: plain kill(2) on the pid of our own child, which the guardian thread
            // has not reaped yet (`stopped` is set only after `wait()` returned).
            unsafe {
                libc::kill(self.pid as libc::pid_t, libc::SIGKILL);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while !self.stopped.load(Ordering::SeqCst) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    fn spawn(owned: bool) -> Result<Emulator> {
        let bin = locate_binary()?;
        let started = Instant::now();
        let log_path = log_path();
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("create log file {}", log_path.display()))?;
        let stopped = Arc::new(AtomicBool::new(false));
        let (pid, stdout) = spawn_guardian(bin, log.try_clone()?, stopped.clone())?;
        let port_rx = forward_stdout(stdout, log)?;
        let mut emulator = Emulator {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            endpoint: String::new(),
            pid,
            log_path,
            startup: Duration::ZERO,
            stopped,
            owned: true, // kill it if start-up fails below
        };
        let port = emulator.announced_port(&port_rx)?;
        emulator.addr = SocketAddr::from(([127, 0, 0, 1], port));
        emulator.endpoint = format!("http://127.0.0.1:{port}");
        emulator.wait_until_healthy(started)?;
        emulator.startup = started.elapsed();
        emulator.owned = owned;
        Ok(emulator)
    }

    /// The port fakecloud announces on stdout (see [`forward_stdout`]).
    fn announced_port(&self, port_rx: &mpsc::Receiver<u16>) -> Result<u16> {
        port_rx.recv_timeout(STARTUP_TIMEOUT).map_err(|_| {
            anyhow!(
                "fakecloud (pid {}) did not announce its port within {STARTUP_TIMEOUT:?}; see {}",
                self.pid,
                self.log_path.display()
            )
        })
    }

    /// Polls the health endpoint until it answers; fails early when the process exits.
    fn wait_until_healthy(&self, started: Instant) -> Result<()> {
        let (pid, log_path) = (self.pid, self.log_path.display());
        while self.health().is_err() {
            if !self.is_running() {
                bail!("fakecloud (pid {pid}) exited during start-up; see {log_path}");
            }
            if started.elapsed() > STARTUP_TIMEOUT {
                bail!(
                    "fakecloud (pid {pid}) not healthy within {STARTUP_TIMEOUT:?}; see {log_path}"
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

/// Spawns fakecloud from the guardian thread (see the module docs: the thread lives as
/// long as the child, so `PR_SET_PDEATHSIG` fires only when this process dies); sets
/// `stopped` once the child is reaped. Returns the child's pid and its piped stdout.
fn spawn_guardian(
    bin: PathBuf,
    stderr_log: std::fs::File,
    stopped: Arc<AtomicBool>,
) -> Result<(u32, ChildStdout)> {
    let (spawned_tx, spawned_rx) = mpsc::channel();
    let parent_pid = std::process::id() as libc::pid_t;
    std::thread::Builder::new()
        .name("fakecloud-guardian".into())
        .spawn(move || {
            let mut command = command(&bin, stderr_log);
            die_with_parent(&mut command, parent_pid);
            match command.spawn() {
                Err(e) => {
                    let _ = spawned_tx.send(Err(anyhow!("spawn {}: {e}", bin.display())));
                }
                Ok(mut child) => {
                    let stdout = child.stdout.take().expect("stdout is piped");
                    let _ = spawned_tx.send(Ok((child.id(), stdout)));
                    let _ = child.wait();
                    stopped.store(true, Ordering::SeqCst);
                }
            }
        })
        .context("spawn the fakecloud guardian thread")?;
    spawned_rx
        .recv()
        .map_err(|_| anyhow!("the fakecloud guardian thread ended before spawning"))?
}

/// The fakecloud command line: a free port chosen by the OS, warnings only.
fn command(bin: &Path, stderr_log: std::fs::File) -> Command {
    let mut command = Command::new(bin);
    command
        .args(["--addr", "127.0.0.1:0", "--log-level", "warn"])
        // Only in-memory state, and no listeners other than the API port.
        .env_remove("FAKECLOUD_ADDR")
        .env_remove("FAKECLOUD_STORAGE_MODE")
        .env_remove("FAKECLOUD_SES_SMTP_PORT")
        .env_remove("FAKECLOUD_DNS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr_log));
    command
}

/// Makes the kernel kill the child when the spawning thread dies (`PR_SET_PDEATHSIG`).
fn die_with_parent(command: &mut Command, parent_pid: libc::pid_t) {
    // SAFETY: only async-signal-safe calls (prctl, getppid, _exit) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl.
            if libc::getppid() != parent_pid {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// Reads the port announcement (sent on the returned channel), then keeps draining
/// stdout into the log so that fakecloud never blocks on a full pipe.
fn forward_stdout(stdout: ChildStdout, mut log: std::fs::File) -> Result<mpsc::Receiver<u16>> {
    let (port_tx, port_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("fakecloud-stdout".into())
        .spawn(move || {
            let mut port_tx = Some(port_tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = port_announcement(&line) {
                    if let Some(tx) = port_tx.take() {
                        let _ = tx.send(port);
                    }
                }
                let _ = writeln!(log, "{line}");
            }
        })
        .context("spawn the fakecloud stdout thread")?;
    Ok(port_rx)
}

/// The port of a `FAKECLOUD_PORT=<port>` line.
fn port_announcement(line: &str) -> Option<u16> {
    line.strip_prefix("FAKECLOUD_PORT=")
        .and_then(|p| p.trim().parse::<u16>().ok())
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if self.owned {
            self.kill();
        }
    }
}

/// Where the fakecloud binary is: `FAKECLOUD_BIN`, else `fakecloud` on `PATH`, else
/// `~/.cargo/bin/fakecloud`.
pub fn locate_binary() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("FAKECLOUD_BIN") {
        let bin = PathBuf::from(bin);
        if bin.is_file() {
            return Ok(bin);
        }
        bail!("FAKECLOUD_BIN={} is not a file", bin.display());
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("fakecloud");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    if let Some(home) = std::env::var_os("HOME") {
        let candidate = PathBuf::from(home).join(".cargo/bin/fakecloud");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "fakecloud not found (set FAKECLOUD_BIN, or put it on PATH): install it with \
         `cargo install fakecloud --locked --version {FAKECLOUD_VERSION}` (or `make fakecloud`)"
    )
}

fn log_path() -> PathBuf {
    static INSTANCE: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::var_os("FAKECLOUD_LOG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let _ = std::fs::create_dir_all(&dir);
    dir.join(format!(
        "fakecloud-{}-{}.log",
        std::process::id(),
        INSTANCE.fetch_add(1, Ordering::SeqCst)
    ))
}
