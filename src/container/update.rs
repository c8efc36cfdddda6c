//! `update`: change a live container's resources from runc's flags or a
//! LinuxResources JSON (`--resources FILE`, `-` for stdin, as containerd
//! sends it).

use anyhow::{bail, Context, Result};
use oci_spec::runtime::LinuxResources;
use serde_json::{json, Map, Value};

use super::state::{Locked, State, Status};
use super::ContainerError;

/// runc's update flags, as given.
#[derive(Debug, Default, Clone)]
pub struct UpdateFlags {
    pub resources: Option<String>,
    pub memory: Option<String>,
    pub memory_swap: Option<String>,
    pub memory_reservation: Option<String>,
    pub kernel_memory: Option<String>,
    pub kernel_memory_tcp: Option<String>,
    pub cpu_share: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub cpu_rt_period: Option<u64>,
    pub cpu_rt_runtime: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u16>,
    pub l3_cache_schema: Option<String>,
    pub mem_bw_schema: Option<String>,
}

/// Sizes as runc's units.RAMInBytes takes them: `100M`, `1g`, `512kb`,
/// plain bytes, or -1 for unlimited. Multiples of 1024.
pub fn parse_bytes(s: &str) -> Result<i64> {
    let t = s.trim();
    if t == "-1" {
        return Ok(-1);
    }
    let lower = t.to_ascii_lowercase();
    let num_end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(num_end);
    let n: f64 = num.parse().with_context(|| format!("invalid size {s:?}"))?;
    let mult: f64 = match unit.trim_end_matches('b').trim_end_matches('i') {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => bail!("invalid size {s:?}"),
    };
    Ok((n * mult) as i64)
}

/// The resources the flags (or the JSON) describe.
pub fn resources(f: &UpdateFlags) -> Result<LinuxResources> {
    if f.l3_cache_schema.is_some() || f.mem_bw_schema.is_some() {
        bail!("--l3-cache-schema and --mem-bw-schema (Intel RDT) are not supported by runr yet");
    }
    if let Some(src) = &f.resources {
        let text = if src == "-" {
            std::io::read_to_string(std::io::stdin()).context("read resources from stdin")?
        } else {
            std::fs::read_to_string(src).with_context(|| format!("read {src}"))?
        };
        return serde_json::from_str(&text).context("parse resources JSON");
    }
    let mut mem = Map::new();
    for (key, v) in [
        ("limit", &f.memory),
        ("swap", &f.memory_swap),
        ("reservation", &f.memory_reservation),
        ("kernel", &f.kernel_memory),
        ("kernelTCP", &f.kernel_memory_tcp),
    ] {
        if let Some(v) = v {
            mem.insert(key.into(), json!(parse_bytes(v)?));
        }
    }
    let mut cpu = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            cpu.insert(k.into(), v);
        }
    };
    put("shares", f.cpu_share.map(|v| json!(v)));
    put("quota", f.cpu_quota.map(|v| json!(v)));
    put("period", f.cpu_period.map(|v| json!(v)));
    put("realtimePeriod", f.cpu_rt_period.map(|v| json!(v)));
    put("realtimeRuntime", f.cpu_rt_runtime.map(|v| json!(v)));
    put("cpus", f.cpuset_cpus.clone().map(|v| json!(v)));
    put("mems", f.cpuset_mems.clone().map(|v| json!(v)));
    let mut r = Map::new();
    if !mem.is_empty() {
        r.insert("memory".into(), Value::Object(mem));
    }
    if !cpu.is_empty() {
        r.insert("cpu".into(), Value::Object(cpu));
    }
    if let Some(p) = f.pids_limit {
        r.insert("pids".into(), json!({"limit": p}));
    }
    if let Some(w) = f.blkio_weight {
        r.insert("blockIO".into(), json!({"weight": w}));
    }
    Ok(serde_json::from_value(Value::Object(r))?)
}

pub fn update(locked: &Locked, state: &State, f: &UpdateFlags) -> Result<()> {
    if locked.status(state) == Status::Stopped {
        return Err(ContainerError::NotRunning.into());
    }
    let r = resources(f)?;
    super::cgroups_for(state, "update")?.apply(&r, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_runc() {
        assert_eq!(parse_bytes("100M").unwrap(), 100 << 20);
        assert_eq!(parse_bytes("1g").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("512kb").unwrap(), 512 << 10);
        assert_eq!(parse_bytes("4096").unwrap(), 4096);
        assert_eq!(parse_bytes("-1").unwrap(), -1);
        assert!(parse_bytes("ten").is_err());
        assert!(parse_bytes("5q").is_err());
    }

    #[test]
    fn flags_build_resources() {
        let f = UpdateFlags {
            memory: Some("64m".into()),
            cpu_quota: Some(5000),
            pids_limit: Some(10),
            ..Default::default()
        };
        let r = resources(&f).unwrap();
        assert_eq!(r.memory().as_ref().unwrap().limit(), Some(64 << 20));
        assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(5000));
        assert_eq!(r.pids().as_ref().unwrap().limit(), 10);
    }
}
