//! Building the container's root filesystem inside its mount namespace:
//! propagation, the rootfs bind, config mounts, /dev, pivot_root (or
//! MS_MOVE + chroot), then masked and readonly paths and a read-only root.

pub mod copyup;
pub mod devices;
pub mod hostns;
pub mod idmap;
pub mod mounts;
pub mod options;
pub mod resolve;

use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use oci_spec::runtime::Spec;

use crate::sys;
use resolve::Root;

/// What rootfs setup needs besides the spec.
pub struct Setup<'a> {
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub bundle: &'a Path,
    pub no_pivot: bool,
    /// The container shares runr's mount namespace (see `hostns`): no
    /// propagation change outside the rootfs, chroot instead of pivot_root.
    pub host_mountns: bool,
    /// The container is in a new user namespace: devices are bind-mounted.
    pub userns: bool,
    /// The container has a new cgroup namespace.
    pub cgroupns: bool,
    /// The container's cgroup directory per hierarchy mount point.
    pub cgroup_paths: &'a BTreeMap<String, PathBuf>,
    /// linux.mountLabel (SELinux).
    pub mount_label: Option<&'a str>,
    /// The idmapped bind mounts, made on the host side, by their index in
    /// the config's mounts.
    pub idmapped: &'a BTreeMap<usize, OwnedFd>,
}

fn c(s: &str) -> CString {
    CString::new(s).expect("static string")
}

/// Everything up to pivot_root: propagation, the rootfs bind, the config's
/// mounts, devices. The createContainer hooks run after it, then `enter`.
pub fn prepare(s: &Setup) -> Result<()> {
    let linux = s.spec.linux().as_ref();
    if !s.host_mountns {
        let prop = rootfs_propagation(s)?.unwrap_or(libc::MS_SLAVE | libc::MS_REC);
        sys::mount(None, &c("/"), None, prop, None).context("set propagation of /")?;
        let asked_slave = linux
            .and_then(|l| l.rootfs_propagation().as_deref())
            .is_some_and(|p| p == "slave" || p == "rslave");
        make_parent_private(s.rootfs, asked_slave)?;
    }
    let rootfs_c = sys::cstr(s.rootfs)?;
    sys::mount(
        Some(&rootfs_c),
        &rootfs_c,
        Some(&c("bind")),
        libc::MS_BIND | libc::MS_REC,
        None,
    )
    .with_context(|| format!("bind mount rootfs {}", s.rootfs.display()))?;
    if s.host_mountns {
        // The bind is the container's own mount (root.readonly remounts it,
        // never the host's); private, so that what is mounted under it
        // stays out of the host's peer groups.
        sys::mount(None, &rootfs_c, None, libc::MS_PRIVATE | libc::MS_REC, None)
            .context("make the rootfs bind private")?;
    }
    let root =
        Root::open(s.rootfs).with_context(|| format!("open rootfs {}", s.rootfs.display()))?;

    let config_mounts = s.spec.mounts().as_deref().unwrap_or_default();
    for (i, m) in config_mounts.iter().enumerate() {
        mounts::mount(&root, m, s, s.idmapped.get(&i))
            .with_context(|| format!("mount {}", m.destination().display()))?;
    }
    let dev_is_bind = config_mounts.iter().any(|m| {
        m.destination() == Path::new("/dev")
            && (m.typ().as_deref() == Some("bind")
                || m.options()
                    .iter()
                    .flatten()
                    .any(|o| o == "bind" || o == "rbind"))
    });
    if !dev_is_bind {
        devices::create_all(
            &root,
            linux
                .and_then(|l| l.devices().as_deref())
                .unwrap_or_default(),
            s.userns,
        )?;
        devices::links(&root)?;
    }
    Ok(())
}

/// linux.rootfsPropagation as mount flags, if the config sets it.
fn rootfs_propagation(s: &Setup) -> Result<Option<libc::c_ulong>> {
    match s
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref())
    {
        Some(p) if !p.is_empty() => options::propagation(p)
            .map(Some)
            .with_context(|| format!("unknown linux.rootfsPropagation {p:?}")),
        _ => Ok(None),
    }
}

/// Makes the prepared rootfs the root: pivot_root, or MS_MOVE + chroot,
/// or in runr's own mount namespace a plain chroot (the rootfs bind stays
/// where it is, for delete to unmount).
/// The new root is the rootfs bind, private like its parent:
/// linux.rootfsPropagation is set on it here, as it is the container's
/// rootfs that the field is about (shared, unbindable, ...).
pub fn enter(s: &Setup) -> Result<()> {
    if s.host_mountns {
        return chroot(s.rootfs);
    }
    if s.no_pivot {
        move_root(s.rootfs)?;
    } else {
        pivot(s.rootfs)?;
    }
    if let Some(prop) = rootfs_propagation(s)? {
        sys::mount(None, &c("/"), None, prop, None).context("set propagation of the rootfs")?;
    }
    Ok(())
}

/// pivot_root requires the rootfs's parent mount not to be shared. With
/// rootfsPropagation slave it becomes a slave, not private, so the rootfs
/// still "receives propagation events from the host" (config-linux.md).
fn make_parent_private(rootfs: &Path, slave: bool) -> Result<()> {
    let mut best: Option<PathBuf> = None;
    for e in crate::mountinfo::own()? {
        let mp = e.mount_point;
        if rootfs.starts_with(&mp)
            && best
                .as_ref()
                .is_none_or(|b| mp.as_os_str().len() > b.as_os_str().len())
        {
            best = Some(mp);
        }
    }
    let parent = best.unwrap_or_else(|| PathBuf::from("/"));
    let flag = if slave {
        libc::MS_SLAVE
    } else {
        libc::MS_PRIVATE
    };
    sys::mount(None, &sys::cstr(&parent)?, None, flag, None)
        .with_context(|| format!("make {} private", parent.display()))
}

fn pivot(rootfs: &Path) -> Result<()> {
    let old = sys::open(&c("/"), libc::O_DIRECTORY | libc::O_RDONLY, 0).context("open /")?;
    let new = sys::open(&sys::cstr(rootfs)?, libc::O_DIRECTORY | libc::O_RDONLY, 0)
        .context("open rootfs")?;
    use std::os::fd::AsRawFd;
    // SAFETY: fchdir on valid fds.
    if unsafe { libc::fchdir(new.as_raw_fd()) } < 0 {
        return Err(std::io::Error::last_os_error()).context("chdir to rootfs");
    }
    sys::pivot_root(&c("."), &c(".")).context("pivot_root")?;
    // SAFETY: as above.
    if unsafe { libc::fchdir(old.as_raw_fd()) } < 0 {
        return Err(std::io::Error::last_os_error()).context("chdir to old root");
    }
    // The old root must not propagate its unmount to the host.
    sys::mount(None, &c("."), None, libc::MS_SLAVE | libc::MS_REC, None)
        .context("make old root slave")?;
    sys::umount2(&c("."), libc::MNT_DETACH).context("unmount old root")?;
    std::env::set_current_dir("/").context("chdir /")?;
    Ok(())
}

fn move_root(rootfs: &Path) -> Result<()> {
    std::env::set_current_dir(rootfs).context("chdir to rootfs")?;
    sys::mount(
        Some(&sys::cstr(rootfs)?),
        &c("/"),
        None,
        libc::MS_MOVE,
        None,
    )
    .context("move rootfs to /")?;
    chroot_cwd()
}

fn chroot(rootfs: &Path) -> Result<()> {
    std::env::set_current_dir(rootfs).context("chdir to rootfs")?;
    chroot_cwd()
}

/// Makes the working directory the root.
pub fn chroot_cwd() -> Result<()> {
    // SAFETY: valid C string.
    if unsafe { libc::chroot(c(".").as_ptr()) } < 0 {
        return Err(std::io::Error::last_os_error()).context("chroot");
    }
    std::env::set_current_dir("/").context("chdir /")?;
    Ok(())
}

/// maskedPaths: a file gets /dev/null over it, a directory an empty
/// read-only tmpfs. Missing paths are skipped.
pub fn mask_paths(paths: &[String]) -> Result<()> {
    let root = Root::open(Path::new("/")).context("open /")?;
    // What is bound over masked files must be the real /dev/null, not
    // whatever an image or a racing process put there (CVE-2025-31133).
    let null = root
        .open_nofollow(Path::new("/dev/null"))
        .context("open /dev/null")?;
    {
        use std::os::fd::AsRawFd;
        // SAFETY: fstat into a zeroed struct on a valid fd.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::fstat(null.fd.as_raw_fd(), &mut st) } == 0
            && st.st_mode & libc::S_IFMT == libc::S_IFCHR
            && st.st_rdev == libc::makedev(1, 3);
        if !ok {
            anyhow::bail!(
                "/dev/null in the container is not the null device: refusing to mask with it"
            );
        }
    }
    for p in paths {
        let h = match root.open_path(Path::new(p)) {
            Ok(h) => h,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(e).with_context(|| format!("mask {p}")),
        };
        let r = if mounts::is_dir(&h) {
            sys::mount(
                Some(&c("tmpfs")),
                &h.proc_path(),
                Some(&c("tmpfs")),
                libc::MS_RDONLY,
                None,
            )
        } else {
            sys::mount(
                Some(&null.proc_path()),
                &h.proc_path(),
                None,
                libc::MS_BIND,
                None,
            )
        };
        r.with_context(|| format!("mask {p}"))?;
    }
    Ok(())
}

/// readonlyPaths: bind-mounted onto themselves, then made read-only.
pub fn readonly_paths(paths: &[String]) -> Result<()> {
    let root = Root::open(Path::new("/")).context("open /")?;
    for p in paths {
        let h = match root.open_path(Path::new(p)) {
            Ok(h) => h,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(e).with_context(|| format!("make {p} read-only")),
        };
        let target = h.proc_path();
        sys::mount(
            Some(&target),
            &target,
            None,
            libc::MS_BIND | libc::MS_REC,
            None,
        )
        .with_context(|| format!("bind {p} read-only"))?;
        let h = root
            .open_path(Path::new(p))
            .with_context(|| format!("reopen {p}"))?;
        mounts::remount(&h, libc::MS_RDONLY, 0).with_context(|| format!("make {p} read-only"))?;
    }
    Ok(())
}

/// root.readonly: the root mount itself becomes read-only.
pub fn readonly_root() -> Result<()> {
    let root = Root::open(Path::new("/")).context("open /")?;
    let h = root.open_path(Path::new("/")).context("open /")?;
    mounts::remount(&h, libc::MS_RDONLY, 0).context("make / read-only")
}
