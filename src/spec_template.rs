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
}
