//! Rootless mode: what changes when runr runs without privileges (an
//! ordinary user, or root inside a user namespace that maps only part of
//! the id range). The id maps of the container's user namespace are then
//! written through newuidmap/newgidmap unless they map the caller alone,
//! and cgroups are used only where the caller may create them.

use std::fs;
use std::process::Command;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::LinuxIdMapping;

/// `--rootless auto`: true for a caller other than root, and for root in
/// a user namespace that does not map every id.
pub fn detect() -> bool {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return true;
    }
    fs::read_to_string("/proc/self/uid_map")
        .map(|m| !maps_everything(&m))
        .unwrap_or(false)
}

fn maps_everything(uid_map: &str) -> bool {
    uid_map.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"]
}

/// Which file of /proc/PID an id map goes to, and its setuid helper.
#[derive(Clone, Copy)]
pub enum Ids {
    Uid,
    Gid,
}

impl Ids {
    fn file(self) -> &'static str {
        match self {
            Ids::Uid => "uid_map",
            Ids::Gid => "gid_map",
        }
    }

    fn helper(self) -> &'static str {
        match self {
            Ids::Uid => "newuidmap",
            Ids::Gid => "newgidmap",
        }
    }

    fn own(self) -> u32 {
        // SAFETY: geteuid and getegid cannot fail.
        unsafe {
            match self {
                Ids::Uid => libc::geteuid(),
                Ids::Gid => libc::getegid(),
            }
        }
    }
}

/// Writes one id map of the process `pid`. Root writes it directly; any
/// other caller may write only its own id (and, for gids, only once
/// setgroups is denied, as the kernel requires); every other map goes
/// through the setuid helper, which checks /etc/subuid or /etc/subgid.
pub fn write_map(pid: i32, ids: Ids, maps: &[LinuxIdMapping]) -> Result<()> {
    let text = crate::namespaces::map_text(maps);
    // SAFETY: geteuid cannot fail.
    let privileged = unsafe { libc::geteuid() } == 0 && !detect();
    let only_own = matches!(maps, [m] if m.size() == 1 && m.host_id() == ids.own());
    if privileged || only_own {
        if !privileged && matches!(ids, Ids::Gid) {
            crate::sys::write_proc(&format!("/proc/{pid}/setgroups"), "deny")
                .context("deny setgroups in the user namespace")?;
        }
        return crate::sys::write_proc(&format!("/proc/{pid}/{}", ids.file()), &text)
            .with_context(|| format!("write {}", ids.file()));
    }
    let mut cmd = Command::new(ids.helper());
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([
            m.container_id().to_string(),
            m.host_id().to_string(),
            m.size().to_string(),
        ]);
    }
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "{} mapping more than the caller's own id needs {} (Debian package uidmap)",
            ids.file(),
            ids.helper()
        ),
        Err(e) => return Err(e).with_context(|| format!("run {}", ids.helper())),
    };
    if !out.status.success() {
        bail!(
            "{} failed to write {}: {}",
            ids.helper(),
            ids.file(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_map_is_not_rootless() {
        assert!(maps_everything("         0          0 4294967295\n"));
        assert!(!maps_everything("         0       1000          1\n"));
        assert!(!maps_everything("0 0 4294967295\n1 100000 65536\n"));
    }
}
