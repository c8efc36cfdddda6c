//! Probes that must not change this process: each runs in a forked child
//! that is reaped before the probe returns, and reports through its exit
//! status (0, or the errno of the failed call).

use std::io;

/// The name of an errno, as the C headers spell it.
pub fn errno_name(e: i32) -> String {
    let name = match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::EBADF => "EBADF",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::E2BIG => "E2BIG",
        libc::ENOSYS => "ENOSYS",
        libc::EUSERS => "EUSERS",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ENODEV => "ENODEV",
        _ => return format!("errno {e}"),
    };
    name.to_string()
}

/// The outcome of a syscall: `ok` or its errno's name.
pub fn outcome(r: Result<(), i32>) -> String {
    match r {
        Ok(()) => "ok".to_string(),
        Err(e) => errno_name(e),
    }
}

/// Runs `f` in a forked child and returns what it returned: Ok for 0,
/// Err(errno) otherwise. The caller must be single-threaded (runr is).
pub fn in_child(f: impl FnOnce() -> Result<(), i32>) -> Result<(), i32> {
    // SAFETY: single-threaded; the child only makes syscalls and _exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    if pid == 0 {
        let code = match f() {
            Ok(()) => 0,
            Err(e) => e.clamp(1, 255),
        };
        // SAFETY: leave without running the parent's atexit handlers.
        unsafe { libc::_exit(code) }
    }
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        if io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return Err(libc::ECHILD);
        }
    }
    match (libc::WIFEXITED(status), libc::WEXITSTATUS(status)) {
        (true, 0) => Ok(()),
        (true, e) => Err(e),
        // Killed (a seccomp filter may kill on an unknown syscall).
        _ => Err(libc::EINTR),
    }
}

/// The errno of the last failed call.
pub fn last_errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Turns a raw syscall return into Ok or the errno.
pub fn errno_of(r: libc::c_long) -> Result<libc::c_long, i32> {
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_reports_errno_and_is_reaped() {
        assert_eq!(in_child(|| Ok(())), Ok(()));
        assert_eq!(in_child(|| Err(libc::EPERM)), Err(libc::EPERM));
        assert_eq!(outcome(Err(libc::ENOSYS)), "ENOSYS");
    }
}
