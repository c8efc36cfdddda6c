//! `pause` and `resume` through the freezer.

use anyhow::{bail, Result};

use super::state::{Locked, State, Status};
use super::ContainerError;

pub fn pause(locked: &Locked, state: &State) -> Result<()> {
    match locked.status(state) {
        Status::Running | Status::Created => super::cgroups_for(state, "pause")?.set_frozen(true),
        Status::Paused => bail!("container already paused"),
        _ => Err(ContainerError::NotRunning.into()),
    }
}

pub fn resume(locked: &Locked, state: &State) -> Result<()> {
    match locked.status(state) {
        Status::Paused => super::cgroups_for(state, "resume")?.set_frozen(false),
        // runc's words for every other state, stopped included.
        _ => bail!("container not paused"),
    }
}
