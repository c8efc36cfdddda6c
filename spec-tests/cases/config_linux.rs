//! config-linux.md: namespaces, maps, devices, sysctl, masked/readonly paths, cgroups, seccomp, personality, time.

use crate::harness::*;
use serde_json::json;
use std::{fs, path::Path};

pub fn cases() -> Vec<Case> {
    vec![
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
    ]
}
