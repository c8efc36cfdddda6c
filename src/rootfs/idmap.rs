//! Idmapped bind mounts (mount uidMappings/gidMappings, `idmap`,
//! `ridmap`) and recursive mount attributes (`rro`, ...), both through the
//! new mount API.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{Mount, Spec};

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

/// True for a bind mount that is to be idmapped.
pub fn wanted(m: &Mount, opts: &Options) -> bool {
    let bind = opts.bind || m.typ().as_deref() == Some("bind");
    bind && (opts.idmap || m.uid_mappings().is_some() || m.gid_mappings().is_some())
}

/// The id maps (uid, gid) of an idmapped mount's user namespace; None for
/// the container's own (plain `idmap`).
type Maps = Option<(String, String)>;

/// The user namespace an idmapped mount uses: the mount's own mappings, or
/// (plain `idmap`) the container's user namespace, that of `init_pid`.
/// Mounts with the same mappings share one, kept in `made`.
fn idmap_userns<'m>(
    m: &Mount,
    init_pid: i32,
    container_userns: bool,
    made: &'m mut HashMap<Maps, OwnedFd>,
) -> Result<&'m OwnedFd> {
    let maps: Maps = match (m.uid_mappings(), m.gid_mappings()) {
        (Some(u), Some(g)) if !u.is_empty() && !g.is_empty() => Some((map_text(u), map_text(g))),
        (None, None) if container_userns => None,
        (None, None) => {
            bail!("an idmap mount needs uidMappings and gidMappings, or a container user namespace")
        }
        _ => bail!("an idmapped mount needs both uidMappings and gidMappings"),
    };
    if !made.contains_key(&maps) {
        let ns = match &maps {
            Some((u, g)) => userns_with(u, g)?,
            None => OwnedFd::from(
                std::fs::File::open(format!("/proc/{init_pid}/ns/user"))
                    .context("open the container's user namespace")?,
            ),
        };
        made.insert(maps.clone(), ns);
    }
    Ok(&made[&maps])
}

/// A detached, idmapped copy of the mount tree at `src`.
fn detached(src: &Path, opts: &Options, userns: &OwnedFd) -> Result<OwnedFd> {
    let recursive = opts.flags & libc::MS_REC != 0;
    let tree = sys::open_tree_clone(&sys::cstr(src)?, recursive)
        .with_context(|| format!("clone {}", src.display()))?;
    let attr = sys::MountAttr {
        attr_set: options::ATTR_IDMAP,
        userns_fd: userns.as_raw_fd() as u64,
        ..Default::default()
    };
    sys::mount_setattr(tree.as_raw_fd(), opts.ridmap, &attr)
        .context("idmap the mount (does the filesystem support it?)")?;
    Ok(tree)
}

/// Host side, before the init mounts anything: every idmapped bind mount
/// of the config as a detached tree, by its index in `mounts`. Idmapping
/// needs CAP_SYS_ADMIN over the user namespace of the source's filesystem
/// (the host's), which an init in its own user namespace lacks; the init
/// only attaches the trees (`attach`), in the mounts' order.
pub fn trees(
    spec: &Spec,
    bundle: &Path,
    init_pid: i32,
    container_userns: bool,
) -> Result<Vec<(usize, OwnedFd)>> {
    let mut out = Vec::new();
    let mut usernses = HashMap::new();
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        // Options the init cannot parse fail there, with their context.
        let Ok(opts) = options::parse(m.options().as_deref().unwrap_or_default()) else {
            continue;
        };
        if !wanted(m, &opts) {
            continue;
        }
        let dest = m.destination().display();
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            bail!("mount {dest}: idmapped mounts need runr to run as root");
        }
        let src = super::mounts::bind_source(m, bundle).with_context(|| format!("mount {dest}"))?;
        let tree = idmap_userns(m, init_pid, container_userns, &mut usernses)
            .and_then(|ns| detached(&src, &opts, ns))
            .with_context(|| format!("mount {dest}"))?;
        out.push((i, tree));
    }
    Ok(out)
}

/// Init side: attaches an idmapped tree made by `trees` onto `target`.
pub fn attach(tree: &OwnedFd, target: &Handle) -> Result<()> {
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
