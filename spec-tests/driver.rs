//! runr-spec-test: the project's OCI runtime-spec conformance suite.
//!
//!   runr-spec-test RUNTIME                     one runtime; exit 0 if all pass
//!   runr-spec-test --report FILE RT1 RT2 ...   a per-section table of several
//!
//! Each case builds a bundle from a base config, drives the runtime through
//! its command line only (create, start, state, kill, delete, as runtime.md
//! defines them) and checks the result: from the host (state, namespaces)
//! or from inside with runr-spec-check, which prints TAP.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

type Check = fn(&Env, &str) -> Result<(), String>;

struct Case {
    section: &'static str,
    name: &'static str,
    /// The requirement, in the spec's words (abridged).
    must: &'static str,
    /// Changes to the base config.
    patch: fn(&mut Value, &Env),
    /// None: run the in-container checker; Some: a host-side scenario.
    check: Option<Check>,
}

struct Env {
    rt: PathBuf,
    dir: PathBuf,
    root: PathBuf,
    rootfs: PathBuf,
    n: std::cell::Cell<u32>,
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Env {
    fn id(&self) -> String {
        self.n.set(self.n.get() + 1);
        format!("runr-spec-{}-{}", std::process::id(), self.n.get())
    }

    fn rt(&self, args: &[&str]) -> Out {
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

    fn state(&self, id: &str) -> Option<Value> {
        let o = self.rt(&["state", id]);
        (o.code == 0)
            .then(|| serde_json::from_str(&o.stdout).ok())
            .flatten()
    }

    fn wait_status(&self, id: &str, want: &str) -> Result<(), String> {
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
    fn base(&self) -> Value {
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
    fn bundle(&self, mut cfg: Value) -> PathBuf {
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
    fn run_checker(&self, cfg: Value) -> Result<(), String> {
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

fn ns_of(pid: i64, ns: &str) -> String {
    fs::read_link(format!("/proc/{pid}/ns/{ns}"))
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// create + state checks, then the case's scenario with the container id.
fn created(env: &Env, cfg: Value) -> Result<(String, Value), String> {
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
fn rmdir_named(dir: &Path, name: &str, depth: u32) {
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

fn sleeper(c: &mut Value, _: &Env) {
    c["process"]["args"] = json!(["sleep", "1000"]);
}

fn nothing(_: &mut Value, _: &Env) {}

fn cases() -> Vec<Case> {
    vec![
        // runtime.md: lifecycle and state
        Case { section: "runtime.md", name: "create gives created", must: "create MUST ... the container's status MUST be created", patch: sleeper, check: Some(|env, _| {
            let (id, st) = created(env, { let mut c = env.base(); sleeper(&mut c, env); c })?;
            let ok = st["status"] == "created" && st["pid"].as_i64().unwrap_or(0) > 0 && st["id"] == id.as_str();
            let _ = env.rt(&["delete", "--force", &id]);
            if ok { Ok(()) } else { Err(format!("state {st}")) }
        }) },
        Case { section: "runtime.md", name: "state has the required fields", must: "state MUST include ociVersion, id, status, pid, bundle", patch: sleeper, check: Some(|env, _| {
            let mut c = env.base(); sleeper(&mut c, env);
            c["annotations"] = json!({"org.spec/key": "v"});
            let (id, st) = created(env, c)?;
            let _ = env.rt(&["delete", "--force", &id]);
            for k in ["ociVersion", "id", "status", "pid", "bundle"] {
                if st.get(k).is_none() { return Err(format!("missing {k}: {st}")); }
            }
            if st["annotations"]["org.spec/key"] != "v" { return Err(format!("annotations: {st}")); }
            if !Path::new(st["bundle"].as_str().unwrap_or("")).is_absolute() { return Err("bundle must be absolute".into()); }
            Ok(())
        }) },
        Case { section: "runtime.md", name: "start runs the process", must: "start MUST run the user-specified program", patch: sleeper, check: Some(|env, _| {
            let (id, _) = created(env, { let mut c = env.base(); sleeper(&mut c, env); c })?;
            let o = env.rt(&["start", &id]);
            let r = if o.code != 0 { Err(format!("start: {}", o.stderr.trim())) } else { env.wait_status(&id, "running") };
            let _ = env.rt(&["delete", "--force", &id]);
            r
        }) },
        Case { section: "runtime.md", name: "kill then stopped, delete removes", must: "kill MUST send the signal; delete MUST delete the resources; state of a deleted container MUST error", patch: sleeper, check: Some(|env, _| {
            let (id, _) = created(env, { let mut c = env.base(); sleeper(&mut c, env); c })?;
            env.rt(&["start", &id]);
            if env.rt(&["kill", &id, "KILL"]).code != 0 { return Err("kill failed".into()); }
            env.wait_status(&id, "stopped")?;
            if env.rt(&["delete", &id]).code != 0 { return Err("delete failed".into()); }
            if env.rt(&["state", &id]).code == 0 { return Err("state still works after delete".into()); }
            Ok(())
        }) },
        Case { section: "runtime.md", name: "operations in the wrong state fail", must: "start on a running container MUST error; delete of a running container MUST error", patch: sleeper, check: Some(|env, _| {
            let (id, _) = created(env, { let mut c = env.base(); sleeper(&mut c, env); c })?;
            env.rt(&["start", &id]);
            let s2 = env.rt(&["start", &id]).code;
            let d = env.rt(&["delete", &id]).code;
            let _ = env.rt(&["delete", "--force", &id]);
            if s2 == 0 { return Err("second start succeeded".into()); }
            if d == 0 { return Err("delete of a running container succeeded".into()); }
            Ok(())
        }) },
        Case { section: "runtime.md", name: "create with an existing id fails", must: "create MUST generate an error if the ID is not unique", patch: sleeper, check: Some(|env, _| {
            let mut c = env.base(); sleeper(&mut c, env);
            let b = env.bundle(c);
            let id = env.id();
            env.rt(&["create", "--bundle", b.to_str().unwrap(), &id]);
            let again = env.rt(&["create", "--bundle", b.to_str().unwrap(), &id]).code;
            let st = env.state(&id);
            let _ = env.rt(&["delete", "--force", &id]);
            if again == 0 { return Err("second create succeeded".into()); }
            if st.map(|s| s["status"] == "created") != Some(true) { return Err("first container disturbed".into()); }
            Ok(())
        }) },
        Case { section: "runtime.md", name: "config changes after create do not apply", must: "changes to config.json after create MUST NOT affect the container", patch: nothing, check: Some(|env, _| {
            let c = env.base();
            let b = env.bundle(c.clone());
            let id = env.id();
            let tap = env.dir.join("late.tap");
            let st = Command::new(&env.rt).arg("--root").arg(&env.root).args(["create", "--bundle", b.to_str().unwrap(), &id])
                .stdout(fs::File::create(&tap).unwrap()).stderr(Stdio::null()).status().unwrap();
            if !st.success() { return Err("create failed".into()); }
            let mut changed = c.clone();
            changed["hostname"] = json!("changed-after-create");
            fs::write(b.join("config.json"), serde_json::to_vec(&changed).unwrap()).unwrap();
            env.rt(&["start", &id]);
            let r = env.wait_status(&id, "stopped");
            let _ = env.rt(&["delete", "--force", &id]);
            r?;
            let out = fs::read_to_string(&tap).unwrap_or_default();
            if out.contains("not ok") { return Err(out.lines().filter(|l| l.starts_with("not ok")).collect::<Vec<_>>().join("; ")); }
            Ok(())
        }) },
        Case { section: "runtime.md", name: "delete of a missing container fails", must: "delete MUST generate an error if the container does not exist", patch: nothing, check: Some(|env, _| {
            if env.rt(&["delete", "runr-spec-no-such-container"]).code == 0 { Err("delete succeeded".into()) } else { Ok(()) }
        }) },
        // config.md: process and root, checked from inside
        Case { section: "config.md", name: "default config", must: "hostname, cwd, env, user, capabilities, noNewPrivileges, rlimits, mounts, root.readonly", patch: nothing, check: None },
        Case { section: "config.md", name: "user, groups and umask", must: "process.user uid, gid, additionalGids, umask MUST be applied", patch: |c, _| {
            c["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 20], "umask": 63});
        }, check: None },
        Case { section: "config.md", name: "cwd and env", must: "process.cwd and env MUST be set", patch: |c, _| {
            c["process"]["cwd"] = json!("/tmp");
            c["process"]["env"].as_array_mut().unwrap().push(json!("SPEC_VAR=some value"));
        }, check: None },
        Case { section: "config.md", name: "all capability sets", must: "process.capabilities sets MUST be applied", patch: |c, _| {
            let set = json!(["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_NET_ADMIN"]);
            c["process"]["capabilities"] = json!({"bounding": set, "effective": set, "permitted": set, "inheritable": set, "ambient": ["CAP_CHOWN"]});
            c["process"]["noNewPrivileges"] = json!(false);
        }, check: None },
        Case { section: "config.md", name: "rlimits", must: "process.rlimits MUST be set", patch: |c, _| {
            c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 900}, {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]);
        }, check: None },
        Case { section: "config.md", name: "oomScoreAdj", must: "process.oomScoreAdj MUST be set", patch: |c, _| { c["process"]["oomScoreAdj"] = json!(200); }, check: None },
        Case { section: "config.md", name: "writable root", must: "root.readonly false leaves the root writable", patch: |c, _| { c["root"]["readonly"] = json!(false); }, check: None },
        Case { section: "config.md", name: "mounts: tmpfs with options, bind ro", must: "mounts MUST be mounted in order with their options", patch: |c, env| {
            let m = c["mounts"].as_array_mut().unwrap();
            m.push(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "noexec", "size=1m"]}));
            m.push(json!({"destination": "/hostbin", "type": "bind", "source": env.rootfs.join("bin"), "options": ["rbind", "ro", "nosuid"]}));
        }, check: None },
        Case { section: "config.md", name: "cgroup mount read-only", must: "mount options (ro) MUST apply to the cgroup mount at /sys/fs/cgroup", patch: nothing, check: Some(|env, _| {
            let mut c = env.base();
            c["process"]["args"] = json!(["sh", "-c", "mkdir /sys/fs/cgroup/probe 2>/dev/null && echo rw || echo ro"]);
            let b = env.bundle(c);
            let id = env.id();
            let o = env.rt(&["run", "--bundle", b.to_str().unwrap(), &id]);
            let _ = env.rt(&["delete", "--force", &id]);
            if o.stdout.trim() == "ro" { Ok(()) } else { Err(format!("got {:?} {}", o.stdout.trim(), o.stderr.trim())) }
        }) },
        Case { section: "config.md", name: "domainname", must: "domainname MUST be set in the UTS namespace", patch: |c, _| { c["domainname"] = json!("spec.example"); }, check: None },
        Case { section: "config.md", name: "process.args[0] missing", must: "create MUST error when args[0] cannot be found", patch: nothing, check: Some(|env, _| {
            let mut c = env.base();
            c["process"]["args"] = json!(["no-such-binary"]);
            let b = env.bundle(c);
            let id = env.id();
            let o = env.rt(&["create", "--bundle", b.to_str().unwrap(), &id]);
            let _ = env.rt(&["delete", "--force", &id]);
            if o.code == 0 { Err("create succeeded".into()) } else { Ok(()) }
        }) },
        Case { section: "config.md", name: "annotations", must: "annotations MUST appear in the state", patch: nothing, check: Some(|env, _| {
            let mut c = env.base(); sleeper(&mut c, env);
            c["annotations"] = json!({"a.b/c": "d"});
            let (id, st) = created(env, c)?;
            let _ = env.rt(&["delete", "--force", &id]);
            if st["annotations"]["a.b/c"] == "d" { Ok(()) } else { Err(format!("{st}")) }
        }) },
        // config-linux.md
        Case { section: "config-linux.md", name: "new namespaces", must: "each listed namespace type MUST be new when no path is given", patch: sleeper, check: Some(|env, _| {
            let (id, st) = created(env, { let mut c = env.base(); sleeper(&mut c, env); c })?;
            let pid = st["pid"].as_i64().unwrap_or(0);
            let me = std::process::id() as i64;
            let bad: Vec<&str> = ["pid", "net", "ipc", "uts", "mnt"].into_iter().filter(|n| ns_of(pid, n) == ns_of(me, n)).collect();
            let _ = env.rt(&["delete", "--force", &id]);
            if bad.is_empty() { Ok(()) } else { Err(format!("shared with the runtime: {bad:?}")) }
        }) },
        Case { section: "config-linux.md", name: "joined namespaces", must: "a namespace with a path MUST be joined", patch: sleeper, check: Some(|env, _| {
            let (a, st) = created(env, { let mut c = env.base(); sleeper(&mut c, env); c })?;
            let apid = st["pid"].as_i64().unwrap_or(0);
            let mut c = env.base(); sleeper(&mut c, env);
            c["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "mount"}, {"type": "uts"},
                {"type": "network", "path": format!("/proc/{apid}/ns/net")}, {"type": "ipc", "path": format!("/proc/{apid}/ns/ipc")}]);
            let r = created(env, c);
            let res = match &r {
                Ok((_, st2)) => {
                    let bpid = st2["pid"].as_i64().unwrap_or(0);
                    if ns_of(bpid, "net") == ns_of(apid, "net") && ns_of(bpid, "ipc") == ns_of(apid, "ipc") { Ok(()) } else { Err("not joined".to_string()) }
                }
                Err(e) => Err(e.clone()),
            };
            if let Ok((b, _)) = r { let _ = env.rt(&["delete", "--force", &b]); }
            let _ = env.rt(&["delete", "--force", &a]);
            res
        }) },
        Case { section: "config-linux.md", name: "wrong-type namespace path refused", must: "a path of another namespace type MUST error", patch: nothing, check: Some(|env, _| {
            let mut c = env.base();
            c["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "network", "path": "/proc/self/ns/ipc"}]);
            let b = env.bundle(c);
            let id = env.id();
            let o = env.rt(&["create", "--bundle", b.to_str().unwrap(), &id]);
            let _ = env.rt(&["delete", "--force", &id]);
            if o.code == 0 { Err("create succeeded".into()) } else { Ok(()) }
        }) },
        Case { section: "config-linux.md", name: "user namespace mappings", must: "uidMappings/gidMappings MUST be applied", patch: sleeper, check: Some(|env, _| {
            let mut c = env.base(); sleeper(&mut c, env);
            c["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "user"}));
            c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
            c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
            let (id, st) = created(env, c)?;
            let pid = st["pid"].as_i64().unwrap_or(0);
            let map = fs::read_to_string(format!("/proc/{pid}/uid_map")).unwrap_or_default();
            let _ = env.rt(&["delete", "--force", &id]);
            let f: Vec<&str> = map.split_whitespace().collect();
            if f == ["0", "100000", "65536"] { Ok(()) } else { Err(format!("uid_map {map:?}")) }
        }) },
        Case { section: "config-linux.md", name: "devices", must: "linux.devices MUST be created with type, major, minor, fileMode, uid, gid", patch: |c, _| {
            c["linux"]["devices"] = json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o640, "uid": 7, "gid": 8}]);
        }, check: None },
        Case { section: "config-linux.md", name: "sysctl", must: "linux.sysctl MUST be set", patch: |c, _| {
            c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1", "kernel.msgmax": "4096"});
        }, check: None },
        Case { section: "config-linux.md", name: "masked and readonly paths", must: "maskedPaths MUST be unreadable; readonlyPaths read-only", patch: nothing, check: None },
        Case { section: "config-linux.md", name: "cgroup limits", must: "linux.resources MUST be applied to the container's cgroup", patch: |c, _| {
            c["linux"]["resources"]["memory"] = json!({"limit": 67108864});
            c["linux"]["resources"]["pids"] = json!({"limit": 50});
            c["linux"]["resources"]["cpu"] = json!({"shares": 512});
        }, check: None },
        Case { section: "config-linux.md", name: "absolute cgroupsPath", must: "an absolute cgroupsPath MUST be relative to the cgroup mount point", patch: sleeper, check: Some(|env, _| {
            let mut c = env.base(); sleeper(&mut c, env);
            let path = format!("/runr-spec-abs-{}", std::process::id());
            c["linux"]["cgroupsPath"] = json!(path);
            let (id, st) = created(env, c)?;
            let pid = st["pid"].as_i64().unwrap_or(0);
            let cg = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
            let _ = env.rt(&["delete", "--force", &id]);
            if cg.lines().any(|l| l.contains(":pids:") && l.ends_with(&path)) { Ok(()) } else { Err(format!("cgroup {cg}")) }
        }) },
        Case { section: "config-linux.md", name: "seccomp", must: "linux.seccomp MUST be loaded", patch: |c, _| {
            c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]});
        }, check: None },
        Case { section: "config-linux.md", name: "personality", must: "linux.personality MUST be set", patch: |c, _| { c["linux"]["personality"] = json!({"domain": "LINUX32"}); }, check: None },
        Case { section: "config-linux.md", name: "time namespace offsets", must: "timeOffsets MUST be applied to the new time namespace", patch: sleeper, check: Some(|env, _| {
            let mut c = env.base(); sleeper(&mut c, env);
            c["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "time"}));
            c["linux"]["timeOffsets"] = json!({"monotonic": {"secs": 1000, "nanosecs": 0}, "boottime": {"secs": 2000, "nanosecs": 0}});
            let (id, st) = created(env, c)?;
            let pid = st["pid"].as_i64().unwrap_or(0);
            let offs = fs::read_to_string(format!("/proc/{pid}/timens_offsets")).unwrap_or_default();
            let _ = env.rt(&["delete", "--force", &id]);
            let want = |clock: &str, secs: &str| offs.lines().any(|l| { let f: Vec<&str> = l.split_whitespace().collect(); f.len() == 3 && f[1] == secs && (f[0] == clock || f[0] == if clock == "monotonic" { "1" } else { "7" }) });
            if want("monotonic", "1000") && want("boottime", "2000") { Ok(()) } else { Err(format!("timens_offsets {offs:?}")) }
        }) },
        Case { section: "config-linux.md", name: "new cgroup namespace", must: "a new cgroup namespace MUST be created", patch: sleeper, check: Some(|env, _| {
            let mut c = env.base(); sleeper(&mut c, env);
            c["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "cgroup"}));
            let (id, st) = created(env, c)?;
            let pid = st["pid"].as_i64().unwrap_or(0);
            let differs = ns_of(pid, "cgroup") != ns_of(std::process::id() as i64, "cgroup");
            let _ = env.rt(&["delete", "--force", &id]);
            if differs { Ok(()) } else { Err("cgroup namespace shared with the runtime".into()) }
        }) },
        Case { section: "config-linux.md", name: "relative cgroupsPath", must: "a relative cgroupsPath MUST be relative to the runtime's cgroup hierarchy placement", patch: sleeper, check: Some(|env, _| {
            let mut c = env.base(); sleeper(&mut c, env);
            let rel = format!("runr-spec-rel-{}/c", std::process::id());
            c["linux"]["cgroupsPath"] = json!(rel);
            let (id, st) = created(env, c)?;
            let pid = st["pid"].as_i64().unwrap_or(0);
            let cg = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
            let _ = env.rt(&["delete", "--force", &id]);
            // The parent the runtime made stays (runc's way): remove it.
            rmdir_named(Path::new("/sys/fs/cgroup"), &format!("runr-spec-rel-{}", std::process::id()), 5);
            if cg.lines().any(|l| l.contains(":pids:") && l.ends_with(&rel)) { Ok(()) } else { Err(format!("cgroup {cg}")) }
        }) },
        Case { section: "config.md", name: "invalid rlimit type refused", must: "an unknown rlimit type MUST generate an error", patch: nothing, check: Some(|env, _| {
            let mut c = env.base();
            c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOPE", "soft": 1, "hard": 1}]);
            let b = env.bundle(c);
            let id = env.id();
            let o = env.rt(&["create", "--bundle", b.to_str().unwrap(), &id]);
            let _ = env.rt(&["delete", "--force", &id]);
            if o.code == 0 { Err("create succeeded".into()) } else { Ok(()) }
        }) },
        Case { section: "config.md", name: "noNewPrivileges false", must: "noNewPrivileges false MUST leave no_new_privs unset", patch: |c, _| { c["process"]["noNewPrivileges"] = json!(false); }, check: None },
        Case { section: "runtime.md", name: "kill delivers the named signal", must: "kill MUST send the specified signal to the container process", patch: nothing, check: Some(|env, _| {
            let mut c = env.base();
            c["process"]["args"] = json!(["sh", "-c", "trap 'exit 3' TERM; while :; do sleep 0.05; done"]);
            let (id, _) = created(env, c)?;
            env.rt(&["start", &id]);
            std::thread::sleep(Duration::from_millis(200));
            let k = env.rt(&["kill", &id, "TERM"]).code;
            let r = env.wait_status(&id, "stopped");
            let _ = env.rt(&["delete", "--force", &id]);
            if k != 0 { return Err("kill failed".into()); }
            r
        }) },
        // config.md: hooks
        Case { section: "config.md hooks", name: "order and state", must: "prestart, createRuntime, createContainer at create; startContainer before the process; poststart after it, before start returns; poststop at delete", patch: nothing, check: Some(|env, _| {
            let out = env.dir.join(format!("hooks-{}", env.n.get()));
            fs::create_dir_all(&out).unwrap();
            let o = out.display().to_string();
            let hook = |name: &str, dir: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {dir}/{name}.json; echo {name} >> {dir}/order")]});
            let mut c = env.base(); sleeper(&mut c, env);
            c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/hooks", "type": "bind", "source": o, "options": ["bind"]}));
            c["hooks"] = json!({"prestart": [hook("prestart", &o)], "createRuntime": [hook("createRuntime", &o)],
                "createContainer": [hook("createContainer", &o)], "startContainer": [hook("startContainer", "/hooks")],
                "poststart": [hook("poststart", &o)], "poststop": [hook("poststop", &o)]});
            let (id, _) = created(env, c)?;
            let after_create = fs::read_to_string(out.join("order")).unwrap_or_default();
            env.rt(&["start", &id]);
            let after_start = fs::read_to_string(out.join("order")).unwrap_or_default();
            env.rt(&["delete", "--force", &id]);
            let all = fs::read_to_string(out.join("order")).unwrap_or_default();
            if after_create != "prestart\ncreateRuntime\ncreateContainer\n" { return Err(format!("after create: {after_create:?}")); }
            if after_start != "prestart\ncreateRuntime\ncreateContainer\nstartContainer\npoststart\n" { return Err(format!("after start: {after_start:?}")); }
            if !all.ends_with("poststop\n") { return Err(format!("after delete: {all:?}")); }
            let st: Value = serde_json::from_slice(&fs::read(out.join("poststart.json")).unwrap_or_default()).unwrap_or(Value::Null);
            if st["id"] != id.as_str() { return Err(format!("poststart state {st}")); }
            Ok(())
        }) },
        Case { section: "config.md hooks", name: "failing startContainer hook fails start", must: "if a startContainer hook fails, the runtime MUST generate an error", patch: nothing, check: Some(|env, _| {
            let mut c = env.base(); sleeper(&mut c, env);
            c["hooks"] = json!({"startContainer": [{"path": "/bin/false"}]});
            let (id, _) = created(env, c)?;
            let s = env.rt(&["start", &id]).code;
            let _ = env.rt(&["delete", "--force", &id]);
            if s == 0 { Err("start succeeded".into()) } else { Ok(()) }
        }) },
        Case { section: "config.md hooks", name: "failing createRuntime hook fails create", must: "if a createRuntime hook fails, the runtime MUST generate an error", patch: nothing, check: Some(|env, _| {
            let mut c = env.base();
            c["hooks"] = json!({"createRuntime": [{"path": "/bin/false"}]});
            let b = env.bundle(c);
            let id = env.id();
            let o = env.rt(&["create", "--bundle", b.to_str().unwrap(), &id]);
            let left = env.state(&id).is_some();
            let _ = env.rt(&["delete", "--force", &id]);
            if o.code == 0 || left { Err("create succeeded or left the container".into()) } else { Ok(()) }
        }) },
        // features.md
        Case { section: "features.md", name: "features JSON", must: "features MUST print ociVersionMin/Max and the supported hooks, mount options and namespaces", patch: nothing, check: Some(|env, _| {
            let o = env.rt(&["features"]);
            let v: Value = serde_json::from_str(&o.stdout).map_err(|e| format!("{e}: {}", o.stderr.trim()))?;
            for k in ["ociVersionMin", "ociVersionMax", "hooks", "mountOptions"] {
                if v.get(k).is_none() { return Err(format!("missing {k}")); }
            }
            if v["linux"]["namespaces"].as_array().is_none_or(|a| a.is_empty()) { return Err("no namespaces".into()); }
            Ok(())
        }) },
    ]
}

/// Why runc 1.1.5 (Debian 12) fails cases here: where it deviates from
/// the runtime spec or lacks a field.
const KNOWN_RUNC_DEVIATIONS: &str = "
Known runc 1.1.5 deviations behind its failures (runr follows the spec):

- hooks order: config.md says poststart hooks \"MUST be called after the user-specified process
  is executed but before the start operation returns\"; runc 1.1.5 runs them inside create.
- failing startContainer hook: config.md says \"if a hook returns a non-zero exit code, then
  an error MUST be generated\"; runc 1.1.5's start exits 0.
- personality: `linux.personality` arrived in runc 1.2; 1.1.5 ignores it (the process keeps
  x86_64).
- time namespace: `{\"type\": \"time\"}` and `timeOffsets` arrived in runc 1.2; 1.1.5 refuses
  the namespace type (\"namespace time does not exist\").
- domainname: runc 1.1.5 leaves the UTS domain name unset (`(none)`) although config.md says
  it \"MUST\" be set in the container's UTS namespace.
";

fn setup(rt: &Path, tag: &str) -> Env {
    let dir = std::env::temp_dir().join(format!("runr-spec-{}-{tag}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let rootfs = dir.join("rootfs");
    fs::create_dir_all(rootfs.join("bin")).unwrap();
    fs::copy("/bin/busybox", rootfs.join("bin/busybox"))
        .expect("a static /bin/busybox (busybox-static)");
    let list = Command::new("/bin/busybox").arg("--list").output().unwrap();
    for app in String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter(|a| *a != "busybox")
    {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(app)).unwrap();
    }
    for d in [
        "proc", "sys", "dev", "tmp", "etc", "spec", "scratch", "hostbin", "hooks",
    ] {
        fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    let checker = std::env::current_exe()
        .unwrap()
        .with_file_name("runr-spec-check");
    fs::copy(&checker, rootfs.join("spec-check"))
        .unwrap_or_else(|e| panic!("copy {}: {e}", checker.display()));
    Env {
        rt: rt.to_path_buf(),
        root: dir.join("state"),
        dir,
        rootfs,
        n: std::cell::Cell::new(0),
    }
}

fn run_all(
    rt: &Path,
    tag: &str,
    quiet: bool,
) -> Vec<(&'static str, &'static str, Result<(), String>)> {
    let env = setup(rt, tag);
    let mut out = Vec::new();
    for (i, case) in cases().into_iter().enumerate() {
        let r = match case.check {
            Some(f) => f(&env, case.name),
            None => {
                let mut c = env.base();
                (case.patch)(&mut c, &env);
                env.run_checker(c)
            }
        };
        if !quiet {
            match &r {
                Ok(()) => println!(
                    "ok {} - {}: {} ({})",
                    i + 1,
                    case.section,
                    case.name,
                    case.must
                ),
                Err(e) => println!(
                    "not ok {} - {}: {} ({}) # {e}",
                    i + 1,
                    case.section,
                    case.name,
                    case.must
                ),
            }
        }
        out.push((case.section, case.name, r));
    }
    // Nothing may be left: force-delete whatever a failed case left.
    if let Ok(rd) = fs::read_dir(&env.root) {
        for e in rd.flatten() {
            let id = e.file_name().to_string_lossy().into_owned();
            let _ = Command::new(&env.rt)
                .arg("--root")
                .arg(&env.root)
                .args(["delete", "--force", &id])
                .output();
        }
    }
    let _ = fs::remove_dir_all(&env.dir);
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--report") {
        let file = args.get(1).expect("--report FILE RUNTIME...");
        let mut table: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        let mut names = Vec::new();
        let mut details = String::new();
        for (i, rt) in args[2..].iter().enumerate() {
            let res = run_all(Path::new(rt), &format!("r{i}"), true);
            names.push(rt.clone());
            let mut by: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
            for (sec, name, r) in &res {
                let e = by.entry(sec).or_default();
                match r {
                    Ok(()) => e.0 += 1,
                    Err(err) => {
                        e.1 += 1;
                        details.push_str(&format!(
                            "- {rt}: {sec}: {name}: {}\n",
                            err.replace('\n', " ")
                        ));
                    }
                }
            }
            for (sec, (p, f)) in by {
                table
                    .entry(sec)
                    .or_default()
                    .push(format!("{p} passed, {f} failed"));
            }
        }
        let mut md = format!("# Spec conformance: {}\n\nGenerated by `make spec-test-report` (spec-tests/driver.rs).\n\n| section | {} |\n|---|{}\n",
            names.join(" vs "), names.join(" | "), "---|".repeat(names.len()));
        for (sec, cols) in &table {
            md.push_str(&format!("| {sec} | {} |\n", cols.join(" | ")));
        }
        md.push_str("\nFailures:\n\n");
        md.push_str(if details.is_empty() {
            "none\n"
        } else {
            &details
        });
        md.push_str(KNOWN_RUNC_DEVIATIONS);
        fs::write(file, md).expect("write the report");
        println!("wrote {file}");
        return;
    }
    let rt = PathBuf::from(
        args.first()
            .expect("usage: runr-spec-test RUNTIME | --report FILE RUNTIME..."),
    );
    let res = run_all(&rt, "one", false);
    let mut by: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    for (sec, _, r) in &res {
        let e = by.entry(sec).or_default();
        if r.is_ok() {
            e.0 += 1
        } else {
            e.1 += 1
        }
    }
    for (sec, (p, f)) in &by {
        println!("# {sec}: {p} passed, {f} failed");
    }
    let failed = res.iter().filter(|r| r.2.is_err()).count();
    println!("{} passed, {failed} failed", res.len() - failed);
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
