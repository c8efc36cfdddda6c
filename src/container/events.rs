//! `events`: runc's JSON event stream: `stats` every interval (or once
//! with --stats) and `oom` when the container hits its memory limit.

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::json;

use super::state::{Status, Store};
use crate::cgroups::Cgroups;

/// Go-style durations: `5s`, `100ms`, `1m30s`, `2h`.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let bad = || anyhow::anyhow!("invalid duration {s:?}");
    let mut total = 0f64;
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let n: f64 = rest[..n_end].parse().map_err(|_| bad())?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..u_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += n * unit;
        rest = &rest[u_end..];
    }
    if total <= 0.0 {
        bail!("duration must be greater than 0: {s:?}");
    }
    Ok(Duration::from_secs_f64(total))
}

fn emit(v: serde_json::Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{v}")?;
    out.flush()?;
    Ok(())
}

/// A v1 OOM notification: an eventfd registered on memory.oom_control.
fn oom_eventfd(dir: &std::path::Path) -> Result<OwnedFd> {
    let ctl =
        std::fs::File::open(dir.join("memory.oom_control")).context("open memory.oom_control")?;
    // SAFETY: eventfd returns a new fd we own.
    let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    if efd < 0 {
        return Err(std::io::Error::last_os_error()).context("eventfd");
    }
    let efd = unsafe { OwnedFd::from_raw_fd(efd) };
    std::fs::write(
        dir.join("cgroup.event_control"),
        format!("{} {}", efd.as_raw_fd(), ctl.as_raw_fd()),
    )
    .context("register for OOM events")?;
    std::mem::forget(ctl); // must stay open while registered
    Ok(efd)
}

fn oom_kills_v2(dir: &std::path::Path) -> u64 {
    std::fs::read_to_string(dir.join("memory.events"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse().ok())
        })
        .unwrap_or(0)
}

pub fn events(store: &Store, id: &str, stats_once: bool, interval: Duration) -> Result<()> {
    let (locked, state) = store.open(id)?;
    if locked.status(&state) == Status::Stopped {
        bail!("container with id {id} is not running");
    }
    drop(locked);
    let cg = Cgroups::from_paths(&state.cgroup_paths);
    let stats = |cg: &Cgroups| -> Result<()> {
        emit(json!({"type": "stats", "id": id, "data": cg.stats()?}))
    };
    if stats_once {
        return stats(&cg);
    }
    let mem = cg.memory_dir().ok();
    let efd = match &mem {
        Some((dir, false)) => oom_eventfd(dir).ok(),
        _ => None,
    };
    let mut last_kills = mem
        .as_ref()
        .filter(|(_, v2)| *v2)
        .map(|(d, _)| oom_kills_v2(d));
    let mut next = std::time::Instant::now();
    loop {
        if std::time::Instant::now() >= next {
            if !state.init_alive() {
                return Ok(());
            }
            stats(&cg)?;
            next += interval;
        }
        let wait = next.saturating_duration_since(std::time::Instant::now());
        let ms = wait.as_millis().min(200) as i32;
        match &efd {
            Some(fd) => {
                let mut p = libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                if unsafe { libc::poll(&mut p, 1, ms) } > 0 {
                    let mut n = 0u64;
                    // SAFETY: eventfd reads are 8 bytes.
                    unsafe { libc::read(fd.as_raw_fd(), (&mut n as *mut u64).cast(), 8) };
                    emit(json!({"type": "oom", "id": id}))?;
                }
            }
            None => std::thread::sleep(Duration::from_millis(ms as u64)),
        }
        if let (Some(prev), Some((dir, true))) = (last_kills, &mem) {
            let now = oom_kills_v2(dir);
            if now > prev {
                emit(json!({"type": "oom", "id": id}))?;
            }
            last_kills = Some(now);
        }
        if !state.init_alive() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("x").is_err());
    }
}
