//! The cases, one file per spec document (section).

use crate::harness::Case;

mod cgroups;
mod config;
mod config_linux;
mod devices;
mod features;
mod hooks;
mod mounts;
mod namespaces;
mod runtime;
mod runtime_linux;
mod scenario;
mod seccomp;
mod support;

/// Every case, in the order the suite runs them.
pub fn all() -> Vec<Case> {
    let mut v = runtime::cases();
    v.extend(runtime_linux::cases());
    v.extend(config::cases());
    v.extend(mounts::cases());
    v.extend(hooks::cases());
    v.extend(config_linux::cases());
    v.extend(namespaces::cases());
    v.extend(devices::cases());
    v.extend(cgroups::cases());
    v.extend(seccomp::cases());
    v.extend(features::cases());
    v
}
