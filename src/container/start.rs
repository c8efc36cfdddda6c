//! `start`: release a created container's init through its exec fifo,
//! then run the poststart hooks.

use std::os::fd::AsRawFd;

use anyhow::{anyhow, Context, Result};

use super::state::{Locked, State, Status};
use super::ContainerError;
use crate::hooks::{self, Kind};
use crate::sys;

/// Why start failed: either nothing happened, or the container was
/// started far enough that it must now be stopped and deleted (a failing
/// startContainer hook or exec, runtime-spec lifecycle steps 8-12).
pub enum Failure {
    Refused(anyhow::Error),
    MustDestroy(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Refused(e)
    }
}

pub fn start(locked: &Locked, state: &State) -> Result<(), Failure> {
    match locked.status(state) {
        Status::Created => {}
        Status::Running => return Err(anyhow::Error::from(ContainerError::AlreadyRunning).into()),
        Status::Paused => return Err(anyhow::Error::from(ContainerError::StartPaused).into()),
        Status::Stopped | Status::Creating => {
            return Err(anyhow::Error::from(ContainerError::Stopped).into())
        }
    }
    if state.no_process {
        return Err(anyhow!(
            "process property must not be empty: config.json has no process to start \
             (config.md: it is REQUIRED when start is called)"
        )
        .into());
    }
    let path = locked.fifo();
    let report = read_fifo(locked, state)?;
    crate::fault::point("start:after-release");
    std::fs::remove_file(&path)
        .with_context(|| format!("remove exec fifo {}", path.display()))
        .map_err(Failure::MustDestroy)?;
    // "0": released and exec'd. "1" and the error: a startContainer hook
    // failed. "0", then "1" and the error: released, but the exec failed.
    match report.as_slice() {
        [b'0'] => {}
        [b'1', msg @ ..] | [b'0', b'1', msg @ ..] => {
            return Err(Failure::MustDestroy(anyhow!(
                "{}",
                String::from_utf8_lossy(msg)
            )));
        }
        _ => {
            return Err(Failure::MustDestroy(anyhow!(
                "container init exited before it could be started"
            )))
        }
    }
    if state.hooks {
        // A failing poststart hook is a warning (runtime-spec lifecycle
        // step 9): the container keeps running.
        match locked.saved_spec() {
            Ok(spec) => hooks::run_warn(&spec, Kind::Poststart, &state.hook_state("running")),
            Err(e) => crate::logging::warn(&format!("poststart hooks: {e:#}")),
        }
    }
    Ok(())
}

/// Opens the fifo (which releases the init) and reads its report until
/// end-of-file: the init's write end closes on execve, or when it dies.
fn read_fifo(locked: &Locked, state: &State) -> Result<Vec<u8>> {
    let path = locked.fifo();
    let fd = sys::open(&sys::cstr(&path)?, libc::O_RDONLY | libc::O_NONBLOCK, 0)
        .with_context(|| format!("open exec fifo {}", path.display()))?;
    let mut report = Vec::new();
    loop {
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, 50) };
        if n > 0 {
            let mut buf = [0u8; 4096];
            // SAFETY: reading into a valid buffer.
            let r = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if r > 0 {
                report.extend_from_slice(&buf[..r as usize]);
            } else if r == 0 && !report.is_empty() {
                return Ok(report);
            }
        }
        if !state.init_alive() {
            // Whatever it wrote before dying is in the pipe still.
            let mut buf = [0u8; 4096];
            // SAFETY: as above.
            let r = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if r > 0 {
                report.extend_from_slice(&buf[..r as usize]);
            }
            return Ok(report);
        }
    }
}
