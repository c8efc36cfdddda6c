//! Fault injection for the reliability tests: with RUNR_FAULT=<point> in
//! its environment, runr kills itself with SIGKILL when it reaches that
//! point, as a crash or an OOM kill would. Costs one getenv per point.

/// Dies here if RUNR_FAULT names this point.
pub fn point(name: &str) {
    if std::env::var_os("RUNR_FAULT").is_some_and(|v| v == name) {
        // SAFETY: raising a signal on ourselves.
        unsafe { libc::raise(libc::SIGKILL) };
    }
}
