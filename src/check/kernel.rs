//! The kernel's and the host's other features: kernel version, root,
//! seccomp, LSMs, overlayfs, idmapped mounts, pidfd, clone3 and the
//! newuidmap/newgidmap helpers.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::probe::{self, errno_of, in_child, outcome};
use super::Item;

pub fn items() -> Vec<Item> {
    vec![
        seccomp(),
        seccomp_notify(),
        apparmor(),
        selinux(),
        overlayfs(),
        idmapped_mounts(),
        pidfd(),
        clone3().required(true),
        helper("newuidmap"),
        helper("newgidmap"),
    ]
}

/// The running kernel's release, e.g. `6.1.0-18-amd64`.
fn release() -> String {
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
fn version(release: &str) -> Option<(u32, u32)> {
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

fn seccomp() -> Item {
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
fn seccomp_notify() -> Item {
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

fn apparmor() -> Item {
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

fn selinux() -> Item {
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

fn overlayfs() -> Item {
    let fss = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
    if fss
        .lines()
        .any(|l| l.split_whitespace().last() == Some("overlay"))
    {
        return Item::new("overlayfs", true, "yes", "/proc/filesystems lists overlay");
    }
    let dir = PathBuf::from("/lib/modules")
        .join(release())
        .join("kernel/fs/overlayfs");
    let module = [
        "overlay.ko",
        "overlay.ko.xz",
        "overlay.ko.zst",
        "overlay.ko.gz",
    ]
    .iter()
    .map(|m| dir.join(m))
    .find(|p| p.exists());
    match module {
        Some(m) => Item::new(
            "overlayfs",
            true,
            "loadable (module not loaded yet)",
            format!("/proc/filesystems has no overlay; {} exists", m.display()),
        ),
        None => Item::new(
            "overlayfs",
            false,
            "no",
            format!(
                "/proc/filesystems has no overlay; no module in {}",
                dir.display()
            ),
        ),
    }
}

/// The child's exit code when the probe could not make a user namespace.
const NO_USERNS: i32 = 200;

/// A detached tmpfs (fsopen, fsmount) idmapped with mount_setattr, in a
/// child; it is never attached anywhere and vanishes with the child.
fn idmap_probe() -> Result<(), i32> {
    const FSOPEN_CLOEXEC: libc::c_uint = 1;
    const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
    const FSMOUNT_CLOEXEC: libc::c_uint = 1;
    // SAFETY: plain syscalls on valid C strings; the fds are owned below.
    let fs =
        errno_of(unsafe { libc::syscall(libc::SYS_fsopen, c"tmpfs".as_ptr(), FSOPEN_CLOEXEC) })?;
    // SAFETY: a new fd.
    let fs = unsafe { OwnedFd::from_raw_fd(fs as i32) };
    // SAFETY: CMD_CREATE takes no key or value.
    errno_of(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    })?;
    // SAFETY: as above.
    let mnt =
        errno_of(unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, 0) })?;
    // SAFETY: a new fd.
    let mnt = unsafe { OwnedFd::from_raw_fd(mnt as i32) };
    let userns = crate::rootfs::idmap::userns_with("0 100000 65536\n", "0 100000 65536\n")
        .map_err(|_| NO_USERNS)?;
    let attr = crate::sys::MountAttr {
        attr_set: crate::rootfs::options::ATTR_IDMAP,
        userns_fd: userns.as_raw_fd() as u64,
        ..Default::default()
    };
    crate::sys::mount_setattr(mnt.as_raw_fd(), false, &attr)
        .map_err(|e| e.raw_os_error().unwrap_or(libc::EINVAL))
}

fn idmapped_mounts() -> Item {
    let what = "fsopen(tmpfs)+fsmount, mount_setattr(MOUNT_ATTR_IDMAP) in a child";
    match in_child(idmap_probe) {
        Ok(()) => Item::new("idmapped mounts", true, "yes", format!("{what}: ok")),
        Err(libc::EPERM) => {
            // An unprivileged caller cannot make the mount: judge by the
            // kernel version (mount_setattr and MOUNT_ATTR_IDMAP are 5.12).
            let r = release();
            let ok = version(&r).is_some_and(|v| v >= (5, 12));
            Item::new(
                "idmapped mounts",
                ok,
                if ok { "yes, by kernel version" } else { "no" },
                format!("{what}: EPERM (needs CAP_SYS_ADMIN); kernel {r} (MOUNT_ATTR_IDMAP is in 5.12 and later)"),
            )
        }
        Err(NO_USERNS) => Item::new(
            "idmapped mounts",
            false,
            "unknown",
            format!("{what}: could not make a user namespace to map with"),
        ),
        Err(e) => Item::new(
            "idmapped mounts",
            false,
            "no",
            format!("{what}: {}", probe::errno_name(e)),
        ),
    }
}

fn pidfd() -> Item {
    // SAFETY: pidfd_open of this process; the fd is closed below.
    let r = errno_of(unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) });
    if let Ok(fd) = r {
        // SAFETY: our new fd.
        drop(unsafe { OwnedFd::from_raw_fd(fd as i32) });
    }
    Item::new(
        "pidfd",
        r.is_ok(),
        if r.is_ok() { "yes" } else { "no" },
        format!("pidfd_open(self): {}", outcome(r.map(|_| ()))),
    )
}

/// runr starts every process with clone3. An invalid call (no arguments)
/// fails with EINVAL where the syscall exists and ENOSYS where it does not
/// (an old kernel, or a seccomp filter that hides it).
fn clone3() -> Item {
    // SAFETY: size 0 is rejected before the pointer is read.
    let r = errno_of(unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null::<u8>(), 0usize) });
    let ok = matches!(r, Err(libc::EINVAL) | Err(libc::EFAULT));
    let result = match r {
        Err(libc::ENOSYS) => "no (the kernel or a seccomp filter lacks it)",
        _ if ok => "yes",
        _ => "unknown",
    };
    Item::new(
        "clone3",
        ok,
        result,
        format!("clone3(NULL, 0): {}", outcome(r.map(|_| ()))),
    )
}

/// A setuid helper for rootless id maps, found in PATH.
fn helper(name: &str) -> Item {
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
