//! `runr spec`: the default config.json, shaped as runc's template (not
//! oci-spec's `Spec::default()`, which differs in seven places).

use serde_json::{json, Value};

/// True when /sys/fs/cgroup is a cgroup2 mount (a unified host).
pub fn cgroup2_host() -> bool {
    crate::cgroups::is_cgroup2(std::path::Path::new("/sys/fs/cgroup"))
}

pub fn default_spec(cgroup2: bool) -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "network"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
    ];
    if cgroup2 {
        namespaces.push(json!({"type": "cgroup"}));
    }
    json!({
        "ociVersion": crate::container::OCI_VERSION,
        "process": {
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": caps,
                "effective": caps,
                "permitted": caps,
                "ambient": caps
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "runr",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": namespaces,
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                "/proc/scsi", "/sys/devices/virtual/powercap", "/sys/devices/virtual/tpm"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

/// `spec --rootless`, as runc makes it: the caller's uid and gid mapped to
/// root in a new user namespace, no network namespace (an unprivileged
/// user could not wire one), /sys bound from the host (sysfs cannot be
/// mounted without one), devpts without the gid=5 option (that group is
/// not mapped) and no linux.resources (no cgroup to put limits in).
pub fn to_rootless(v: &mut Value) {
    // SAFETY: geteuid and getegid cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    for m in v["mounts"].as_array_mut().into_iter().flatten() {
        match m["type"].as_str() {
            Some("devpts") => {
                if let Some(o) = m["options"].as_array_mut() {
                    o.retain(|o| o.as_str().is_none_or(|s| !s.starts_with("gid=")));
                }
            }
            Some("sysfs") => {
                *m = json!({"destination": "/sys", "type": "none", "source": "/sys",
                    "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
            }
            _ => {}
        }
    }
    let Some(old) = v["linux"].as_object_mut().map(std::mem::take) else {
        return;
    };
    let mut linux = serde_json::Map::new();
    linux.insert(
        "uidMappings".into(),
        json!([{"containerID": 0, "hostID": uid, "size": 1}]),
    );
    linux.insert(
        "gidMappings".into(),
        json!([{"containerID": 0, "hostID": gid, "size": 1}]),
    );
    for (k, mut val) in old {
        match k.as_str() {
            "resources" => continue,
            "namespaces" => {
                if let Some(ns) = val.as_array_mut() {
                    ns.retain(|n| n["type"] != "network" && n["type"] != "user");
                    ns.push(json!({"type": "user"}));
                }
            }
            _ => {}
        }
        linux.insert(k, val);
    }
    v["linux"] = Value::Object(linux);
}

/// The template as runc writes it: tab-indented JSON.
pub fn render(v: &Value) -> String {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    serde::Serialize::serialize(v, &mut ser).expect("serializing a Value cannot fail");
    String::from_utf8(out).expect("JSON is UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_is_runc_shaped_and_loads() {
        let v = default_spec(false);
        assert_eq!(v["hostname"], "runr");
        assert_eq!(v["process"]["terminal"], true);
        assert!(v["process"]["capabilities"].get("inheritable").is_none());
        assert_eq!(v["linux"]["namespaces"].as_array().unwrap().len(), 5);
        assert_eq!(
            default_spec(true)["linux"]["namespaces"]
                .as_array()
                .unwrap()
                .len(),
            6
        );
        assert_eq!(v["linux"]["resources"]["devices"][0]["allow"], false);
        let (spec, caps) = crate::config::parse(render(&v).as_bytes()).unwrap();
        assert_eq!(caps.bounding, caps.ambient);
        assert_eq!(caps.bounding.count_ones(), 3);
        assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(true));
    }

    #[test]
    fn rootless_template_maps_the_caller_and_drops_what_needs_privilege() {
        let mut v = default_spec(false);
        to_rootless(&mut v);
        let linux = v["linux"].as_object().unwrap();
        let keys: Vec<&str> = linux.keys().map(String::as_str).collect();
        assert_eq!(&keys[..3], ["uidMappings", "gidMappings", "namespaces"]);
        assert!(linux.get("resources").is_none());
        let uid = unsafe { libc::geteuid() };
        assert_eq!(v["linux"]["uidMappings"][0]["hostID"], uid);
        assert_eq!(v["linux"]["uidMappings"][0]["size"], 1);
        let ns: Vec<&str> = v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect();
        assert_eq!(ns, ["pid", "ipc", "uts", "mount", "user"]);
        let sys = v["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["destination"] == "/sys")
            .unwrap();
        assert_eq!(sys["type"], "none");
        assert_eq!(sys["options"][0], "rbind");
        let pts = v["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["type"] == "devpts")
            .unwrap();
        assert!(!pts["options"].to_string().contains("gid="));
        crate::config::parse(render(&v).as_bytes()).unwrap();
    }
}
