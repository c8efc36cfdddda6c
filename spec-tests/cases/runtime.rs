//! runtime.md: the lifecycle operations, state, and their errors.

use super::support::*;
use crate::harness::*;
use serde_json::json;
use std::{
    fs,
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

pub fn cases() -> Vec<Case> {
    vec![
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
            let st = Command::new(fs::canonicalize(&env.rt).unwrap()).arg("--root").arg(&env.root).args(["create", "--bundle", b.to_str().unwrap(), &id])
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
        Case { section: "runtime.md", name: "state of an unknown id fails", must: "state: attempting to query a container that does not exist MUST generate an error", patch: nothing, check: Some(|env, _| {
            let o = env.rt(&["state", "runr-spec-no-such-container"]);
            ensure(o.code != 0, || format!("state exited 0: {}", o.stdout.trim()))
        }) },
        Case { section: "runtime.md", name: "start of an unknown id fails", must: "start: attempting to start a container that does not exist MUST generate an error", patch: nothing, check: Some(|env, _| {
            ensure(env.rt(&["start", "runr-spec-no-such-container"]).code != 0, || "start exited 0".into())
        }) },
        Case { section: "runtime.md", name: "kill of an unknown id fails", must: "kill: attempting to send a signal to a container that is neither created nor running MUST generate an error", patch: nothing, check: Some(|env, _| {
            ensure(env.rt(&["kill", "runr-spec-no-such-container", "KILL"]).code != 0, || "kill exited 0".into())
        }) },
        Case { section: "runtime.md", name: "operations without an id fail", must: "state, start, kill, delete: this operation MUST generate an error if it is not provided the container ID", patch: nothing, check: Some(|env, _| {
            let ok: Vec<&str> = ["state", "start", "kill", "delete"].into_iter().filter(|op| env.rt(&[op]).code == 0).collect();
            ensure(ok.is_empty(), || format!("exited 0 without an id: {ok:?}"))
        }) },
        Case { section: "runtime.md", name: "create without a bundle config fails", must: "create MUST generate an error if it is not provided a path to the bundle; a new container MUST NOT be created", patch: nothing, check: Some(|env, _| {
            let empty = host_dir(env, "nobundle");
            let id = env.id();
            let o = env.rt(&["create", "--bundle", empty.to_str().unwrap(), &id]);
            let left = env.state(&id).is_some();
            let _ = env.rt(&["delete", "--force", &id]);
            ensure(o.code != 0 && !left, || format!("create exited {}, container left: {left}", o.code))
        }) },
        Case { section: "runtime.md", name: "create with an invalid id fails", must: "create: if the ID is not valid in any other way, the implementation MUST generate an error and a new container MUST NOT be created", patch: nothing, check: Some(|env, _| {
            let b = env.bundle(sleeping(env));
            let bad = "../runr-spec-escape";
            let o = env.rt(&["create", "--bundle", b.to_str().unwrap(), bad]);
            let escaped = env.dir.join("runr-spec-escape").exists();
            let _ = env.rt(&["delete", "--force", bad]);
            ensure(o.code != 0 && !escaped, || format!("create of {bad:?} exited {}, dir outside --root: {escaped}", o.code))
        }) },
        Case { section: "runtime.md", name: "create does not run the process", must: "create: the user-specified program MUST NOT be run at this time; start MUST run it", patch: nothing, check: Some(|env, _| {
            let d = host_dir(env, "ran");
            let mut c = env.base();
            bind_dir(&mut c, &d, "/out");
            c["process"]["args"] = json!(["sh", "-c", "echo ran > /out/ran; sleep 1000"]);
            let (id, _) = created(env, c)?;
            std::thread::sleep(Duration::from_millis(300));
            let early = d.join("ran").exists();
            env.rt(&["start", &id]);
            let mut late = false;
            for _ in 0..200 { if d.join("ran").exists() { late = true; break; } std::thread::sleep(Duration::from_millis(10)); }
            cleanup(env, &id, ensure(!early && late, || format!("ran before start: {early}, after start: {late}")))
        }) },
        Case { section: "runtime.md", name: "created stays created", must: "status created: the container has been created but the user-specified program has not yet been executed", patch: nothing, check: Some(|env, _| {
            let (id, _) = created(env, sleeping(env))?;
            std::thread::sleep(Duration::from_millis(300));
            let s = status(env, &id);
            cleanup(env, &id, ensure(s == "created", || format!("status {s:?} without start")))
        }) },
        Case { section: "runtime.md", name: "process exit gives stopped", must: "when the process in the container is stopped, irrespective of it being as a result of a kill operation or any other reason, status MUST be stopped", patch: nothing, check: Some(|env, _| {
            let id = stopped(env)?;
            let st = env.state(&id);
            cleanup(env, &id, ensure(st.as_ref().is_some_and(|s| s["status"] == "stopped"), || format!("state {st:?}")))
        }) },
        Case { section: "runtime.md", name: "start of a stopped container fails", must: "start: attempting to start a container that is not created MUST have no effect on the container and MUST generate an error", patch: nothing, check: Some(|env, _| {
            let id = stopped(env)?;
            let code = env.rt(&["start", &id]).code;
            let s = status(env, &id);
            cleanup(env, &id, ensure(code != 0 && s == "stopped", || format!("start exited {code}, status then {s:?}")))
        }) },
        Case { section: "runtime.md", name: "kill of a stopped container fails", must: "kill: a container that is neither created nor running MUST have no effect on the container and MUST generate an error", patch: nothing, check: Some(|env, _| {
            let id = stopped(env)?;
            let code = env.rt(&["kill", &id, "KILL"]).code;
            let s = status(env, &id);
            cleanup(env, &id, ensure(code != 0 && s == "stopped", || format!("kill exited {code}, status then {s:?}")))
        }) },
        Case { section: "runtime.md", name: "kill of a created container", must: "kill MUST send the specified signal to the container process (a created container may be signalled)", patch: nothing, check: Some(|env, _| {
            let (id, _) = created(env, sleeping(env))?;
            let code = env.rt(&["kill", &id, "KILL"]).code;
            let r = if code != 0 { Err("kill exited non-zero".to_string()) } else { env.wait_status(&id, "stopped") };
            cleanup(env, &id, r)
        }) },
        Case { section: "runtime.md", name: "second start has no effect", must: "start of an already started container MUST have no effect on the container and MUST generate an error", patch: nothing, check: Some(|env, _| {
            let (id, pid) = running(env)?;
            let code = env.rt(&["start", &id]).code;
            std::thread::sleep(Duration::from_millis(100));
            let st = env.state(&id).unwrap_or_default();
            cleanup(env, &id, ensure(code != 0 && st["status"] == "running" && st["pid"].as_i64() == Some(pid), || format!("start exited {code}; state then {st}")))
        }) },
        Case { section: "runtime.md", name: "delete of a running container has no effect", must: "delete of a container that is not stopped MUST have no effect on the container and MUST generate an error", patch: nothing, check: Some(|env, _| {
            let (id, pid) = running(env)?;
            let code = env.rt(&["delete", &id]).code;
            let st = env.state(&id).unwrap_or_default();
            let alive = Path::new(&format!("/proc/{pid}")).exists();
            cleanup(env, &id, ensure(code != 0 && st["status"] == "running" && alive, || format!("delete exited {code}; state then {st}, process alive {alive}")))
        }) },
        Case { section: "runtime.md", name: "deleted id can be reused", must: "once a container is deleted its ID MAY be used by a subsequent container; delete MUST delete the resources created during create", patch: nothing, check: Some(|env, _| {
            let id = stopped(env)?;
            if env.rt(&["delete", &id]).code != 0 { return cleanup(env, &id, Err("delete failed".into())); }
            let left = env.root.join(&id).exists();
            let b = env.bundle(sleeping(env));
            let again = env.rt(&["create", "--bundle", b.to_str().unwrap(), &id]);
            let s = status(env, &id);
            cleanup(env, &id, ensure(!left && again.code == 0 && s == "created", || format!("state dir left: {left}; create again: {} {}", again.code, again.stderr.trim())))
        }) },
        Case { section: "runtime.md", name: "delete removes the container's cgroup", must: "deleting a container MUST delete the resources that were created during the create step", patch: nothing, check: Some(|env, _| {
            let (id, st) = created(env, sleeping(env))?;
            let pid = st["pid"].as_i64().unwrap_or(0);
            let Some(dir) = cgroup_dir(pid) else {
                return cleanup(env, &id, Err(format!("no cgroup found for pid {pid}")));
            };
            let before = dir.exists();
            let d = env.rt(&["delete", "--force", &id]).code;
            ensure(before && d == 0 && !dir.exists(), || format!("cgroup {} existed {before}, delete {d}, still there {}", dir.display(), dir.exists()))
        }) },
        Case { section: "runtime.md", name: "delete keeps what it did not create", must: "resources associated with the container, but not created by this container, MUST NOT be deleted", patch: nothing, check: Some(|env, _| {
            let d = host_dir(env, "keep");
            fs::write(d.join("file"), "x").unwrap();
            let mut c = env.base();
            bind_dir(&mut c, &d, "/keep");
            c["process"]["args"] = json!(["true"]);
            let (id, _) = created(env, c)?;
            env.rt(&["start", &id]);
            env.wait_status(&id, "stopped").ok();
            let code = env.rt(&["delete", &id]).code;
            let r = ensure(code == 0 && d.join("file").exists(), || format!("delete {code}; bind source kept: {}", d.join("file").exists()));
            cleanup(env, &id, r)
        }) },
        Case { section: "runtime.md", name: "kill with SIGNAME", must: "kill MUST send the specified signal to the container process (SIGUSR1 form)", patch: nothing, check: Some(|env, _| kill_form(env, "SIGUSR1")) },
        Case { section: "runtime.md", name: "kill with a signal number", must: "kill MUST send the specified signal to the container process (numeric form 10)", patch: nothing, check: Some(|env, _| kill_form(env, "10")) },
        Case { section: "runtime.md", name: "kill with a signal name", must: "kill MUST send the specified signal to the container process (USR1 form)", patch: nothing, check: Some(|env, _| kill_form(env, "USR1")) },
        Case { section: "runtime.md", name: "pid file", must: "create --pid-file writes the container process's host pid, the one state reports", patch: nothing, check: Some(|env, _| {
            let b = env.bundle(sleeping(env));
            let id = env.id();
            let pf = env.dir.join(format!("{id}.pid"));
            let o = env.rt(&["create", "--bundle", b.to_str().unwrap(), "--pid-file", pf.to_str().unwrap(), &id]);
            let st = env.state(&id).unwrap_or_default();
            let got = fs::read_to_string(&pf).unwrap_or_default();
            let want = st["pid"].as_i64().map(|p| p.to_string());
            cleanup(env, &id, ensure(o.code == 0 && Some(got.trim().to_string()) == want, || format!("pid file {got:?}, state pid {want:?}")))
        }) },
        Case { section: "runtime.md", name: "state pid is the container process", must: "pid: the ID of the container process, as seen by the host", patch: nothing, check: Some(|env, _| {
            let (id, pid) = running(env)?;
            let mut cmd = String::new();
            for _ in 0..100 {
                cmd = fs::read(format!("/proc/{pid}/cmdline")).map(|b| String::from_utf8_lossy(&b).replace('\0', " ")).unwrap_or_default();
                if cmd.trim() == "sleep 1000" { break; }
                std::thread::sleep(Duration::from_millis(10));
            }
            cleanup(env, &id, ensure(cmd.trim() == "sleep 1000", || format!("pid {pid} runs {cmd:?}")))
        }) },
        Case { section: "runtime.md", name: "state bundle is absolute", must: "bundle: the absolute path to the container's bundle directory (given a relative --bundle)", patch: nothing, check: Some(|env, _| {
            let b = env.bundle(sleeping(env));
            let id = env.id();
            let rel = b.file_name().unwrap().to_str().unwrap().to_string();
            let st = Command::new(fs::canonicalize(&env.rt).unwrap()).arg("--root").arg(&env.root).args(["create", "--bundle", &rel, &id])
                .current_dir(&env.dir).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap();
            let s = env.state(&id).unwrap_or_default();
            let got = s["bundle"].as_str().unwrap_or("").to_string();
            let same = fs::canonicalize(&got).ok() == fs::canonicalize(&b).ok();
            cleanup(env, &id, ensure(st.success() && Path::new(&got).is_absolute() && same, || format!("bundle {got:?} for {}", b.display())))
        }) },
        Case { section: "runtime.md", name: "state without annotations", must: "annotations: if no annotations were provided then this property MAY either be absent or an empty map", patch: nothing, check: Some(|env, _| {
            let (id, st) = created(env, sleeping(env))?;
            let a = &st["annotations"];
            cleanup(env, &id, ensure(a.is_null() || a.as_object().is_some_and(|m| m.is_empty()), || format!("annotations {a}")))
        }) },
        Case { section: "runtime.md", name: "state ociVersion", must: "ociVersion (string, REQUIRED): the version of the runtime spec with which the state complies (SemVer)", patch: nothing, check: Some(|env, _| {
            let (id, st) = created(env, sleeping(env))?;
            let v = st["ociVersion"].as_str().unwrap_or("").to_string();
            let core = v.split(['-', '+']).next().unwrap_or("");
            let semver = core.split('.').count() == 3 && core.split('.').all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            cleanup(env, &id, ensure(semver && v.starts_with("1."), || format!("ociVersion {v:?}")))
        }) },
        Case { section: "runtime.md", name: "failed create leaves nothing", must: "generating an error MUST leave the state of the environment as if the operation were never attempted", patch: nothing, check: Some(|env, _| {
            let mut c = env.base();
            c["process"]["args"] = json!(["/no/such/binary"]);
            let b = env.bundle(c);
            let id = env.id();
            let o = env.rt(&["create", "--bundle", b.to_str().unwrap(), &id]);
            let left = env.root.join(&id).exists() || env.state(&id).is_some();
            let _ = env.rt(&["delete", "--force", &id]);
            let b2 = env.bundle(sleeping(env));
            let again = env.rt(&["create", "--bundle", b2.to_str().unwrap(), &id]).code;
            cleanup(env, &id, ensure(o.code != 0 && !left && again == 0, || format!("create {}; left {left}; same id again {again}", o.code)))
        }) },
    ]
}

/// Sends USR1 in the given form; the process must report USR1 and exit.
fn kill_form(env: &Env, sig: &str) -> Result<(), String> {
    let d = host_dir(env, "sig");
    let mut c = env.base();
    bind_dir(&mut c, &d, "/out");
    c["process"]["args"] = json!(["sh", "-c", "trap 'echo USR1 > /out/sig; exit 0' USR1; trap 'echo TERM > /out/sig; exit 0' TERM; touch /out/ready; while :; do sleep 0.05; done"]);
    let (id, _) = created(env, c)?;
    env.rt(&["start", &id]);
    for _ in 0..200 {
        if d.join("ready").exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let k = env.rt(&["kill", &id, sig]);
    let r = env.wait_status(&id, "stopped");
    let got = fs::read_to_string(d.join("sig")).unwrap_or_default();
    cleanup(
        env,
        &id,
        r.and_then(|_| {
            ensure(k.code == 0 && got.trim() == "USR1", || {
                format!(
                    "kill {sig}: exit {} {}; process saw {got:?}",
                    k.code,
                    k.stderr.trim()
                )
            })
        }),
    )
}

/// The container's own cgroup directory: its pids cgroup (v1), else its
/// unified (v2) one.
fn cgroup_dir(pid: i64) -> Option<std::path::PathBuf> {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let mut unified = None;
    for l in text.lines() {
        let mut f = l.splitn(3, ':');
        let (_, ctrl, path) = (f.next()?, f.next()?, f.next()?);
        let rel = path.trim_start_matches('/');
        if rel.is_empty() {
            continue;
        }
        if ctrl.split(',').any(|c| c == "pids") {
            return Some(Path::new("/sys/fs/cgroup/pids").join(rel));
        }
        if ctrl.is_empty() {
            let base = if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
                "/sys/fs/cgroup"
            } else {
                "/sys/fs/cgroup/unified"
            };
            unified = Some(Path::new(base).join(rel));
        }
    }
    unified
}
