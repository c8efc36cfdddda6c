//! config-linux.md: the container's cgroup limits, read from its own /sys/fs/cgroup.

use std::fs;

use serde_json::Value;

use crate::Tap;

pub fn check(t: &mut Tap, cfg: &Value) {
    let linux = &cfg["linux"];
    let mem = &linux["resources"]["memory"]["limit"];
    if let Some(l) = mem.as_i64() {
        let got = fs::read_to_string("/sys/fs/cgroup/memory/memory.limit_in_bytes")
            .or_else(|_| fs::read_to_string("/sys/fs/cgroup/memory.max"))
            .unwrap_or_default();
        t.check(
            got.trim() == l.to_string(),
            "config-linux.md resources.memory.limit",
            || format!("got {got:?}"),
        );
    }
    if let Some(l) = linux["resources"]["pids"]["limit"].as_i64() {
        let got = fs::read_to_string("/sys/fs/cgroup/pids/pids.max")
            .or_else(|_| fs::read_to_string("/sys/fs/cgroup/pids.max"))
            .unwrap_or_default();
        t.check(
            got.trim() == l.to_string(),
            "config-linux.md resources.pids.limit",
            || format!("got {got:?}"),
        );
    }
    if let Some(s) = linux["resources"]["cpu"]["shares"].as_u64() {
        let got = fs::read_to_string("/sys/fs/cgroup/cpu/cpu.shares").unwrap_or_default();
        t.check(
            got.trim() == s.to_string(),
            "config-linux.md resources.cpu.shares",
            || format!("got {got:?}"),
        );
    }
}
