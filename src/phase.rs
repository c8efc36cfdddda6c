//! `--debug` timings of `create`, one log line per phase, in this order:
//!
//! - `parse`: read and validate config.json (host side)
//! - `cgroup`: create the cgroups, write limits and device rules (host)
//! - `clone`: prepare namespaces and clone3 the init (host)
//! - `mounts`: the rootfs bind, the config's mounts, /dev (init)
//! - `pivot_root`: make the rootfs the root (init)
//! - `exec`: everything the init does for its final execve: rlimits,
//!   LSM labels, seccomp, user and capabilities, cwd, the executable's
//!   lookup (init). The execve itself waits for `runr start`.
//!
//! The init does not write the log: it sends its timings to the parent
//! over the sync channel, which logs them. With `--debug` off no clock is
//! read and nothing is sent.

use std::time::Duration;

use crate::process::sync::Channel;

/// A phase being timed; inert when `--debug` is off.
#[must_use]
pub struct Timer(Option<Duration>);

/// CLOCK_MONOTONIC, or None where it fails. Not `Instant`, which panics
/// when clock_gettime fails: the `exec` phase ends after the container's
/// seccomp filter is loaded, and a filter may forbid the syscall.
fn now() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to fill.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) } != 0 {
        return None;
    }
    Some(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// Starts timing a phase.
pub fn start() -> Timer {
    Timer(crate::logging::debug_enabled().then(now).flatten())
}

impl Timer {
    fn elapsed(&self) -> Option<Duration> {
        Some(now()?.saturating_sub(self.0?))
    }

    /// Host side: logs the phase's line.
    pub fn done(self, phase: &str) {
        if let Some(took) = self.elapsed() {
            log(phase, took);
        }
    }

    /// Init side: sends the timing to the parent, which logs it.
    pub fn send(self, phase: &str, ch: &Channel) -> std::io::Result<()> {
        match self.elapsed() {
            Some(took) => ch.send_phase(phase, took),
            None => Ok(()),
        }
    }
}

/// Logs one timing line (at debug level).
pub fn log(phase: &str, took: Duration) {
    crate::logging::debug(&line(phase, took));
}

fn line(phase: &str, took: Duration) -> String {
    format!("phase={phase} took={:.3}ms", took.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_reads_in_milliseconds() {
        assert_eq!(
            line("mounts", Duration::from_micros(1234)),
            "phase=mounts took=1.234ms"
        );
        assert_eq!(
            line("exec", Duration::from_nanos(500)),
            "phase=exec took=0.001ms"
        );
    }
}
