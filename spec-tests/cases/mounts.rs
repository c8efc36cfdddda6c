//! config.md mounts: order, each type, options checked by behaviour,
//! destinations and sources.

use super::support::*;
use crate::harness::*;
use serde_json::json;
use std::fs;
use std::process::Command;

pub fn cases() -> Vec<Case> {
    vec![
        Case { section: "config.md mounts", name: "later mount over an earlier one", must: "the runtime MUST mount entries in the listed order (the later tmpfs on /scratch is the one seen)", patch: |c, _| {
            let m = c["mounts"].as_array_mut().unwrap();
            m.push(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}));
            m.push(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=2m", "mode=700"]}));
        }, check: None },
        Case { section: "config.md mounts", name: "nested mount after its parent", must: "the runtime MUST mount entries in the listed order (a mount inside an earlier one)", patch: |c, _| {
            let m = c["mounts"].as_array_mut().unwrap();
            m.push(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}));
            m.push(json!({"destination": "/scratch/inner", "type": "tmpfs", "source": "tmpfs", "options": ["size=2m"]}));
        }, check: None },
        Case { section: "config.md mounts", name: "tmpfs size and mode", must: "mount options of the filesystem (tmpfs size=, mode=) MUST apply", patch: |c, _| {
            c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=3m", "mode=1750"]}));
        }, check: None },
        Case { section: "config.md mounts", name: "tmpfs noexec", must: "mount option noexec: an executable there does not run", patch: |c, _| {
            c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["noexec", "size=1m"]}));
        }, check: None },
        Case { section: "config.md mounts", name: "tmpfs without noexec runs programs", must: "mount options: without noexec an executable there runs", patch: |c, _| {
            c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}));
        }, check: None },
        Case { section: "config.md mounts", name: "tmpfs nodev", must: "mount option nodev: a device node there cannot be opened", patch: |c, _| {
            c["process"]["capabilities"]["bounding"].as_array_mut().unwrap().push(json!("CAP_MKNOD"));
            c["process"]["capabilities"]["effective"].as_array_mut().unwrap().push(json!("CAP_MKNOD"));
            c["process"]["capabilities"]["permitted"].as_array_mut().unwrap().push(json!("CAP_MKNOD"));
            c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["nodev", "size=1m"]}));
        }, check: None },
        Case { section: "config.md mounts", name: "tmpfs without nodev opens devices", must: "mount options: without nodev a device node there can be opened", patch: |c, _| {
            c["process"]["capabilities"]["bounding"].as_array_mut().unwrap().push(json!("CAP_MKNOD"));
            c["process"]["capabilities"]["effective"].as_array_mut().unwrap().push(json!("CAP_MKNOD"));
            c["process"]["capabilities"]["permitted"].as_array_mut().unwrap().push(json!("CAP_MKNOD"));
            c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}));
        }, check: None },
        Case { section: "config.md mounts", name: "tmpfs nosuid", must: "mount option nosuid: set-user-ID bits are ignored (statvfs ST_NOSUID)", patch: |c, _| {
            c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "size=1m"]}));
        }, check: None },
        Case { section: "config.md mounts", name: "tmpfs ro", must: "mount option ro: the mount refuses writes", patch: |c, _| {
            c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["ro", "size=1m"]}));
        }, check: None },
        Case { section: "config.md mounts", name: "devpts options", must: "mount options of devpts (mode=, ptmxmode=, gid=) MUST apply", patch: |c, _| {
            for m in c["mounts"].as_array_mut().unwrap() {
                if m["type"] == "devpts" {
                    m["options"] = json!(["nosuid", "noexec", "newinstance", "ptmxmode=0640", "mode=0600", "gid=0"]);
                }
            }
        }, check: None },
        Case { section: "config.md mounts", name: "bind shows the source", must: "bind mount: source is a directory on the host, seen at destination", patch: nothing, check: Some(|env, _| {
            let d = host_dir(env, "bindsrc");
            fs::write(d.join("marker"), "from the host\n").unwrap();
            let mut c = env.base();
            push_mount(&mut c, json!({"destination": "/data", "type": "bind", "source": d, "options": ["bind"]}));
            sh_says(env, c, "cat /data/marker", "from the host")
        }) },
        Case { section: "config.md mounts", name: "bind rw writes through", must: "bind mount with rw: writes reach the source", patch: nothing, check: Some(|env, _| {
            let d = host_dir(env, "bindrw");
            let mut c = env.base();
            push_mount(&mut c, json!({"destination": "/data", "type": "bind", "source": d, "options": ["rbind", "rw"]}));
            sh_says(env, c, "echo written > /data/new && echo ok", "ok")?;
            let got = fs::read_to_string(d.join("new")).unwrap_or_default();
            ensure(got == "written\n", || format!("source has {got:?}"))
        }) },
        Case { section: "config.md mounts", name: "bind ro refuses writes", must: "bind mount with ro: the destination refuses writes, the source is untouched", patch: nothing, check: Some(|env, _| {
            let d = host_dir(env, "bindro");
            let mut c = env.base();
            push_mount(&mut c, json!({"destination": "/data", "type": "bind", "source": d, "options": ["rbind", "ro"]}));
            sh_says(env, c, "touch /data/new 2>/dev/null && echo wrote || echo refused", "refused")?;
            ensure(!d.join("new").exists(), || "the source changed".into())
        }) },
        Case { section: "config.md mounts", name: "rbind carries submounts", must: "rbind: a recursive bind mount, submounts of the source included", patch: nothing, check: Some(|env, _| submounts(env, &["rbind"], SEES_SUB, "sub")) },
        Case { section: "config.md mounts", name: "bind leaves submounts out", must: "bind (not rbind): only the source mount, not its submounts", patch: nothing, check: Some(|env, _| submounts(env, &["bind"], SEES_SUB, "none")) },
        Case { section: "config.md mounts", name: "rro makes submounts read-only", must: "the runtime SHOULD implement the recursive option rro (mount_setattr(2) MOUNT_ATTR_RDONLY with AT_RECURSIVE)", patch: nothing, check: Some(|env, _| submounts(env, &["rbind", "rro"], WRITES_SUB, "refused")) },
        Case { section: "config.md mounts", name: "ro on rbind leaves submounts alone", must: "ro applies to the mount itself (mount(8)); only rro is recursive", patch: nothing, check: Some(|env, _| submounts(env, &["rbind", "ro"], WRITES_SUB, "wrote")) },
        Case { section: "config.md mounts", name: "rnoexec reaches submounts", must: "the runtime SHOULD implement the recursive option rnoexec", patch: nothing, check: Some(|env, _| submounts(env, &["rbind", "rnoexec"], EXECS_SUB, "refused")) },
        Case { section: "config.md mounts", name: "bind with type none", must: "a mount is a bind mount if it has either bind or rbind in the options (type none)", patch: nothing, check: Some(|env, _| typed_bind(env, Some("none"))) },
        Case { section: "config.md mounts", name: "bind without a type", must: "type (string, OPTIONAL); a mount is a bind mount if it has either bind or rbind in the options", patch: nothing, check: Some(|env, _| typed_bind(env, None)) },
        Case { section: "config.md mounts", name: "bind nosuid, nodev, noexec", must: "mount options nosuid, nodev, noexec on a bind mount (checked by behaviour)", patch: |c, env| {
            for cap in ["bounding", "effective", "permitted"] {
                c["process"]["capabilities"][cap].as_array_mut().unwrap().push(json!("CAP_MKNOD"));
            }
            let d = env.dir.join(format!("bindflags-{}", env.n.get()));
            fs::create_dir_all(&d).unwrap();
            c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/data", "type": "bind", "source": d, "options": ["rbind", "nosuid", "nodev", "noexec"]}));
        }, check: None },
        Case { section: "config.md mounts", name: "bind of a file", must: "bind mount source may be a file; the destination file is created", patch: nothing, check: Some(|env, _| {
            let d = host_dir(env, "bindfile");
            fs::write(d.join("f"), "file content\n").unwrap();
            let mut c = env.base();
            let dest = format!("/etc/spec-file-{}", env.id());
            push_mount(&mut c, json!({"destination": dest, "type": "bind", "source": d.join("f"), "options": ["bind", "ro"]}));
            sh_says(env, c, &format!("cat {dest}"), "file content")
        }) },
        Case { section: "config.md mounts", name: "missing destination created", must: "destination: path inside the container, created when it does not exist", patch: |c, env| {
            let dest = format!("/spec-new-{}/a/b", env.n.get());
            c["mounts"].as_array_mut().unwrap().push(json!({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}));
        }, check: None },
        Case { section: "config.md mounts", name: "relative destination", must: "destination: it MAY be a relative path, in which case it MUST be interpreted as relative to \"/\"", patch: |c, _| {
            c["mounts"].as_array_mut().unwrap().push(json!({"destination": "scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=2m"]}));
        }, check: None },
        Case { section: "config.md mounts", name: "bind source relative to the bundle", must: "source: path values for bind mounts are either absolute or relative to the bundle", patch: nothing, check: Some(|env, _| {
            let mut c = env.base();
            push_mount(&mut c, json!({"destination": "/data", "type": "bind", "source": "reldata", "options": ["bind"]}));
            c["process"]["args"] = json!(["sh", "-c", "cat /data/marker"]);
            let b = env.bundle(c);
            fs::create_dir_all(b.join("reldata")).unwrap();
            fs::write(b.join("reldata/marker"), "in the bundle\n").unwrap();
            let id = env.id();
            let o = env.rt(&["run", "--bundle", b.to_str().unwrap(), &id]);
            cleanup(env, &id, ensure(o.code == 0 && o.stdout.trim() == "in the bundle", || format!("run exited {}: {:?} {}", o.code, o.stdout.trim(), o.stderr.trim())))
        }) },
        Case { section: "config.md mounts", name: "unknown filesystem type refused", must: "if the runtime is unable to create the environment specified in config.json, it MUST generate an error", patch: nothing, check: Some(|env, _| {
            let mut c = sleeping(env);
            push_mount(&mut c, json!({"destination": "/scratch", "type": "no-such-fs", "source": "none"}));
            create_fails(env, c).map(|_| ())
        }) },
        Case { section: "config.md mounts", name: "missing bind source refused", must: "if the runtime is unable to create the environment specified in config.json, it MUST generate an error", patch: nothing, check: Some(|env, _| {
            let mut c = sleeping(env);
            push_mount(&mut c, json!({"destination": "/data", "type": "bind", "source": env.dir.join("no-such-source"), "options": ["bind"]}));
            create_fails(env, c).map(|_| ())
        }) },
        Case { section: "config.md mounts", name: "proc shows the container's processes", must: "mount type proc at /proc: the procfs of the container's pid namespace", patch: nothing, check: Some(|env, _| {
            sh_says(env, env.base(), "cat /proc/1/comm; true", "sh")
        }) },
        Case { section: "config.md mounts", name: "idmap mount in a user namespace", must: "uidMappings/gidMappings of a mount: ids of the source seen through the mount's mappings, also when the container has its own user namespace", patch: nothing, check: Some(idmap_in_userns) },
    ]
}

const SEES_SUB: &str = "test -e /data/sub/marker && echo sub || echo none";
const WRITES_SUB: &str = "touch /data/sub/new 2>/dev/null && echo wrote || echo refused";
const EXECS_SUB: &str = "printf '#!/bin/sh\\necho ran\\n' > /data/sub/x && chmod +x /data/sub/x && { /data/sub/x 2>/dev/null || echo refused; }";

/// A host directory with a tmpfs mounted inside it (at sub/), bound into
/// the container at /data with `opts`; `script`'s output must be `want`.
fn submounts(env: &Env, opts: &[&str], script: &str, want: &str) -> Result<(), String> {
    let d = host_dir(env, "submnt");
    let sub = d.join("sub");
    fs::create_dir_all(&sub).unwrap();
    let m = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "spec-sub"])
        .arg(&sub)
        .status();
    if !m.is_ok_and(|s| s.success()) {
        return Err("could not mount a tmpfs in the suite's temp dir".into());
    }
    // Unmounted however the case ends, a panic included.
    let _mounted = Unmount(sub.clone());
    fs::write(sub.join("marker"), "").unwrap();
    let mut c = env.base();
    push_mount(
        &mut c,
        json!({"destination": "/data", "type": "bind", "source": d, "options": opts}),
    );
    sh_says(env, c, script, want)
}

struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A bind mount given as type `typ` (or none) with the bind option.
fn typed_bind(env: &Env, typ: Option<&str>) -> Result<(), String> {
    let d = host_dir(env, "typedbind");
    fs::write(d.join("marker"), "bound\n").unwrap();
    let mut m = json!({"destination": "/data", "source": d, "options": ["rbind"]});
    if let Some(t) = typ {
        m["type"] = json!(t);
    }
    let mut c = env.base();
    push_mount(&mut c, m);
    sh_says(env, c, "cat /data/marker", "bound")
}

/// A host file owned by 1234:2345, through a mount mapped as the
/// container's user namespace (0 to 100000): seen as 1234:2345 inside; a
/// file the container's root makes there is host root's.
fn idmap_in_userns(env: &Env, _: &str) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let d = host_dir(env, "idmapns");
    fs::write(d.join("f"), "x").unwrap();
    std::os::unix::fs::chown(d.join("f"), Some(1234), Some(2345)).unwrap();
    let range = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    let mut c = env.base();
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = range.clone();
    c["linux"]["gidMappings"] = range.clone();
    push_mount(
        &mut c,
        json!({"destination": "/scratch", "type": "bind", "source": d, "options": ["rbind"], "uidMappings": range, "gidMappings": range}),
    );
    sh_says(
        env,
        c,
        "stat -c %u:%g /scratch/f; touch /scratch/made && echo made",
        "1234:2345\nmade",
    )?;
    let made = fs::metadata(d.join("made")).map(|m| (m.uid(), m.gid()));
    ensure(made.as_ref().ok() == Some(&(0, 0)), || {
        format!("the file made inside is {made:?} on the host, want (0, 0)")
    })
}
