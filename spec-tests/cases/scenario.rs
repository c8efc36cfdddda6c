//! Host-side building blocks of the config-linux.md cases: a running
//! container that is deleted whatever happens, a create that must be
//! refused, a process's output, and a namespace held by a helper process.

use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{sleeper, Env};

/// A created (not started) container running `sleep`; force-deleted on drop.
pub struct Running<'a> {
    env: &'a Env,
    pub id: String,
    pub pid: i64,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let _ = self.env.rt(&["delete", "--force", &self.id]);
    }
}

/// The base config with `sleep` as the process, changed by `f`.
pub fn config(env: &Env, f: impl FnOnce(&mut Value)) -> Value {
    let mut c = env.base();
    sleeper(&mut c, env);
    f(&mut c);
    c
}

/// Creates `cfg`; the container is deleted when the result is dropped.
pub fn create(env: &Env, cfg: Value) -> Result<Running<'_>, String> {
    let b = env.bundle(cfg);
    let id = env.id();
    let o = env.rt(&["create", "--bundle", b.to_str().unwrap(), &id]);
    let mut r = Running { env, id, pid: 0 };
    if o.code != 0 {
        return Err(format!("create failed: {}", o.stderr.trim()));
    }
    r.pid = env
        .state(&r.id)
        .and_then(|s| s["pid"].as_i64())
        .ok_or("no pid in state after create")?;
    Ok(r)
}

/// runtime.md: a config the runtime cannot apply MUST make create fail
/// with an error (exit non-zero, a message on stderr); nothing may run,
/// no container may be left.
pub fn refused(env: &Env, cfg: Value) -> Result<(), String> {
    let stderr = super::support::create_fails(env, cfg)?;
    if stderr.trim().is_empty() {
        return Err("create failed without a message".into());
    }
    Ok(())
}

/// As `refused`, and the message names the cause: one of `words`
/// (compared without case).
pub fn refused_naming(env: &Env, cfg: Value, words: &[&str]) -> Result<(), String> {
    let stderr = super::support::create_fails(env, cfg)?;
    let msg = stderr.to_lowercase();
    if words.iter().any(|w| msg.contains(&w.to_lowercase())) {
        Ok(())
    } else {
        Err(format!(
            "the error does not name {words:?}: {:?}",
            stderr.trim()
        ))
    }
}

/// Runs `cfg` to its end (create, start, wait for stopped) and returns
/// what the process printed (stdout and stderr together, in a file).
pub fn output(env: &Env, cfg: Value) -> Result<String, String> {
    let b = env.bundle(cfg);
    let id = env.id();
    let out = env.dir.join(format!("{id}.out"));
    let f = fs::File::create(&out).unwrap();
    let st = Command::new(&env.rt)
        .arg("--root")
        .arg(&env.root)
        .args(["create", "--bundle", b.to_str().unwrap(), &id])
        .stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .status()
        .unwrap();
    if !st.success() {
        let _ = env.rt(&["delete", "--force", &id]);
        return Err(format!("create failed: {}", read(&out).trim()));
    }
    let s = env.rt(&["start", &id]);
    let waited = env.wait_status(&id, "stopped");
    let _ = env.rt(&["delete", "--force", &id]);
    if s.code != 0 {
        return Err(format!("start failed: {}", s.stderr.trim()));
    }
    waited?;
    Ok(read(&out))
}

fn read(p: &std::path::Path) -> String {
    fs::read_to_string(p).unwrap_or_default()
}

/// `sh -c SCRIPT` as the container process.
pub fn shell(c: &mut Value, script: &str) {
    c["process"]["args"] = json!(["sh", "-c", script]);
}

/// A tmpfs at /scratch, writable, for cases that create files.
pub fn scratch(c: &mut Value) {
    c["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "size=1m"]}),
    );
}

/// A helper process holding new namespaces (util-linux unshare), killed
/// on drop. `ns` paths are /proc/PID/ns/<name> of the holder.
pub struct Holder {
    child: Child,
}

impl Holder {
    pub fn start(flags: &[&str]) -> Result<Holder, String> {
        let mut last = String::new();
        for _ in 0..3 {
            match Holder::try_start(flags) {
                Ok(h) => return Ok(h),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn try_start(flags: &[&str]) -> Result<Holder, String> {
        let err = std::env::temp_dir().join(format!("runr-spec-holder-{}.err", std::process::id()));
        let child = Command::new("unshare")
            .args(flags)
            .args(["--fork", "--kill-child", "sleep", "1000"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&err).map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("unshare: {e}"))?;
        let mut h = Holder { child };
        // unshare(2) happens right after exec: wait until a namespace
        // of the holder differs from ours (and the holder still lives).
        let deadline = Instant::now() + Duration::from_secs(5);
        let me = std::process::id() as i64;
        let probe = match flags[0] {
            "--pid" => "pid_for_children",
            "--time" => "time_for_children",
            "--net" => "net",
            "--ipc" => "ipc",
            "--uts" => "uts",
            "--mount" => "mnt",
            "--cgroup" => "cgroup",
            _ => "user",
        };
        loop {
            if let Ok(Some(st)) = h.child.try_wait() {
                let msg = fs::read_to_string(&err).unwrap_or_default();
                let _ = fs::remove_file(&err);
                return Err(format!("unshare {flags:?} exited ({st}): {}", msg.trim()));
            }
            let theirs = crate::harness::ns_of(h.pid(), probe);
            if !theirs.is_empty() && theirs != crate::harness::ns_of(me, probe) {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("unshare {flags:?}: namespace not made"));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = fs::remove_file(&err);
        // A new user namespace gets its maps from us (root of the parent
        // namespace), as a runtime would write them.
        if probe == "user" {
            for f in ["uid_map", "gid_map"] {
                fs::write(format!("/proc/{}/{f}", h.pid()), "0 100000 65536\n")
                    .map_err(|e| format!("write the holder's {f}: {e}"))?;
            }
        }
        Ok(h)
    }

    pub fn pid(&self) -> i64 {
        self.child.id() as i64
    }

    pub fn ns(&self, name: &str) -> String {
        format!("/proc/{}/ns/{name}", self.pid())
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first whole disk of the host (major, minor), for blkio throttles.
pub fn host_disk() -> Option<(u32, u32)> {
    let parts = fs::read_to_string("/proc/partitions").ok()?;
    parts.lines().skip(2).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let name = *f.get(3)?;
        let whole = fs::metadata(format!("/sys/block/{name}")).is_ok();
        (whole
            && !name.starts_with("loop")
            && !name.starts_with("zram")
            && !name.starts_with("ram"))
        .then(|| Some((f[0].parse().ok()?, f[1].parse().ok()?)))
        .flatten()
    })
}

/// Whether the block device (major, minor) is scheduled by BFQ, the one
/// v1 scheduler with per-device weights.
pub fn bfq(dev: (u32, u32)) -> bool {
    fs::read_to_string(format!(
        "/sys/dev/block/{}:{}/queue/scheduler",
        dev.0, dev.1
    ))
    .is_ok_and(|s| s.contains("[bfq]"))
}

/// A case's verdict from a list of (ok, what) facts.
pub fn all(facts: &[(bool, String)]) -> Result<(), String> {
    let bad: Vec<&str> = facts
        .iter()
        .filter(|f| !f.0)
        .map(|f| f.1.as_str())
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(bad.join("; "))
    }
}

/// `got` must be exactly `want`.
pub fn expect(got: Result<String, String>, want: &str) -> Result<(), String> {
    let got = got?;
    if got == want {
        Ok(())
    } else {
        Err(format!("got {got:?}, wanted {want:?}"))
    }
}
