//! config.md: process, root, mounts, hostname, annotations.

use crate::harness::*;
use serde_json::json;

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
    ]
}
