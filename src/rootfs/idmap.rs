//! Idmapped bind mounts (mount uidMappings/gidMappings, `idmap`,
//! `ridmap`) and recursive mount attributes (`rro`, ...), both through the
//! new mount API.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::Mount;

use super::options::{self, Options};
use super::resolve::Handle;
use crate::namespaces::map_text;
use crate::sys;

/// A user namespace with the given maps, held by its fd: a child unshares
/// one, this process writes the maps, opens it and lets the child go.
pub(crate) fn userns_with(uid_map: &str, gid_map: &str) -> Result<OwnedFd> {
    let (ready_r, ready_w) = std::os::unix::net::UnixStream::pair().context("socketpair")?;
    match sys::fork().context("fork for an idmap user namespace")? {
        sys::Forked::Child => {
            drop(ready_r);
            let mut w = ready_w;
            // SAFETY: this child only unshares, reports, waits and exits.
            let ok = unsafe { libc::unshare(libc::CLONE_NEWUSER) } == 0;
            // Its pid as the mounted /proc sees it: the caller may be in
            // another pid namespace than that /proc.
            let me = std::fs::read_link("/proc/self").unwrap_or_default();
            let msg = if ok {
                format!("1{}", me.display())
            } else {
                "0".into()
            };
            let _ = w.write_all(msg.as_bytes());
            let mut b = [0u8; 1];
            let _ = w.read(&mut b);
            unsafe { libc::_exit(0) }
        }
        sys::Forked::Parent(pid) => {
            drop(ready_w);
            let mut r = ready_r;
            let mut b = [0u8; 32];
            let res = (|| {
                let n = r.read(&mut b).context("wait for the idmap helper")?;
                if n < 2 || b[0] != b'1' {
                    bail!("unshare a user namespace for an idmapped mount");
                }
                let proc_pid = std::str::from_utf8(&b[1..n]).unwrap_or_default();
                sys::write_proc(&format!("/proc/{proc_pid}/uid_map"), uid_map)
                    .context("write the idmap uid_map")?;
                sys::write_proc(&format!("/proc/{proc_pid}/gid_map"), gid_map)
                    .context("write the idmap gid_map")?;
                let f = std::fs::File::open(format!("/proc/{proc_pid}/ns/user"))
                    .context("open the idmap user namespace")?;
                Ok(OwnedFd::from(f))
            })();
            drop(r); // lets the helper exit
            let _ = sys::waitpid(pid, 0);
            res
        }
    }
}

/// The user namespace an idmapped mount uses: the mount's own mappings, or
/// (plain `idmap`) the container's user namespace.
fn idmap_userns(m: &Mount, container_userns: bool) -> Result<OwnedFd> {
    match (m.uid_mappings(), m.gid_mappings()) {
        (Some(u), Some(g)) if !u.is_empty() && !g.is_empty() => {
            userns_with(&map_text(u), &map_text(g))
        }
        (None, None) => {
            if !container_userns {
                bail!("an idmap mount needs uidMappings and gidMappings, or a container user namespace");
            }
            Ok(OwnedFd::from(std::fs::File::open("/proc/self/ns/user")?))
        }
        _ => bail!("an idmapped mount needs both uidMappings and gidMappings"),
    }
}

/// An idmapped bind mount of `src` onto `target`.
pub fn bind(
    m: &Mount,
    src: &Path,
    target: &Handle,
    opts: &Options,
    container_userns: bool,
) -> Result<()> {
    let recursive = opts.flags & libc::MS_REC != 0;
    let tree = sys::open_tree_clone(&sys::cstr(src)?, recursive)
        .with_context(|| format!("clone {}", src.display()))?;
    let userns = idmap_userns(m, container_userns)?;
    let attr = sys::MountAttr {
        attr_set: options::ATTR_IDMAP,
        userns_fd: userns.as_raw_fd() as u64,
        ..Default::default()
    };
    sys::mount_setattr(tree.as_raw_fd(), opts.ridmap, &attr)
        .context("idmap the mount (does the filesystem support it?)")?;
    sys::move_mount_fds(tree.as_raw_fd(), target.fd.as_raw_fd())
        .context("attach the idmapped mount")
}

/// Recursive attributes on the mount at `h`.
pub fn set_recursive(h: &Handle, opts: &Options) -> Result<()> {
    if opts.rec_set == 0 && opts.rec_clr == 0 {
        return Ok(());
    }
    let attr = sys::MountAttr {
        attr_set: opts.rec_set,
        attr_clr: opts.rec_clr,
        ..Default::default()
    };
    sys::mount_setattr(h.fd.as_raw_fd(), true, &attr).context("set recursive mount attributes")
}
