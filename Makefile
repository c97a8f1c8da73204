# org-onboarding. Two commands on a fresh machine: `make demo`, then `make test`.
# Each installs what it needs (the fakecloud emulator once per machine, cargo-nextest if missing).

CARGO ?= cargo
SHELL := /bin/bash

.PHONY: demo test lint iac iam iam-tools notification-rules unit bench bench-scale coldstart bench-lambda package fakecloud nextest fuzz

## demo: the onboarding flow, end to end, printed as a status table
demo: fakecloud
	$(CARGO) run --quiet --locked -p onboarding-e2e --bin demo

## test: formatting, lints, every test (domain, adapters and end-to-end on the emulator), then
## the IAM checks: every role against the permission manifest, every call the tests logged
## against the role of the function that made it (infra/iam/)
test: fakecloud nextest lint iac iam-tools
	@rm -rf target/iam-calls
	$(CARGO) nextest run --workspace --locked --no-fail-fast
	@$(MAKE) --no-print-directory iam

## iam-tools: the IAM checker's npm packages (the strict-mode test resolves a role with it)
iam-tools:
	@infra/iam/install.sh

## iam: the IAM checker's own tests, then the checks (needs `make iac` and the tests' call logs)
iam:
	@infra/iam/install.sh
	node --test infra/iam/test/
	@infra/iam/check.sh

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

## notification-rules: template.yaml's e-mail rules, written from shared/src/notifications/email.rs
notification-rules:
	$(CARGO) run --quiet --locked -p onboarding-e2e --bin notification_rules

## iac: cfn-lint, the SAM transform and checkov on template.yaml and infra/spoke.yaml
iac:
	@infra/iac-check.sh

## package: arm64 Lambda zips with cargo-lambda (from PyPI, brings zig), sizes printed
package:
	@infra/package.sh

## unit: the tests that need no emulator
unit: nextest
	$(CARGO) nextest run --locked -p onboarding

## fuzz: each cargo-fuzz target (CloudTrail event path, CSV enrollment reader, policy reader)
## for FUZZ_SECONDS (default 60) from a corpus seeded with the fixtures; nightly toolchain,
## installs cargo-fuzz if missing; not part of `make test` (fuzz/run.sh)
fuzz:
	@fuzz/run.sh

## bench: throughput benchmarks (criterion-free: divan)
bench:
	$(CARGO) bench --locked -p onboarding

## bench-scale: 1,000 and 10,000 accounts on the emulator: events/s, calls per event, growth ratios
## (BENCH_SCALE_ARGS, e.g. "--sample 200" or "100 1000 --full", overrides the defaults)
bench-scale: fakecloud
	$(CARGO) run --quiet --locked -p onboarding-e2e --bin bench_scale -- $(BENCH_SCALE_ARGS)

## coldstart: the tracker's first event after process start, as Lambda runs it (release build)
coldstart: fakecloud lambda-binaries
	python3 infra/local/coldstart.py --tracker-only --warm 0 --count 0

## bench-lambda: the tracker beside the floor (tests/floor: a minimal Rust Lambda doing one
## TransactWriteItems and one PutEvents) in one run: cold and warm latency, init, the ratios,
## round trips per event, peak RSS, the zips' sizes (BENCH_LAMBDA_ARGS, e.g. "--cold 20")
bench-lambda: fakecloud lambda-binaries
	python3 infra/local/coldstart.py $(BENCH_LAMBDA_ARGS)

# One cargo invocation per binary, so that no binary gets another's features (the tracker
# built with onboardctl would link the preflight's SDK crates). onboardctl only sets up the
# table and the enrollment: a debug build (the one `make test` builds) is enough.
.PHONY: lambda-binaries
lambda-binaries:
	$(CARGO) build --release --locked -p tracker
	$(CARGO) build --release --locked -p lambda-floor
	$(CARGO) build --locked -p onboardctl

fakecloud:
	@infra/local/install-fakecloud.sh

nextest:
	@command -v cargo-nextest >/dev/null || { echo ">> Installing cargo-nextest (one time)..."; $(CARGO) install cargo-nextest --locked --quiet; }

.PHONY: sam-build scale demo-report

## sam-build: `sam build` as a new user types it (samconfig.toml), timed; not in `make test`
## (about 5 minutes of both cores, beyond the CI budget)
sam-build:
	@infra/sam-build.sh

## scale: `enroll --file` of 10,000 lines, `status` and `status --json` on the emulator, timed
scale: fakecloud
	@infra/local/enroll-scale.sh

## demo-report: the HTML report of the demo's final state (demo-report.html)
demo-report: fakecloud
	$(CARGO) run --quiet --locked -p onboarding-e2e --bin demo_report -- demo-report.html
