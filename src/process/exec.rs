//! The child side of `runr exec`: join the container's namespaces, apply
//! the process's settings, execve. A failure goes back to the parent as one
//! message; success is the channel closing on execve (close-on-exec).

use anyhow::{anyhow, Context, Result};
use oci_spec::runtime::Process;

use super::finish;
use super::sync::{Channel, Message};
use crate::namespaces::Plan;
use crate::security::caps::CapSets;
use crate::sys;

pub struct ExecArgs<'a> {
    pub plan: &'a Plan,
    pub channel: Channel,
    pub process: &'a Process,
    pub caps: &'a CapSets,
    pub preserve_fds: u32,
    /// The container's seccomp filter.
    pub seccomp: Option<&'a crate::security::seccomp::Filter>,
    /// A socket to send the pty master on (`exec -t`).
    pub console: Option<std::os::fd::RawFd>,
    /// The init's root, to chroot to when there is no mount namespace to
    /// join (the container shares runr's).
    pub root: Option<std::os::fd::RawFd>,
}

/// Runs in the forked child; never returns.
pub fn run(a: ExecArgs) -> ! {
    sys::reset_signals();
    match setup_and_exec(&a) {
        Ok(never) => match never {},
        Err(e) => {
            let _ = a.channel.send_failed(&format!("{e:#}"));
        }
    }
    // SAFETY: leave without running the parent's atexit handlers.
    unsafe { libc::_exit(1) }
}

fn setup_and_exec(a: &ExecArgs) -> Result<std::convert::Infallible> {
    // Runtime code must not be inspectable from inside the container
    // (CVE-2019-5736); execve makes the process dumpable again.
    sys::prctl(libc::PR_SET_DUMPABLE, 0)?;
    a.channel.expect(Message::Proceed).map_err(|e| anyhow!(e))?;
    if a.plan.in_userns() {
        // SAFETY: plain syscalls.
        if unsafe { libc::setresgid(0, 0, 0) } != 0 || unsafe { libc::setresuid(0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error().into());
        }
    }
    a.plan.join_in_child()?;
    if let Some(fd) = a.root {
        // SAFETY: fchdir on an fd the parent opened for us.
        if unsafe { libc::fchdir(fd) } != 0 {
            return Err(std::io::Error::last_os_error()).context("chdir to the container's root");
        }
        crate::rootfs::chroot_cwd()?;
        // SAFETY: our fd, used no more.
        unsafe { libc::close(fd) };
    }
    if let Some(fd) = a.console {
        crate::terminal::setup_pty(fd, super::init::console_size(a.process))?;
        // SAFETY: the console socket is ours and used no more.
        unsafe { libc::close(fd) };
    }
    let exe = finish::prepare(a.process, a.caps, a.seccomp.map(|f| (f, &a.channel)))?;
    finish::exec(a.process, &exe, a.preserve_fds)
}
