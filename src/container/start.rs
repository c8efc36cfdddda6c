//! `start`: release a created container's init through its exec fifo.

use std::os::fd::AsRawFd;

use anyhow::{bail, Context, Result};

use super::state::{Locked, State, Status};
use super::ContainerError;
use crate::sys;

pub fn start(locked: &Locked, state: &State) -> Result<()> {
    match locked.status(state) {
        Status::Created => {}
        Status::Running => return Err(ContainerError::AlreadyRunning.into()),
        Status::Paused => return Err(ContainerError::StartPaused.into()),
        Status::Stopped | Status::Creating => return Err(ContainerError::Stopped.into()),
    }
    let path = locked.fifo();
    let fd = sys::open(&sys::cstr(&path)?, libc::O_RDONLY | libc::O_NONBLOCK, 0)
        .with_context(|| format!("open exec fifo {}", path.display()))?;
    // One byte: the init is released. Then end-of-file: its write end was
    // closed by the execve (or by its death), so the process now runs.
    let mut released = false;
    loop {
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, 50) };
        if n > 0 {
            let mut b = [0u8; 1];
            // SAFETY: reading into a one-byte buffer.
            let r = unsafe { libc::read(fd.as_raw_fd(), b.as_mut_ptr().cast(), 1) };
            if r == 1 {
                released = true;
            } else if r == 0 && released {
                break;
            }
        }
        if !state.init_alive() {
            if released {
                break;
            }
            bail!("container init exited before it could be started");
        }
    }
    std::fs::remove_file(&path).with_context(|| format!("remove exec fifo {}", path.display()))?;
    Ok(())
}
