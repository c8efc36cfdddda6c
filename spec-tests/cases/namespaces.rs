//! config-linux.md Namespaces, User namespace mappings, Offset for Time
//! Namespace. Case names carry the namespace type the check runs on.

use std::fs;

use serde_json::{json, Value};

use super::scenario::{all, config, create, refused, Holder};
use crate::harness::*;

const S: &str = "config-linux.md namespaces";

/// The /proc/PID/ns entry of a config namespace type.
fn proc_name(typ: &str) -> &str {
    match typ {
        "network" => "net",
        "mount" => "mnt",
        t => t,
    }
}

fn me() -> i64 {
    std::process::id() as i64
}

/// Adds a namespace entry (and what it needs to be valid) to `c`.
fn add_ns(c: &mut Value, entry: Value) {
    let typ = entry["type"].as_str().unwrap_or("").to_string();
    let list = c["linux"]["namespaces"].as_array_mut().unwrap();
    list.retain(|n| n["type"] != typ.as_str());
    let joined = entry.get("path").is_some();
    list.push(entry);
    if typ == "user" && !joined {
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    }
}

/// "new TYPE namespace": a listed type without a path is a new namespace.
fn new_ns(env: &Env, name: &str) -> Result<(), String> {
    let typ = name.split(' ').nth(1).unwrap();
    let r = create(env, config(env, |c| add_ns(c, json!({"type": typ}))))?;
    let p = proc_name(typ);
    let (theirs, ours) = (ns_of(r.pid, p), ns_of(me(), p));
    if theirs.is_empty() || theirs == ours {
        return Err(format!(
            "{p} namespace {theirs:?} is the runtime's {ours:?}"
        ));
    }
    Ok(())
}

/// "TYPE namespace joined by path": the container joins a namespace that
/// a helper process (unshare) holds.
fn joined_ns(env: &Env, name: &str) -> Result<(), String> {
    let typ = name.split(' ').next().unwrap();
    let flags: &[&str] = match typ {
        "pid" => &["--pid"],
        "network" => &["--net"],
        "ipc" => &["--ipc"],
        "uts" => &["--uts"],
        "mount" => &["--mount"],
        "user" => &["--user"],
        "cgroup" => &["--cgroup"],
        _ => &["--time"],
    };
    let h = Holder::start(flags)?;
    let path = match typ {
        "pid" | "time" => h.ns(&format!("{typ}_for_children")),
        t => h.ns(proc_name(t)),
    };
    let want = fs::read_link(&path).map_err(|e| format!("{path}: {e}"))?;
    let r = create(
        env,
        config(env, |c| add_ns(c, json!({"type": typ, "path": path}))),
    )?;
    let got = ns_of(r.pid, proc_name(typ));
    if got == want.display().to_string() {
        Ok(())
    } else {
        Err(format!("container is in {got:?}, the path names {want:?}"))
    }
}

/// Leaves out what runc 1.1.5 refuses without a mount namespace of the
/// container's own (masked and readonly paths: "unable to restrict sys
/// entries"), and the hostname, which needs a UTS namespace.
fn no_private_mounts(c: &mut Value) {
    let o = c.as_object_mut().unwrap();
    o.remove("hostname");
    let l = o["linux"].as_object_mut().unwrap();
    l.remove("maskedPaths");
    l.remove("readonlyPaths");
}

/// A container with `namespaces` only is in the runtime's namespace of
/// each of `names` (/proc/PID/ns entries).
fn inherited(env: &Env, namespaces: Value, names: &[&str]) -> Result<(), String> {
    let r = create(
        env,
        config(env, |c| {
            c["linux"]["namespaces"] = namespaces;
            no_private_mounts(c);
        }),
    )?;
    let facts: Vec<(bool, String)> = names
        .iter()
        .map(|n| {
            (
                ns_of(r.pid, n) == ns_of(me(), n),
                format!("{n} differs from the runtime's"),
            )
        })
        .collect();
    all(&facts)
}

fn refuse_ns(env: &Env, entries: Value) -> Result<(), String> {
    refused(env, config(env, |c| c["linux"]["namespaces"] = entries))
}

pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for typ in [
        "pid", "network", "ipc", "uts", "mount", "user", "cgroup", "time",
    ] {
        v.push(Case {
            section: S,
            name: Box::leak(format!("new {typ} namespace").into_boxed_str()),
            must: "if path is not specified, the runtime MUST create a new container namespace of type type",
            patch: sleeper,
            check: Some(new_ns),
        });
    }
    for typ in [
        "pid", "network", "ipc", "uts", "mount", "user", "cgroup", "time",
    ] {
        v.push(Case {
            section: S,
            name: Box::leak(format!("{typ} namespace joined by path").into_boxed_str()),
            must: "the runtime MUST place the container process in the namespace associated with that path",
            patch: sleeper,
            check: Some(joined_ns),
        });
    }
    v.extend([
        Case {
            section: S,
            name: "unlisted namespaces are the runtime's",
            must: "if a namespace type is not specified in the namespaces array, the container MUST inherit the runtime namespace of that type",
            patch: sleeper,
            check: Some(|env, _| {
                inherited(env, json!([{"type": "mount"}]), &["pid", "net", "ipc", "uts", "cgroup", "user", "time"])
            }),
        },
        Case {
            section: S,
            name: "no namespace listed: the mount namespace is the runtime's too",
            must: "if a namespace type is not specified in the namespaces array, the container MUST inherit the runtime namespace of that type",
            patch: sleeper,
            check: Some(|env, _| {
                inherited(env, json!([]), &["mnt", "pid", "net", "ipc", "uts", "cgroup", "user", "time"])
            }),
        },
        Case {
            section: S,
            name: "no mount namespace: delete leaves no mount under the rootfs",
            must: "deleting a container MUST delete the resources that were created during the create step (runtime.md)",
            patch: sleeper,
            check: Some(|env, _| {
                let under = || {
                    fs::read_to_string("/proc/self/mountinfo")
                        .unwrap_or_default()
                        .lines()
                        .filter_map(|l| l.split(' ').nth(4).map(String::from))
                        .filter(|m| std::path::Path::new(m).starts_with(&env.rootfs))
                        .collect::<Vec<_>>()
                };
                let before = under();
                let r = create(env, config(env, |c| {
                    c["linux"]["namespaces"] = json!([{"type": "pid"}]);
                    no_private_mounts(c);
                }))?;
                if under().len() <= before.len() {
                    return Err("no mount of the container's under the rootfs while it exists".into());
                }
                let o = env.rt(&["delete", "--force", &r.id]);
                if o.code != 0 {
                    return Err(format!("delete failed: {}", o.stderr.trim()));
                }
                let after = under();
                if after != before {
                    return Err(format!("left mounted after delete: {:?}", after.iter().filter(|m| !before.contains(m)).collect::<Vec<_>>()));
                }
                Ok(())
            }),
        },
        Case {
            section: S,
            name: "no mount namespace: mounts, masked and readonly paths, read-only root",
            must: "if a namespace type is not specified in the namespaces array, the container MUST inherit the runtime namespace of that type",
            patch: |c, _| {
                c["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "uts"}]);
            },
            check: None,
        },
        Case {
            section: S,
            name: "duplicated namespace type refused",
            must: "if a namespaces field contains duplicated namespaces with same type, the runtime MUST generate an error",
            patch: nothing,
            check: Some(|env, _| {
                refuse_ns(env, json!([{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "network"}, {"type": "network"}]))
            }),
        },
        Case {
            section: S,
            name: "duplicated type, one with a path, refused",
            must: "if a namespaces field contains duplicated namespaces with same type, the runtime MUST generate an error",
            patch: nothing,
            check: Some(|env, _| {
                refuse_ns(env, json!([{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "ipc"}, {"type": "ipc", "path": "/proc/self/ns/ipc"}]))
            }),
        },
        Case {
            section: S,
            name: "wrong-type namespace path refused",
            must: "the runtime MUST generate an error if path is not associated with a namespace of type type",
            patch: nothing,
            check: Some(|env, _| {
                refuse_ns(env, json!([{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "network", "path": "/proc/self/ns/ipc"}]))
            }),
        },
        Case {
            section: S,
            name: "path to a file that is no namespace refused",
            must: "the runtime MUST generate an error if path is not associated with a namespace of type type",
            patch: nothing,
            check: Some(|env, _| {
                let f = env.dir.join("not-a-namespace");
                fs::write(&f, "x").map_err(|e| e.to_string())?;
                refuse_ns(env, json!([{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "ipc", "path": f}]))
            }),
        },
        Case {
            section: S,
            name: "missing namespace path refused",
            must: "the runtime MUST generate an error if path is not associated with a namespace of type type",
            patch: nothing,
            check: Some(|env, _| {
                refuse_ns(env, json!([{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "network", "path": "/proc/0/ns/net-missing"}]))
            }),
        },
        Case {
            section: S,
            name: "uid and gid mappings, several ranges",
            must: "uidMappings/gidMappings: containerID, hostID and size of each range mapped into the user namespace",
            patch: |c, _| {
                add_ns(c, json!({"type": "user"}));
                c["linux"]["uidMappings"] = json!([
                    {"containerID": 0, "hostID": 100000, "size": 1000},
                    {"containerID": 1000, "hostID": 201000, "size": 500},
                    {"containerID": 5000, "hostID": 305000, "size": 10}]);
                c["linux"]["gidMappings"] = json!([
                    {"containerID": 0, "hostID": 110000, "size": 100},
                    {"containerID": 100, "hostID": 120100, "size": 900}]);
            },
            check: None,
        },
        Case {
            section: S,
            name: "container user mapped to its host id",
            must: "uidMappings: hostID is the starting uid on the host to be mapped to containerID",
            patch: sleeper,
            check: Some(|env, _| {
                let r = create(env, config(env, |c| {
                    add_ns(c, json!({"type": "user"}));
                    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 2000}]);
                    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 140000, "size": 2000}]);
                    c["process"]["user"] = json!({"uid": 1000, "gid": 1001});
                }))?;
                let st = fs::read_to_string(format!("/proc/{}/status", r.pid)).unwrap_or_default();
                let field = |k: &str| st.lines().find_map(|l| l.strip_prefix(k)).unwrap_or("").split_whitespace().next().unwrap_or("").to_string();
                let (u, g) = (field("Uid:"), field("Gid:"));
                all(&[(u == "101000", format!("host uid {u}, wanted 101000")), (g == "141001", format!("host gid {g}, wanted 141001"))])
            }),
        },
        Case {
            section: S,
            name: "time namespace offsets",
            must: "timeOffsets sets the offset of each clock (secs, nanosecs) in the time namespace",
            patch: sleeper,
            check: Some(|env, _| {
                let r = create(env, config(env, |c| {
                    add_ns(c, json!({"type": "time"}));
                    c["linux"]["timeOffsets"] = json!({"monotonic": {"secs": 1000, "nanosecs": 0}, "boottime": {"secs": 2000, "nanosecs": 500}});
                }))?;
                let offs = fs::read_to_string(format!("/proc/{}/timens_offsets", r.pid)).unwrap_or_default();
                let has = |clock: &str, num: &str, secs: &str, ns: &str| {
                    offs.lines().any(|l| {
                        let f: Vec<&str> = l.split_whitespace().collect();
                        f.len() == 3 && (f[0] == clock || f[0] == num) && f[1] == secs && f[2] == ns
                    })
                };
                all(&[
                    (has("monotonic", "1", "1000", "0"), format!("monotonic: {offs:?}")),
                    (has("boottime", "7", "2000", "500"), format!("boottime: {offs:?}")),
                ])
            }),
        },
    ]);
    v
}
