//! runr: a runc-compatible OCI low-level container runtime.

pub mod cgroups;
pub mod check;
pub mod cli;
pub mod config;
pub mod container;
pub mod fault;
pub mod features;
pub mod hooks;
pub mod logging;
pub mod mountinfo;
pub mod namespaces;
pub mod netdev;
pub mod phase;
pub mod process;
pub mod rootfs;
pub mod rootless;
pub mod security;
pub mod signal;
pub mod spec_template;
pub mod sys;
pub mod terminal;
pub mod timefmt;
