//! Linux security module labels: process.apparmorProfile and
//! process.selinuxLabel are written to the exec attribute, so they take
//! effect at execve. A label for an LSM this host does not run is an error.

use std::path::Path;

use anyhow::{bail, Context, Result};

pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
}

pub fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

/// Checks, on the host side, that the labels asked for can be applied.
pub fn check(
    apparmor: Option<&str>,
    selinux: Option<&str>,
    mount_label: Option<&str>,
) -> Result<()> {
    if let Some(p) = apparmor.filter(|p| !p.is_empty()) {
        if !apparmor_enabled() {
            bail!("apparmor profile {p:?} is set but AppArmor is not enabled on this host");
        }
    }
    for (what, l) in [
        ("process.selinuxLabel", selinux),
        ("linux.mountLabel", mount_label),
    ] {
        if let Some(l) = l.filter(|l| !l.is_empty()) {
            if !selinux_enabled() {
                bail!("{what} {l:?} is set but SELinux is not enabled on this host");
            }
        }
    }
    Ok(())
}

/// In the container process, before execve.
pub fn apply(apparmor: Option<&str>, selinux: Option<&str>) -> Result<()> {
    if let Some(p) = apparmor.filter(|p| !p.is_empty()) {
        let attr = if Path::new("/proc/self/attr/apparmor/exec").exists() {
            "/proc/self/attr/apparmor/exec"
        } else {
            "/proc/self/attr/exec"
        };
        crate::sys::write_proc(attr, &format!("exec {p}"))
            .with_context(|| format!("set apparmor profile {p}"))?;
    }
    if let Some(l) = selinux.filter(|l| !l.is_empty()) {
        crate::sys::write_proc("/proc/self/attr/exec", l)
            .with_context(|| format!("set selinux label {l}"))?;
    }
    Ok(())
}
