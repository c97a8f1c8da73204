#!/usr/bin/env python3
"""Lambda functions measured as the Lambda service runs them: fresh processes of release
binaries, a local Runtime API per function that hands out CloudTrail events, and the local
emulator (fakecloud) for DynamoDB and EventBridge.

    make coldstart      # the tracker alone: 10 cold starts
    make bench-lambda   # the tracker beside the floor (tests/floor: one TransactWriteItems,
                        # one PutEvents per event), cold and warm, with the ratios

The events are successful member `LeaveOrganization` events of a 65-account enrollment
(a management account and 64 members, each member leaving once), the tracker's costliest
ordinary event: the member's record and the enrollment's counters move (the management
account is re-evaluated only after the last member, which the counting pass's last event
is).
The floor gets the same events and ignores what they say.

Per function, in one run, interleaved so the machine's other load falls on both alike:
- cold (`--cold`, 10): a fresh process per event; `init` is process start -> the first
  `GET /runtime/invocation/next` (what Lambda bills as Init), `first` is process start ->
  the answer to that first event;
- warm (`--warm`, 50): one process answers the events one after the other; each event's
  latency is the Runtime API handing it out -> the function's answer;
- peak RSS (VmHWM) of the cold processes and of the warm one after its last event;
- round trips per event, counted in a separate pass (`--count`, 4 events) through a proxy
  that forwards to the emulator and names each call (the proxy's own delay stays out of
  the timings above);
- each Lambda zip's size (`make package`'s target/lambda/*/bootstrap.zip), if built.

`--binary NAME=PATH` adds or replaces a contestant (e.g. `--binary before=/tmp/tracker`
measures an older tracker beside the current one; a name starting with `floor` is a floor).
"""
import argparse
import http.client
import http.server
import json
import os
import pathlib
import queue
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import zipfile
from collections import Counter

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests/fixtures/cloudtrail/leave-organization.json"
FAKECLOUD = os.environ.get("FAKECLOUD_BIN", str(pathlib.Path.home() / ".cargo/bin/fakecloud"))
ONBOARDCTL = os.environ.get("ONBOARDCTL_BIN", str(ROOT / "target/debug/onboardctl"))
MEMBERS = 64  # with the management account: the 65-account enrollment
ZIP_BUDGET_BYTES = 2_500_000


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a killed function's connection resets: expected, not news


class RuntimeApi(QuietServer):
    """The Lambda Runtime API's calls a function makes: next invocation, response, error.
    One server per function; `invoke` queues an event and waits for the answer."""

    def __init__(self, name):
        super().__init__(("127.0.0.1", 0), RuntimeHandler)
        self.name = name
        self.events = queue.Queue()
        self.answers = queue.Queue()
        self.first_poll_at = None
        self.handed_out_at = 0.0
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def address(self):
        return f"127.0.0.1:{self.server_port}"

    def queue_event(self, event):
        self.events.put(json.dumps(event).encode())

    def answer(self, timeout=30):
        """(seconds from hand-out to answer, perf_counter at the answer, error or None)."""
        try:
            return self.answers.get(timeout=timeout)
        except queue.Empty:
            raise SystemExit(f"{self.name} did not answer within {timeout} s") from None


class RuntimeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes; with Nagle on, the second waits for the
    # client's delayed ACK (40 ms) and that, not the function, would be measured.
    disable_nagle_algorithm = True
    sequence = 0

    def log_message(self, *args):
        pass

    def do_GET(self):
        api = self.server
        if not self.path.endswith("/invocation/next"):
            self.send_error(404)
            return
        if api.first_poll_at is None:
            api.first_poll_at = time.perf_counter()
        body = api.events.get()  # a parked function waits here, as in Lambda
        RuntimeHandler.sequence += 1
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", f"bench-{os.getpid()}-{RuntimeHandler.sequence}")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", f"arn:aws:lambda:us-east-1:111111111111:function:{api.name}")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        api.handed_out_at = time.perf_counter()

    def do_POST(self):
        at = time.perf_counter()
        api = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        error = body.decode() if "/error" in self.path else None
        api.answers.put((at - api.handed_out_at, at, error))


class CountingProxy(QuietServer):
    """Forwards every request to the emulator and counts it by operation (the JSON
    protocols' X-Amz-Target, the query protocol's Action)."""

    def __init__(self, upstream):
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.upstream = urllib.parse.urlsplit(upstream)
        self.calls = Counter()
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.server_port}"

    def take(self):
        with self.lock:
            calls, self.calls = self.calls, Counter()
        return calls


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def _forward(self):
        proxy = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target")
        if target:
            operation = target.rsplit(".", 1)[-1]
        else:
            action = urllib.parse.parse_qs(body.decode(errors="replace")).get("Action", ["?"])
            operation = action[0]
        with proxy.lock:
            proxy.calls[operation] += 1
        upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
        upstream.request(self.command, self.path, body=body, headers=headers)
        response = upstream.getresponse()
        payload = response.read()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length", "keep-alive"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        upstream.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward


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


class Contestant:
    """One function binary, its Runtime API and the events it is to answer."""

    def __init__(self, name, binary, env, events):
        self.name, self.binary, self.env = name, binary, env
        self.events = iter(events)
        self.api = RuntimeApi(name)
        self.cold_init, self.cold_first, self.cold_rss = [], [], []
        self.warm, self.warm_rss = [], float("nan")
        self.calls = []

    def start(self, endpoint=None):
        env = dict(self.env, AWS_LAMBDA_RUNTIME_API=self.api.address,
                   AWS_LAMBDA_FUNCTION_NAME=self.name, AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
                   AWS_LAMBDA_FUNCTION_VERSION="$LATEST", AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{self.name}",
                   AWS_LAMBDA_LOG_STREAM_NAME="bench")
        if endpoint:
            env["AWS_ENDPOINT_URL"] = endpoint
        # A fresh queue per process: the killed one's last poll still waits on the old one.
        self.api.events = queue.Queue()
        self.api.first_poll_at = None
        started = time.perf_counter()
        proc = subprocess.Popen([self.binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return proc, started

    def invoke(self):
        self.api.queue_event(next(self.events))
        latency, at, error = self.api.answer()
        if error:
            raise SystemExit(f"{self.name} answered with an error: {error}")
        return latency, at

    def cold(self):
        proc, started = self.start()
        self.api.queue_event(next(self.events))  # there before the process first polls
        try:
            _, at, error = self.api.answer()
            if error:
                raise SystemExit(f"{self.name} answered with an error: {error}")
            self.cold_init.append((self.api.first_poll_at - started) * 1000)
            self.cold_first.append((at - started) * 1000)
            self.cold_rss.append(peak_rss_mib(proc.pid))
        finally:
            stop(proc)


def stop(proc):
    proc.kill()
    proc.wait()


def seed(env, enrollment, prefix):
    """An enrollment of a management account and MEMBERS members; its members' leave
    events, one per member."""
    management = f"{prefix}00000000000"[:12]
    members = [f"{prefix}{i:011d}"[:12] for i in range(1, MEMBERS + 1)]
    args = [ONBOARDCTL, "enroll", enrollment, "--mode", "standalone", "--management", management]
    for member in members:
        args += ["--member", member]
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL)
    template = FIXTURE.read_text()
    events = []
    for member in members:
        event = json.loads(template.replace("333333333333", member))
        event["detail"]["eventID"] = f"bench-{enrollment}-{member}-{time.time_ns()}"
        events.append(event)
    return events


def median(values):
    return statistics.median(values) if values else float("nan")


def spread(values, unit):
    if not values:
        return "-"
    return f"{median(values):.2f} {unit} ({min(values):.2f}-{max(values):.2f})"


def zip_sizes():
    lines = []
    for path in sorted((ROOT / "target/lambda").glob("*/bootstrap.zip")):
        size = path.stat().st_size
        with zipfile.ZipFile(path) as archive:
            binary = archive.getinfo("bootstrap").file_size
        mark = "" if size <= ZIP_BUDGET_BYTES else f"  over {ZIP_BUDGET_BYTES / 1e6:.1f} MB"
        lines.append(f"  {path.parent.name:<12}{size / 1e6:>7.2f} MB ({size / 2**20:.2f} MiB), "
                     f"bootstrap {binary / 2**20:.2f} MiB{mark}")
    return lines or ["  none built (make package)"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cold", type=int, default=int(os.environ.get("COLDSTART_RUNS", "10")))
    parser.add_argument("--warm", type=int, default=50)
    parser.add_argument("--count", type=int, default=4)
    parser.add_argument("--binary", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--tracker-only", action="store_true", help="no floor (make coldstart)")
    args = parser.parse_args()
    if args.cold + args.warm + args.count > MEMBERS:
        parser.error(f"--cold + --warm + --count must stay within the enrollment's {MEMBERS} members")
    return args


def main():
    args = parse_args()
    binaries = {"tracker": str(ROOT / "target/release/tracker")}
    if not args.tracker_only:
        binaries["floor"] = str(ROOT / "target/release/lambda-floor")
    for spec in args.binary:
        name, _, path = spec.partition("=")
        binaries[name] = path
    for name, path in binaries.items():
        if not os.access(path, os.X_OK):
            raise SystemExit(f"{name}: no executable at {path} (make bench-lambda builds it)")

    emulator, endpoint = start_emulator()
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1",
               AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               TABLE_NAME="bench", EVENT_BUS_NAME="org-onboarding",
               TARGET_ORGANIZATION_ID="o-exampleorgid", TARGET_MANAGEMENT_ACCOUNT_ID="111111111111")
    env.pop("RUST_LOG", None)
    try:
        subprocess.run([ONBOARDCTL, "init"], env=env, check=True, stdout=subprocess.DEVNULL)
        # enroll reads the target's accounts to refuse enrolling any of them: the default
        # account manages an organization (not the fixtures' target, which the events
        # name; enroll only needs a readable account list).
        subprocess.run(["aws", "organizations", "create-organization", "--feature-set", "ALL"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        contestants = []
        for index, (name, path) in enumerate(binaries.items()):
            # Each tracker has an enrollment of its own (its members leave once each);
            # a floor gets the same kind of events about accounts nobody enrolled.
            prefix = str(7 - index) if index < 6 else "1"
            if name.startswith("floor"):
                template = FIXTURE.read_text()
                events = []
                for i in range(1, MEMBERS + 1):
                    event = json.loads(template.replace("333333333333", f"9{i:011d}"))
                    event["detail"]["eventID"] = f"bench-{name}-{i}-{time.time_ns()}"
                    events.append(event)
            else:
                events = seed(env, f"bench-{name}", prefix)
            contestants.append(Contestant(name, path, env, events))

        for _ in range(args.cold):
            for contestant in contestants:
                contestant.cold()

        if args.warm:
            running = [(c, c.start()[0]) for c in contestants]
            try:
                for c, _ in running:  # the cold event of the warm process is not counted
                    c.invoke()
                for _ in range(args.warm - 1):
                    for c, _ in running:
                        c.warm.append(c.invoke()[0] * 1000)
                for c, proc in running:
                    c.warm_rss = peak_rss_mib(proc.pid)
            finally:
                for _, proc in running:
                    stop(proc)

        if args.count:
            proxy = CountingProxy(endpoint)
            for c in contestants:
                proc, _ = c.start(proxy.endpoint)
                try:
                    for _ in range(args.count):
                        c.invoke()
                        c.calls.append(proxy.take())
                finally:
                    stop(proc)
            proxy.shutdown()
    finally:
        emulator.kill()
    report(args, contestants)


def report(args, contestants):
    print(f"Lambda functions on a local Runtime API and the emulator: member LeaveOrganization "
          f"events of a {MEMBERS + 1}-account enrollment")
    print(f"cold: {args.cold} fresh processes each; warm: {max(args.warm - 1, 0)} events after the first, "
          f"one process each; median (min-max)\n")
    for c in contestants:
        print(f"{c.name}")
        print(f"  init (start -> first poll)        {spread(c.cold_init, 'ms')}")
        print(f"  first event (start -> answer)     {spread(c.cold_first, 'ms')}")
        print(f"  warm event                        {spread(c.warm, 'ms')}")
        warm_rss = "" if c.warm_rss != c.warm_rss else f" / {c.warm_rss:.1f}"  # NaN: no warm run
        print(f"  peak RSS cold{' / after warm' if warm_rss else ''}{' ' * (21 if not warm_rss else 8)}"
              f"{median(c.cold_rss):.1f}{warm_rss} MiB")
        if c.calls:
            total = Counter()
            for calls in c.calls:
                total.update(calls)
            per_event = sum(total.values()) / len(c.calls)
            detail = ", ".join(f"{op} {n / len(c.calls):g}" for op, n in sorted(total.items()))
            each = " ".join(str(sum(calls.values())) for calls in c.calls)
            print(f"  round trips per event             {per_event:g} ({detail}; events: {each})")
    floors = [c for c in contestants if c.name.startswith("floor")]
    if floors:
        floor = floors[0]
        print(f"\nratios to {floor.name} (median / median; the issue's aims: first <= 1.3, init <= 1.2, warm <= 1.5)")
        for c in contestants:
            if c is floor:
                continue
            ratios = []
            for label, mine, theirs in (("first", c.cold_first, floor.cold_first),
                                        ("init", c.cold_init, floor.cold_init),
                                        ("warm", c.warm, floor.warm)):
                if mine and theirs:
                    ratios.append(f"{label} {median(mine) / median(theirs):.2f}")
            ratios.append(f"RSS {c.warm_rss / floor.warm_rss:.2f}" if args.warm else
                          f"RSS {median(c.cold_rss) / median(floor.cold_rss):.2f}")
            print(f"  {c.name:<12}{', '.join(ratios)}")
    print("\nLambda zips (target/lambda, make package; aim <= 2.5 MB each):")
    print("\n".join(zip_sizes()))


if __name__ == "__main__":
    main()
