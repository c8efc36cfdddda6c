//! Seccomp (filters, their actions, user notification) and the LSMs.

use std::path::Path;

use super::probe::{errno_of, outcome};
use super::Item;

pub fn seccomp() -> Item {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mode = status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp:"))
        .map(|v| v.trim().to_string());
    let actions = std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail")
        .map(|s| s.trim().to_string());
    let evidence = format!(
        "/proc/self/status Seccomp: {}; /proc/sys/kernel/seccomp/actions_avail: {}",
        mode.as_deref().unwrap_or("(no such field)"),
        actions.as_deref().unwrap_or("(unreadable)")
    );
    match (&mode, &actions) {
        (Some(m), Ok(a)) => {
            let now = match m.as_str() {
                "0" => "",
                "2" => "; this process is already filtered",
                _ => "; this process is in strict mode",
            };
            Item::new(
                "seccomp",
                true,
                format!("yes (actions: {}){now}", a.replace(' ', ", ")),
                evidence,
            )
        }
        _ => Item::new(
            "seccomp",
            false,
            "no (kernel without CONFIG_SECCOMP_FILTER)",
            evidence,
        ),
    }
}

/// SECCOMP_USER_NOTIF: linux.seccomp rules with SCMP_ACT_NOTIFY.
pub fn seccomp_notify() -> Item {
    const SECCOMP_GET_NOTIF_SIZES: libc::c_long = 3;
    let mut sizes = [0u16; 3];
    // SAFETY: the kernel writes three u16 into sizes.
    let r = errno_of(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_GET_NOTIF_SIZES,
            0,
            sizes.as_mut_ptr(),
        )
    });
    let ok = r.is_ok();
    Item::new(
        "seccomp user notify",
        ok,
        if ok { "yes" } else { "no" },
        format!(
            "seccomp(SECCOMP_GET_NOTIF_SIZES): {}",
            outcome(r.map(|_| ()))
        ),
    )
}

pub fn apparmor() -> Item {
    let path = "/sys/module/apparmor/parameters/enabled";
    let (ok, evidence) = match std::fs::read_to_string(path) {
        Ok(s) => (s.trim() == "Y", format!("{path}: {}", s.trim())),
        Err(_) => (false, format!("{path} absent")),
    };
    Item::new(
        "apparmor",
        ok,
        if ok { "enabled" } else { "not enabled" },
        evidence,
    )
}

pub fn selinux() -> Item {
    let fs = Path::new("/sys/fs/selinux");
    let enforce = std::fs::read_to_string(fs.join("enforce")).map(|s| s.trim().to_string());
    let (ok, result, evidence) = match enforce {
        Ok(e) => (
            true,
            if e == "1" { "enforcing" } else { "permissive" },
            format!("/sys/fs/selinux/enforce: {e}"),
        ),
        Err(_) => (
            false,
            "not enabled",
            "/sys/fs/selinux/enforce absent".to_string(),
        ),
    };
    Item::new("selinux", ok, result, evidence)
}
