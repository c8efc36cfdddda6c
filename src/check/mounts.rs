//! Filesystems and mount features: overlayfs, idmapped mounts.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;

use super::host::{release, version};
use super::probe::{self, errno_of, in_child};
use super::Item;

pub fn overlayfs() -> Item {
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

pub fn idmapped_mounts() -> Item {
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
