//! Foreground waiting (`run`, `exec`): signals queue while blocked and are
//! taken with sigwaitinfo; every one but SIGCHLD, SIGWINCH and SIGURG is
//! forwarded to the container process, as runc does.

use crate::sys;

/// Blocks every signal so that they queue for `sigwaitinfo`; children
/// unblock them themselves (`sys::reset_signals`).
pub fn block_all() -> libc::sigset_t {
    // SAFETY: filling and installing a signal set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// Waits for `pid` while forwarding signals; returns its exit code
/// (128+N when killed by signal N). Other exited children are reaped.
pub fn wait_forwarding(pid: i32, set: &libc::sigset_t) -> i32 {
    loop {
        // SAFETY: set is valid; info is written by the kernel.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let sig = unsafe { libc::sigwaitinfo(set, &mut info) };
        if sig < 0 {
            continue;
        }
        match sig {
            libc::SIGCHLD => {
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
