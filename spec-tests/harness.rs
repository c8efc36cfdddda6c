//! The suite's harness: a case, the environment it runs in, and the
//! runtime driven through its command line.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub type Check = fn(&Env, &str) -> Result<(), String>;

pub struct Case {
    pub section: &'static str,
    pub name: &'static str,
    /// The requirement, in the spec's words (abridged).
    pub must: &'static str,
    /// Changes to the base config.
    pub patch: fn(&mut Value, &Env),
    /// None: run the in-container checker; Some: a host-side scenario.
    pub check: Option<Check>,
}

impl Case {
    /// A case the in-container checker judges: the config, patched.
    pub fn checker(
        section: &'static str,
        name: &'static str,
        must: &'static str,
        patch: fn(&mut Value, &Env),
    ) -> Case {
        Case {
            section,
            name,
            must,
            patch,
            check: None,
        }
    }

    /// A case judged on the host by `check`, from the base config.
    pub fn scenario(
        section: &'static str,
        name: &'static str,
        must: &'static str,
        check: Check,
    ) -> Case {
        Case {
            section,
            name,
            must,
            patch: nothing,
            check: Some(check),
        }
    }
}

pub struct Env {
    pub rt: PathBuf,
    pub dir: PathBuf,
    pub root: PathBuf,
    pub rootfs: PathBuf,
    pub n: std::cell::Cell<u32>,
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Env {
    pub fn id(&self) -> String {
        self.n.set(self.n.get() + 1);
        format!("runr-spec-{}-{}", std::process::id(), self.n.get())
    }

    pub fn rt(&self, args: &[&str]) -> Out {
        self.n.set(self.n.get() + 1);
        let (o, e) = (
            self.dir.join(format!("o{}", self.n.get())),
            self.dir.join(format!("e{}", self.n.get())),
        );
        let st = Command::new(&self.rt)
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&o).unwrap())
            .stderr(fs::File::create(&e).unwrap())
            .status()
            .unwrap();
        Out {
            code: st.code().unwrap_or(-1),
            stdout: fs::read_to_string(&o).unwrap_or_default(),
            stderr: fs::read_to_string(&e).unwrap_or_default(),
        }
    }

    pub fn state(&self, id: &str) -> Option<Value> {
        let o = self.rt(&["state", id]);
        (o.code == 0)
            .then(|| serde_json::from_str(&o.stdout).ok())
            .flatten()
    }

    pub fn wait_status(&self, id: &str, want: &str) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self
                .state(id)
                .map(|v| v["status"].as_str().unwrap_or("").to_string())
                .unwrap_or_default();
            if s == want {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("status stayed {s:?}, wanted {want}"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The base config: runc's template, terminal off, the checker as the
    /// process, this suite's rootfs.
    pub fn base(&self) -> Value {
        let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
        json!({
            "ociVersion": "1.0.2",
            "process": {
                "terminal": false, "user": {"uid": 0, "gid": 0},
                "args": ["/spec-check", "/spec/config.json"],
                "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
                "cwd": "/",
                "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
                "noNewPrivileges": true
            },
            "root": {"path": self.rootfs, "readonly": true},
            "hostname": "spec",
            "mounts": [
                {"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
                {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
                {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
                {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
                {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
                {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
            ],
            "linux": {
                "resources": {"devices": [{"allow": false, "access": "rwm"}]},
                "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
                "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                    "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
                "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
            }
        })
    }

    /// Writes a bundle for `cfg`; the checker reads the final config
    /// through a read-only bind at /spec.
    pub fn bundle(&self, mut cfg: Value) -> PathBuf {
        self.n.set(self.n.get() + 1);
        let b = self.dir.join(format!("bundle-{}", self.n.get()));
        let spec = b.join("spec");
        fs::create_dir_all(&spec).unwrap();
        cfg["mounts"].as_array_mut().unwrap().push(json!({"destination": "/spec", "type": "bind", "source": spec, "options": ["rbind", "ro"]}));
        let text = serde_json::to_vec_pretty(&cfg).unwrap();
        fs::write(spec.join("config.json"), &text).unwrap();
        fs::write(b.join("config.json"), &text).unwrap();
        b
    }

    /// create + start the checker; returns its TAP (create's stdout is the
    /// container's) once it exited.
    pub fn run_checker(&self, cfg: Value) -> Result<(), String> {
        let b = self.bundle(cfg);
        let id = self.id();
        let out_file = self.dir.join(format!("{id}.tap"));
        // Files, not pipes: the container keeps create's stdio open.
        let err_file = self.dir.join(format!("{id}.err"));
        let st = Command::new(&self.rt)
            .arg("--root")
            .arg(&self.root)
            .args(["create", "--bundle", b.to_str().unwrap(), &id])
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out_file).unwrap())
            .stderr(fs::File::create(&err_file).unwrap())
            .status()
            .unwrap();
        if !st.success() {
            return Err(format!(
                "create failed: {}",
                fs::read_to_string(&err_file).unwrap_or_default().trim()
            ));
        }
        let s = self.rt(&["start", &id]);
        if s.code != 0 {
            let _ = self.rt(&["delete", "--force", &id]);
            return Err(format!("start failed: {}", s.stderr.trim()));
        }
        let waited = self.wait_status(&id, "stopped");
        let _ = self.rt(&["delete", "--force", &id]);
        waited?;
        let tap = fs::read_to_string(&out_file).unwrap_or_default();
        let bad: Vec<&str> = tap.lines().filter(|l| l.starts_with("not ok")).collect();
        if !tap.lines().any(|l| l.starts_with("1..")) {
            return Err(format!("no TAP plan from the checker: {tap:?}"));
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(bad.join("; "))
        }
    }
}

pub fn ns_of(pid: i64, ns: &str) -> String {
    fs::read_link(format!("/proc/{pid}/ns/{ns}"))
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// create + state checks, then the case's scenario with the container id.
pub fn created(env: &Env, cfg: Value) -> Result<(String, Value), String> {
    let b = env.bundle(cfg);
    let id = env.id();
    let o = env.rt(&["create", "--bundle", b.to_str().unwrap(), &id]);
    if o.code != 0 {
        return Err(format!("create failed: {}", o.stderr.trim()));
    }
    let st = env.state(&id).ok_or("state failed after create")?;
    Ok((id, st))
}

/// Removes (rmdir, so only if empty) directories called `name` under `dir`.
pub fn rmdir_named(dir: &Path, name: &str, depth: u32) {
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        if !e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            continue;
        }
        if e.file_name() == name {
            let _ = fs::remove_dir(e.path());
        } else if depth > 0 {
            rmdir_named(&e.path(), name, depth - 1);
        }
    }
}

pub fn sleeper(c: &mut Value, _: &Env) {
    c["process"]["args"] = json!(["sleep", "1000"]);
}

pub fn nothing(_: &mut Value, _: &Env) {}
