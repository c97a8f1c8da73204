#!/usr/bin/env python3
"""Cold start of the tracker Lambda, measured as the Lambda service runs a function: a fresh
process of the release binary, a local Runtime API that hands it one CloudTrail event, and
the local emulator (fakecloud) for DynamoDB and EventBridge.

For each run: a new enrolled account, a failed LeaveOrganization event about it (the
tracker's ordinary work: one GetItem, one TransactWriteItems, one PutEvents, one
DeleteItem), a fresh process; we time process start -> the function's response and read
its peak RSS. Prints the median and the spread.

    make coldstart            # builds target/release/tracker and onboardctl, then runs this
"""
import http.server
import json
import os
import pathlib
import statistics
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
RUNS = int(os.environ.get("COLDSTART_RUNS", "10"))
FIXTURE = ROOT / "tests/fixtures/cloudtrail/leave-organization-payment-instrument-required.json"
FAKECLOUD = os.environ.get("FAKECLOUD_BIN", str(pathlib.Path.home() / ".cargo/bin/fakecloud"))


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    """The Lambda Runtime API's two calls a function makes per invocation."""

    event = b"{}"
    responded = threading.Event()
    response_at = 0.0
    error = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.endswith("/invocation/next"):
            if RuntimeApi.responded.is_set():
                time.sleep(30)  # the function waits for its next event; we kill it
                return
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", "coldstart-1")
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:111111111111:function:tracker")
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(RuntimeApi.event)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if "/error" in self.path:
            RuntimeApi.error = body.decode()
        RuntimeApi.response_at = time.perf_counter()
        RuntimeApi.responded.set()
        self.send_response(202)
        self.end_headers()


def peak_rss_mib(pid):
    """VmHWM: the process's peak resident set so far."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_emulator():
    proc = subprocess.Popen([FAKECLOUD, "--addr", "127.0.0.1:0", "--log-level", "warn"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        if line.startswith("FAKECLOUD_PORT="):
            return proc, f"http://127.0.0.1:{line.strip().split('=')[1]}"
    raise SystemExit("fakecloud did not announce its port")


def main():
    emulator, endpoint = start_emulator()
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_REGION="us-east-1",
               AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               TABLE_NAME="coldstart", EVENT_BUS_NAME="org-onboarding",
               TARGET_ORGANIZATION_ID="o-exampleorgid", TARGET_MANAGEMENT_ACCOUNT_ID="111111111111")
    env.pop("RUST_LOG", None)
    onboardctl = str(ROOT / "target/release/onboardctl")
    subprocess.run([onboardctl, "init"], env=env, check=True, stdout=subprocess.DEVNULL)
    # enroll reads the target's accounts to refuse enrolling any of them: the default
    # account manages an organization (not the fixtures' target, which the tracker's event
    # names; enroll only needs a readable account list).
    subprocess.run(["aws", "organizations", "create-organization", "--feature-set", "ALL"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    template = FIXTURE.read_text()
    times, rss = [], []
    try:
        for run in range(RUNS):
            account = f"7{run:011d}"
            subprocess.run([onboardctl, "enroll", f"cold{run}", "--mode", "standalone",
                            "--management", f"8{run:011d}", "--member", account],
                           env=env, check=True, stdout=subprocess.DEVNULL)
            event = json.loads(template.replace("333333333333", account))
            event["detail"]["eventID"] = f"coldstart-{run}-{time.time_ns()}"
            RuntimeApi.event = json.dumps(event).encode()
            RuntimeApi.responded.clear()
            RuntimeApi.error = None
            function_env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_port}",
                                AWS_LAMBDA_FUNCTION_NAME="tracker", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
                                AWS_LAMBDA_FUNCTION_VERSION="$LATEST", AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/tracker",
                                AWS_LAMBDA_LOG_STREAM_NAME="coldstart")
            start = time.perf_counter()
            proc = subprocess.Popen([str(ROOT / "target/release/tracker")], env=function_env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if not RuntimeApi.responded.wait(20):
                proc.kill()
                raise SystemExit("the tracker did not answer within 20 s")
            if RuntimeApi.error:
                proc.kill()
                raise SystemExit(f"the tracker answered with an error: {RuntimeApi.error}")
            times.append((RuntimeApi.response_at - start) * 1000)
            rss.append(peak_rss_mib(proc.pid))
            proc.kill()
            proc.wait()
    finally:
        server.shutdown()
        emulator.kill()
    print(f"tracker cold start over {RUNS} fresh processes (first event answered after process start):")
    print(f"  median {statistics.median(times):.1f} ms, min {min(times):.1f} ms, max {max(times):.1f} ms")
    print(f"  peak RSS median {statistics.median(rss):.1f} MiB, max {max(rss):.1f} MiB")


if __name__ == "__main__":
    main()
