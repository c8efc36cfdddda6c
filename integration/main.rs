//! End-to-end tests: the built `runr` binary starts real containers from a
//! busybox bundle, and each test checks what the container sees. They need
//! root. Every test has its own --root and ids starting `runr-test-`, and
//! its `Ctx` force-deletes whatever is left when it is dropped, even when
//! the test fails.

mod bad_input;
mod cgroups;
mod check;
mod cli;
mod common;
mod concurrency;
mod config_applied;
mod debug_timing;
mod errors;
mod exec;
mod faults;
mod hooks;
mod hostile;
mod hostmounts;
mod idmap;
#[cfg(feature = "docgen")]
mod install;
mod lifecycle;
mod namespaces;
mod process_attrs;
mod rootless;
mod seccomp;
mod terminal;
