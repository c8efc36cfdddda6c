//! linux.resources on cgroup v2 (unified): the v1 values mapped the way
//! runc (>= 1.3.2) maps them, and the `unified` map written as raw keys.
//! Device rules need an eBPF program on v2; see `devices`.

use std::path::Path;

use anyhow::{bail, Result};
use oci_spec::runtime::{LinuxRdma, LinuxResources};

use super::v1::set;
use super::write;

/// cpu.shares (2..262144) to cpu.weight (1..10000) on a log scale that
/// keeps the defaults aligned (1024 -> 100), runc's formula since 1.3.2.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    if shares <= 2 {
        return 1;
    }
    if shares >= 262_144 {
        return 10_000;
    }
    let l = (shares as f64).log2();
    let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    10f64.powf(exponent).ceil() as u64
}

/// blkio.weight (10..1000) to io.weight (1..10000).
pub fn blkio_weight_to_io(w: u16) -> u64 {
    if w == 0 {
        return 0;
    }
    1 + (w as u64).saturating_sub(10) * 9999 / 990
}

/// v1 memory+swap to v2 memory.swap.max (swap alone), as runc converts it.
pub fn swap_to_v2(swap: i64, limit: Option<i64>) -> Result<String> {
    match (swap, limit) {
        (-1, _) => Ok("max".into()),
        (0, _) => Ok("0".into()),
        (s, Some(-1)) | (s, None) => bail!("memory.swap {s} needs a memory limit as well"),
        (s, Some(l)) if s < l => bail!("memory.swap {s} must be at least memory.limit {l}"),
        (s, Some(l)) => Ok((s - l).to_string()),
    }
}

pub fn rdma_line(dev: &str, r: &LinuxRdma) -> String {
    let mut s = dev.to_string();
    if let Some(h) = r.hca_handles() {
        s.push_str(&format!(" hca_handle={h}"));
    }
    if let Some(o) = r.hca_objects() {
        s.push_str(&format!(" hca_object={o}"));
    }
    s
}

fn max_or(v: i64) -> String {
    if v < 0 {
        "max".to_string()
    } else {
        v.to_string()
    }
}

/// Applies every set field to the container's v2 directory.
pub fn apply(dir: &Path, r: &LinuxResources) -> Result<()> {
    if let Some(m) = r.memory() {
        if m.kernel().is_some() || m.kernel_tcp().is_some() {
            crate::logging::warn(
                "linux.resources.memory.kernel and kernelTCP are deprecated and ignored",
            );
        }
        if let Some(l) = set(m.limit()) {
            super::v1::check_limit(l, "memory.limit")?;
        }
        if let Some(s) = set(m.swap()) {
            write(dir, "memory.swap.max", &swap_to_v2(s, set(m.limit()))?)?;
        }
        if let Some(l) = set(m.limit()) {
            write(dir, "memory.max", &max_or(l))?;
        }
        if let Some(r) = set(m.reservation()) {
            write(dir, "memory.low", &max_or(r))?;
        }
        if m.swappiness().is_some() {
            bail!("linux.resources.memory.swappiness is not available on cgroup v2");
        }
        if m.disable_oom_killer() == Some(true) {
            bail!("linux.resources.memory.disableOOMKiller is not available on cgroup v2");
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(s) = set(c.shares()) {
            write(dir, "cpu.weight", &shares_to_weight(s).to_string())?;
        }
        if set(c.quota()).is_some() || set(c.period()).is_some() {
            let quota = match c.quota() {
                Some(q) if q > 0 => q.to_string(),
                _ => "max".to_string(),
            };
            let period = set(c.period()).unwrap_or(100_000);
            write(dir, "cpu.max", &format!("{quota} {period}"))?;
        }
        if let Some(b) = c.burst() {
            write(dir, "cpu.max.burst", &b.to_string())?;
        }
        if let Some(i) = c.idle() {
            write(dir, "cpu.idle", &i.to_string())?;
        }
        if set(c.realtime_runtime()).is_some() || set(c.realtime_period()).is_some() {
            bail!(
                "linux.resources.cpu.realtimeRuntime/realtimePeriod are not available on cgroup v2"
            );
        }
        if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
            write(dir, "cpuset.cpus", cpus)?;
        }
        if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
            write(dir, "cpuset.mems", mems)?;
        }
    }
    if let Some(p) = r.pids().filter(|p| p.limit() != 0) {
        write(
            dir,
            "pids.max",
            &if p.limit() <= 0 {
                "max".to_string()
            } else {
                p.limit().to_string()
            },
        )?;
    }
    if let Some(b) = r.block_io() {
        if let Some(w) = set(b.weight()) {
            if dir.join("io.bfq.weight").exists() {
                write(dir, "io.bfq.weight", &w.to_string())?;
            } else {
                write(dir, "io.weight", &blkio_weight_to_io(w).to_string())?;
            }
        }
        for wd in b.weight_device().as_deref().unwrap_or_default() {
            if let Some(w) = wd.weight() {
                write(
                    dir,
                    "io.bfq.weight",
                    &format!("{}:{} {w}", wd.major(), wd.minor()),
                )?;
            }
        }
        let throttles = [
            (b.throttle_read_bps_device(), "rbps"),
            (b.throttle_write_bps_device(), "wbps"),
            (b.throttle_read_iops_device(), "riops"),
            (b.throttle_write_iops_device(), "wiops"),
        ];
        for (list, key) in throttles {
            for t in list.as_deref().unwrap_or_default() {
                write(
                    dir,
                    "io.max",
                    &format!("{}:{} {key}={}", t.major(), t.minor(), t.rate()),
                )?;
            }
        }
    }
    for h in r.hugepage_limits().as_deref().unwrap_or_default() {
        write(
            dir,
            &format!("hugetlb.{}.max", h.page_size()),
            &max_or(h.limit()),
        )?;
    }
    if r.network().is_some() {
        bail!("linux.resources.network (net_cls/net_prio) is not available on cgroup v2");
    }
    if let Some(rdma) = r.rdma() {
        for (dev, lim) in rdma {
            write(dir, "rdma.max", &rdma_line(dev, lim))?;
        }
    }
    unified(dir, r)
}

/// linux.resources.unified: raw `file: value` pairs; only files that exist
/// in the cgroup (a typo is an error, not a new file).
pub fn unified(dir: &Path, r: &LinuxResources) -> Result<()> {
    for (key, value) in r.unified().iter().flatten() {
        if key.contains('/') || key.starts_with('.') || !key.contains('.') {
            bail!("invalid linux.resources.unified key {key:?}");
        }
        if !dir.join(key).exists() {
            bail!("linux.resources.unified key {key:?}: no such cgroup file (controller not enabled?)");
        }
        write(dir, key, value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_map_like_runc() {
        assert_eq!(shares_to_weight(1024), 100);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(0), 0);
        assert!(shares_to_weight(512) < 100 && shares_to_weight(2048) > 100);
    }

    #[test]
    fn swap_conversion() {
        assert_eq!(swap_to_v2(-1, Some(100)).unwrap(), "max");
        assert_eq!(swap_to_v2(300, Some(100)).unwrap(), "200");
        assert!(swap_to_v2(50, Some(100)).is_err());
        assert!(swap_to_v2(50, None).is_err());
    }

    fn fake(files: &[&str]) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "runr-unit-v2-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&d).unwrap();
        for f in files {
            std::fs::write(d.join(f), "").unwrap();
        }
        d
    }

    #[test]
    fn resources_land_in_v2_files() {
        let d = fake(&[
            "memory.max",
            "memory.swap.max",
            "memory.low",
            "cpu.weight",
            "cpu.max",
            "pids.max",
            "io.weight",
            "io.max",
            "hugetlb.2MB.max",
            "memory.high",
        ]);
        let r: LinuxResources = serde_json::from_str(
            r#"{"memory":{"limit":67108864,"swap":134217728,"reservation":1000},
                "cpu":{"shares":1024,"quota":50000,"period":100000},
                "pids":{"limit":20},
                "blockIO":{"weight":500,"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}]},
                "hugepageLimits":[{"pageSize":"2MB","limit":-1}],
                "unified":{"memory.high":"50000000"}}"#,
        )
        .unwrap();
        apply(&d, &r).unwrap();
        let rd = |f: &str| std::fs::read_to_string(d.join(f)).unwrap();
        assert_eq!(rd("memory.max"), "67108864");
        assert_eq!(rd("memory.swap.max"), "67108864");
        assert_eq!(rd("memory.low"), "1000");
        assert_eq!(rd("cpu.weight"), "100");
        assert_eq!(rd("cpu.max"), "50000 100000");
        assert_eq!(rd("pids.max"), "20");
        assert_eq!(rd("io.weight"), blkio_weight_to_io(500).to_string());
        assert_eq!(rd("io.max"), "8:0 rbps=1048576");
        assert_eq!(rd("hugetlb.2MB.max"), "max");
        assert_eq!(rd("memory.high"), "50000000");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn unknown_unified_key_is_refused() {
        let d = fake(&[]);
        let r: LinuxResources = serde_json::from_str(r#"{"unified":{"memory.nope":"1"}}"#).unwrap();
        assert!(apply(&d, &r)
            .unwrap_err()
            .to_string()
            .contains("memory.nope"));
        let r: LinuxResources = serde_json::from_str(r#"{"unified":{"../x.y":"1"}}"#).unwrap();
        assert!(apply(&d, &r).unwrap_err().to_string().contains("invalid"));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
