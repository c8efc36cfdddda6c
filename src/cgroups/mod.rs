//! Cgroup placement: a directory per container in every mounted hierarchy
//! (v1 controllers, plus the unified v2 mount of a hybrid host), so that
//! `kill --all` and `delete` reach every process. Resource limits beyond
//! device rules come with the cgroups issue.

pub mod devices;
pub mod ebpf;
pub mod stats;
pub mod v1;
pub mod v2;

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::LinuxResources;

/// Writes one cgroup file, naming the file and value on failure. The file is
/// not created: a control file this kernel lacks (blkio.leaf_weight without
/// CFQ) says so, where creating it would fail with "permission denied".
pub fn write(dir: &Path, file: &str, value: &str) -> Result<()> {
    use std::io::Write;
    let p = dir.join(file);
    let r = fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .and_then(|mut f| f.write_all(value.as_bytes()));
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => bail!(
            "write {value:?} to {}: this kernel has no {file}",
            p.display()
        ),
        Err(e) => Err(e).with_context(|| format!("write {value:?} to {}", p.display())),
    }
}

/// Every pid listed in `dir` and the cgroups below it.
fn procs_recursive(dir: &Path, out: &mut Vec<i32>) {
    if let Ok(text) = fs::read_to_string(dir.join("cgroup.procs")) {
        out.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    }
    for sub in subdirs(dir) {
        procs_recursive(&sub, out);
    }
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.flatten()
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .map(|e| e.path())
        .collect()
}

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub mount: PathBuf,
    /// Controllers (v1) such as `cpu` or `name=systemd`; empty for v2.
    pub controllers: Vec<String>,
    pub v2: bool,
}

/// Reads the cgroup hierarchies from a mountinfo text: one mount each, the
/// first of its root (a hierarchy is often mounted again elsewhere: inside
/// a container without a mount namespace of its own, by a bind); only a
/// hierarchy mounted from a subdirectory alone is taken from there.
pub fn parse_mountinfo(text: &str) -> Vec<Hierarchy> {
    let all = all_cgroup_mounts(text);
    let mut out: Vec<Hierarchy> = Vec::new();
    let roots_first = all
        .iter()
        .filter(|(_, at_root)| *at_root)
        .chain(all.iter().filter(|(_, at_root)| !*at_root));
    for (h, _) in roots_first {
        if !out
            .iter()
            .any(|o| o.v2 == h.v2 && o.controllers == h.controllers)
        {
            out.push(h.clone());
        }
    }
    out.sort_by_key(|h| all.iter().position(|(a, _)| a.mount == h.mount));
    out
}

/// Every cgroup mount, in mountinfo order, and whether it shows the
/// hierarchy's root.
fn all_cgroup_mounts(text: &str) -> Vec<(Hierarchy, bool)> {
    let mut out = Vec::new();
    for e in crate::mountinfo::parse(text) {
        let at_root = e.root == Path::new("/");
        match e.fstype.as_str() {
            "cgroup" => {
                let controllers = e
                    .super_options
                    .split(',')
                    .filter(|o| {
                        !matches!(*o, "rw" | "ro")
                            && !o.starts_with("release_agent")
                            && *o != "clone_children"
                    })
                    .map(String::from)
                    .collect();
                out.push((
                    Hierarchy {
                        mount: e.mount_point,
                        controllers,
                        v2: false,
                    },
                    at_root,
                ));
            }
            "cgroup2" => out.push((
                Hierarchy {
                    mount: e.mount_point,
                    controllers: Vec::new(),
                    v2: true,
                },
                at_root,
            )),
            _ => {}
        }
    }
    out
}

/// The hierarchies mounted in this mount namespace.
pub fn hierarchies() -> Result<Vec<Hierarchy>> {
    let text = fs::read_to_string("/proc/self/mountinfo").context("read /proc/self/mountinfo")?;
    Ok(parse_mountinfo(&text))
}

/// The cgroup of this process in a hierarchy, from /proc/self/cgroup text.
pub fn own_path(proc_cgroup: &str, h: &Hierarchy) -> String {
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = (
            parts.next(),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or("/"),
        );
        let matches = if h.v2 {
            ctrls.is_empty()
        } else {
            !ctrls.is_empty()
                && ctrls
                    .split(',')
                    .any(|c| h.controllers.iter().any(|hc| hc == c))
        };
        if matches {
            return path.to_string();
        }
    }
    "/".to_string()
}

/// Where a container's cgroup goes in a hierarchy, runc's way: an absolute
/// cgroupsPath is taken from the hierarchy root; a relative one, or the id
/// when cgroupsPath is empty, is put under the caller's own cgroup.
pub fn container_path(
    h: &Hierarchy,
    cgroups_path: Option<&Path>,
    id: &str,
    caller: &str,
) -> PathBuf {
    let rel = match cgroups_path {
        Some(p) if p.is_absolute() => p.strip_prefix("/").unwrap_or(p).to_path_buf(),
        Some(p) if !p.as_os_str().is_empty() => Path::new(caller.trim_start_matches('/')).join(p),
        _ => Path::new(caller.trim_start_matches('/')).join(id),
    };
    h.mount.join(rel)
}

/// The container's directory in each hierarchy.
fn plan<'a>(
    hs: &'a [Hierarchy],
    proc_cgroup: &str,
    cgroups_path: Option<&Path>,
    id: &str,
) -> Vec<(&'a Hierarchy, PathBuf)> {
    // On a unified-only host runc puts relative paths under the parent
    // of its own cgroup: a v2 cgroup with processes cannot have
    // children with controllers (no internal processes).
    let unified_only = hs.iter().all(|h| h.v2);
    hs.iter()
        .map(|h| {
            let mut caller = own_path(proc_cgroup, h);
            if unified_only {
                caller = Path::new(&caller)
                    .parent()
                    .unwrap_or(Path::new("/"))
                    .to_string_lossy()
                    .into_owned();
            }
            (h, container_path(h, cgroups_path, id, &caller))
        })
        .collect()
}

/// v1 directories by controller, and the v2 directory.
type Layout = (Vec<(String, PathBuf)>, Option<PathBuf>);

/// The container's cgroups, one directory per hierarchy.
#[derive(Debug, Default)]
pub struct Cgroups {
    pub paths: BTreeMap<String, PathBuf>,
    /// The v2 directory, held open for CLONE_INTO_CGROUP.
    v2_fd: Option<fs::File>,
    /// The mounted hierarchies, when already read (create).
    hierarchies: Option<Vec<Hierarchy>>,
}

/// True if `p` is on a cgroup2 filesystem.
pub fn is_cgroup2(p: &Path) -> bool {
    nix::sys::statfs::statfs(p)
        .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        .unwrap_or(false)
}

/// True if /proc/PID/cgroup shows the v2 entry at `path`'s cgroup.
fn in_cgroup(pid: i32, path: &Path) -> bool {
    let Ok(text) = fs::read_to_string(format!("/proc/{pid}/cgroup")) else {
        return false;
    };
    let Some(v2) = text.lines().find_map(|l| l.strip_prefix("0::")) else {
        return false;
    };
    path.ends_with(v2.trim_start_matches('/')) && !v2.trim_start_matches('/').is_empty()
}

impl Cgroups {
    /// Creates the directories (each level that is missing).
    pub fn create(cgroups_path: Option<&Path>, id: &str) -> Result<Cgroups> {
        let proc_cgroup =
            fs::read_to_string("/proc/self/cgroup").context("read /proc/self/cgroup")?;
        Self::create_in(&hierarchies()?, &proc_cgroup, cgroups_path, id, false)
    }

    /// `create` for rootless mode: a hierarchy where the caller may not
    /// make the container's cgroup is left out (a limit for one of its
    /// controllers then fails, naming it).
    pub fn create_rootless(cgroups_path: Option<&Path>, id: &str) -> Result<Cgroups> {
        let proc_cgroup =
            fs::read_to_string("/proc/self/cgroup").context("read /proc/self/cgroup")?;
        Self::create_in(&hierarchies()?, &proc_cgroup, cgroups_path, id, true)
    }

    /// The directories `create` would make, made nothing yet: recorded
    /// before they exist, so that a runr killed while making them leaves
    /// a record `delete --force` can clean up from.
    pub fn planned(cgroups_path: Option<&Path>, id: &str) -> Result<BTreeMap<String, PathBuf>> {
        let proc_cgroup =
            fs::read_to_string("/proc/self/cgroup").context("read /proc/self/cgroup")?;
        Ok(plan(&hierarchies()?, &proc_cgroup, cgroups_path, id)
            .into_iter()
            .map(|(h, path)| (h.mount.to_string_lossy().into_owned(), path))
            .collect())
    }

    /// `create` with the hierarchies and /proc/self/cgroup text given, so
    /// that a fake cgroupfs tree can stand in for the real one.
    pub fn create_in(
        hs: &[Hierarchy],
        proc_cgroup: &str,
        cgroups_path: Option<&Path>,
        id: &str,
        skip_denied: bool,
    ) -> Result<Cgroups> {
        let unified_only = hs.iter().all(|h| h.v2);
        let mut cg = Cgroups {
            hierarchies: Some(hs.to_vec()),
            ..Default::default()
        };
        for (h, path) in plan(hs, proc_cgroup, cgroups_path, id) {
            let key = h.mount.to_string_lossy().into_owned();
            let made = if unified_only {
                mkdir_levels_v2(&h.mount, &path)
            } else {
                mkdir_levels(&h.mount, &path, h.controllers.iter().any(|c| c == "cpuset"))
            };
            match made {
                Ok(()) => {}
                Err(e) if skip_denied && denied(&e) => continue,
                Err(e) => {
                    cg.destroy().ok();
                    return Err(e);
                }
            }
            cg.paths.insert(key, path);
        }
        Ok(cg)
    }

    pub fn from_paths(paths: &BTreeMap<String, PathBuf>) -> Cgroups {
        Cgroups {
            paths: paths.clone(),
            v2_fd: None,
            hierarchies: None,
        }
    }

    /// The v2 directory (a cgroup2 hierarchy, hybrid or unified).
    pub fn v2_dir(&self) -> Option<PathBuf> {
        if let Some(hs) = &self.hierarchies {
            let h = hs.iter().find(|h| h.v2)?;
            return self.paths.get(h.mount.to_string_lossy().as_ref()).cloned();
        }
        self.paths.values().find(|p| is_cgroup2(p)).cloned()
    }

    /// Opens the v2 directory for CLONE_INTO_CGROUP.
    pub fn open_v2(&mut self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        let dir = self.v2_dir()?;
        let f = fs::File::open(&dir).ok()?;
        let fd = f.as_raw_fd();
        self.v2_fd = Some(f);
        Some(fd)
    }

    /// Moves a process into every hierarchy.
    pub fn add(&self, pid: i32) -> Result<()> {
        let born_in = self.v2_fd.as_ref().and(self.v2_dir());
        for path in self.paths.values() {
            // Born there by CLONE_INTO_CGROUP already?
            if born_in.as_deref() == Some(path.as_path()) && in_cgroup(pid, path) {
                continue;
            }
            let f = path.join("cgroup.procs");
            fs::write(&f, pid.to_string())
                .with_context(|| format!("join cgroup {}", path.display()))?;
        }
        Ok(())
    }

    /// Every pid in any of the container's cgroups.
    pub fn pids(&self) -> Vec<i32> {
        let mut pids: Vec<i32> = Vec::new();
        // Every process is in every hierarchy: one (with its sub-cgroups)
        // is enough, and a dozen times cheaper than all.
        let one = ["pids", "freezer", "devices", "memory"]
            .iter()
            .find_map(|c| {
                self.paths
                    .iter()
                    .find(|(m, _)| m.rsplit('/').next() == Some(*c))
                    .map(|(_, p)| p)
            });
        match one {
            Some(path) => procs_recursive(path, &mut pids),
            None => {
                for path in self.paths.values() {
                    procs_recursive(path, &mut pids);
                }
            }
        }
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// Sends a signal to every process in the container's cgroups.
    pub fn signal_all(&self, sig: i32) -> Result<()> {
        for pid in self.pids() {
            match crate::sys::kill(pid, sig) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                Err(e) => return Err(e).with_context(|| format!("signal process {pid}")),
            }
        }
        Ok(())
    }

    /// Kills every process with SIGKILL until the cgroups are empty.
    pub fn kill_all(&self) -> Result<()> {
        for round in 0..500 {
            if self.pids().is_empty() {
                return Ok(());
            }
            self.signal_all(libc::SIGKILL)?;
            std::thread::sleep(Duration::from_millis(if round < 20 { 1 } else { 10 }));
        }
        anyhow::bail!("processes of the container did not die: {:?}", self.pids())
    }

    /// Removes the container's directories (the leaf only: parents that
    /// cgroupsPath named may be shared).
    pub fn destroy(&self) -> Result<()> {
        let mut first_err = None;
        for path in self.paths.values() {
            if let Err(e) = rmdir_tree(path) {
                first_err.get_or_insert(e);
            }
        }
        match first_err {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    /// The v1 directories by controller, and the v2 directory, of this
    /// container (controllers as this mount namespace mounts them).
    fn layout(&self) -> Result<Layout> {
        let mut v1 = Vec::new();
        let mut v2 = None;
        let read;
        let hs = match &self.hierarchies {
            Some(hs) => hs,
            None => {
                read = hierarchies()?;
                &read
            }
        };
        for h in hs {
            let Some(path) = self.paths.get(h.mount.to_string_lossy().as_ref()) else {
                continue;
            };
            if h.v2 {
                v2 = Some(path.clone());
            } else {
                for c in &h.controllers {
                    v1.push((c.clone(), path.clone()));
                }
            }
        }
        Ok((v1, v2))
    }

    /// The hierarchies this host mounts that the container has no cgroup
    /// in (rootless mode, where the caller could not make one).
    fn unjoined(&self) -> Vec<&Hierarchy> {
        let Some(hs) = &self.hierarchies else {
            return Vec::new();
        };
        hs.iter()
            .filter(|h| !self.paths.contains_key(h.mount.to_string_lossy().as_ref()))
            .collect()
    }

    /// Applies linux.resources (all but devices, see `apply_devices`).
    /// On a v1 or hybrid host the v1 files take them and the unified map
    /// goes to the v2 mount; on a unified host everything goes to v2.
    pub fn apply(&self, r: &LinuxResources, update: bool) -> Result<()> {
        let (v1dirs, v2dir) = self.layout()?;
        let unjoined = self.unjoined();
        let v1_unjoined: Vec<String> = unjoined
            .iter()
            .filter(|h| !h.v2)
            .flat_map(|h| h.controllers.iter().cloned())
            .collect();
        if v1dirs.is_empty() && v1_unjoined.is_empty() {
            return match v2dir {
                Some(dir) => v2::apply(&dir, r),
                None if !has_limits(r) => Ok(()),
                None if !unjoined.is_empty() => {
                    bail!("cannot set cgroup limits: container could not join or create cgroup")
                }
                None => bail!("no cgroup hierarchy is mounted"),
            };
        }
        let dirs = v1::Dirs {
            by_controller: v1dirs
                .iter()
                .map(|(c, p)| (c.as_str(), p.as_path()))
                .collect(),
            unjoined: &v1_unjoined,
        };
        v1::apply(&dirs, r, update)?;
        if r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
            match v2dir {
                Some(dir) => v2::unified(&dir, r)?,
                None => {
                    bail!("linux.resources.unified needs cgroup v2, which this host does not have")
                }
            }
        }
        Ok(())
    }

    /// Statistics for `events`.
    pub fn stats(&self) -> Result<stats::Stats> {
        let (v1dirs, v2dir) = self.layout()?;
        if v1dirs.is_empty() {
            return Ok(v2dir.map(|d| stats::read_v2(&d)).unwrap_or_default());
        }
        Ok(stats::read_v1(|c| {
            v1dirs.iter().find(|(n, _)| n == c).map(|(_, p)| p.clone())
        }))
    }

    /// The directory of a v1 controller, or the v2 directory on a unified
    /// host: where `memory` files are, for OOM notification.
    pub fn memory_dir(&self) -> Result<(PathBuf, bool)> {
        let (v1dirs, v2dir) = self.layout()?;
        if let Some((_, p)) = v1dirs.iter().find(|(c, _)| c == "memory") {
            return Ok((p.clone(), false));
        }
        match v2dir {
            Some(d) if v1dirs.is_empty() => Ok((d, true)),
            _ => bail!("no memory cgroup controller"),
        }
    }

    /// Device rules: v1 devices.allow/deny, or on a unified host an eBPF
    /// program attached to the v2 cgroup.
    pub fn apply_devices(&self, rules: &[devices::Rule]) -> Result<()> {
        let (v1dirs, v2dir) = self.layout()?;
        if let Some((_, dir)) = v1dirs.iter().find(|(c, _)| c == "devices") {
            return devices::apply_v1(dir, rules);
        }
        match v2dir {
            Some(dir) if v1dirs.is_empty() => ebpf::apply(&dir, rules),
            _ => bail!(
                "device rules need the devices cgroup controller, which this host does not have"
            ),
        }
    }

    /// Freezes (pause) or thaws (resume) every process, and waits until
    /// the freezer says it is done.
    pub fn set_frozen(&self, frozen: bool) -> Result<()> {
        let (v1dirs, v2dir) = self.layout()?;
        if let Some((_, dir)) = v1dirs.iter().find(|(c, _)| c == "freezer") {
            let want = if frozen { "FROZEN" } else { "THAWED" };
            for _ in 0..1000 {
                write(dir, "freezer.state", want)?;
                let now = fs::read_to_string(dir.join("freezer.state")).unwrap_or_default();
                if now.trim() == want {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            bail!("freezer of {} did not reach {want}", dir.display());
        }
        let Some(dir) = v2dir else {
            bail!("pause needs the freezer controller or cgroup v2")
        };
        write(&dir, "cgroup.freeze", if frozen { "1" } else { "0" })?;
        let want = if frozen { "frozen 1" } else { "frozen 0" };
        for _ in 0..1000 {
            let ev = fs::read_to_string(dir.join("cgroup.events")).unwrap_or_default();
            if ev.lines().any(|l| l == want) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        bail!("cgroup {} did not reach {want}", dir.display())
    }
}

/// True for a mkdir refused for want of permission (rootless mode).
fn denied(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| {
            matches!(
                io.raw_os_error(),
                Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS)
            )
        })
}

/// True if linux.resources sets anything besides device rules.
pub fn has_limits(r: &LinuxResources) -> bool {
    let Ok(serde_json::Value::Object(m)) = serde_json::to_value(r) else {
        return true;
    };
    m.iter().any(|(k, v)| {
        k != "devices"
            && match v {
                serde_json::Value::Null => false,
                serde_json::Value::Object(o) => !o.is_empty(),
                serde_json::Value::Array(a) => !a.is_empty(),
                _ => true,
            }
    })
}

/// Removes a cgroup and any sub-cgroups (exec --cgroup may have made some).
fn rmdir_tree(path: &Path) -> Result<()> {
    for sub in subdirs(path) {
        rmdir_tree(&sub)?;
    }
    rmdir_retry(path)
}

fn rmdir_retry(path: &Path) -> Result<()> {
    for i in 0..200 {
        match fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && i < 199 => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(e) => return Err(e).with_context(|| format!("remove cgroup {}", path.display())),
        }
    }
    Ok(())
}

/// Creates each missing level below the mount; in a v1 cpuset hierarchy a
/// new level gets its parent's cpus and mems, or no task could join it.
fn mkdir_levels(mount: &Path, path: &Path, cpuset: bool) -> Result<()> {
    let rel = path.strip_prefix(mount).unwrap_or(path);
    let mut cur = mount.to_path_buf();
    for comp in rel.components() {
        let parent = cur.clone();
        cur.push(comp);
        match fs::create_dir(&cur) {
            Ok(()) => {
                if cpuset {
                    for f in ["cpuset.cpus", "cpuset.mems"] {
                        let v = fs::read_to_string(parent.join(f)).unwrap_or_default();
                        fs::write(cur.join(f), v.trim())
                            .with_context(|| format!("set {f} of {}", cur.display()))?;
                    }
                }
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("create cgroup {}", cur.display())),
        }
    }
    Ok(())
}

/// Creates each missing level on a unified host, enabling in every parent
/// the controllers it has, so the container's cgroup gets them all.
fn mkdir_levels_v2(mount: &Path, path: &Path) -> Result<()> {
    let rel = path.strip_prefix(mount).unwrap_or(path);
    let mut cur = mount.to_path_buf();
    for comp in rel.components() {
        let avail = fs::read_to_string(cur.join("cgroup.controllers")).unwrap_or_default();
        let enable: Vec<String> = avail.split_whitespace().map(|c| format!("+{c}")).collect();
        if !enable.is_empty() {
            // A parent that cannot take some controller (busy, threaded)
            // still gets the container; the limit write names the gap.
            let _ = fs::write(cur.join("cgroup.subtree_control"), enable.join(" "));
        }
        cur.push(comp);
        match fs::create_dir(&cur) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("create cgroup {}", cur.display())),
        }
    }
    Ok(())
}

/// True if the container's freezer says it is frozen.
pub fn is_frozen(paths: &BTreeMap<String, PathBuf>) -> bool {
    // The v1 freezer decides when there is one (as pause uses it).
    if let Some((_, p)) = paths
        .iter()
        .find(|(m, _)| m.rsplit('/').next() == Some("freezer"))
    {
        return fs::read_to_string(p.join("freezer.state"))
            .map(|s| s.trim() == "FROZEN")
            .unwrap_or(false);
    }
    paths.values().any(|p| {
        fs::read_to_string(p.join("freezer.state"))
            .map(|s| s.trim() == "FROZEN")
            .unwrap_or(false)
            || fs::read_to_string(p.join("cgroup.freeze"))
                .map(|s| s.trim() == "1")
                .unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn write_names_a_control_file_the_kernel_lacks() {
        let dir = std::env::temp_dir().join(format!("runr-test-cgwrite-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = super::write(&dir, "blkio.leaf_weight", "300").unwrap_err();
        assert!(
            format!("{err:#}").ends_with("this kernel has no blkio.leaf_weight"),
            "{err:#}"
        );
        assert!(
            !dir.join("blkio.leaf_weight").exists(),
            "it must not be created"
        );
        std::fs::write(dir.join("cpu.shares"), "").unwrap();
        super::write(&dir, "cpu.shares", "512").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("cpu.shares")).unwrap(),
            "512"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    use super::*;

    const MOUNTINFO: &str = "\
30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:4 - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:5 - cgroup2 cgroup2 rw
33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:7 - cgroup cgroup rw,cpu,cpuacct
34 30 0:30 / /sys/fs/cgroup/systemd rw shared:8 - cgroup cgroup rw,xattr,name=systemd
";

    #[test]
    fn hybrid_mountinfo_gives_v1_and_unified() {
        let hs = parse_mountinfo(MOUNTINFO);
        assert_eq!(hs.len(), 3);
        assert!(hs[0].v2 && hs[0].mount == Path::new("/sys/fs/cgroup/unified"));
        assert_eq!(hs[1].controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(hs[2].controllers, vec!["xattr", "name=systemd"]);
    }

    #[test]
    fn a_hierarchy_mounted_again_is_taken_once_from_its_first_root_mount() {
        // A container without a mount namespace shows its cgroup mounts
        // (binds of its own cgroup, and a read-only view of the root) in
        // the host's mountinfo; a cgroup namespace mounts its own root.
        let text = format!(
            "{MOUNTINFO}\
             90 27 0:33 /runr/c1 /tmp/b/rootfs/sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct\n\
             91 27 0:33 / /tmp/b/rootfs/sys/fs/cgroup/cpu,cpuacct2 ro - cgroup cgroup rw,cpu,cpuacct\n\
             92 27 0:40 /x /only/sub rw - cgroup cgroup rw,pids\n"
        );
        let hs = parse_mountinfo(&text);
        assert_eq!(hs.len(), 4, "{hs:?}");
        assert_eq!(hs[1].mount, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(hs[3].controllers, vec!["pids"]);
        assert_eq!(hs[3].mount, Path::new("/only/sub"));
    }

    #[test]
    fn unified_host_uses_the_callers_parent_and_enables_controllers() {
        let root = std::env::temp_dir().join(format!("runr-unit-v2tree-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("user.slice/session")).unwrap();
        fs::write(root.join("cgroup.controllers"), "cpu memory pids\n").unwrap();
        fs::write(
            root.join("user.slice/cgroup.controllers"),
            "cpu memory pids\n",
        )
        .unwrap();
        let hs = vec![Hierarchy {
            mount: root.clone(),
            controllers: vec![],
            v2: true,
        }];
        let cg = Cgroups::create_in(&hs, "0::/user.slice/session\n", None, "c1", false).unwrap();
        let dir = root.join("user.slice/c1");
        assert_eq!(cg.paths.values().next().unwrap(), &dir);
        assert!(dir.is_dir());
        assert_eq!(
            fs::read_to_string(root.join("user.slice/cgroup.subtree_control")).unwrap(),
            "+cpu +memory +pids"
        );
        assert_eq!(
            fs::read_to_string(root.join("cgroup.subtree_control")).unwrap(),
            "+cpu +memory +pids"
        );
        let abs = Cgroups::create_in(
            &hs,
            "0::/user.slice/session\n",
            Some(Path::new("/machine/c2")),
            "c2",
            false,
        )
        .unwrap();
        assert_eq!(abs.paths.values().next().unwrap(), &root.join("machine/c2"));
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn paths_follow_runc_rules() {
        let hs = parse_mountinfo(MOUNTINFO);
        let cpu = &hs[1];
        let proc_cgroup = "2:cpu,cpuacct:/user/a\n1:name=systemd:/\n0::/u2\n";
        let caller = own_path(proc_cgroup, cpu);
        assert_eq!(caller, "/user/a");
        assert_eq!(own_path(proc_cgroup, &hs[0]), "/u2");
        assert_eq!(
            container_path(cpu, None, "c1", &caller),
            Path::new("/sys/fs/cgroup/cpu,cpuacct/user/a/c1")
        );
        assert_eq!(
            container_path(cpu, Some(Path::new("/abs/x")), "c1", &caller),
            Path::new("/sys/fs/cgroup/cpu,cpuacct/abs/x")
        );
        assert_eq!(
            container_path(cpu, Some(Path::new("rel/x")), "c1", &caller),
            Path::new("/sys/fs/cgroup/cpu,cpuacct/user/a/rel/x")
        );
    }
}
