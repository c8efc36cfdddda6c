//! The state store: `<root>/<id>/state.json`, written atomically, with one
//! lock per container directory. Status is derived from the live process,
//! never trusted from disk.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::ContainerError;

pub const STATE_FILE: &str = "state.json";
pub const EXEC_FIFO: &str = "exec.fifo";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        };
        f.write_str(s)
    }
}

/// What runr keeps about a container between commands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    /// Start time of the init in clock ticks after boot (/proc/PID/stat
    /// field 22): tells the init apart from a later process with its pid.
    pub pid_start: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    /// Cgroup directory per hierarchy mount point.
    #[serde(default)]
    pub cgroup_paths: BTreeMap<String, PathBuf>,
    /// True when the container shares the pid namespace of another one (or
    /// the host): then killing the init does not kill the rest.
    #[serde(default)]
    pub shared_pid_ns: bool,
    /// config.json has hooks: start and delete read the saved config.
    #[serde(default)]
    pub hooks: bool,
    /// config.json has no process: the container can be created (and
    /// exec'd into with --process) but not started.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_process: bool,
    /// The container shares runr's mount namespace: its mounts under the
    /// rootfs are removed at delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_mounts: Option<crate::rootfs::hostns::HostMounts>,
}

/// The JSON `runr state` prints, in runc's field order.
#[derive(Debug, Serialize)]
pub struct Public<'a> {
    #[serde(rename = "ociVersion")]
    pub oci_version: &'a str,
    pub id: &'a str,
    pub pid: i32,
    pub status: String,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub created: &'a str,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: &'a HashMap<String, String>,
    pub owner: &'a str,
}

/// Fields of /proc/PID/stat that status derivation needs.
#[derive(Debug, PartialEq, Eq)]
pub struct ProcStat {
    pub state: char,
    pub start_time: u64,
}

pub fn proc_stat(pid: i32) -> Option<ProcStat> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&s)
}

/// Parses the state (field 3) and start time (field 22) of a stat line; the
/// command name (field 2) may hold spaces and parentheses.
pub fn parse_stat(s: &str) -> Option<ProcStat> {
    // `get`: text ending at the `)` (or a torn read) is no stat line.
    let rest = s.get(s.rfind(')')? + 1..)?;
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    let start_time = f.nth(18)?.parse().ok()?;
    Some(ProcStat { state, start_time })
}

impl State {
    /// The state hooks read on stdin.
    pub fn hook_state<'a>(&'a self, status: &'a str) -> crate::hooks::HookState<'a> {
        crate::hooks::HookState {
            oci_version: &self.oci_version,
            id: &self.id,
            status,
            pid: self.pid,
            bundle: &self.bundle,
            annotations: Some(&self.annotations),
        }
    }

    /// True while the init process (the same one, not a reused pid) lives.
    pub fn init_alive(&self) -> bool {
        match proc_stat(self.pid) {
            Some(st) => st.start_time == self.pid_start && st.state != 'Z' && st.state != 'X',
            None => false,
        }
    }

    pub fn public(&self, status: Status) -> Public<'_> {
        Public {
            oci_version: &self.oci_version,
            id: &self.id,
            pid: if status == Status::Stopped {
                0
            } else {
                self.pid
            },
            status: status.to_string(),
            bundle: &self.bundle,
            rootfs: &self.rootfs,
            created: &self.created,
            annotations: &self.annotations,
            owner: &self.owner,
        }
    }
}

/// True while the init has not exec'd the container process yet (it is
/// still a copy of runr). A start killed between the release and the
/// fifo's removal leaves the fifo behind a running process.
fn still_runr(pid: i32) -> bool {
    use std::os::unix::fs::MetadataExt;
    // A runr that could not mount runs from a sealed memfd copy of itself.
    if fs::read_link(format!("/proc/{pid}/exe"))
        .is_ok_and(|l| l.as_os_str().as_encoded_bytes().starts_with(b"/memfd:runr"))
    {
        return true;
    }
    match (
        fs::metadata(format!("/proc/{pid}/exe")),
        fs::metadata("/proc/self/exe"),
    ) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        // Unknown (e.g. a foreign mount namespace): trust the fifo.
        _ => true,
    }
}

/// Parses state.json bytes (fuzzed: fuzz/fuzz_targets/state.rs).
pub fn parse(bytes: &[u8]) -> Result<State> {
    Ok(serde_json::from_slice(bytes)?)
}

/// runc's id rule: letters, digits and `_ + , - .`; not `.`, `..` or empty.
pub fn validate_id(id: &str) -> Result<()> {
    let ok_chars = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+,-.".contains(c));
    if id.is_empty() || id == "." || id == ".." || !ok_chars {
        bail!("invalid container ID format: {id}");
    }
    if id.len() > 1024 {
        bail!("invalid container ID format: the id is longer than 1024 bytes");
    }
    Ok(())
}

/// The state root (`--root`).
pub struct Store {
    root: PathBuf,
}

/// A container directory, locked for the lifetime of this value.
#[derive(Debug)]
pub struct Locked {
    pub dir: PathBuf,
    _lock: fs::File,
}

fn lock_dir(dir: &Path) -> std::io::Result<fs::File> {
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)?;
    // SAFETY: flock on a valid fd.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(f)
}

impl Store {
    pub fn new(root: &Path) -> Store {
        Store {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Makes a new, locked container directory; fails if the id is taken.
    pub fn create(&self, id: &str) -> Result<Locked> {
        validate_id(id)?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .with_context(|| format!("create state root {}", self.root.display()))?;
        let dir = self.root.join(id);
        match fs::DirBuilder::new().mode(0o711).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(ContainerError::Exists.into())
            }
            Err(e) => return Err(e).with_context(|| format!("create {}", dir.display())),
        }
        let lock = lock_dir(&dir).with_context(|| format!("lock {}", dir.display()))?;
        Ok(Locked { dir, _lock: lock })
    }

    /// Locks an existing container and reads its state.
    pub fn open(&self, id: &str) -> Result<(Locked, State)> {
        let locked = self.lock(id)?;
        let state = locked.read()?;
        Ok((locked, state))
    }

    /// Locks an existing container directory, whatever its state file holds.
    pub fn lock(&self, id: &str) -> Result<Locked> {
        validate_id(id)?;
        let dir = self.root.join(id);
        let lock = match lock_dir(&dir) {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ContainerError::NotExist.into())
            }
            Err(e) => return Err(e).with_context(|| format!("lock {}", dir.display())),
        };
        Ok(Locked { dir, _lock: lock })
    }

    /// The ids of every container directory.
    pub fn ids(&self) -> Result<Vec<String>> {
        let rd = match fs::read_dir(&self.root) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("read {}", self.root.display())),
        };
        let mut ids: Vec<String> = rd
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        Ok(ids)
    }
}

impl Locked {
    pub fn read(&self) -> Result<State> {
        let path = self.dir.join(STATE_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ContainerError::NotExist.into())
            }
            Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
        };
        parse(&bytes).with_context(|| format!("parse {}", path.display()))
    }

    /// Writes state.json through a temp file and a rename.
    pub fn write(&self, state: &State) -> Result<()> {
        let tmp = self.dir.join(".state.json.tmp");
        let path = self.dir.join(STATE_FILE);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("create {}", tmp.display()))?;
        // No fsync: the state root is a tmpfs on real hosts, and a torn
        // file after a crash is as good as none (the rename is atomic).
        let r = f
            .write_all(&serde_json::to_vec(state)?)
            .with_context(|| format!("write {}", tmp.display()))
            .and_then(|_| {
                fs::rename(&tmp, &path).with_context(|| format!("rename to {}", path.display()))
            });
        if r.is_err() {
            // A full disk: the old state stays whole, no temp file stays.
            let _ = fs::remove_file(&tmp);
        }
        r
    }

    /// The config.json saved at create (exec and hooks read it).
    pub fn saved_spec(&self) -> Result<oci_spec::runtime::Spec> {
        let path = self.dir.join("config.json");
        let bytes = fs::read(&path).with_context(|| format!("read {}", path.display()))?;
        Ok(crate::config::parse(&bytes)?.0)
    }

    pub fn fifo(&self) -> PathBuf {
        self.dir.join(EXEC_FIFO)
    }

    /// The status, derived from the process and the exec fifo.
    pub fn status(&self, state: &State) -> Status {
        if !state.init_alive() {
            return Status::Stopped;
        }
        if self.fifo().exists() && still_runr(state.pid) {
            return Status::Created;
        }
        if crate::cgroups::is_frozen(&state.cgroup_paths) {
            return Status::Paused;
        }
        Status::Running
    }

    /// Removes the directory (and with it the lock's path).
    pub fn remove(self) -> Result<()> {
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("remove {}", self.dir.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_rule_matches_runc() {
        for ok in ["a", "runr-test-1", "A_b+c,d-e.f", "..."] {
            validate_id(ok).unwrap();
        }
        for bad in ["", ".", "..", "a/b", "a b", "ü", "a:b"] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn stat_parser_handles_odd_command_names() {
        let line = "42 (a ) b(c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(
            parse_stat(line),
            Some(ProcStat {
                state: 'S',
                start_time: 987654
            })
        );
    }

    #[test]
    fn stat_parser_refuses_torn_lines() {
        for bad in [
            "42 (a",
            "42 (a)",
            "42 (a) ",
            "42 (\u{e9})\u{e9}",
            "42 (a) S 1",
        ] {
            assert_eq!(parse_stat(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn own_process_is_alive_and_matched_by_start_time() {
        let me = std::process::id() as i32;
        let st = proc_stat(me).unwrap();
        let mut s = sample(me, st.start_time);
        assert!(s.init_alive());
        s.pid_start += 1;
        assert!(
            !s.init_alive(),
            "a different start time means another process"
        );
    }

    fn sample(pid: i32, start: u64) -> State {
        State {
            oci_version: "1.2.0".into(),
            id: "x".into(),
            pid,
            pid_start: start,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: "now".into(),
            owner: String::new(),
            annotations: HashMap::new(),
            cgroup_paths: BTreeMap::new(),
            shared_pid_ns: false,
            hooks: false,
            no_process: false,
            host_mounts: None,
        }
    }

    #[test]
    fn store_create_is_exclusive_and_state_round_trips() {
        let tmp = std::env::temp_dir().join(format!("runr-unit-store-{}", std::process::id()));
        let store = Store::new(&tmp);
        let locked = store.create("c1").unwrap();
        let s = sample(1, 1);
        locked.write(&s).unwrap();
        drop(locked);
        assert!(matches!(
            store
                .create("c1")
                .unwrap_err()
                .downcast_ref::<ContainerError>(),
            Some(ContainerError::Exists)
        ));
        let (locked, back) = store.open("c1").unwrap();
        assert_eq!(back.bundle, s.bundle);
        assert_eq!(store.ids().unwrap(), vec!["c1".to_string()]);
        locked.remove().unwrap();
        assert!(matches!(
            store
                .open("c1")
                .err()
                .unwrap()
                .downcast_ref::<ContainerError>(),
            Some(ContainerError::NotExist)
        ));
        fs::remove_dir_all(&tmp).unwrap();
    }
}
