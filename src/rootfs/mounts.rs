//! One config.json mount: create the destination inside the rootfs, mount,
//! remount bind mounts with their flags, apply propagation.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use oci_spec::runtime::Mount;

use super::options::{self, Options};
use super::resolve::{Handle, Root};
use super::Setup;
use crate::sys;

fn cs(s: &str) -> Result<CString> {
    CString::new(s).context("string contains a NUL byte")
}

/// True if the handle is a directory.
pub fn is_dir(h: &Handle) -> bool {
    fd_is_dir(h.fd.as_raw_fd())
}

fn fd_is_dir(fd: RawFd) -> bool {
    // SAFETY: fstat on a valid fd into a zeroed stat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::fstat(fd, &mut st) } == 0;
    ok && st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

/// Flags of the mount `h` is on that a remount inside a user namespace
/// must keep (the kernel locks them).
fn current_flags(h: &Handle) -> libc::c_ulong {
    // SAFETY: fstatvfs on a valid fd into a zeroed struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatvfs(h.fd.as_raw_fd(), &mut st) } != 0 {
        return 0;
    }
    let f = st.f_flag;
    let mut out = 0;
    for (st_flag, ms_flag) in [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ] {
        if f & st_flag != 0 {
            out |= ms_flag;
        }
    }
    out
}

/// Remounts the bind mount at `h` with `flags`, keeping the flags it has
/// unless `cleared` names them.
pub fn remount(h: &Handle, flags: libc::c_ulong, cleared: libc::c_ulong) -> std::io::Result<()> {
    const ATIME: libc::c_ulong = libc::MS_NOATIME | libc::MS_RELATIME | libc::MS_STRICTATIME;
    let mut keep = current_flags(h) & !cleared;
    if flags & ATIME != 0 {
        keep &= !ATIME;
    }
    let all = libc::MS_BIND | libc::MS_REMOUNT | flags | keep;
    sys::mount(None, &h.proc_path(), None, all & !libc::MS_REC, None)
}

/// The files lxcfs and friends bind over, which runc allows inside /proc.
const PROC_ALLOWED: &[&str] = &[
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
];

/// A destination with `.` and `..` worked out (`..` stops at `/`), as the
/// resolver inside the rootfs will see it before any symlink.
fn lexical(dest: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in dest.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

/// Mounts inside /proc are refused (an image could hide procfs files the
/// runtime writes, CVE-2019-16884, CVE-2025-52881), except the files
/// lxcfs and friends bind over, as runc allows them. Checked on the path
/// as written (`..` worked out) and on where it resolves in the rootfs,
/// so neither `/x/../proc/...` nor a symlink to /proc gets past.
fn check_proc_destination(root: &Root, dest: &Path, typ: &str) -> Result<()> {
    let clean = lexical(dest);
    if clean == Path::new("/proc") {
        if typ != "proc" {
            bail!("only a proc filesystem can be mounted at /proc");
        }
        return Ok(());
    }
    let allowed = PROC_ALLOWED.iter().any(|a| clean == Path::new(a));
    if clean.starts_with("/proc") && !allowed {
        bail!(
            "{} cannot be mounted because it is inside /proc",
            dest.display()
        );
    }
    if let Ok(h) = root.open_path(dest) {
        if !allowed && sys::is_procfs(h.fd.as_raw_fd()).unwrap_or(false) {
            bail!(
                "{} cannot be mounted because it resolves to a path inside /proc",
                dest.display()
            );
        }
    }
    Ok(())
}

/// proc and sysfs must land on real directories: a symlink there in the
/// image (CVE-2023-27561) is refused, not followed.
fn check_not_symlink(root: &Root, dest: &Path) -> Result<()> {
    if let Ok(h) = root.open_nofollow(dest) {
        // SAFETY: fstat into a zeroed struct on a valid fd.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(h.fd.as_raw_fd(), &mut st) } == 0
            && st.st_mode & libc::S_IFMT == libc::S_IFLNK
        {
            bail!("{} is a symlink in the rootfs: refused", dest.display());
        }
    }
    Ok(())
}

/// Mounts one config.json entry; `tree` is its idmapped copy, if it is
/// an idmapped bind mount.
pub fn mount(root: &Root, m: &Mount, s: &Setup, tree: Option<&OwnedFd>) -> Result<()> {
    let opts =
        options::parse(m.options().as_deref().unwrap_or_default()).map_err(anyhow::Error::msg)?;
    let typ = m.typ().as_deref().unwrap_or("");
    let dest = m.destination();
    check_proc_destination(root, dest, if opts.bind { "bind" } else { typ })?;
    // /dev too: devices and their links are made there next.
    if matches!(typ, "proc" | "sysfs") || lexical(dest) == Path::new("/dev") {
        check_not_symlink(root, dest)?;
    }
    if opts.bind || typ == "bind" {
        return bind(root, m, &opts, s.bundle, tree);
    }
    if typ == "cgroup" {
        return cgroup(root, dest, &opts, s);
    }
    if typ.is_empty() {
        bail!("mount type is missing");
    }
    let h = root.mkdir_all(dest).context("create mount point")?;
    let source = m.source().as_ref().map(|p| sys::cstr(p)).transpose()?;
    let mut opts = opts;
    if let Some(label) = s.mount_label.filter(|l| !l.is_empty()) {
        // SELinux: the mount takes the container's label (proc and sysfs
        // cannot, as with runc).
        if !matches!(typ, "proc" | "sysfs" | "cgroup" | "cgroup2") {
            let sep = if opts.data.is_empty() { "" } else { "," };
            opts.data = format!("{}{sep}context=\"{label}\"", opts.data);
        }
    }
    // tmpcopyup: keep a handle on what the tmpfs is about to cover.
    let below = if opts.tmpcopyup && typ == "tmpfs" {
        Some(
            root.open_dir(dest)
                .context("open the directory to copy up")?,
        )
    } else {
        None
    };
    let data = if opts.data.is_empty() {
        None
    } else {
        Some(cs(&opts.data)?)
    };
    match sys::mount(
        source.as_deref(),
        &h.proc_path(),
        Some(&cs(typ)?),
        opts.flags,
        data.as_deref(),
    ) {
        // A user namespace without a network namespace of its own may not
        // mount sysfs (rootless): the host's is bound instead, as runc does.
        Err(e) if typ == "sysfs" && s.userns && e.raw_os_error() == Some(libc::EPERM) => {
            let mut host = m.clone();
            host.set_source(Some("/sys".into()));
            let mut o = opts.clone();
            o.flags |= libc::MS_BIND | libc::MS_REC;
            return bind(root, &host, &o, s.bundle, None);
        }
        r => r.with_context(|| format!("mount {typ}"))?,
    }
    if let Some(below) = below {
        let top = root.open_dir(dest).context("open the new tmpfs")?;
        super::copyup::copy_tree(below.as_raw_fd(), top.as_raw_fd()).context("tmpcopyup")?;
    }
    if opts.rec_set != 0 || opts.rec_clr != 0 {
        super::idmap::set_recursive(&root.open_path(dest).context("reopen mount point")?, &opts)?;
    }
    propagate(root, dest, &opts)
}

/// A bind mount's source on the host: relative to the bundle when relative.
pub fn bind_source(m: &Mount, bundle: &Path) -> Result<PathBuf> {
    let src = m.source().as_ref().context("bind mount without a source")?;
    Ok(if src.is_absolute() {
        src.clone()
    } else {
        bundle.join(src)
    })
}

/// A bind mount; `tree` is its idmapped copy, made on the host side.
fn bind(
    root: &Root,
    m: &Mount,
    opts: &Options,
    bundle: &Path,
    tree: Option<&OwnedFd>,
) -> Result<()> {
    let src = bind_source(m, bundle)?;
    let tree = if super::idmap::wanted(m, opts) {
        Some(tree.context("the idmapped mount was not prepared on the host side")?)
    } else {
        None
    };
    let src_is_dir = match tree {
        Some(t) => fd_is_dir(t.as_raw_fd()),
        None => std::fs::metadata(&src)
            .with_context(|| format!("bind source {}", src.display()))?
            .is_dir(),
    };
    let h = if src_is_dir {
        root.mkdir_all(m.destination())
    } else {
        root.create_file(m.destination())
    }
    .context("create mount point")?;
    if let Some(t) = tree {
        super::idmap::attach(t, &h)?;
    } else {
        sys::mount(
            Some(&sys::cstr(&src)?),
            &h.proc_path(),
            None,
            libc::MS_BIND | (opts.flags & libc::MS_REC),
            None,
        )
        .with_context(|| format!("bind {}", src.display()))?;
    }
    let extra = opts.flags & !(libc::MS_BIND | libc::MS_REC | libc::MS_REMOUNT);
    if extra != 0 || opts.rec_set != 0 || opts.rec_clr != 0 {
        let h = root
            .open_path(m.destination())
            .context("reopen mount point")?;
        if extra != 0 {
            remount(&h, extra, opts.cleared).context("remount with options")?;
        }
        super::idmap::set_recursive(&h, opts)?;
    }
    propagate(root, m.destination(), opts)
}

fn propagate(root: &Root, dest: &Path, opts: &Options) -> Result<()> {
    if opts.propagation.is_empty() {
        return Ok(());
    }
    let h = root.open_path(dest).context("reopen mount point")?;
    for p in &opts.propagation {
        sys::mount(None, &h.proc_path(), None, *p, None).context("set propagation")?;
    }
    Ok(())
}

/// The `cgroup` mount: with a cgroup namespace, each hierarchy is mounted
/// afresh; without one, a tmpfs holds a bind of the container's own cgroup
/// directory per hierarchy, as runc does on cgroup v1.
fn cgroup(root: &Root, dest: &Path, opts: &Options, s: &Setup) -> Result<()> {
    let h = root.mkdir_all(dest).context("create mount point")?;
    let base = opts.flags & !libc::MS_RDONLY;
    sys::mount(
        Some(&cs("tmpfs")?),
        &h.proc_path(),
        Some(&cs("tmpfs")?),
        base,
        Some(&cs("mode=755")?),
    )
    .context("mount tmpfs for cgroups")?;
    let hierarchies = crate::cgroups::hierarchies()?;
    for hier in &hierarchies {
        let name = hier
            .mount
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.is_empty() {
            continue;
        }
        let sub = dest.join(&name);
        let target = root
            .mkdir_all(&sub)
            .with_context(|| format!("create {}", sub.display()))?;
        if s.cgroupns {
            let (fstype, data) = if hier.v2 {
                ("cgroup2", String::new())
            } else {
                let mut d = hier.controllers.join(",");
                if d.starts_with("name=") {
                    d = format!("none,{d}");
                }
                ("cgroup", d)
            };
            let data = if data.is_empty() {
                None
            } else {
                Some(cs(&data)?)
            };
            sys::mount(
                Some(&cs("cgroup")?),
                &target.proc_path(),
                Some(&cs(fstype)?),
                opts.flags,
                data.as_deref(),
            )
            .with_context(|| format!("mount cgroup {name}"))?;
        } else {
            let key = hier.mount.to_string_lossy();
            let Some(own) = s.cgroup_paths.get(key.as_ref()) else {
                continue;
            };
            sys::mount(
                Some(&sys::cstr(own)?),
                &target.proc_path(),
                None,
                libc::MS_BIND | libc::MS_REC,
                None,
            )
            .with_context(|| format!("bind cgroup {}", own.display()))?;
            let t = root.open_path(&sub).context("reopen cgroup mount")?;
            remount(&t, base | (opts.flags & libc::MS_RDONLY), opts.cleared)
                .with_context(|| format!("remount cgroup {name}"))?;
        }
        if name.contains(',') {
            for part in name.split(',') {
                let (dir, link) = root.parent_of(&dest.join(part))?;
                let target = cs(&name)?;
                // SAFETY: valid fd and C strings.
                unsafe { libc::symlinkat(target.as_ptr(), dir.fd.as_raw_fd(), link.as_ptr()) };
            }
        }
    }
    if opts.flags & libc::MS_RDONLY != 0 {
        let h = root.open_path(dest).context("reopen cgroup tmpfs")?;
        sys::mount(
            None,
            &h.proc_path(),
            None,
            libc::MS_REMOUNT | libc::MS_RDONLY | base,
            Some(&cs("mode=755")?),
        )
        .context("make cgroup tmpfs read-only")?;
    }
    Ok(())
}
