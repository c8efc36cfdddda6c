//! config.md: process, root, mounts, hostname, annotations.

use super::support::*;
use crate::harness::*;
use serde_json::json;
use std::fs;

pub fn cases() -> Vec<Case> {
    vec![
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
        Case { section: "config.md", name: "no process: created, start fails", must: "process is OPTIONAL; it is REQUIRED when start is called", patch: nothing, check: Some(|env, _| {
            let mut c = env.base();
            c.as_object_mut().unwrap().remove("process");
            let b = env.bundle(c);
            let id = env.id();
            let o = env.rt(&["create", "--bundle", b.to_str().unwrap(), &id]);
            let r = (|| {
                if o.code != 0 { return Err(format!("create failed: {}", o.stderr.trim())); }
                let st = env.state(&id).ok_or("no state after create")?;
                if st["status"] != "created" { return Err(format!("status after create: {}", st["status"])); }
                let s = env.rt(&["start", &id]);
                if s.code == 0 { return Err("start succeeded".into()); }
                if s.stderr.trim().is_empty() { return Err("start failed without a message".into()); }
                Ok(())
            })();
            let _ = env.rt(&["delete", "--force", &id]);
            r
        }) },
        Case { section: "config.md", name: "annotations", must: "annotations MUST appear in the state", patch: nothing, check: Some(|env, _| {
            let mut c = env.base(); sleeper(&mut c, env);
            c["annotations"] = json!({"a.b/c": "d"});
            let (id, st) = created(env, c)?;
            let _ = env.rt(&["delete", "--force", &id]);
            if st["annotations"]["a.b/c"] == "d" { Ok(()) } else { Err(format!("{st}")) }
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
        Case { section: "config.md", name: "ociVersion missing refused", must: "ociVersion (string, REQUIRED)", patch: nothing, check: Some(|env, _| {
            let mut c = sleeping(env);
            c.as_object_mut().unwrap().remove("ociVersion");
            create_fails(env, c).map(|_| ())
        }) },
        Case { section: "config.md", name: "ociVersion not SemVer refused", must: "ociVersion MUST be in SemVer v2.0.0 format", patch: nothing, check: Some(|env, _| {
            let mut c = sleeping(env);
            c["ociVersion"] = json!("not-a-version");
            create_fails(env, c).map(|_| ())
        }) },
        Case { section: "config.md", name: "root.path relative to the bundle", must: "root.path: an absolute path or a relative path to the bundle", patch: nothing, check: Some(|env, _| {
            let mut c = env.base();
            // Bundles live next to the suite's rootfs.
            c["root"]["path"] = json!("../rootfs");
            c["process"]["args"] = json!(["sh", "-c", "test -x /spec-check && echo found"]);
            let b = env.bundle(c.clone());
            let id = env.id();
            let o = env.rt(&["run", "--bundle", b.to_str().unwrap(), &id]);
            cleanup(env, &id, ensure(o.code == 0 && o.stdout.trim() == "found", || format!("run exited {}: {:?} {}", o.code, o.stdout.trim(), o.stderr.trim())))
        }) },
        Case { section: "config.md", name: "root.path missing refused", must: "root.path: a directory MUST exist at the path declared by the field", patch: nothing, check: Some(|env, _| {
            let mut c = sleeping(env);
            c["root"]["path"] = json!(env.dir.join("no-such-rootfs"));
            create_fails(env, c).map(|_| ())
        }) },
        Case { section: "config.md", name: "process.args missing refused", must: "process.args: at least one entry is REQUIRED (non-Windows); without args there is nothing to run", patch: nothing, check: Some(|env, _| {
            let mut c = env.base();
            c["process"].as_object_mut().unwrap().remove("args");
            create_fails(env, c).map(|_| ())
        }) },
        Case { section: "config.md", name: "process.args empty refused", must: "process.args: this specification extends execvp, at least one entry is REQUIRED", patch: nothing, check: Some(|env, _| {
            let mut c = env.base();
            c["process"]["args"] = json!([]);
            create_fails(env, c).map(|_| ())
        }) },
        Case { section: "config.md", name: "process.args exact argv", must: "process.args: with similar semantics to execvp's argv (spaces and empty strings kept)", patch: |c, _| {
            c["process"]["args"].as_array_mut().unwrap().extend([json!("two words"), json!(""), json!("x=y")]);
        }, check: None },
        Case { section: "config.md", name: "process.args found through PATH", must: "process.args[0]: a relative executable is searched in the container's $PATH", patch: nothing, check: Some(|env, _| {
            let mut c = env.base();
            c["process"]["env"] = json!(["PATH=/nowhere:/bin"]);
            c["process"]["args"] = json!(["busybox", "echo", "found"]);
            let (out, err) = run_output(env, c, None)?;
            let mut bad = env.base();
            bad["process"]["env"] = json!(["PATH=/nowhere"]);
            bad["process"]["args"] = json!(["busybox", "echo", "found"]);
            let wrong = run_output(env, bad, None);
            ensure(out.trim() == "found" && !wrong.as_ref().is_ok_and(|o| o.0.contains("found")), || format!("PATH=/bin: {out:?} {err:?}; PATH=/nowhere: {wrong:?}"))
        }) },
        Case { section: "config.md", name: "process.env empty value and '=' in value", must: "process.env: KEY=value, with the same semantics as environ", patch: |c, _| {
            c["process"]["env"].as_array_mut().unwrap().extend([json!("SPEC_EMPTY="), json!("SPEC_EQ=a=b=c")]);
        }, check: None },
        Case { section: "config.md", name: "process.env duplicate key", must: "process.env: KEY=value entries set in the environment (a repeated key takes its last value)", patch: |c, _| {
            c["process"]["env"].as_array_mut().unwrap().extend([json!("SPEC_DUP=first"), json!("SPEC_DUP=second")]);
        }, check: None },
        Case { section: "config.md", name: "process.cwd relative refused", must: "process.cwd: this value MUST be an absolute path", patch: nothing, check: Some(|env, _| {
            let mut c = sleeping(env);
            c["process"]["cwd"] = json!("tmp");
            create_fails(env, c).map(|_| ())
        }) },
        Case { section: "config.md", name: "user without additionalGids", must: "process.user: uid and gid apply; additionalGids only are added (none given: no supplementary groups)", patch: |c, _| {
            c["process"]["user"] = json!({"uid": 1000, "gid": 1001});
        }, check: None },
        Case { section: "config.md", name: "umask 0", must: "process.user.umask: the umask of the user", patch: |c, _| {
            c["process"]["user"]["umask"] = json!(0);
        }, check: None },
        Case { section: "config.md", name: "capabilities: bounding only", must: "process.capabilities.bounding: the bounding set (root then holds exactly it)", patch: |c, _| {
            c["process"]["capabilities"] = json!({"bounding": ["CAP_CHOWN", "CAP_KILL"]});
            c["process"]["noNewPrivileges"] = json!(false);
        }, check: None },
        Case { section: "config.md", name: "capabilities: inheritable", must: "process.capabilities.inheritable: the inheritable set", patch: |c, _| {
            let all = json!(["CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"]);
            c["process"]["capabilities"] = json!({"bounding": all, "effective": all, "permitted": all, "inheritable": ["CAP_KILL", "CAP_SETUID"]});
        }, check: None },
        Case { section: "config.md", name: "capabilities: ambient for a non-root user", must: "process.capabilities.ambient: the ambient set (kept across execve by a non-root user)", patch: |c, _| {
            let all = json!(["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
            c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
            c["process"]["noNewPrivileges"] = json!(false);
            c["process"]["capabilities"] = json!({"bounding": all, "effective": all, "permitted": all, "inheritable": all, "ambient": ["CAP_NET_BIND_SERVICE", "CAP_KILL"]});
        }, check: None },
        Case { section: "config.md", name: "capabilities: non-root without ambient", must: "process.capabilities: effective and permitted sets of a non-root user are empty after execve without ambient", patch: |c, _| {
            let all = json!(["CAP_CHOWN", "CAP_KILL"]);
            c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
            c["process"]["capabilities"] = json!({"bounding": all, "effective": all, "permitted": all});
        }, check: None },
        Case { section: "config.md", name: "capabilities: none", must: "process.capabilities: empty sets leave the process without capabilities", patch: |c, _| {
            c["process"]["capabilities"] = json!({"bounding": [], "effective": [], "permitted": [], "inheritable": [], "ambient": []});
        }, check: None },
        Case { section: "config.md", name: "capabilities: unknown name is a warning", must: "a capability that cannot be mapped MUST be logged as a warning; runtimes SHOULD NOT fail", patch: |c, _| {
            let set = json!(["CAP_KILL", "CAP_NO_SUCH_THING"]);
            c["process"]["capabilities"] = json!({"bounding": set, "effective": set, "permitted": set});
        }, check: None },
        Case { section: "config.md", name: "rlimits: every type", must: "process.rlimits: for each entry, getrlimit(3) on type MUST succeed; rlim_cur and rlim_max MUST match soft and hard", patch: |c, _| {
            let l = |t: &str, s: u64, h: u64| json!({"type": t, "soft": s, "hard": h});
            c["process"]["rlimits"] = json!([
                l("RLIMIT_CPU", 100000, 200000), l("RLIMIT_FSIZE", 1 << 40, 1 << 41), l("RLIMIT_DATA", 1 << 34, 1 << 35),
                l("RLIMIT_STACK", 8 << 20, 16 << 20), l("RLIMIT_CORE", 1024, 2048), l("RLIMIT_RSS", 1 << 33, 1 << 34),
                l("RLIMIT_NPROC", 4000, 5000), l("RLIMIT_NOFILE", 300, 400), l("RLIMIT_MEMLOCK", 65536, 131072),
                l("RLIMIT_AS", 1 << 36, 1 << 37), l("RLIMIT_LOCKS", 500, 600), l("RLIMIT_SIGPENDING", 700, 800),
                l("RLIMIT_MSGQUEUE", 409600, 819200), l("RLIMIT_NICE", 0, 0), l("RLIMIT_RTPRIO", 0, 0), l("RLIMIT_RTTIME", 1000000, 2000000)]);
        }, check: None },
        Case { section: "config.md", name: "rlimits: unlimited", must: "process.rlimits: soft and hard as given (RLIM_INFINITY)", patch: |c, _| {
            c["process"]["rlimits"] = json!([{"type": "RLIMIT_CORE", "soft": u64::MAX, "hard": u64::MAX}, {"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1024}]);
        }, check: None },
        Case { section: "config.md", name: "rlimits: duplicate type refused", must: "if rlimits contains duplicated entries with same type, the runtime MUST generate an error", patch: nothing, check: Some(|env, _| {
            let mut c = sleeping(env);
            c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 100}, {"type": "RLIMIT_NOFILE", "soft": 200, "hard": 200}]);
            create_fails(env, c).map(|_| ())
        }) },
        Case { section: "config.md", name: "rlimits: soft above hard refused", must: "if the runtime is unable to create the environment specified in config.json, it MUST generate an error", patch: nothing, check: Some(|env, _| {
            let mut c = sleeping(env);
            c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024}]);
            create_fails(env, c).map(|_| ())
        }) },
        Case { section: "config.md", name: "oomScoreAdj unset", must: "if oomScoreAdj is not set, the runtime MUST NOT change the value of oom_score_adj", patch: nothing, check: Some(|env, _| {
            // The runtime runs with oom_score_adj 123; the container keeps it.
            let b = env.bundle(sleeping(env));
            let id = env.id();
            let rt = fs::canonicalize(&env.rt).unwrap();
            let st = std::process::Command::new("/bin/sh").arg("-c")
                .arg(format!("echo 123 > /proc/self/oom_score_adj && exec {} --root {} create --bundle {} {id}", rt.display(), env.root.display(), b.display()))
                .stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).status().unwrap();
            let pid = env.state(&id).and_then(|s| s["pid"].as_i64()).unwrap_or(0);
            let got = fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).unwrap_or_default();
            cleanup(env, &id, ensure(st.success() && got.trim() == "123", || format!("create {st}; oom_score_adj {got:?}")))
        }) },
        Case { section: "config.md", name: "hostname without a UTS namespace refused", must: "hostname changes the hostname in the container UTS namespace, which may be the runtime UTS namespace: runc and runr refuse rather than rename the host", patch: nothing, check: Some(|env, _| {
            let mut c = sleeping(env);
            c["linux"]["namespaces"].as_array_mut().unwrap().retain(|n| n["type"] != "uts");
            create_fails(env, c).map(|_| ())
        }) },
        Case { section: "config.md", name: "domainname without a UTS namespace refused", must: "domainname changes the domainname in the container UTS namespace, which may be the runtime one: refused as for hostname, never set on the host", patch: nothing, check: Some(|env, _| {
            let mut c = sleeping(env);
            c.as_object_mut().unwrap().remove("hostname");
            c["domainname"] = json!("spec.example");
            c["linux"]["namespaces"].as_array_mut().unwrap().retain(|n| n["type"] != "uts");
            create_fails(env, c).map(|_| ())
        }) },
        Case { section: "config.md", name: "terminal false keeps the runtime's stdio", must: "process.terminal false: no terminal; the process uses the stdio the runtime was given", patch: nothing, check: Some(|env, _| {
            let input = env.dir.join(format!("stdin-{}", env.id()));
            fs::write(&input, "from stdin\n").unwrap();
            let mut c = env.base();
            c["process"]["args"] = json!(["sh", "-c", "read l; echo \"out:$l\"; echo err >&2; test -t 0 || test -t 1 || echo notty"]);
            let (out, err) = run_output(env, c, Some(&input))?;
            ensure(out == "out:from stdin\nnotty\n" && err.trim() == "err", || format!("stdout {out:?} stderr {err:?}"))
        }) },
        Case { section: "config.md", name: "process missing refused", must: "start MUST generate an error if process was not set (create may refuse it first)", patch: nothing, check: Some(|env, _| {
            let mut c = env.base();
            c.as_object_mut().unwrap().remove("process");
            let b = env.bundle(c);
            let id = env.id();
            let cr = env.rt(&["create", "--bundle", b.to_str().unwrap(), &id]).code;
            let st = if cr == 0 { env.rt(&["start", &id]).code } else { 1 };
            cleanup(env, &id, ensure(cr != 0 || st != 0, || "create and start both exited 0".into()))
        }) },
        Case { section: "config.md", name: "scheduler", must: "process.scheduler: the scheduler properties (policy, nice) set with sched_setattr(2)", patch: |c, _| {
            c["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 7});
        }, check: None },
        Case { section: "config.md", name: "scheduler idle", must: "process.scheduler.policy: SCHED_IDLE is a valid policy", patch: |c, _| {
            c["process"]["scheduler"] = json!({"policy": "SCHED_IDLE"});
        }, check: None },
        Case { section: "config.md", name: "ioPriority", must: "process.ioPriority: class and priority applied with ioprio_set(2)", patch: |c, _| {
            c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 6});
        }, check: None },
        Case { section: "config.md", name: "execCPUAffinity final", must: "process.execCPUAffinity.final: the CPUs the process runs on after joining the container's cgroup", patch: |c, _| {
            c["process"]["execCPUAffinity"] = json!({"final": "0"});
        }, check: None },
    ]
}
