//! `delete`: remove a stopped (or created, or with --force any) container:
//! its processes, cgroups and state directory.

use anyhow::Result;

use super::state::{Locked, State, Status, Store};
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
/// poststop hooks (each failing one is a warning: the rest still run and
/// the delete stands).
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
    if let Some(h) = &state.host_mounts {
        crate::rootfs::hostns::remove(&state.rootfs, h)?;
    }
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

/// `delete --force` of a container whose state.json cannot be read (torn,
/// or written by someone else): its cgroups are found again from the
/// config.json saved at create, everything in them is killed, and the
/// directory goes. Returns what the user is told.
pub fn force_unreadable(store: &Store, id: &str) -> Result<String> {
    let locked = store.lock(id)?;
    let note = match locked.saved_spec() {
        Ok(spec) => {
            let path = spec.linux().as_ref().and_then(|l| l.cgroups_path().clone());
            let mut paths = Cgroups::planned(path.as_deref(), id)?;
            paths.retain(|_, p| p.is_dir());
            let cg = Cgroups::from_paths(&paths);
            cg.kill_all()?;
            cg.destroy()?;
            "state.json unreadable: removed the container by the cgroups its saved config names"
        }
        Err(_) => "state.json and config.json unreadable: removed the state directory only",
    };
    locked.remove()?;
    Ok(note.to_string())
}
