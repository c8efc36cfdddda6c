//! Capability names and the five sets, applied with raw capset/prctl so that
//! effective, permitted and inheritable change in one step (no ordering trap)
//! and capabilities above the ones a crate knows stay representable.

use std::io;

pub const NAMES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The capability number for a name such as `CAP_KILL` (case-insensitive,
/// the `CAP_` prefix optional).
pub fn by_name(name: &str) -> Option<u32> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    NAMES.iter().position(|n| *n == full).map(|i| i as u32)
}

/// The highest capability this kernel knows.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(NAMES.len() as u32 - 1)
}

/// The capability sets of a process, as bit masks.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CapSets {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_V3: u32 = 0x2008_0522;

impl CapSets {
    /// Drops every capability not in the bounding set. Needs CAP_SETPCAP, so
    /// it runs before the user switch.
    pub fn apply_bounding(&self) -> io::Result<()> {
        for cap in 0..=last_cap() {
            if self.bounding & (1 << cap) == 0 {
                crate::sys::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong)?;
            }
        }
        Ok(())
    }

    /// Sets effective, permitted and inheritable in one capset, then raises
    /// the ambient set.
    pub fn apply_process_sets(&self) -> io::Result<()> {
        let mut hdr = CapHeader {
            version: CAP_V3,
            pid: 0,
        };
        let data = [
            CapData {
                effective: self.effective as u32,
                permitted: self.permitted as u32,
                inheritable: self.inheritable as u32,
            },
            CapData {
                effective: (self.effective >> 32) as u32,
                permitted: (self.permitted >> 32) as u32,
                inheritable: (self.inheritable >> 32) as u32,
            },
        ];
        // SAFETY: header and a two-element data array, as capset v3 expects.
        let ret =
            unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
        if ret < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: prctl with integer arguments.
        unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL,
                0,
                0,
                0,
            )
        };
        for cap in 0..=last_cap() {
            if self.ambient & (1 << cap) != 0 {
                // SAFETY: prctl with integer arguments.
                let r = unsafe {
                    libc::prctl(
                        libc::PR_CAP_AMBIENT,
                        libc::PR_CAP_AMBIENT_RAISE,
                        cap as libc::c_ulong,
                        0,
                        0,
                    )
                };
                if r < 0 {
                    let e = io::Error::last_os_error();
                    // A capability can only be ambient if it is permitted and
                    // inheritable; runc skips the others, and so does runr.
                    if e.raw_os_error() != Some(libc::EPERM) {
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Whether runr's own bounding set still has a capability: one it lacks (a
/// restricted environment) cannot be granted to the container.
fn in_own_bounding(cap: u32) -> bool {
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) == 1 }
}

/// Turns a list of names into a mask; unknown names, and capabilities runr
/// cannot grant, are returned apart so the caller can warn about them
/// (config.md: they "MUST be logged as a warning", and runtimes "SHOULD NOT
/// fail" on capabilities that cannot be granted).
pub fn mask_of<'a>(names: impl IntoIterator<Item = &'a str>) -> (u64, Vec<String>) {
    let last = last_cap();
    let mut mask = 0u64;
    let mut unknown = Vec::new();
    for n in names {
        match by_name(n) {
            Some(c) if c <= last && in_own_bounding(c) => mask |= 1 << c,
            _ => unknown.push(n.to_string()),
        }
    }
    (mask, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_with_and_without_prefix() {
        assert_eq!(by_name("CAP_KILL"), Some(5));
        assert_eq!(by_name("kill"), Some(5));
        assert_eq!(by_name("CAP_SYS_ADMIN"), Some(21));
        assert_eq!(by_name("CAP_FOO"), None);
    }

    #[test]
    fn unknown_names_are_reported_not_fatal() {
        let (mask, unknown) = mask_of(["CAP_KILL", "CAP_NOPE", "CAP_CHOWN"]);
        assert_eq!(mask, (1 << 5) | 1);
        assert_eq!(unknown, vec!["CAP_NOPE".to_string()]);
    }
}
