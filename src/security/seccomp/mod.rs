//! linux.seccomp: compiled to BPF by runr's own compiler (`compile`),
//! loaded with the seccomp syscall (never seccompiler's apply_filter,
//! which forces no_new_privs), and for SCMP_ACT_NOTIFY the listener fd
//! handed to the engine's agent at listenerPath with the container state.

pub mod compile;
mod tables;

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag as F};
use serde::Serialize;

const FLAG_TSYNC: u32 = 1;
const FLAG_LOG: u32 = 2;
const FLAG_SPEC_ALLOW: u32 = 4;
const FLAG_NEW_LISTENER: u32 = 8;
const FLAG_TSYNC_ESRCH: u32 = 16;
const FLAG_WAIT_KILLABLE_RECV: u32 = 32;

/// A compiled filter, ready to load in the container process.
#[derive(Debug, Clone)]
pub struct Filter {
    prog: Vec<libc::sock_filter>,
    flags: u32,
    /// Some rule notifies: the filter gets a listener fd.
    pub notify: bool,
}

impl Filter {
    pub fn new(cfg: &LinuxSeccomp) -> Result<Filter> {
        let prog = compile::compile(cfg).context("linux.seccomp")?;
        let notify = cfg
            .syscalls()
            .iter()
            .flatten()
            .any(|s| s.action() == LinuxSeccompAction::ScmpActNotify);
        if notify
            && cfg
                .listener_path()
                .as_ref()
                .is_none_or(|p| p.as_os_str().is_empty())
        {
            bail!("linux.seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath");
        }
        let mut flags = 0;
        for f in cfg.flags().iter().flatten() {
            flags |= match f {
                F::SeccompFilterFlagTsync => FLAG_TSYNC,
                F::SeccompFilterFlagLog => FLAG_LOG,
                F::SeccompFilterFlagSpecAllow => FLAG_SPEC_ALLOW,
                F::SeccompFilterFlagWaitKillableRecv => FLAG_WAIT_KILLABLE_RECV,
            };
        }
        if notify {
            flags |= FLAG_NEW_LISTENER;
            if flags & FLAG_TSYNC != 0 {
                flags |= FLAG_TSYNC_ESRCH;
            }
        }
        Ok(Filter {
            prog,
            flags,
            notify,
        })
    }

    /// Installs the filter on this process; returns the listener fd when
    /// the filter notifies.
    pub fn load(&self) -> Result<Option<OwnedFd>> {
        let fprog = libc::sock_fprog {
            len: self.prog.len() as u16,
            filter: self.prog.as_ptr() as *mut _,
        };
        // SAFETY: fprog points at our program for the duration of the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                self.flags,
                &fprog as *const libc::sock_fprog,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINVAL) && self.flags & !FLAG_NEW_LISTENER != 0 {
                return Err(e)
                    .context("load the seccomp filter (are its flags supported by this kernel?)");
            }
            return Err(e).context("load the seccomp filter");
        }
        if self.flags & FLAG_NEW_LISTENER != 0 {
            // SAFETY: with NEW_LISTENER the kernel returns a new fd.
            return Ok(Some(unsafe { OwnedFd::from_raw_fd(r as RawFd) }));
        }
        Ok(None)
    }
}

/// What the seccomp agent receives (runtime-spec ContainerProcessState).
#[derive(Serialize)]
struct ProcessState<'a> {
    #[serde(rename = "ociVersion")]
    oci_version: &'a str,
    fds: [&'static str; 1],
    pid: i32,
    metadata: &'a str,
    state: &'a crate::hooks::HookState<'a>,
}

/// Sends the listener fd and the state to the agent at `path`.
pub fn send_to_agent(
    path: &Path,
    metadata: &str,
    state: &crate::hooks::HookState,
    fd: RawFd,
) -> Result<()> {
    let s = UnixStream::connect(path)
        .with_context(|| format!("connect to seccomp listener {}", path.display()))?;
    let msg = ProcessState {
        oci_version: state.oci_version,
        fds: ["seccompFd"],
        pid: state.pid,
        metadata,
        state,
    };
    let payload = serde_json::to_vec(&msg)?;
    use std::os::fd::AsRawFd;
    crate::terminal::send_fd(s.as_raw_fd(), fd, &payload)
        .with_context(|| format!("send the seccomp fd to {}", path.display()))
}
