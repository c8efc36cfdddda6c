//! `run`: create + start, then (unless detached) wait for the init while
//! forwarding signals to it, and delete the container when it exits.

use anyhow::{Context, Result};

use super::create::{self, CreateOpts};
use super::state::Store;
use std::os::fd::AsRawFd;

use crate::process::forward;
use crate::terminal;

/// Returns the exit code runr should exit with.
pub fn run(store: &Store, id: &str, opts: &CreateOpts, detach: bool) -> Result<i32> {
    let set = if detach {
        None
    } else {
        Some(forward::block_all())
    };
    let created = create::create(store, id, opts)?;
    let pid = created.state.pid;
    if let Err(f) = super::start::start(&created.locked, &created.state) {
        let _ = super::delete::destroy(created.locked, &created.state);
        return Err(match f {
            super::start::Failure::Refused(e) | super::start::Failure::MustDestroy(e) => e,
        });
    }
    if detach {
        return Ok(0);
    }
    // Other runr commands (kill, state) must be able to lock it meanwhile.
    drop(created.locked);
    let set = set.expect("signals blocked when not detached");
    let code = match created.console {
        Some(sock) => {
            let (master, _) =
                terminal::recv_fd(sock.as_raw_fd()).context("receive the pty master")?;
            terminal::proxy(master, pid, &set)
        }
        None => forward::wait_forwarding(pid, &set),
    };
    if let Ok((locked, state)) = store.open(id) {
        super::delete::destroy(locked, &state).context("delete the container after it exited")?;
    }
    Ok(code)
}
