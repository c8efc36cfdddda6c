//! `ps`: the container's processes, as host pids (json) or as `ps` rows.

use std::process::Command;

use anyhow::{bail, Context, Result};

use super::state::{State, Status};
use crate::cgroups::Cgroups;

/// What `ps` prints for a container in `status`: its pids as JSON, or
/// the rows of `ps ARGS`. A stopped container has none (runc prints an
/// empty list too): its init's pid may be another process's by now.
pub fn ps(state: &State, status: Status, format: &str, args: &[String]) -> Result<String> {
    let pids = if status == Status::Stopped {
        Vec::new()
    } else {
        pids(state)
    };
    match format {
        "json" => Ok(format!("{}\n", serde_json::to_string(&pids)?)),
        "table" => table(&pids, args),
        other => bail!("invalid format option {other:?}"),
    }
}

pub fn pids(state: &State) -> Vec<i32> {
    if state.cgroup_paths.is_empty() && !state.shared_pid_ns {
        // Rootless without a cgroup: the container's pid namespace.
        return in_pid_ns(state.pid);
    }
    Cgroups::from_paths(&state.cgroup_paths).pids()
}

/// The processes in the pid namespace of `init` (not in nested ones).
fn in_pid_ns(init: i32) -> Vec<i32> {
    let ns = |pid: &str| std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok();
    let Some(want) = ns(&init.to_string()) else {
        return Vec::new();
    };
    let mut pids: Vec<i32> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|p| ns(&p.to_string()).as_ref() == Some(&want))
        .collect();
    pids.sort_unstable();
    pids
}

/// Runs `ps ARGS` (default `-ef`) and keeps the header and the rows whose
/// PID column is one of the container's.
pub fn table(pids: &[i32], args: &[String]) -> Result<String> {
    let args: Vec<String> = if args.is_empty() {
        vec!["-ef".into()]
    } else {
        args.to_vec()
    };
    let out = Command::new("ps").args(&args).output().context("run ps")?;
    if !out.status.success() {
        bail!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let Some(col) = header.split_whitespace().position(|h| h == "PID") else {
        bail!("couldn't find PID field in ps output");
    };
    let mut s = format!("{header}\n");
    for l in lines {
        let pid = l
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            s.push_str(l);
            s.push('\n');
        }
    }
    Ok(s)
}
