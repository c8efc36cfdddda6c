//! config.md, POSIX-platform hooks: each kind, order, state on stdin, failures.

use super::support::*;
use crate::harness::*;
use serde_json::{json, Value};
use std::fs;
use std::time::{Duration, Instant};

pub fn cases() -> Vec<Case> {
    vec![
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
        Case { section: "config.md hooks", name: "prestart gets the state", must: "the state of the container MUST be passed to hooks over stdin (prestart: status creating)", patch: nothing, check: Some(|env, _| hook_stdin(env, "prestart", "creating")) },
        Case { section: "config.md hooks", name: "createRuntime gets the state", must: "the state of the container MUST be passed to hooks over stdin (createRuntime: status creating)", patch: nothing, check: Some(|env, _| hook_stdin(env, "createRuntime", "creating")) },
        Case { section: "config.md hooks", name: "createContainer gets the state", must: "the state of the container MUST be passed to hooks over stdin (createContainer: status creating)", patch: nothing, check: Some(|env, _| hook_stdin(env, "createContainer", "creating")) },
        Case { section: "config.md hooks", name: "startContainer gets the state", must: "the state of the container MUST be passed to hooks over stdin (startContainer: status created)", patch: nothing, check: Some(|env, _| hook_stdin(env, "startContainer", "created")) },
        Case { section: "config.md hooks", name: "poststart gets the state", must: "the state of the container MUST be passed to hooks over stdin (poststart: status running)", patch: nothing, check: Some(|env, _| hook_stdin(env, "poststart", "running")) },
        Case { section: "config.md hooks", name: "poststop gets the state", must: "the state of the container MUST be passed to hooks over stdin (poststop: status stopped)", patch: nothing, check: Some(|env, _| hook_stdin(env, "poststop", "stopped")) },
        Case { section: "config.md hooks", name: "args and env", must: "hook args and env with the same semantics as execv's argv and environ", patch: nothing, check: Some(|env, _| {
            let d = host_dir(env, "hookargs");
            let mut c = sleeping(env);
            // argv[0] and the environment as the hook's shell received them.
            let script = format!("{{ head -c 10 /proc/$$/cmdline; echo \"|$0|$1\"; tr '\\0' '\\n' < /proc/$$/environ | sort | tr '\\n' ','; }} > {}/out", d.display());
            c["hooks"] = json!({"createRuntime": [{"path": "/bin/sh", "args": ["spec-argv0", "-c", script, "zero", "one"], "env": ["SPEC_A=a b", "SPEC_B="]}]});
            let (id, _) = created(env, c)?;
            let got = fs::read_to_string(d.join("out")).unwrap_or_default();
            cleanup(env, &id, ensure(got == "spec-argv0|zero|one\nSPEC_A=a b,SPEC_B=,", || format!("hook saw {got:?}")))
        }) },
        Case { section: "config.md hooks", name: "hooks of a kind run in order", must: "hooks MUST be called in the listed order", patch: nothing, check: Some(|env, _| {
            let d = host_dir(env, "hookorder");
            let h = |n: u32| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("echo {n} >> {}/order", d.display())]});
            let mut c = sleeping(env);
            c["hooks"] = json!({"prestart": [h(1), h(2), h(3)], "createRuntime": [h(4), h(5)]});
            let (id, _) = created(env, c)?;
            let got = fs::read_to_string(d.join("order")).unwrap_or_default();
            cleanup(env, &id, ensure(got == "1\n2\n3\n4\n5\n", || format!("order {got:?}")))
        }) },
        Case { section: "config.md hooks", name: "timeout aborts a hook", must: "timeout: the number of seconds before aborting the hook; a failing hook MUST generate an error", patch: nothing, check: Some(|env, _| {
            let mut c = sleeping(env);
            c["hooks"] = json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]});
            let t = Instant::now();
            let r = create_fails(env, c);
            let secs = t.elapsed().as_secs();
            r.and_then(|_| ensure(secs < 10, || format!("create took {secs}s")))
        }) },
        Case { section: "config.md hooks", name: "relative hook path refused", must: "hook path: this specification extends the IEEE standard in that path MUST be absolute", patch: nothing, check: Some(|env, _| {
            let mut c = sleeping(env);
            // A bare name that a PATH search would find.
            c["hooks"] = json!({"createRuntime": [{"path": "true"}]});
            create_fails(env, c).map(|_| ())
        }) },
        Case { section: "config.md hooks", name: "failing prestart hook fails create", must: "if any prestart hook fails, the runtime MUST generate an error, stop the container", patch: nothing, check: Some(|env, _| {
            let mut c = sleeping(env);
            c["hooks"] = json!({"prestart": [{"path": "/bin/false"}]});
            create_fails(env, c).map(|_| ())
        }) },
        Case { section: "config.md hooks", name: "failing createContainer hook fails create", must: "if any createContainer hook fails, the runtime MUST generate an error, stop the container", patch: nothing, check: Some(|env, _| {
            let mut c = sleeping(env);
            c["hooks"] = json!({"createContainer": [{"path": "/bin/false"}]});
            create_fails(env, c).map(|_| ())
        }) },
        Case { section: "config.md hooks", name: "failing startContainer hook stops the container", must: "if any startContainer hook fails, the runtime MUST generate an error, stop the container (the program does not run)", patch: nothing, check: Some(|env, _| {
            let d = host_dir(env, "scfail");
            let mut c = env.base();
            bind_dir(&mut c, &d, "/out");
            c["process"]["args"] = json!(["sh", "-c", "echo ran > /out/ran; sleep 1000"]);
            c["hooks"] = json!({"startContainer": [{"path": "/bin/false"}]});
            let (id, _) = created(env, c)?;
            let code = env.rt(&["start", &id]).code;
            std::thread::sleep(Duration::from_millis(300));
            let s = status(env, &id);
            let ran = d.join("ran").exists();
            cleanup(env, &id, ensure(code != 0 && !ran && (s.is_empty() || s == "stopped"), || format!("start exited {code}; program ran {ran}; status then {s:?}")))
        }) },
        Case { section: "config.md hooks", name: "failing poststart hook is a warning", must: "if any poststart hook fails, the runtime MUST log a warning, but the remaining hooks and lifecycle continue as if the hook had succeeded", patch: nothing, check: Some(|env, _| {
            let d = host_dir(env, "psfail");
            let mut c = sleeping(env);
            c["hooks"] = json!({"poststart": [{"path": "/bin/false"}, {"path": "/bin/sh", "args": ["sh", "-c", format!("touch {}/second", d.display())]}]});
            let (id, _) = created(env, c)?;
            let o = env.rt(&["start", &id]);
            let s = status(env, &id);
            let second = d.join("second").exists();
            cleanup(env, &id, ensure(o.code == 0 && s == "running" && second, || format!("start exited {} ({}); status {s:?}; next hook ran {second}", o.code, o.stderr.trim())))
        }) },
        Case { section: "config.md hooks", name: "failing poststop hook is a warning", must: "if any poststop hook fails, the runtime MUST log a warning, but the remaining hooks and lifecycle continue as if the hook had succeeded", patch: nothing, check: Some(|env, _| {
            let d = host_dir(env, "pstopfail");
            let mut c = env.base();
            c["process"]["args"] = json!(["true"]);
            c["hooks"] = json!({"poststop": [{"path": "/bin/false"}, {"path": "/bin/sh", "args": ["sh", "-c", format!("touch {}/second", d.display())]}]});
            let (id, _) = created(env, c)?;
            env.rt(&["start", &id]);
            env.wait_status(&id, "stopped").ok();
            let o = env.rt(&["delete", &id]);
            let gone = env.state(&id).is_none();
            let second = d.join("second").exists();
            cleanup(env, &id, ensure(o.code == 0 && gone && second, || format!("delete exited {} ({}); gone {gone}; next hook ran {second}", o.code, o.stderr.trim())))
        }) },
        Case { section: "config.md hooks", name: "createRuntime runs in the runtime namespace", must: "createRuntime hooks MUST be executed in the runtime namespace", patch: nothing, check: Some(|env, _| hook_ns(env, "createRuntime", false)) },
        Case { section: "config.md hooks", name: "createContainer runs in the container namespace", must: "createContainer hooks MUST be executed in the container namespace", patch: nothing, check: Some(|env, _| hook_ns(env, "createContainer", true)) },
        Case { section: "config.md hooks", name: "poststart runs in the runtime namespace", must: "poststart hooks MUST be executed in the runtime namespace", patch: nothing, check: Some(|env, _| hook_ns(env, "poststart", false)) },
        Case { section: "config.md hooks", name: "poststop runs after the container is deleted", must: "poststop hooks MUST be called after the container is deleted but before the delete operation returns", patch: nothing, check: Some(|env, _| {
            let d = host_dir(env, "pstop");
            let mut c = env.base();
            c["process"]["args"] = json!(["true"]);
            let b = env.bundle(c.clone());
            let id = env.id();
            let rt = fs::canonicalize(&env.rt).unwrap();
            let script = format!("if {} --root {} state {id} >/dev/null 2>&1; then echo exists; else echo gone; fi > {}/seen", rt.display(), env.root.display(), d.display());
            c["hooks"] = json!({"poststop": [{"path": "/bin/sh", "args": ["sh", "-c", script]}]});
            fs::write(b.join("config.json"), serde_json::to_vec(&c).unwrap()).unwrap();
            env.rt(&["create", "--bundle", b.to_str().unwrap(), &id]);
            env.rt(&["start", &id]);
            env.wait_status(&id, "stopped").ok();
            let o = env.rt(&["delete", &id]);
            let seen = fs::read_to_string(d.join("seen")).unwrap_or_default();
            cleanup(env, &id, ensure(o.code == 0 && seen.trim() == "gone", || format!("delete exited {}; the hook saw the container {seen:?}", o.code)))
        }) },
        Case { section: "config.md hooks", name: "prestart runs once the namespaces exist", must: "prestart: called after the runtime environment has been created (e.g. the network namespace could be specified in this hook)", patch: nothing, check: Some(|env, _| {
            let d = host_dir(env, "prens");
            let mut c = sleeping(env);
            let script = format!("pid=$(sed 's/.*\"pid\":\\([0-9]*\\).*/\\1/'); readlink /proc/$pid/ns/net > {}/ns", d.display());
            c["hooks"] = json!({"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", script]}]});
            let (id, st) = created(env, c)?;
            let want = ns_of(st["pid"].as_i64().unwrap_or(0), "net");
            let got = fs::read_to_string(d.join("ns")).unwrap_or_default();
            let host = ns_of(std::process::id() as i64, "net");
            cleanup(env, &id, ensure(got.trim() == want && want != host, || format!("the hook saw {got:?}; container {want:?}, host {host:?}")))
        }) },
        Case { section: "config.md hooks", name: "createContainer runs before pivot_root", must: "createContainer: called after the runtime environment has been created but before the pivot_root or any equivalent operation", patch: nothing, check: Some(|env, _| {
            let d = host_dir(env, "ccroot");
            let mut c = sleeping(env);
            // The suite's dir is reachable before pivot_root, not after.
            c["hooks"] = json!({"createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", format!("test -d {0} && echo before > {0}/where", d.display())]}]});
            let (id, _) = created(env, c)?;
            let got = fs::read_to_string(d.join("where")).unwrap_or_default();
            cleanup(env, &id, ensure(got.trim() == "before", || format!("the hook wrote {got:?}")))
        }) },
        Case { section: "config.md hooks", name: "startContainer path resolves in the container", must: "startContainer: the path MUST resolve in the container namespace; it is executed there", patch: nothing, check: Some(|env, _| {
            let d = host_dir(env, "scpath");
            let name = format!("spec-hook-{}.sh", env.id());
            // A script that exists in the container (as /hooks/NAME) only.
            fs::write(env.rootfs.join("hooks").join(&name), "#!/bin/sh\necho in-container > /out/seen\n").unwrap();
            std::fs::set_permissions(env.rootfs.join("hooks").join(&name), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
            let mut c = sleeping(env);
            bind_dir(&mut c, &d, "/out");
            c["hooks"] = json!({"startContainer": [{"path": format!("/hooks/{name}")}]});
            let (id, _) = created(env, c)?;
            let o = env.rt(&["start", &id]);
            let got = fs::read_to_string(d.join("seen")).unwrap_or_default();
            let _ = fs::remove_file(env.rootfs.join("hooks").join(&name));
            cleanup(env, &id, ensure(o.code == 0 && got.trim() == "in-container", || format!("start {} {}; hook wrote {got:?}", o.code, o.stderr.trim())))
        }) },
        Case { section: "config.md hooks", name: "poststop runs after a failed create", must: "if any createRuntime hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12 (destroy), then 13: poststop hooks MUST be invoked", patch: nothing, check: Some(|env, _| {
            let d = host_dir(env, "crfail");
            let mut c = sleeping(env);
            c["hooks"] = json!({"createRuntime": [{"path": "/bin/false"}], "poststop": [{"path": "/bin/sh", "args": ["sh", "-c", format!("touch {}/poststop", d.display())]}]});
            create_fails(env, c)?;
            ensure(d.join("poststop").exists(), || "no poststop hook ran".into())
        }) },
        Case { section: "config.md hooks", name: "poststop runs after a failed start", must: "if any startContainer hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12, then 13: poststop hooks MUST be invoked", patch: nothing, check: Some(|env, _| {
            let d = host_dir(env, "scfailstop");
            let mut c = sleeping(env);
            c["hooks"] = json!({"startContainer": [{"path": "/bin/false"}], "poststop": [{"path": "/bin/sh", "args": ["sh", "-c", format!("touch {}/poststop", d.display())]}]});
            let (id, _) = created(env, c)?;
            let code = env.rt(&["start", &id]).code;
            let ran_before_delete = d.join("poststop").exists();
            let _ = env.rt(&["delete", &id]);
            let ran = d.join("poststop").exists();
            cleanup(env, &id, ensure(code != 0 && ran, || format!("start exited {code}; poststop ran (before delete {ran_before_delete}) {ran}")))
        }) },
    ]
}

/// Runs a container with one hook of `kind` saving its stdin; checks the
/// state it read: id, pid, bundle, and the status at that point.
fn hook_stdin(env: &Env, kind: &str, want: &str) -> Result<(), String> {
    let d = host_dir(env, "hookstdin");
    let mut c = sleeping(env);
    // After pivot_root (startContainer) the hook sees the container's /out.
    let dir = if kind == "startContainer" {
        "/out".to_string()
    } else {
        d.display().to_string()
    };
    bind_dir(&mut c, &d, "/out");
    c["annotations"] = json!({"org.spec/hook": kind});
    c["hooks"] = json!({kind: [{"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {dir}/state.json")]}]});
    let b = env.bundle(c);
    let id = env.id();
    env.rt(&["create", "--bundle", b.to_str().unwrap(), &id]);
    let pid = env.state(&id).and_then(|s| s["pid"].as_i64()).unwrap_or(-1);
    env.rt(&["start", &id]);
    env.rt(&["kill", &id, "KILL"]);
    env.wait_status(&id, "stopped").ok();
    env.rt(&["delete", &id]);
    let _ = env.rt(&["delete", "--force", &id]);
    let text = fs::read_to_string(d.join("state.json")).unwrap_or_default();
    let st: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let bundle_ok =
        fs::canonicalize(st["bundle"].as_str().unwrap_or("")).ok() == fs::canonicalize(&b).ok();
    // A hook in the container's pid namespace sees the process as pid 1
    // (runc and runr alike); pid is optional once stopped.
    let pid_ok = match st["pid"].as_i64() {
        Some(p) => p == pid || (p == 1 && matches!(kind, "createContainer" | "startContainer")),
        None => want == "stopped",
    };
    ensure(
        st["id"] == id.as_str()
            && st["status"] == want
            && pid_ok
            && bundle_ok
            && st["ociVersion"].is_string()
            && st["annotations"]["org.spec/hook"] == kind,
        || format!("{kind} read {text:?} (want status {want}, pid {pid})"),
    )
}

/// Whether a hook of `kind` ran in the container's mount and network
/// namespaces (`inside`) or in the runtime's.
fn hook_ns(env: &Env, kind: &str, inside: bool) -> Result<(), String> {
    let d = host_dir(env, "hookns");
    let mut c = sleeping(env);
    c["hooks"] = json!({kind: [{"path": "/bin/sh", "args": ["sh", "-c", format!("readlink /proc/self/ns/mnt /proc/self/ns/net > {}/ns", d.display())]}]});
    let (id, st) = created(env, c)?;
    let pid = st["pid"].as_i64().unwrap_or(0);
    env.rt(&["start", &id]);
    let container = format!("{}\n{}\n", ns_of(pid, "mnt"), ns_of(pid, "net"));
    let me = std::process::id() as i64;
    let runtime = format!("{}\n{}\n", ns_of(me, "mnt"), ns_of(me, "net"));
    let got = fs::read_to_string(d.join("ns")).unwrap_or_default();
    let want = if inside { &container } else { &runtime };
    cleanup(
        env,
        &id,
        ensure(&got == want, || {
            format!("{kind} ran in {got:?}; container {container:?}, runtime {runtime:?}")
        }),
    )
}
