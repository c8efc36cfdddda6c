//! Device nodes in the container's /dev: the default set every container
//! gets plus linux.devices, made with mknod, or bind-mounted from the host
//! inside a user namespace where mknod is not allowed; and /dev's links.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::resolve::Root;
use crate::sys;

struct Dev {
    path: PathBuf,
    kind: libc::mode_t,
    major: u32,
    minor: u32,
    mode: u32,
    uid: u32,
    gid: u32,
}

fn defaults() -> Vec<Dev> {
    [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ]
    .into_iter()
    .map(|(n, major, minor)| Dev {
        path: Path::new("/dev").join(n),
        kind: libc::S_IFCHR,
        major,
        minor,
        mode: 0o666,
        uid: 0,
        gid: 0,
    })
    .collect()
}

fn from_spec(d: &LinuxDevice) -> Dev {
    let kind = match d.typ() {
        LinuxDeviceType::B => libc::S_IFBLK,
        LinuxDeviceType::P => libc::S_IFIFO,
        _ => libc::S_IFCHR,
    };
    Dev {
        path: d.path().clone(),
        kind,
        major: d.major() as u32,
        minor: d.minor() as u32,
        mode: d.file_mode().unwrap_or(0o666) & 0o7777,
        uid: d.uid().unwrap_or(0),
        gid: d.gid().unwrap_or(0),
    }
}

/// Creates the default devices and those of linux.devices (which win when
/// they name the same path).
pub fn create_all(root: &Root, spec_devices: &[LinuxDevice], userns: bool) -> Result<()> {
    let mut all: Vec<Dev> = defaults();
    all.retain(|d| !spec_devices.iter().any(|s| s.path() == &d.path));
    let listed = all.len();
    all.extend(spec_devices.iter().map(from_spec));
    for (i, d) in all.iter().enumerate() {
        create(root, d, userns, i >= listed)
            .with_context(|| format!("create device {}", d.path.display()))?;
    }
    Ok(())
}

/// config-linux.md: "If a file already exists at path that does not match
/// the requested device, the runtime MUST generate an error."
fn check_existing(dir: &std::os::fd::OwnedFd, name: &std::ffi::CStr, d: &Dev) -> Result<()> {
    // SAFETY: fstatat into a zeroed struct, valid fd and C string.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    } != 0
    {
        return Ok(());
    }
    let same_kind = st.st_mode & libc::S_IFMT == d.kind;
    let same_dev = d.kind == libc::S_IFIFO || st.st_rdev == libc::makedev(d.major, d.minor);
    if !(same_kind && same_dev) {
        anyhow::bail!("a file that is not this device is already there");
    }
    Ok(())
}

fn create(root: &Root, d: &Dev, userns: bool, listed: bool) -> Result<()> {
    let (dir, name) = root.parent_of(&d.path)?;
    if listed {
        check_existing(&dir.fd, &name, d)?;
    }
    // A default device's path taken by a file (from the image) is replaced;
    // a listed device matching what is there is made afresh (mode, owner).
    // SAFETY: valid fd and C string.
    unsafe { libc::unlinkat(dir.fd.as_raw_fd(), name.as_ptr(), 0) };
    if !userns {
        let dev = libc::makedev(d.major, d.minor);
        // SAFETY: valid fd and C string.
        let r = unsafe { libc::mknodat(dir.fd.as_raw_fd(), name.as_ptr(), d.kind | d.mode, dev) };
        if r == 0 {
            // SAFETY: as above; the node was just made, not a symlink.
            unsafe {
                libc::fchmodat(dir.fd.as_raw_fd(), name.as_ptr(), d.mode, 0);
                if libc::fchownat(
                    dir.fd.as_raw_fd(),
                    name.as_ptr(),
                    d.uid,
                    d.gid,
                    libc::AT_SYMLINK_NOFOLLOW,
                ) != 0
                {
                    return Err(std::io::Error::last_os_error()).context("chown");
                }
            }
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EPERM) {
            return Err(e).context("mknod");
        }
    }
    // Bind the host's node instead.
    let h = root.create_file(&d.path)?;
    sys::mount(
        Some(&sys::cstr(&d.path)?),
        &h.proc_path(),
        None,
        libc::MS_BIND,
        None,
    )
    .with_context(|| format!("bind host {}", d.path.display()))
}

/// /dev/fd, stdin, stdout, stderr, core and the ptmx link to devpts.
pub fn links(root: &Root) -> Result<()> {
    let mut links = vec![
        ("/proc/self/fd", "/dev/fd"),
        ("/proc/self/fd/0", "/dev/stdin"),
        ("/proc/self/fd/1", "/dev/stdout"),
        ("/proc/self/fd/2", "/dev/stderr"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "/dev/core"));
    }
    for (target, link) in links {
        let (dir, name) = root.parent_of(Path::new(link))?;
        let t = sys::cstr(Path::new(target))?;
        // SAFETY: valid fd and C strings.
        if unsafe { libc::symlinkat(t.as_ptr(), dir.fd.as_raw_fd(), name.as_ptr()) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EEXIST) {
                return Err(e).with_context(|| format!("symlink {link}"));
            }
        }
    }
    let (dir, name) = root.parent_of(Path::new("/dev/ptmx"))?;
    // SAFETY: valid fd and C strings.
    unsafe {
        libc::unlinkat(dir.fd.as_raw_fd(), name.as_ptr(), 0);
        let t = sys::cstr(Path::new("pts/ptmx"))?;
        if libc::symlinkat(t.as_ptr(), dir.fd.as_raw_fd(), name.as_ptr()) != 0 {
            return Err(std::io::Error::last_os_error()).context("symlink /dev/ptmx");
        }
    }
    Ok(())
}

/// /dev/console for a container with a terminal: its pty slave
/// (`slave`, an open fd) bind-mounted over it, as the runtime spec asks.
/// What is mounted over is checked first: a symlink there (which could
/// point out of the rootfs, CVE-2025-52565) or anything but a file or a
/// character device is refused; a missing one is made as an empty file.
pub fn console(slave: std::os::fd::RawFd) -> Result<()> {
    let root = Root::open(Path::new("/")).context("open /")?;
    let (dir, name) = root.parent_of(Path::new("/dev/console"))?;
    // SAFETY: valid fd and C string; O_EXCL never follows a symlink.
    let made = unsafe {
        libc::openat(
            dir.fd.as_raw_fd(),
            name.as_ptr(),
            libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o666,
        )
    };
    if made >= 0 {
        // SAFETY: the fd just opened.
        unsafe { libc::close(made) };
    }
    let target = root
        .open_nofollow(Path::new("/dev/console"))
        .context("open /dev/console")?;
    // SAFETY: fstat into a zeroed struct on a valid fd.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(target.fd.as_raw_fd(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error()).context("stat /dev/console");
    }
    match st.st_mode & libc::S_IFMT {
        libc::S_IFREG | libc::S_IFCHR => {}
        libc::S_IFLNK => {
            anyhow::bail!("/dev/console is a symlink in the container: refusing to mount over it")
        }
        _ => anyhow::bail!("/dev/console is not a file or a device: refusing to mount over it"),
    }
    let source = sys::cstr(Path::new(&format!("/proc/self/fd/{slave}")))?;
    sys::mount(
        Some(&source),
        &target.proc_path(),
        None,
        libc::MS_BIND,
        None,
    )
    .context("bind the pty over /dev/console")
}
