//! runtime.md: the lifecycle operations, state, and their errors.

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
    ]
}
