//! Syscalls runr relies on: clone3 (every process it starts) and pidfd.

use std::os::fd::{FromRawFd, OwnedFd};

use super::probe::{errno_of, outcome};
use super::Item;

pub fn pidfd() -> Item {
    // SAFETY: pidfd_open of this process; the fd is closed below.
    let r = errno_of(unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) });
    if let Ok(fd) = r {
        // SAFETY: our new fd.
        drop(unsafe { OwnedFd::from_raw_fd(fd as i32) });
    }
    Item::new(
        "pidfd",
        r.is_ok(),
        if r.is_ok() { "yes" } else { "no" },
        format!("pidfd_open(self): {}", outcome(r.map(|_| ()))),
    )
}

/// runr starts every process with clone3. An invalid call (no arguments)
/// fails with EINVAL where the syscall exists and ENOSYS where it does not
/// (an old kernel, or a seccomp filter that hides it).
pub fn clone3() -> Item {
    // SAFETY: size 0 is rejected before the pointer is read.
    let r = errno_of(unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null::<u8>(), 0usize) });
    let ok = matches!(r, Err(libc::EINVAL) | Err(libc::EFAULT));
    let result = match r {
        Err(libc::ENOSYS) => "no (the kernel or a seccomp filter lacks it)",
        _ if ok => "yes",
        _ => "unknown",
    };
    Item::new(
        "clone3",
        ok,
        result,
        format!("clone3(NULL, 0): {}", outcome(r.map(|_| ()))),
    )
}
