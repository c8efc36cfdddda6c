//! linux.resources on cgroup v1: one file per setting, in the hierarchy of
//! its controller. A setting whose controller this host lacks is an error
//! naming both; kernel memory is accepted and ignored with a warning, as
//! runc does.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use super::write;

/// The v1 directories of a container, by controller name.
pub struct Dirs<'a> {
    pub by_controller: Vec<(&'a str, &'a Path)>,
    /// Controllers the host has but the container has no cgroup in.
    pub unjoined: &'a [String],
}

impl Dirs<'_> {
    fn get(&self, controller: &str, field: &str) -> Result<&Path> {
        match self.by_controller.iter().find(|(c, _)| *c == controller) {
            Some((_, p)) => Ok(p),
            None if self.unjoined.iter().any(|c| c == controller) => {
                bail!("cannot set {controller} limit: container could not join or create cgroup")
            }
            None => bail!(
                "{field} needs the {controller} cgroup controller, which this host does not have"
            ),
        }
    }
}

/// runc reads a zero as "not set" for most limits (Docker's update sends
/// zeros for what it does not change).
pub fn set<T: Default + PartialEq + Copy>(v: Option<T>) -> Option<T> {
    v.filter(|v| *v != T::default())
}

/// Applies every set field. `update` is true for `runr update` (live
/// limits: ordering of memory and swap matters).
pub fn apply(d: &Dirs, r: &LinuxResources, update: bool) -> Result<()> {
    if let Some(m) = r.memory() {
        memory(d, m, update)?;
    }
    if let Some(c) = r.cpu() {
        cpu(d, c)?;
    }
    if let Some(p) = r.pids().filter(|p| p.limit() != 0) {
        let dir = d.get("pids", "linux.resources.pids")?;
        let v = if p.limit() <= 0 {
            "max".to_string()
        } else {
            p.limit().to_string()
        };
        write(dir, "pids.max", &v)?;
    }
    if let Some(b) = r.block_io() {
        blkio(d, b)?;
    }
    for h in r.hugepage_limits().as_deref().unwrap_or_default() {
        let dir = d.get("hugetlb", "linux.resources.hugepageLimits")?;
        write(
            dir,
            &format!("hugetlb.{}.limit_in_bytes", h.page_size()),
            &h.limit().to_string(),
        )?;
    }
    if let Some(n) = r.network() {
        if let Some(id) = n.class_id() {
            write(
                d.get("net_cls", "linux.resources.network.classID")?,
                "net_cls.classid",
                &id.to_string(),
            )?;
        }
        for p in n.priorities().as_deref().unwrap_or_default() {
            let dir = d.get("net_prio", "linux.resources.network.priorities")?;
            write(
                dir,
                "net_prio.ifpriomap",
                &format!("{} {}", p.name(), p.priority()),
            )?;
        }
    }
    if let Some(rdma) = r.rdma() {
        for (dev, lim) in rdma {
            let dir = d.get("rdma", "linux.resources.rdma")?;
            write(dir, "rdma.max", &super::v2::rdma_line(dev, lim))?;
        }
    }
    Ok(())
}

fn memory(d: &Dirs, m: &LinuxMemory, update: bool) -> Result<()> {
    let any = set(m.limit()).is_some()
        || set(m.reservation()).is_some()
        || set(m.swap()).is_some()
        || m.swappiness().is_some()
        || m.disable_oom_killer().is_some()
        || m.use_hierarchy().is_some();
    if m.kernel().is_some() {
        crate::logging::warn("linux.resources.memory.kernel is deprecated and ignored");
    }
    // kernelTCP is NOT RECOMMENDED but still defined, and v1 kernels keep
    // memory.kmem.tcp.limit_in_bytes: set it where the host has it.
    let tcp = set(m.kernel_tcp());
    if !any && tcp.is_none() {
        return Ok(());
    }
    let dir = d.get("memory", "linux.resources.memory")?;
    if let Some(t) = tcp {
        check_limit(t, "memory.kernelTCP")?;
        if !dir.join("memory.kmem.tcp.limit_in_bytes").exists() {
            bail!("linux.resources.memory.kernelTCP needs memory.kmem.tcp.limit_in_bytes, which this host does not have");
        }
        write(dir, "memory.kmem.tcp.limit_in_bytes", &t.to_string())?;
    }
    if !any {
        return Ok(());
    }
    let val = |v: i64| {
        if v == -1 {
            "-1".to_string()
        } else {
            v.to_string()
        }
    };
    if let Some(limit) = set(m.limit()) {
        check_limit(limit, "memory.limit")?;
        if update && m.check_before_update() == Some(true) && limit != -1 {
            let usage: i64 = read_num(dir, "memory.usage_in_bytes")?;
            if usage > limit {
                bail!(
                    "memory.limit {limit} is below the current usage {usage} (checkBeforeUpdate)"
                );
            }
        }
    }
    match (set(m.limit()), set(m.swap())) {
        (limit, Some(swap)) => {
            check_limit(swap, "memory.swap")?;
            if !dir.join("memory.memsw.limit_in_bytes").exists() {
                bail!("linux.resources.memory.swap needs swap accounting (memory.memsw.*), which this host does not have");
            }
            // memsw must never go below the memory limit: raise it first
            // when growing, lower it last when shrinking.
            let cur: i64 = read_num(dir, "memory.memsw.limit_in_bytes").unwrap_or(-1);
            let memsw_first = swap == -1 || cur == -1 || swap > cur;
            if memsw_first {
                write(dir, "memory.memsw.limit_in_bytes", &val(swap))?;
            }
            if let Some(l) = limit {
                write(dir, "memory.limit_in_bytes", &val(l))?;
            }
            if !memsw_first {
                write(dir, "memory.memsw.limit_in_bytes", &val(swap))?;
            }
        }
        (Some(l), None) => write(dir, "memory.limit_in_bytes", &val(l))?,
        (None, None) => {}
    }
    if let Some(r) = set(m.reservation()) {
        write(dir, "memory.soft_limit_in_bytes", &val(r))?;
    }
    if let Some(s) = m.swappiness() {
        if s > 100 {
            bail!("invalid memory swappiness {s}: must be 0..100");
        }
        write(dir, "memory.swappiness", &s.to_string())?;
    }
    if m.disable_oom_killer() == Some(true) {
        write(dir, "memory.oom_control", "1")?;
    }
    if let Some(h) = m.use_hierarchy() {
        write(dir, "memory.use_hierarchy", if h { "1" } else { "0" })?;
    }
    Ok(())
}

/// -1 means unlimited; other negative values are refused.
pub fn check_limit(v: i64, what: &str) -> Result<()> {
    if v < -1 {
        bail!("invalid {what} {v}: must be -1 (unlimited) or a positive number of bytes");
    }
    Ok(())
}

fn cpu(d: &Dirs, c: &LinuxCpu) -> Result<()> {
    if let Some(s) = set(c.shares()) {
        write(
            d.get("cpu", "linux.resources.cpu.shares")?,
            "cpu.shares",
            &s.to_string(),
        )?;
    }
    // The period first: a quota is checked against it.
    if let Some(p) = set(c.period()) {
        write(
            d.get("cpu", "linux.resources.cpu.period")?,
            "cpu.cfs_period_us",
            &p.to_string(),
        )?;
    }
    if let Some(q) = set(c.quota()) {
        write(
            d.get("cpu", "linux.resources.cpu.quota")?,
            "cpu.cfs_quota_us",
            &q.to_string(),
        )?;
    }
    if let Some(b) = c.burst() {
        write(
            d.get("cpu", "linux.resources.cpu.burst")?,
            "cpu.cfs_burst_us",
            &b.to_string(),
        )?;
    }
    if let Some(p) = set(c.realtime_period()) {
        write(
            d.get("cpu", "linux.resources.cpu.realtimePeriod")?,
            "cpu.rt_period_us",
            &p.to_string(),
        )?;
    }
    if let Some(r) = set(c.realtime_runtime()) {
        write(
            d.get("cpu", "linux.resources.cpu.realtimeRuntime")?,
            "cpu.rt_runtime_us",
            &r.to_string(),
        )?;
    }
    if let Some(i) = c.idle() {
        write(
            d.get("cpu", "linux.resources.cpu.idle")?,
            "cpu.idle",
            &i.to_string(),
        )?;
    }
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        write(
            d.get("cpuset", "linux.resources.cpu.cpus")?,
            "cpuset.cpus",
            cpus,
        )?;
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        write(
            d.get("cpuset", "linux.resources.cpu.mems")?,
            "cpuset.mems",
            mems,
        )?;
    }
    Ok(())
}

fn blkio(d: &Dirs, b: &LinuxBlockIo) -> Result<()> {
    let dir = || d.get("blkio", "linux.resources.blockIO");
    // Kernels with BFQ name the weight files blkio.bfq.*.
    let weight_file = |dir: &Path, name: &str| -> PathBuf {
        if dir.join(format!("blkio.{name}")).exists() {
            PathBuf::from(format!("blkio.{name}"))
        } else {
            PathBuf::from(format!("blkio.bfq.{name}"))
        }
    };
    if let Some(w) = set(b.weight()) {
        let dir = dir()?;
        let f = weight_file(dir, "weight");
        write(dir, f.to_str().unwrap_or_default(), &w.to_string())?;
    }
    if let Some(w) = set(b.leaf_weight()) {
        write(dir()?, "blkio.leaf_weight", &w.to_string())?;
    }
    for wd in b.weight_device().as_deref().unwrap_or_default() {
        let dir = dir()?;
        if let Some(w) = wd.weight() {
            let f = weight_file(dir, "weight_device");
            write(
                dir,
                f.to_str().unwrap_or_default(),
                &format!("{}:{} {w}", wd.major(), wd.minor()),
            )?;
        }
        if let Some(w) = wd.leaf_weight() {
            write(
                dir,
                "blkio.leaf_weight_device",
                &format!("{}:{} {w}", wd.major(), wd.minor()),
            )?;
        }
    }
    let throttles = [
        (
            b.throttle_read_bps_device(),
            "blkio.throttle.read_bps_device",
        ),
        (
            b.throttle_write_bps_device(),
            "blkio.throttle.write_bps_device",
        ),
        (
            b.throttle_read_iops_device(),
            "blkio.throttle.read_iops_device",
        ),
        (
            b.throttle_write_iops_device(),
            "blkio.throttle.write_iops_device",
        ),
    ];
    for (list, file) in throttles {
        for t in list.as_deref().unwrap_or_default() {
            write(
                dir()?,
                file,
                &format!("{}:{} {}", t.major(), t.minor(), t.rate()),
            )?;
        }
    }
    Ok(())
}

pub fn read_num(dir: &Path, file: &str) -> Result<i64> {
    let p = dir.join(file);
    let s = fs::read_to_string(&p).with_context(|| format!("read {}", p.display()))?;
    s.trim()
        .parse()
        .with_context(|| format!("parse {}", p.display()))
}
