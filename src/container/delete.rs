//! `delete`: remove a stopped (or created, or with --force any) container:
//! its processes, cgroups and state directory.

use anyhow::Result;

use super::state::{Locked, State, Status};
use super::ContainerError;
use crate::cgroups::Cgroups;
use crate::hooks::{self, Kind};

pub fn delete(locked: Locked, state: &State, force: bool) -> Result<()> {
    let status = locked.status(state);
    match status {
        Status::Stopped | Status::Created => {}
        _ if force => {}
        s => return Err(ContainerError::NotStopped(state.id.clone(), s).into()),
    }
    destroy(locked, state)
}

/// Kills whatever is left, removes cgroups and state, then runs the
/// poststop hooks (a failing one is a warning: the others run and the
/// delete stands).
pub fn destroy(locked: Locked, state: &State) -> Result<()> {
    let spec = if state.hooks {
        locked.saved_spec().ok()
    } else {
        None
    };
    remove(locked, state)?;
    if let Some(spec) = spec {
        hooks::run_warn(&spec, Kind::Poststop, &state.hook_state("stopped"));
    }
    Ok(())
}

fn remove(locked: Locked, state: &State) -> Result<()> {
    if state.init_alive() {
        let _ = crate::sys::kill(state.pid, libc::SIGKILL);
    }
    let cg = Cgroups::from_paths(&state.cgroup_paths);
    if crate::cgroups::is_frozen(&state.cgroup_paths) {
        for p in state.cgroup_paths.values() {
            let _ = std::fs::write(p.join("freezer.state"), "THAWED");
        }
    }
    cg.kill_all()?;
    crate::fault::point("delete:after-kill");
    wait_gone(state);
    cg.destroy()?;
    crate::fault::point("delete:after-cgroups");
    locked.remove()
}

/// Waits (briefly) until the init is no longer a live process.
fn wait_gone(state: &State) {
    for _ in 0..1000 {
        if !state.init_alive() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}
