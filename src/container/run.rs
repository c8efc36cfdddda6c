//! `run`: create + start, then (unless detached) wait for the init while
//! forwarding signals to it, and delete the container when it exits.

use anyhow::{Context, Result};

use super::create::{self, CreateOpts};
use super::state::Store;
use crate::sys;

/// Blocks every signal so that they queue for `sigwaitinfo`; the init
/// unblocks them itself.
fn block_all() -> libc::sigset_t {
    // SAFETY: filling and installing a signal set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// Returns the exit code runr should exit with.
pub fn run(store: &Store, id: &str, opts: &CreateOpts, detach: bool) -> Result<i32> {
    let set = if detach { None } else { Some(block_all()) };
    let created = create::create(store, id, opts)?;
    let pid = created.state.pid;
    if let Err(e) = super::start::start(&created.locked, &created.state) {
        let _ = super::delete::destroy(created.locked, &created.state);
        return Err(e);
    }
    if detach {
        return Ok(0);
    }
    // Other runr commands (kill, state) must be able to lock it meanwhile.
    drop(created.locked);
    let set = set.expect("signals blocked when not detached");
    let code = wait_forwarding(pid, &set);
    if let Ok((locked, state)) = store.open(id) {
        super::delete::destroy(locked, &state).context("delete the container after it exited")?;
    }
    Ok(code)
}

fn wait_forwarding(pid: i32, set: &libc::sigset_t) -> i32 {
    loop {
        // SAFETY: set is valid; info is written by the kernel.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let sig = unsafe { libc::sigwaitinfo(set, &mut info) };
        if sig < 0 {
            continue;
        }
        match sig {
            libc::SIGCHLD => {
                // Reap everything that has exited; the init's status is ours.
                while let Ok((p, status)) = sys::waitpid(-1, libc::WNOHANG) {
                    if p <= 0 {
                        break;
                    }
                    if p == pid {
                        return sys::exit_code(status);
                    }
                }
            }
            libc::SIGWINCH | libc::SIGURG => {}
            s => {
                let _ = sys::kill(pid, s);
            }
        }
    }
}
