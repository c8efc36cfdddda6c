//! Namespaces: which are new (clone flags), which are joined by path, and
//! the two that the parent must arrange before the init is born (a joined
//! pid namespace and a time namespace, which only children enter).

use std::fs;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespace, LinuxNamespaceType as T, Spec};

use crate::sys;

/// The namespace plan of one container.
#[derive(Debug, Default)]
pub struct Plan {
    /// CLONE_NEW* flags for clone3.
    pub clone_flags: u64,
    /// Namespaces the init joins by path (setns), in config order, mount last.
    pub join: Vec<(i32, PathBuf)>,
    /// A pid namespace the parent enters before clone3.
    pub join_pid: Option<PathBuf>,
    /// A user namespace to join: an intermediate process enters it and
    /// clones the init, so that the new namespaces belong to it.
    pub join_user: Option<PathBuf>,
    /// A new time namespace (the parent unshares it before clone3).
    pub new_time: bool,
    pub new_user: bool,
    pub new_cgroup: bool,
    pub new_pid: bool,
}

pub fn flag(t: T) -> i32 {
    t as i32
}

impl Plan {
    pub fn from_spec(spec: &Spec) -> Result<Plan> {
        let mut p = Plan::default();
        let list: &[LinuxNamespace] = spec
            .linux()
            .as_ref()
            .and_then(|l| l.namespaces().as_deref())
            .unwrap_or_default();
        for ns in list {
            match (ns.typ(), ns.path()) {
                (T::Time, None) => p.new_time = true,
                // Unshared by the init once it is in its cgroups.
                (T::Cgroup, None) => p.new_cgroup = true,
                (t, None) => {
                    p.clone_flags |= flag(t) as u64;
                    p.new_user |= t == T::User;
                    p.new_pid |= t == T::Pid;
                }
                (T::Pid, Some(path)) => p.join_pid = Some(path.clone()),
                (T::User, Some(path)) => p.join_user = Some(path.clone()),
                (t, Some(path)) => p.join.push((flag(t), path.clone())),
            }
        }
        // Entering another mount namespace changes how later paths resolve.
        p.join.sort_by_key(|(f, _)| *f == flag(T::Mount));
        Ok(p)
    }

    /// Parent side, before clone3: enter a joined pid namespace and make a
    /// new time namespace with its offsets; both apply to children only.
    pub fn prepare_parent(&self, spec: &Spec) -> Result<()> {
        if self.new_time {
            sys::unshare(libc::CLONE_NEWTIME).context("unshare time namespace")?;
            let offsets = spec
                .linux()
                .as_ref()
                .and_then(|l| l.time_offsets().clone())
                .unwrap_or_default();
            let mut text = String::new();
            for (clock, off) in &offsets {
                let name = match clock.as_str() {
                    "monotonic" => "monotonic",
                    "boottime" => "boottime",
                    other => bail!("unknown clock {other:?} in linux.timeOffsets"),
                };
                text.push_str(&format!(
                    "{name} {} {}\n",
                    off.secs().unwrap_or(0),
                    off.nanosecs().unwrap_or(0)
                ));
            }
            for line in text.lines() {
                sys::write_proc("/proc/self/timens_offsets", line)
                    .context("write time namespace offsets")?;
            }
        }
        Ok(())
    }

    /// Enters a joined pid namespace (for children only).
    fn join_pid_for_children(&self) -> Result<()> {
        if let Some(path) = &self.join_pid {
            let f = fs::File::open(path)
                .with_context(|| format!("open pid namespace {}", path.display()))?;
            sys::setns(&f, libc::CLONE_NEWPID)
                .with_context(|| format!("join pid namespace {}", path.display()))?;
        }
        Ok(())
    }

    /// The plan of `exec`: join every namespace of the container's init
    /// that differs from runr's own.
    pub fn for_exec(init_pid: i32) -> Result<Plan> {
        use std::os::unix::fs::MetadataExt;
        let mut p = Plan::default();
        let kinds = [
            ("user", T::User),
            ("ipc", T::Ipc),
            ("uts", T::Uts),
            ("net", T::Network),
            ("pid", T::Pid),
            ("cgroup", T::Cgroup),
            ("time", T::Time),
            ("mnt", T::Mount),
        ];
        for (name, t) in kinds {
            let theirs = PathBuf::from(format!("/proc/{init_pid}/ns/{name}"));
            let Ok(their) = fs::metadata(&theirs) else {
                if name == "time" || name == "cgroup" {
                    continue; // not on every kernel
                }
                bail!("container init {init_pid} is gone");
            };
            let mine = fs::metadata(format!("/proc/self/ns/{name}"))
                .with_context(|| format!("stat /proc/self/ns/{name}"))?;
            if (their.dev(), their.ino()) == (mine.dev(), mine.ino()) {
                continue;
            }
            match t {
                T::User => p.join_user = Some(theirs),
                T::Pid => p.join_pid = Some(theirs),
                _ => p.join.push((flag(t), theirs)),
            }
        }
        Ok(p)
    }

    /// The init will be in runr's own mount namespace: none listed (it is
    /// inherited), or the one listed by path is runr's.
    pub fn shares_mount_ns(&self) -> Result<bool> {
        use std::os::unix::fs::MetadataExt;
        if self.clone_flags & libc::CLONE_NEWNS as u64 != 0 {
            return Ok(false);
        }
        let Some((_, path)) = self.join.iter().find(|(f, _)| *f == flag(T::Mount)) else {
            return Ok(true);
        };
        let id = |p: &std::path::Path| {
            fs::metadata(p)
                .map(|m| (m.dev(), m.ino()))
                .with_context(|| format!("stat mount namespace {}", p.display()))
        };
        Ok(id(path)? == id(std::path::Path::new("/proc/self/ns/mnt"))?)
    }

    /// The init is in a user namespace other than the host's.
    pub fn in_userns(&self) -> bool {
        self.new_user || self.join_user.is_some()
    }

    /// Creates the init: clone3 with the new namespaces, from this process,
    /// or, when a user namespace is joined, from a short-lived intermediate
    /// that enters it first (setns to a user namespace would change this
    /// process's own credentials). The init gets `Forked::Child`.
    /// `into_cgroup`: a v2 cgroup directory fd for CLONE_INTO_CGROUP, so
    /// the child is born in its cgroup (a kernel without it falls back to
    /// a plain clone3; the caller writes cgroup.procs either way).
    pub fn spawn(&self, into_cgroup: Option<std::os::fd::RawFd>) -> Result<sys::Forked> {
        let Some(userns) = &self.join_user else {
            self.join_pid_for_children()?;
            return clone_into(self.clone_flags, into_cgroup);
        };
        let ns = fs::File::open(userns)
            .with_context(|| format!("open user namespace {}", userns.display()))?;
        // The init is reparented to us when the intermediate exits.
        sys::prctl(libc::PR_SET_CHILD_SUBREAPER, 1).context("become a subreaper")?;
        let (rd, wr) = nix::unistd::pipe().context("pipe")?;
        match sys::fork().context("fork the intermediate process")? {
            sys::Forked::Child => {
                drop(rd);
                // The pid namespace is entered here too, so that this process
                // stays in ours and clone3 returns the pid as we see it.
                let r = sys::setns(&ns, libc::CLONE_NEWUSER)
                    .with_context(|| format!("join user namespace {}", userns.display()))
                    .and_then(|_| self.join_pid_for_children())
                    .and_then(|_| clone_into(self.clone_flags, into_cgroup));
                match r {
                    Ok(sys::Forked::Child) => Ok(sys::Forked::Child),
                    Ok(sys::Forked::Parent(pid)) => {
                        let _ = nix::unistd::write(&wr, &pid.to_ne_bytes());
                        // SAFETY: the intermediate leaves at once.
                        unsafe { libc::_exit(0) }
                    }
                    Err(e) => {
                        let _ = nix::unistd::write(&wr, format!("{e:#}").as_bytes());
                        // SAFETY: as above.
                        unsafe { libc::_exit(1) }
                    }
                }
            }
            sys::Forked::Parent(mid) => {
                drop(wr);
                let mut buf = [0u8; 4096];
                let n = nix::unistd::read(&rd, &mut buf).unwrap_or(0);
                let _ = sys::waitpid(mid, 0);
                if n == 4 {
                    let pid = i32::from_ne_bytes(buf[..4].try_into().expect("four bytes"));
                    // The pid goes into cgroup.procs and kill(): make sure it
                    // is the init, reparented to us, and not a stranger.
                    if sys::parent_of(pid) != Some(std::process::id() as i32) {
                        bail!("the container init (pid {pid}) is not a child of runr");
                    }
                    return Ok(sys::Forked::Parent(pid));
                }
                bail!("{}", String::from_utf8_lossy(&buf[..n]))
            }
        }
    }

    /// Init side: join the namespaces given by path.
    pub fn join_in_child(&self) -> Result<()> {
        for (flag, path) in &self.join {
            let f = fs::File::open(path)
                .with_context(|| format!("open namespace {}", path.display()))?;
            sys::setns(&f, *flag).with_context(|| format!("join namespace {}", path.display()))?;
        }
        Ok(())
    }
}

/// An id map as /proc/PID/uid_map takes it: one `inside outside count` line a range.
pub fn map_text(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// Parent side: writes the init's uid and gid maps.
pub fn write_id_maps(pid: i32, spec: &Spec) -> Result<()> {
    use crate::rootless::{write_map, Ids};
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    if let Some(m) = linux.uid_mappings().as_deref().filter(|m| !m.is_empty()) {
        write_map(pid, Ids::Uid, m)?;
    }
    if let Some(m) = linux.gid_mappings().as_deref().filter(|m| !m.is_empty()) {
        write_map(pid, Ids::Gid, m)?;
    }
    Ok(())
}

/// clone3, into a cgroup when one is given and the kernel can.
fn clone_into(flags: u64, cgroup: Option<std::os::fd::RawFd>) -> Result<sys::Forked> {
    if cgroup.is_some() {
        match sys::clone3(flags, cgroup) {
            Ok(f) => return Ok(f),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::E2BIG) | Some(libc::EINVAL) | Some(libc::EOPNOTSUPP)
                ) => {}
            Err(e) => return Err(e).context("clone the container init into its cgroup"),
        }
    }
    sys::clone3(flags, None).context("clone the container init")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(ns: &str) -> Spec {
        serde_json::from_str(&format!(
            r#"{{"ociVersion":"1.0.2","linux":{{"namespaces":{ns}}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn new_and_joined_namespaces_are_split() {
        let s = spec(
            r#"[{"type":"mount"},{"type":"pid"},{"type":"network","path":"/proc/1/ns/net"},
               {"type":"uts","path":"/proc/1/ns/uts"},{"type":"time"}]"#,
        );
        let p = Plan::from_spec(&s).unwrap();
        assert_eq!(
            p.clone_flags,
            (libc::CLONE_NEWNS | libc::CLONE_NEWPID) as u64
        );
        assert_eq!(p.join.len(), 2);
        assert!(p.new_time && p.new_pid && !p.new_user);
    }

    #[test]
    fn joined_mount_namespace_comes_last() {
        let s = spec(r#"[{"type":"mount","path":"/m"},{"type":"ipc","path":"/i"}]"#);
        let p = Plan::from_spec(&s).unwrap();
        assert_eq!(p.join[0].0, libc::CLONE_NEWIPC);
        assert_eq!(p.join[1].0, libc::CLONE_NEWNS);
    }
}
