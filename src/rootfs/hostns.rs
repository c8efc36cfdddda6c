//! A container that shares runr's mount namespace (config-linux.md: a
//! namespace not listed is inherited). Its rootfs mounts are made in that
//! namespace, so they are the runtime's to undo: `create` records which
//! mounts were at or under the rootfs before it began, and `delete` (or a
//! failed create) unmounts every other one found there.

use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::resolve::Root;
use crate::{mountinfo, sys};

/// What `create` records about a container in runr's mount namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostMounts {
    /// The inode of the mount namespace (/proc/self/ns/mnt) the mounts
    /// were made in.
    pub ns: u64,
    /// Mount IDs at or under the rootfs before create: never unmounted.
    pub before: Vec<u32>,
}

/// The inode of this process's mount namespace.
pub fn own_ns() -> Result<u64> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata("/proc/self/ns/mnt")
        .context("stat /proc/self/ns/mnt")?
        .ino())
}

fn under(rootfs: &Path, e: &mountinfo::Entry) -> bool {
    e.mount_point.starts_with(rootfs)
}

/// The mounts at or under `rootfs` now, before the container makes any.
pub fn snapshot(rootfs: &Path) -> Result<HostMounts> {
    let before = mountinfo::own()?
        .iter()
        .filter(|e| under(rootfs, e))
        .map(|e| e.id)
        .collect();
    Ok(HostMounts {
        ns: own_ns()?,
        before,
    })
}

/// The mounts at or under `rootfs` that were not there before create.
fn made_since(rootfs: &Path, h: &HostMounts) -> Result<Vec<mountinfo::Entry>> {
    Ok(mountinfo::own()?
        .into_iter()
        .filter(|e| under(rootfs, e) && !h.before.contains(&e.id))
        .collect())
}

/// The mount an O_PATH fd is on (/proc/self/fdinfo's `mnt_id`).
fn mount_id_of(fd: &impl AsRawFd) -> io::Result<u32> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd()))?;
    info.lines()
        .find_map(|l| l.strip_prefix("mnt_id:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no mnt_id in fdinfo"))
}

/// Unmounts (lazily) every mount at or under `rootfs` that `h.before`
/// does not hold, deepest first. A path is resolved inside the rootfs
/// (a symlink the container made cannot lead out) and unmounted only if
/// it reaches the very mount found in mountinfo; one hidden under
/// another is taken in a later pass.
pub fn remove(rootfs: &Path, h: &HostMounts) -> Result<()> {
    if own_ns()? != h.ns {
        bail!(
            "the container's mounts under {} are in another mount namespace than this runr's: \
             run delete where create ran",
            rootfs.display()
        );
    }
    let mut last_err = None;
    for _ in 0..32 {
        let mut left: Vec<(u32, PathBuf)> = made_since(rootfs, h)?
            .into_iter()
            .map(|e| (e.id, e.mount_point))
            .collect();
        if left.is_empty() {
            return Ok(());
        }
        left.sort_by_key(|(_, p)| std::cmp::Reverse(p.components().count()));
        let root = Root::open(rootfs).with_context(|| format!("open {}", rootfs.display()))?;
        let mut progress = false;
        for (id, path) in &left {
            let rel = path.strip_prefix(rootfs).unwrap_or(Path::new(""));
            let r = root.open_nofollow(rel).and_then(|handle| {
                if mount_id_of(&handle.fd)? != *id {
                    return Ok(false); // covered by another mount
                }
                sys::umount2(&handle.proc_path(), libc::MNT_DETACH)?;
                Ok(true)
            });
            match r {
                Ok(done) => progress |= done,
                Err(e) => last_err = Some(format!("{}: {e}", path.display())),
            }
        }
        if !progress {
            break;
        }
    }
    let left: Vec<String> = made_since(rootfs, h)?
        .iter()
        .map(|e| e.mount_point.display().to_string())
        .collect();
    if left.is_empty() {
        return Ok(());
    }
    bail!(
        "could not unmount the container's mounts {}{}",
        left.join(", "),
        last_err.map(|e| format!(" ({e})")).unwrap_or_default()
    )
}
