//! `events` statistics in runc's JSON shape (types/events.go), read from
//! v1 controller files or the v2 directory.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::Serialize;

#[derive(Debug, Default, Serialize)]
pub struct Stats {
    pub cpu: Cpu,
    pub cpuset: CpuSet,
    pub memory: Memory,
    pub pids: Pids,
    pub blkio: Blkio,
    pub hugetlb: BTreeMap<String, Hugetlb>,
    pub intel_rdt: serde_json::Map<String, serde_json::Value>,
    pub network_interfaces: Option<Vec<serde_json::Value>>,
}

fn zero(v: &u64) -> bool {
    *v == 0
}

#[derive(Debug, Default, Serialize)]
pub struct Cpu {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

#[derive(Debug, Default, Serialize)]
pub struct CpuUsage {
    #[serde(skip_serializing_if = "zero")]
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_kernel: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_user: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Throttling {
    #[serde(skip_serializing_if = "zero")]
    pub periods: u64,
    #[serde(skip_serializing_if = "zero")]
    pub throttled_periods: u64,
    #[serde(skip_serializing_if = "zero")]
    pub throttled_time: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct CpuSet {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cpus: Vec<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mems: Vec<u16>,
}

#[derive(Debug, Default, Serialize)]
pub struct MemoryEntry {
    pub limit: u64,
    #[serde(skip_serializing_if = "zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "zero")]
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Memory {
    #[serde(skip_serializing_if = "zero")]
    pub cache: u64,
    pub usage: MemoryEntry,
    pub swap: MemoryEntry,
    pub kernel: MemoryEntry,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
}

#[derive(Debug, Default, Serialize)]
pub struct Pids {
    #[serde(skip_serializing_if = "zero")]
    pub current: u64,
    #[serde(skip_serializing_if = "zero")]
    pub limit: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Blkio {
    #[serde(
        rename = "ioServiceBytesRecursive",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    #[serde(rename = "ioServicedRecursive", skip_serializing_if = "Vec::is_empty")]
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

#[derive(Debug, Default, Serialize)]
pub struct Hugetlb {
    #[serde(skip_serializing_if = "zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "zero")]
    pub max: u64,
    pub failcnt: u64,
}

fn num(dir: &Path, file: &str) -> u64 {
    fs::read_to_string(dir.join(file))
        .ok()
        .and_then(|s| {
            let t = s.trim();
            if t == "max" {
                Some(u64::MAX)
            } else {
                t.parse().ok()
            }
        })
        .unwrap_or(0)
}

fn nums(dir: &Path, file: &str) -> Vec<u64> {
    fs::read_to_string(dir.join(file))
        .map(|s| {
            s.split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// `key value` lines.
fn keyed(dir: &Path, file: &str) -> BTreeMap<String, u64> {
    fs::read_to_string(dir.join(file))
        .map(|s| {
            s.lines()
                .filter_map(|l| {
                    let (k, v) = l.split_once(' ')?;
                    Some((k.to_string(), v.trim().parse().ok()?))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// "0-2,4" to [0,1,2,4].
pub fn parse_list(s: &str) -> Vec<u16> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<u16>(), b.parse::<u16>()) {
                    out.extend(a..=b);
                }
            }
            None => out.extend(part.parse::<u16>().ok()),
        }
    }
    out
}

fn entry_v1(dir: &Path, prefix: &str) -> MemoryEntry {
    MemoryEntry {
        limit: num(dir, &format!("{prefix}.limit_in_bytes")),
        usage: num(dir, &format!("{prefix}.usage_in_bytes")),
        max: num(dir, &format!("{prefix}.max_usage_in_bytes")),
        failcnt: num(dir, &format!("{prefix}.failcnt")),
    }
}

fn blkio_v1(dir: &Path, file: &str) -> Vec<BlkioEntry> {
    let text = fs::read_to_string(dir.join(file)).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() != 3 {
                return None;
            }
            let (maj, min) = f[0].split_once(':')?;
            Some(BlkioEntry {
                major: maj.parse().ok()?,
                minor: min.parse().ok()?,
                op: f[1].to_string(),
                value: f[2].parse().ok()?,
            })
        })
        .collect()
}

/// Statistics from v1 controller directories.
pub fn read_v1(dir_of: impl Fn(&str) -> Option<std::path::PathBuf>) -> Stats {
    let mut s = Stats::default();
    if let Some(d) = dir_of("cpuacct") {
        s.cpu.usage.total = num(&d, "cpuacct.usage");
        s.cpu.usage.percpu = nums(&d, "cpuacct.usage_percpu");
        s.cpu.usage.percpu_kernel = nums(&d, "cpuacct.usage_percpu_sys");
        s.cpu.usage.percpu_user = nums(&d, "cpuacct.usage_percpu_user");
        // cpuacct.stat is in clock ticks; runc reports nanoseconds.
        // SAFETY: sysconf cannot fail for _SC_CLK_TCK.
        let tick = 1_000_000_000 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        let st = keyed(&d, "cpuacct.stat");
        s.cpu.usage.user = st.get("user").copied().unwrap_or(0) * tick;
        s.cpu.usage.kernel = st.get("system").copied().unwrap_or(0) * tick;
    }
    if let Some(d) = dir_of("cpu") {
        let st = keyed(&d, "cpu.stat");
        s.cpu.throttling.periods = st.get("nr_periods").copied().unwrap_or(0);
        s.cpu.throttling.throttled_periods = st.get("nr_throttled").copied().unwrap_or(0);
        s.cpu.throttling.throttled_time = st.get("throttled_time").copied().unwrap_or(0);
    }
    if let Some(d) = dir_of("cpuset") {
        s.cpuset.cpus = parse_list(&fs::read_to_string(d.join("cpuset.cpus")).unwrap_or_default());
        s.cpuset.mems = parse_list(&fs::read_to_string(d.join("cpuset.mems")).unwrap_or_default());
    }
    if let Some(d) = dir_of("memory") {
        s.memory.usage = entry_v1(&d, "memory");
        s.memory.swap = entry_v1(&d, "memory.memsw");
        s.memory.kernel = entry_v1(&d, "memory.kmem");
        s.memory.kernel_tcp = entry_v1(&d, "memory.kmem.tcp");
        s.memory.raw = keyed(&d, "memory.stat");
        s.memory.cache = s.memory.raw.get("cache").copied().unwrap_or(0);
    }
    if let Some(d) = dir_of("pids") {
        s.pids.current = num(&d, "pids.current");
        let max = fs::read_to_string(d.join("pids.max")).unwrap_or_default();
        s.pids.limit = max.trim().parse().unwrap_or(0);
    }
    if let Some(d) = dir_of("blkio") {
        s.blkio.io_service_bytes_recursive =
            blkio_v1(&d, "blkio.throttle.io_service_bytes_recursive");
        s.blkio.io_serviced_recursive = blkio_v1(&d, "blkio.throttle.io_serviced_recursive");
    }
    if let Some(d) = dir_of("hugetlb") {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(size) = name
                .strip_prefix("hugetlb.")
                .and_then(|n| n.strip_suffix(".limit_in_bytes"))
            {
                let p = format!("hugetlb.{size}");
                s.hugetlb.insert(
                    size.to_string(),
                    Hugetlb {
                        usage: num(&d, &format!("{p}.usage_in_bytes")),
                        max: num(&d, &format!("{p}.max_usage_in_bytes")),
                        failcnt: num(&d, &format!("{p}.failcnt")),
                    },
                );
            }
        }
    }
    s
}

/// Statistics from a v2 directory.
pub fn read_v2(d: &Path) -> Stats {
    let mut s = Stats::default();
    let cpu = keyed(d, "cpu.stat");
    s.cpu.usage.total = cpu.get("usage_usec").copied().unwrap_or(0) * 1000;
    s.cpu.usage.user = cpu.get("user_usec").copied().unwrap_or(0) * 1000;
    s.cpu.usage.kernel = cpu.get("system_usec").copied().unwrap_or(0) * 1000;
    s.cpu.throttling.periods = cpu.get("nr_periods").copied().unwrap_or(0);
    s.cpu.throttling.throttled_periods = cpu.get("nr_throttled").copied().unwrap_or(0);
    s.cpu.throttling.throttled_time = cpu.get("throttled_usec").copied().unwrap_or(0) * 1000;
    s.cpuset.cpus =
        parse_list(&fs::read_to_string(d.join("cpuset.cpus.effective")).unwrap_or_default());
    s.cpuset.mems =
        parse_list(&fs::read_to_string(d.join("cpuset.mems.effective")).unwrap_or_default());
    s.memory.usage = MemoryEntry {
        limit: num(d, "memory.max"),
        usage: num(d, "memory.current"),
        max: num(d, "memory.peak"),
        failcnt: keyed(d, "memory.events").get("max").copied().unwrap_or(0),
    };
    s.memory.swap = MemoryEntry {
        limit: num(d, "memory.swap.max"),
        usage: num(d, "memory.swap.current"),
        max: num(d, "memory.swap.peak"),
        failcnt: 0,
    };
    s.memory.raw = keyed(d, "memory.stat");
    s.memory.cache = s.memory.raw.get("file").copied().unwrap_or(0);
    s.pids.current = num(d, "pids.current");
    s.pids.limit = fs::read_to_string(d.join("pids.max"))
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_expand() {
        assert_eq!(parse_list("0-2,4\n"), vec![0, 1, 2, 4]);
        assert_eq!(parse_list(""), Vec::<u16>::new());
    }

    #[test]
    fn json_has_runc_keys() {
        let v = serde_json::to_value(Stats::default()).unwrap();
        for k in [
            "cpu",
            "cpuset",
            "memory",
            "pids",
            "blkio",
            "hugetlb",
            "intel_rdt",
            "network_interfaces",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
        assert!(v["memory"].get("kernelTCP").is_some());
        assert_eq!(v["cpu"]["usage"]["kernel"], 0);
    }
}
