//! config-linux.md Control groups, from inside: each linux.resources value
//! read back from the container's own /sys/fs/cgroup (v1 controller
//! directories, with the v2 file where the unified hierarchy has one), and
//! the view a new cgroup namespace gives.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::Tap;

/// A memory value as the kernel shows it: -1 is "unlimited".
fn mem(v: &Value) -> String {
    match v.as_i64() {
        Some(-1) => "9223372036854771712".into(),
        Some(n) => n.to_string(),
        None => v.to_string(),
    }
}

fn plain(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

fn flag(v: &Value) -> String {
    if v.as_bool() == Some(true) { "1" } else { "0" }.into()
}

fn pids(v: &Value) -> String {
    match v.as_i64() {
        Some(n) if n <= 0 => "max".into(),
        _ => v.to_string(),
    }
}

/// Reads the first of `files` (under /sys/fs/cgroup) that exists.
fn read(files: &[&str]) -> Option<String> {
    files
        .iter()
        .find_map(|f| fs::read_to_string(Path::new("/sys/fs/cgroup").join(f)).ok())
}

/// (resources pointer, value shown by the kernel, files v1 then v2)
type Rule = (&'static str, fn(&Value) -> String, &'static [&'static str]);

const RULES: &[Rule] = &[
    ("/memory/limit", mem, &["memory/memory.limit_in_bytes"]),
    (
        "/memory/reservation",
        mem,
        &["memory/memory.soft_limit_in_bytes"],
    ),
    ("/memory/swap", mem, &["memory/memory.memsw.limit_in_bytes"]),
    (
        "/memory/kernelTCP",
        mem,
        &["memory/memory.kmem.tcp.limit_in_bytes"],
    ),
    ("/memory/swappiness", plain, &["memory/memory.swappiness"]),
    (
        "/memory/useHierarchy",
        flag,
        &["memory/memory.use_hierarchy"],
    ),
    (
        "/cpu/shares",
        plain,
        &["cpu/cpu.shares", "cpu,cpuacct/cpu.shares"],
    ),
    (
        "/cpu/quota",
        plain,
        &["cpu/cpu.cfs_quota_us", "cpu,cpuacct/cpu.cfs_quota_us"],
    ),
    (
        "/cpu/period",
        plain,
        &["cpu/cpu.cfs_period_us", "cpu,cpuacct/cpu.cfs_period_us"],
    ),
    (
        "/cpu/burst",
        plain,
        &["cpu/cpu.cfs_burst_us", "cpu,cpuacct/cpu.cfs_burst_us"],
    ),
    (
        "/cpu/realtimeRuntime",
        plain,
        &["cpu/cpu.rt_runtime_us", "cpu,cpuacct/cpu.rt_runtime_us"],
    ),
    (
        "/cpu/realtimePeriod",
        plain,
        &["cpu/cpu.rt_period_us", "cpu,cpuacct/cpu.rt_period_us"],
    ),
    (
        "/cpu/idle",
        plain,
        &["cpu/cpu.idle", "cpu,cpuacct/cpu.idle"],
    ),
    ("/cpu/cpus", plain, &["cpuset/cpuset.cpus"]),
    ("/cpu/mems", plain, &["cpuset/cpuset.mems"]),
    ("/pids/limit", pids, &["pids/pids.max", "pids.max"]),
    (
        "/blockIO/weight",
        plain,
        &["blkio/blkio.weight", "blkio/blkio.bfq.weight"],
    ),
    (
        "/network/classID",
        plain,
        &[
            "net_cls/net_cls.classid",
            "net_cls,net_prio/net_cls.classid",
        ],
    ),
];

pub fn check(t: &mut Tap, cfg: &Value) {
    let res = &cfg["linux"]["resources"];
    for (ptr, shown, files) in RULES {
        let Some(v) = res.pointer(ptr) else { continue };
        let mut files = files.to_vec();
        if *ptr == "/memory/limit" {
            files.push("memory.max");
        }
        let got = read(&files);
        let want = shown(v);
        // bfq shows "default N".
        let g = got
            .as_deref()
            .unwrap_or("")
            .trim()
            .trim_start_matches("default ")
            .to_string();
        t.check(
            g == want,
            &format!("config-linux.md resources{ptr}"),
            || format!("want {want}, got {got:?} from {files:?}"),
        );
    }
    if res["memory"]["disableOOMKiller"] == true {
        let got = read(&["memory/memory.oom_control"]).unwrap_or_default();
        t.check(
            got.lines().any(|l| l == "oom_kill_disable 1"),
            "config-linux.md resources.memory.disableOOMKiller",
            || format!("{got:?}"),
        );
    }
    for (key, file) in [
        ("throttleReadBpsDevice", "blkio.throttle.read_bps_device"),
        ("throttleWriteBpsDevice", "blkio.throttle.write_bps_device"),
        ("throttleReadIOPSDevice", "blkio.throttle.read_iops_device"),
        (
            "throttleWriteIOPSDevice",
            "blkio.throttle.write_iops_device",
        ),
    ] {
        for d in res["blockIO"][key].as_array().into_iter().flatten() {
            let line = format!("{}:{} {}", d["major"], d["minor"], d["rate"]);
            let got = read(&[&format!("blkio/{file}")]).unwrap_or_default();
            t.check(
                got.lines().any(|l| l == line),
                &format!("config-linux.md resources.blockIO.{key} {line}"),
                || format!("{got:?}"),
            );
        }
    }
    for d in res["blockIO"]["weightDevice"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let line = format!("{}:{} {}", d["major"], d["minor"], d["weight"]);
        let got = read(&["blkio/blkio.weight_device", "blkio/blkio.bfq.weight_device"])
            .unwrap_or_default();
        t.check(
            got.lines().any(|l| l == line),
            &format!("config-linux.md resources.blockIO.weightDevice {line}"),
            || format!("{got:?}"),
        );
    }
    for h in res["hugepageLimits"].as_array().into_iter().flatten() {
        let size = h["pageSize"].as_str().unwrap_or("");
        let got = read(&[
            &format!("hugetlb/hugetlb.{size}.limit_in_bytes"),
            &format!("hugetlb.{size}.max"),
        ]);
        t.check(
            got.as_deref().map(str::trim) == Some(&h["limit"].to_string()),
            &format!("config-linux.md hugepageLimits {size}"),
            || format!("{got:?}"),
        );
    }
    for p in res["network"]["priorities"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let line = format!("{} {}", p["name"].as_str().unwrap_or(""), p["priority"]);
        let got = read(&[
            "net_prio/net_prio.ifpriomap",
            "net_cls,net_prio/net_prio.ifpriomap",
        ])
        .unwrap_or_default();
        t.check(
            got.lines().any(|l| l == line),
            &format!("config-linux.md network.priorities {line}"),
            || format!("{got:?}"),
        );
    }
    // unified keys are cgroup v2 file names in the container's cgroup.
    for (k, v) in res["unified"].as_object().into_iter().flatten() {
        let got = read(&[k.as_str()]);
        let want = v.as_str().unwrap_or("").trim();
        t.check(
            got.as_deref().map(str::trim) == Some(want),
            &format!("config-linux.md unified {k}"),
            || format!("{got:?}"),
        );
    }
    let new_cgroupns = cfg["linux"]["namespaces"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|n| n["type"] == "cgroup" && n.get("path").is_none());
    if new_cgroupns {
        let own = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let ok = own.lines().all(|l| l.ends_with(":/"));
        t.check(
            ok,
            "config-linux.md cgroup namespace: the container's cgroups are its root",
            || format!("{own:?}"),
        );
    }
}
