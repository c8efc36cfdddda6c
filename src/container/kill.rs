//! `kill`: a signal to the init, or with --all to every process.

use anyhow::{Context, Result};

use super::state::{Locked, State, Status};
use super::ContainerError;
use crate::cgroups::Cgroups;

pub fn kill(locked: &Locked, state: &State, sig: i32, all: bool) -> Result<()> {
    if locked.status(state) == Status::Stopped {
        return Err(ContainerError::NotRunning.into());
    }
    if all {
        if state.cgroup_paths.is_empty() {
            // Rootless without a cgroup: what `ps` finds instead.
            for pid in super::ps::pids(state) {
                let _ = crate::sys::kill(pid, sig);
            }
            return Ok(());
        }
        return Cgroups::from_paths(&state.cgroup_paths).signal_all(sig);
    }
    crate::sys::kill(state.pid, sig)
        .with_context(|| format!("send signal {sig} to init {}", state.pid))
}
