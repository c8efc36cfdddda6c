//! The rest of the process spec, applied in the container process before
//! execve: personality, scheduler, I/O priority, CPU affinity and the
//! NUMA memory policy.

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{
    IOPriorityClass, LinuxIOPriority, LinuxMemoryPolicy, LinuxPersonality, LinuxPersonalityDomain,
    LinuxSchedulerFlag as SF, LinuxSchedulerPolicy as SP, MemoryPolicyFlagType as MF,
    MemoryPolicyModeType as MM, Scheduler,
};

fn os_err<T>(what: impl FnOnce() -> String) -> Result<T> {
    Err(std::io::Error::last_os_error()).with_context(what)
}

/// linux.personality: the execution domain (LINUX, LINUX32) and flags.
pub fn personality(p: &LinuxPersonality) -> Result<()> {
    let mut persona: libc::c_ulong = match p.domain() {
        LinuxPersonalityDomain::PerLinux => 0,
        LinuxPersonalityDomain::PerLinux32 => 0x0008,
    };
    for f in p.flags().iter().flatten() {
        persona |= match f.as_str() {
            "UNAME26" => 0x0020000,
            "ADDR_NO_RANDOMIZE" => 0x0040000,
            "FDPIC_FUNCPTRS" => 0x0080000,
            "MMAP_PAGE_ZERO" => 0x0100000,
            "ADDR_COMPAT_LAYOUT" => 0x0200000,
            "READ_IMPLIES_EXEC" => 0x0400000,
            "ADDR_LIMIT_32BIT" => 0x0800000,
            "SHORT_INODE" => 0x1000000,
            "WHOLE_SECONDS" => 0x2000000,
            "STICKY_TIMEOUTS" => 0x4000000,
            "ADDR_LIMIT_3GB" => 0x8000000,
            other => bail!("unknown linux.personality flag {other:?}"),
        };
    }
    // SAFETY: plain syscall.
    if unsafe { libc::personality(persona) } < 0 {
        return os_err(|| format!("set personality {persona:#x}"));
    }
    Ok(())
}

#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
}

/// process.scheduler, with sched_setattr.
pub fn scheduler(s: &Scheduler) -> Result<()> {
    let policy = match s.policy() {
        SP::SchedOther => 0,
        SP::SchedFifo => 1,
        SP::SchedRr => 2,
        SP::SchedBatch => 3,
        SP::SchedIso => 4,
        SP::SchedIdle => 5,
        SP::SchedDeadline => 6,
    };
    let mut flags = 0u64;
    for f in s.flags().iter().flatten() {
        flags |= match f {
            SF::SchedResetOnFork => 0x01,
            SF::SchedFlagReclaim => 0x02,
            SF::SchedFlagDLOverrun => 0x04,
            SF::SchedFlagKeepPolicy => 0x08,
            SF::SchedFlagKeepParams => 0x10,
            SF::SchedFlagUtilClampMin => 0x20,
            SF::SchedFlagUtilClampMax => 0x40,
        };
    }
    let attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy,
        flags,
        nice: s.nice().unwrap_or(0),
        priority: s.priority().unwrap_or(0) as u32,
        runtime: s.runtime().unwrap_or(0),
        deadline: s.deadline().unwrap_or(0),
        period: s.period().unwrap_or(0),
    };
    // SAFETY: attr is a valid sched_attr of the size it states.
    if unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) } < 0 {
        return os_err(|| format!("set scheduler {:?}", s.policy()));
    }
    Ok(())
}

/// process.ioPriority, with ioprio_set.
pub fn io_priority(p: &LinuxIOPriority) -> Result<()> {
    let class = match p.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    if !(0..=7).contains(&p.priority()) {
        bail!(
            "invalid process.ioPriority.priority {}: must be 0..7",
            p.priority()
        );
    }
    let prio = (class << 13) | p.priority() as i32;
    // SAFETY: plain syscall (IOPRIO_WHO_PROCESS, this process).
    if unsafe { libc::syscall(libc::SYS_ioprio_set, 1, 0, prio) } < 0 {
        return os_err(|| format!("set I/O priority {:?} {}", p.class(), p.priority()));
    }
    Ok(())
}

/// "0-2,4" as a bit list, for cpu and node masks.
pub fn parse_mask(s: &str, what: &str) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || anyhow::anyhow!("invalid {what} {s:?}");
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) =
                    (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                if a > b || b >= 1024 {
                    return Err(bad());
                }
                out.extend(a..=b);
            }
            None => {
                let n: usize = part.parse().map_err(|_| bad())?;
                if n >= 1024 {
                    return Err(bad());
                }
                out.push(n);
            }
        }
    }
    if out.is_empty() {
        bail!("invalid {what} {s:?}: empty");
    }
    Ok(out)
}

/// sched_setaffinity for this process (execCPUAffinity).
pub fn cpu_affinity(list: &str) -> Result<()> {
    let cpus = parse_mask(list, "execCPUAffinity")?;
    // SAFETY: a zeroed cpu_set_t filled with CPU_SET.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for c in cpus {
        unsafe { libc::CPU_SET(c, &mut set) };
    }
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) } < 0 {
        return os_err(|| format!("set CPU affinity {list}"));
    }
    Ok(())
}

/// linux.memoryPolicy, with set_mempolicy.
pub fn memory_policy(m: &LinuxMemoryPolicy) -> Result<()> {
    let mut mode: i64 = match m.mode() {
        MM::MpolDefault => 0,
        MM::MpolPreferred => 1,
        MM::MpolBind => 2,
        MM::MpolInterleave => 3,
        MM::MpolLocal => 4,
        MM::MpolPreferredMany => 5,
        MM::MpolWeightedInterleave => 6,
    };
    for f in m.flags().iter().flatten() {
        mode |= match f {
            MF::MpolFNumaBalancing => 1 << 13,
            MF::MpolFRelativeNodes => 1 << 14,
            MF::MpolFStaticNodes => 1 << 15,
        };
    }
    let mut mask = [0u64; 16];
    let mut maxnode = 0;
    if let Some(nodes) = m.nodes().as_deref().filter(|n| !n.is_empty()) {
        for n in parse_mask(nodes, "linux.memoryPolicy.nodes")? {
            mask[n / 64] |= 1 << (n % 64);
            maxnode = maxnode.max(n + 2);
        }
    }
    let ptr = if maxnode == 0 {
        std::ptr::null()
    } else {
        mask.as_ptr()
    };
    // SAFETY: mask holds maxnode bits.
    if unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode as u64) } < 0 {
        return os_err(|| format!("set memory policy {:?}", m.mode()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(parse_mask("0-2,5", "x").unwrap(), vec![0, 1, 2, 5]);
        assert!(parse_mask("3-1", "x").is_err());
        assert!(parse_mask("", "x").is_err());
        assert!(parse_mask("a", "x").is_err());
    }
}
