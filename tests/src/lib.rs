//! End-to-end tests and the local AWS harness (work in progress).
