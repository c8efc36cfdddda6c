//! Helpers shared by the host-side scenarios of runtime.md, config.md,
//! hooks and mounts: bundles that must be refused, shell commands run in
//! a container, host directories bound in.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::harness::{created, sleeper, Env};

/// The base config running `sleep 1000`.
pub fn sleeping(env: &Env) -> Value {
    let mut c = env.base();
    sleeper(&mut c, env);
    c
}

/// A fresh host directory under the suite's temp dir.
pub fn host_dir(env: &Env, tag: &str) -> PathBuf {
    let d = env.dir.join(format!("{tag}-{}", env.id()));
    fs::create_dir_all(&d).unwrap();
    d
}

/// Binds `dir` read-write at `dest` in the container.
pub fn bind_dir(c: &mut Value, dir: &Path, dest: &str) {
    c["mounts"].as_array_mut().unwrap().push(
        json!({"destination": dest, "type": "bind", "source": dir, "options": ["rbind", "rw"]}),
    );
}

pub fn push_mount(c: &mut Value, m: Value) {
    c["mounts"].as_array_mut().unwrap().push(m);
}

/// `create` must fail, and leave no container behind ("a new container
/// MUST NOT be created"). Returns create's stderr.
pub fn create_fails(env: &Env, cfg: Value) -> Result<String, String> {
    let b = env.bundle(cfg);
    let id = env.id();
    let o = env.rt(&["create", "--bundle", b.to_str().unwrap(), &id]);
    let left = env.state(&id).is_some();
    let _ = env.rt(&["delete", "--force", &id]);
    if o.code == 0 {
        return Err("create succeeded".into());
    }
    if left {
        return Err(format!(
            "create failed ({}) but left the container",
            o.stderr.trim()
        ));
    }
    Ok(o.stderr)
}

/// What a container running `sh -c script` printed (stdout, stderr),
/// after create, start and its exit; the container is deleted.
pub fn sh_output(env: &Env, mut cfg: Value, script: &str) -> Result<(String, String), String> {
    cfg["process"]["args"] = json!(["sh", "-c", script]);
    run_output(env, cfg, None)
}

/// create (stdin from `stdin` or /dev/null, stdout and stderr to files),
/// start, wait for stopped, delete; returns (stdout, stderr).
pub fn run_output(env: &Env, cfg: Value, stdin: Option<&Path>) -> Result<(String, String), String> {
    let b = env.bundle(cfg);
    let id = env.id();
    let (o, e) = (
        env.dir.join(format!("{id}.out")),
        env.dir.join(format!("{id}.errout")),
    );
    let input = match stdin {
        Some(p) => Stdio::from(fs::File::open(p).unwrap()),
        None => Stdio::null(),
    };
    let st = Command::new(&env.rt)
        .arg("--root")
        .arg(&env.root)
        .args(["create", "--bundle", b.to_str().unwrap(), &id])
        .stdin(input)
        .stdout(fs::File::create(&o).unwrap())
        .stderr(fs::File::create(&e).unwrap())
        .status()
        .unwrap();
    let read = |p: &Path| fs::read_to_string(p).unwrap_or_default();
    if !st.success() {
        let _ = env.rt(&["delete", "--force", &id]);
        return Err(format!("create failed: {}", read(&e).trim()));
    }
    let s = env.rt(&["start", &id]);
    if s.code != 0 {
        let _ = env.rt(&["delete", "--force", &id]);
        return Err(format!("start failed: {}", s.stderr.trim()));
    }
    let waited = env.wait_status(&id, "stopped");
    let _ = env.rt(&["delete", "--force", &id]);
    waited?;
    Ok((read(&o), read(&e)))
}

/// `sh_output`'s stdout, which must equal `want` (trimmed).
pub fn sh_says(env: &Env, cfg: Value, script: &str, want: &str) -> Result<(), String> {
    let (out, err) = sh_output(env, cfg, script)?;
    if out.trim() == want {
        Ok(())
    } else {
        Err(format!(
            "got {:?}, want {want:?} (stderr {:?})",
            out.trim(),
            err.trim()
        ))
    }
}

/// A created sleeper, started; returns its id and pid.
pub fn running(env: &Env) -> Result<(String, i64), String> {
    let (id, _) = created(env, sleeping(env))?;
    let o = env.rt(&["start", &id]);
    if o.code != 0 {
        let _ = env.rt(&["delete", "--force", &id]);
        return Err(format!("start: {}", o.stderr.trim()));
    }
    let pid = env.state(&id).and_then(|s| s["pid"].as_i64()).unwrap_or(0);
    Ok((id, pid))
}

/// A sleeper started and then killed; returns its id once stopped.
pub fn stopped(env: &Env) -> Result<String, String> {
    let mut c = env.base();
    c["process"]["args"] = json!(["true"]);
    let (id, _) = created(env, c)?;
    env.rt(&["start", &id]);
    if let Err(e) = env.wait_status(&id, "stopped") {
        let _ = env.rt(&["delete", "--force", &id]);
        return Err(e);
    }
    Ok(id)
}

/// The status field of `state id`, or "" if state fails.
pub fn status(env: &Env, id: &str) -> String {
    env.state(id)
        .map(|v| v["status"].as_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

/// Deletes `id` (forced) and passes `r` through.
pub fn cleanup<T>(env: &Env, id: &str, r: Result<T, String>) -> Result<T, String> {
    let _ = env.rt(&["delete", "--force", id]);
    r
}

/// Ok if `cond`, else the message.
pub fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(msg())
    }
}
