//! The emulator harness itself: start, health, stop (also when the test process dies),
//! and isolation between tests that share one emulator.

use std::time::Duration;

use onboarding_e2e::accounts::{unique_account_id, AwsAccount};
use onboarding_e2e::Emulator;

fn process_alive(pid: u32) -> bool {
    // A zombie still answers kill(pid, 0); look at its state too.
    let status = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = status
        .rsplit(')')
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("");
    !status.is_empty() && state != "Z" && state != "X"
}

fn wait_gone(pid: u32) -> bool {
    for _ in 0..200 {
        if !process_alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    false
}

#[test]
fn owned_emulator_starts_answers_health_and_stops() {
    let emulator = Emulator::start().expect("start fakecloud");
    let health = emulator.health().expect("health");
    assert_eq!(health["status"], "ok");
    assert_eq!(
        health["version"],
        onboarding_e2e::emulator::FAKECLOUD_VERSION
    );
    assert!(emulator.endpoint().starts_with("http://127.0.0.1:"));
    eprintln!(
        "fakecloud start-up took {:?} (log: {})",
        emulator.startup_time(),
        emulator.log_path().display()
    );
    let pid = emulator.pid();
    let addr = emulator.addr();
    assert!(process_alive(pid));

    emulator.stop();
    assert!(wait_gone(pid), "fakecloud {pid} still running after stop");
    assert!(std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err());
}

/// Helper for the next test, run in a child test process: starts the shared emulator,
/// prints its pid and aborts, as a crashing test process would.
#[test]
fn child_process_that_aborts_with_a_running_emulator() {
    if std::env::var_os("HARNESS_ABORT_CHILD").is_none() {
        return;
    }
    let emulator = Emulator::shared_blocking().expect("start fakecloud");
    println!("EMULATOR_PID={}", emulator.pid());
    std::process::abort();
}

#[test]
fn emulator_dies_with_the_test_process_even_when_it_aborts() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_that_aborts_with_a_running_emulator",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("HARNESS_ABORT_CHILD", "1")
        .output()
        .expect("run the child test process");
    assert!(!output.status.success(), "the child was meant to abort");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let pid: u32 = stdout
        .lines()
        .find_map(|l| l.split("EMULATOR_PID=").nth(1))
        .unwrap_or_else(|| panic!("no pid in child output: {stdout}"))
        .trim()
        .parse()
        .unwrap();
    assert!(
        wait_gone(pid),
        "fakecloud {pid} survived its aborted parent test process"
    );
}

#[tokio::test]
async fn shared_emulator_is_started_once_per_process() {
    let a = Emulator::shared().await.unwrap();
    let b = Emulator::shared().await.unwrap();
    assert_eq!(a.pid(), b.pid());
    assert!(a.is_running());
}

/// What two tests running at the same time on one emulator (`cargo test`) each do.
async fn isolated_world(emulator: &Emulator) -> (String, String) {
    let management = AwsAccount::create(emulator, &unique_account_id())
        .await
        .unwrap();
    let org_id = management.create_organization().await.unwrap();
    let queue_url = management
        .sqs()
        .create_queue()
        .queue_name("same-name-in-every-test")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    management
        .sqs()
        .send_message()
        .queue_url(&queue_url)
        .message_body(management.account_id())
        .send()
        .await
        .unwrap();
    (management.account_id().to_string(), org_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_tests_do_not_see_each_others_data() {
    let emulator = Emulator::shared().await.unwrap();
    let (a, b) = tokio::join!(isolated_world(emulator), isolated_world(emulator));
    assert_ne!(a.0, b.0);
    assert_ne!(a.1, b.1, "each management account has its own organization");

    for (account_id, org_id) in [&a, &b] {
        // Each account sees its own organization, queue and message only.
        let account = AwsAccount::create(emulator, account_id).await.unwrap();
        let org = account
            .organizations()
            .describe_organization()
            .send()
            .await
            .unwrap();
        assert_eq!(org.organization().unwrap().id(), Some(org_id.as_str()));
        let accounts = account
            .organizations()
            .list_accounts()
            .send()
            .await
            .unwrap();
        let ids: Vec<_> = accounts.accounts().iter().filter_map(|a| a.id()).collect();
        assert_eq!(ids, vec![account_id.as_str()]);
        let queues = account.sqs().list_queues().send().await.unwrap();
        assert_eq!(queues.queue_urls().len(), 1);
        let received = account
            .sqs()
            .receive_message()
            .queue_url(&queues.queue_urls()[0])
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let bodies: Vec<_> = received
            .messages()
            .iter()
            .filter_map(|m| m.body())
            .collect();
        assert_eq!(bodies, vec![account_id.as_str()]);
    }
}
