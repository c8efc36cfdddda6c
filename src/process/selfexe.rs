//! The host's runr binary must never be writable from inside a container
//! (CVE-2019-5736). A container process can reach it through
//! /proc/PID/exe of a runr process in its namespaces, or by exec'ing a
//! script whose interpreter is `/proc/self/exe` (the kernel resolves it
//! while the process is still runr); a write-open of that link, or a
//! reopen of an O_PATH fd of it after runr exits, would then rewrite the
//! binary that the host runs as root next time.
//!
//! So the commands that start processes in a container (create, run,
//! exec) first re-exec runr from a read-only view of itself: a detached
//! read-only bind mount of the binary (open_tree + mount_setattr, no copy),
//! or, without the privilege to mount, a sealed memfd copy. Every path to
//! the binary from inside then lands on that view: EROFS or EPERM.
//! Runtime code in the container's namespaces is also non-dumpable, so
//! /proc/PID/exe of it cannot be opened at all.

use std::ffi::{CString, OsString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use anyhow::{bail, Context, Result};

use crate::sys;

/// Set in the environment of the re-exec'd runr, removed at once.
const MARKER: &str = "_RUNR_EXE_PROTECTED";
const MOUNT_ATTR_RDONLY: u64 = 0x1;

/// Re-execs runr from a read-only view of its binary unless it already
/// runs from one. Returns only in the process that is protected.
pub fn protect() -> Result<()> {
    if std::env::var_os(MARKER).is_some() {
        std::env::remove_var(MARKER);
        if !is_protected()? {
            bail!("runr re-exec'd itself but its binary is still writable");
        }
        return Ok(());
    }
    if is_protected()? {
        return Ok(());
    }
    let fd = match read_only_bind() {
        Ok(fd) => {
            hand_off_teardown(fd.as_raw_fd());
            fd
        }
        // No privilege to mount (rootless): a sealed copy in memory.
        Err(_) => sealed_copy()?,
    };
    reexec(&fd)
}

/// The last close of a detached mount's fd tears the mount down and waits
/// for an RCU grace period (~3 ms, measured): paid inside execveat, it
/// would slow every create and exec. A child holds a copy of the fd until
/// runr exits (a pidfd of runr turns readable), so the teardown happens
/// there. It is forked once and not waited for (an intermediate to
/// reparent it cost a second fork and a wait on the critical path): it
/// outlives runr, so runr's own waits, all for a given pid or WNOHANG,
/// never see it, and it is reparented when runr exits. Best effort: on
/// any failure runr just pays the wait itself.
fn hand_off_teardown(fd: std::os::fd::RawFd) {
    // SAFETY: pidfd_open of our own pid.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) } as i32;
    if pidfd < 0 {
        return;
    }
    if let Ok(sys::Forked::Child) = sys::fork() {
        hold_until_exit(fd, pidfd);
    }
    // SAFETY: closing our own pidfd.
    unsafe { libc::close(pidfd) };
}

/// The holder keeps only the mount's fd and runr's pidfd (never the
/// caller's stdio pipes) and exits when runr has.
fn hold_until_exit(fd: std::os::fd::RawFd, pidfd: std::os::fd::RawFd) -> ! {
    let _ = sys::close_fds_from_except(0, &[fd, pidfd]);
    let mut p = libc::pollfd {
        fd: pidfd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    while unsafe { libc::poll(&mut p, 1, -1) } < 0 {}
    // SAFETY: leave at once; the fd closes on the way out.
    unsafe { libc::_exit(0) }
}

/// The binary is on a read-only mount, or a memfd sealed against writes.
pub fn is_protected() -> Result<bool> {
    let f = std::fs::File::open("/proc/self/exe").context("open /proc/self/exe")?;
    // SAFETY: fstatvfs into a zeroed struct on a valid fd.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatvfs(f.as_raw_fd(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error()).context("statfs /proc/self/exe");
    }
    if st.f_flag & libc::ST_RDONLY != 0 {
        return Ok(true);
    }
    // SAFETY: fcntl on a valid fd; EINVAL for anything but a memfd.
    let seals = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GET_SEALS) };
    Ok(seals >= 0 && seals & libc::F_SEAL_WRITE != 0)
}

/// A detached, read-only bind mount of the running binary (no copy).
fn read_only_bind() -> Result<OwnedFd> {
    let fd = sys::open_tree_clone(c"/proc/self/exe", false).context("clone a mount of runr")?;
    let attr = sys::MountAttr {
        attr_set: MOUNT_ATTR_RDONLY,
        ..Default::default()
    };
    sys::mount_setattr(fd.as_raw_fd(), false, &attr).context("make runr's mount read-only")?;
    Ok(fd)
}

/// A memfd holding a copy of the binary, sealed against any change.
fn sealed_copy() -> Result<OwnedFd> {
    // SAFETY: memfd_create with a valid name.
    let fd = unsafe {
        libc::memfd_create(
            c"runr".as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).context("memfd_create");
    }
    // SAFETY: a new fd we own.
    let memfd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut src = std::fs::File::open("/proc/self/exe").context("open /proc/self/exe")?;
    let mut dst = std::fs::File::from(memfd.try_clone().context("dup memfd")?);
    std::io::copy(&mut src, &mut dst).context("copy runr into a memfd")?;
    drop(dst);
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on a valid memfd.
    if unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
        return Err(std::io::Error::last_os_error()).context("seal the runr memfd");
    }
    Ok(memfd)
}

fn cstrings(items: impl Iterator<Item = OsString>) -> Result<Vec<CString>> {
    items
        .map(|s| CString::new(s.as_bytes()).context("NUL byte in argv or environment"))
        .collect()
}

/// execveat(fd, "", argv, env + marker, AT_EMPTY_PATH).
fn reexec(fd: &OwnedFd) -> Result<()> {
    let argv = cstrings(std::env::args_os())?;
    let mut env = cstrings(std::env::vars_os().map(|(k, v)| {
        let mut kv = k;
        kv.push("=");
        kv.push(v);
        kv
    }))?;
    env.push(CString::new(format!("{MARKER}=1")).expect("no NUL"));
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut env_p: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
    env_p.push(std::ptr::null());
    // SAFETY: NULL-terminated arrays of valid C strings that outlive the call.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            argv_p.as_ptr(),
            env_p.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    Err(std::io::Error::last_os_error()).context("re-exec runr from a read-only view of itself")
}
