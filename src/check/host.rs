//! The host: kernel version, whether runr runs as root (or rootless), and
//! the newuidmap/newgidmap helpers rootless id maps need.

use std::path::Path;

use super::Item;

/// The running kernel's release, e.g. `6.1.0-18-amd64`.
pub fn release() -> String {
    // SAFETY: utsname is plain data; uname fills it.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer.
    if unsafe { libc::uname(&mut u) } != 0 {
        return String::new();
    }
    // SAFETY: uname NUL-terminates the field.
    unsafe { std::ffi::CStr::from_ptr(u.release.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// (major, minor) of a release string.
pub fn version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

pub fn kernel() -> Item {
    let r = release();
    Item::new("kernel", !r.is_empty(), r.clone(), "uname(2) release")
}

pub fn root(rootless: bool) -> Item {
    // SAFETY: geteuid cannot fail.
    let euid = unsafe { libc::geteuid() };
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    let map = map.split_whitespace().collect::<Vec<_>>().join(" ");
    // CAP_SYS_ADMIN (bit 21 of CapEff): root in a container often lacks it.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let cap_eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok());
    let sys_admin = match cap_eff {
        Some(c) if c & (1 << 21) != 0 => "CAP_SYS_ADMIN effective",
        Some(_) => "no CAP_SYS_ADMIN",
        None => "CapEff unreadable",
    };
    let result = match (euid == 0, rootless) {
        (true, false) if sys_admin != "CAP_SYS_ADMIN effective" => "yes, without CAP_SYS_ADMIN",
        (true, false) => "yes",
        (true, true) => {
            "yes, in rootless mode (--rootless, or a user namespace that maps part of the ids)"
        }
        (false, _) => "no (rootless mode)",
    };
    Item::new(
        "root",
        true,
        result,
        format!("geteuid()={euid}; /proc/self/uid_map: {map}; /proc/self/status: {sys_admin}"),
    )
}
/// A setuid helper for rootless id maps, found in PATH.
pub fn helper(name: &str) -> Item {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    let found = path
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(name))
        .find_map(|p| {
            std::fs::metadata(&p)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| (p, m))
        });
    match found {
        Some((p, m)) => {
            let setuid = m.permissions().mode() & 0o4000 != 0;
            Item::new(
                name,
                true,
                "yes",
                format!(
                    "{}{}",
                    p.display(),
                    if setuid {
                        " (setuid)"
                    } else {
                        " (not setuid: may rely on file capabilities)"
                    }
                ),
            )
        }
        None => Item::new(
            name,
            false,
            "no",
            "not found in $PATH (needed for rootless containers that map more than one id)",
        ),
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(version("6.18.44-fc-v1098"), Some((6, 18)));
        assert_eq!(version("5.4.0-150-generic"), Some((5, 4)));
        assert_eq!(version(""), None);
    }
}
