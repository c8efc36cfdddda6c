//! New namespaces, joined namespaces, user and time namespaces.

use serde_json::json;

use crate::common::{status_field, Ctx};

fn ns_link(pid: i32, ns: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{ns}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn new_namespaces_differ_from_the_host() {
    let ctx = Ctx::new("newns");
    let (id, pid) = ctx.start(&ctx.config("sleep 1000"));
    let me = std::process::id() as i32;
    for ns in ["pid", "net", "ipc", "uts", "mnt"] {
        assert_ne!(
            ns_link(pid, ns),
            ns_link(me, ns),
            "{ns} namespace is the host's"
        );
    }
    assert_eq!(ns_link(pid, "user"), ns_link(me, "user"));
    ctx.runr(&["delete", "-f", &id]).ok();
}

#[test]
fn joined_namespaces_are_shared() {
    let ctx = Ctx::new("joinns");
    let (sandbox, spid) = ctx.start(&ctx.config("sleep 1000"));
    let mut c = ctx.config("for n in net uts ipc; do readlink /proc/self/ns/$n; done; hostname");
    c["linux"]["namespaces"] = json!([
        {"type": "pid"}, {"type": "mount"},
        {"type": "network", "path": format!("/proc/{spid}/ns/net")},
        {"type": "uts", "path": format!("/proc/{spid}/ns/uts")},
        {"type": "ipc", "path": format!("/proc/{spid}/ns/ipc")}
    ]);
    c.as_object_mut().unwrap().remove("hostname");
    let out = ctx.run_config(&c).ok().stdout;
    let want = format!(
        "{}\n{}\n{}\nrunr\n",
        ns_link(spid, "net"),
        ns_link(spid, "uts"),
        ns_link(spid, "ipc")
    );
    assert_eq!(out, want);
    ctx.runr(&["delete", "-f", &sandbox]).ok();
}

#[test]
fn joined_pid_namespace() {
    let ctx = Ctx::new("joinpid");
    let (sandbox, spid) = ctx.start(&ctx.config("sleep 1000"));
    let mut c = ctx.config("readlink /proc/self/ns/pid; echo $$");
    c["linux"]["namespaces"] =
        json!([{"type": "mount"}, {"type": "pid", "path": format!("/proc/{spid}/ns/pid")}]);
    c.as_object_mut().unwrap().remove("hostname");
    let out = ctx.run_config(&c).ok().stdout;
    let mut l = out.lines();
    assert_eq!(l.next().unwrap(), ns_link(spid, "pid"));
    assert_ne!(
        l.next().unwrap(),
        "1",
        "a joined pid namespace already has its pid 1"
    );
    ctx.runr(&["delete", "-f", &sandbox]).ok();
}

#[test]
fn user_namespace_maps_root_to_100000() {
    let ctx = Ctx::new("userns");
    let mut c = ctx.config("id -u; cat /proc/self/uid_map; sleep 1000");
    Ctx::with_userns(&mut c);
    let (id, pid) = ctx.start(&c);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(
        status_field(&status, "Uid").starts_with("100000\t100000"),
        "{status}"
    );
    assert!(
        status_field(&status, "Gid").starts_with("100000\t100000"),
        "{status}"
    );
    assert_ne!(
        ns_link(pid, "user"),
        ns_link(std::process::id() as i32, "user")
    );
    ctx.runr(&["delete", "-f", &id]).ok();
    ctx.assert_gone(&id);
}

#[test]
fn time_namespace_offsets_apply() {
    let ctx = Ctx::new("timens");
    let mut c = ctx.config("cut -d. -f1 /proc/uptime");
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "time"}));
    c["linux"]["timeOffsets"] = json!({"boottime": {"secs": 864000000, "nanosecs": 0}});
    let out = ctx.run_config(&c).ok().stdout;
    let up: u64 = out.trim().parse().unwrap();
    assert!(up >= 864000000, "uptime {up} lacks the offset");
}

#[test]
fn cgroup_namespace_shows_the_container_cgroup_as_root() {
    let ctx = Ctx::new("cgns");
    let mut c = ctx.config("grep pids /proc/self/cgroup");
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "cgroup"}));
    let out = ctx.run_config(&c).ok().stdout;
    assert!(out.trim().ends_with(":pids:/"), "{out}");
}

#[test]
fn joined_user_namespace_owns_the_new_ones() {
    let ctx = Ctx::new("joinuser");
    let mut c = ctx.config("sleep 1000");
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    let (sandbox, spid) = ctx.start(&c);
    let mut c = ctx.config("sleep 1000");
    c["linux"]["namespaces"] = json!([
        {"type": "pid"}, {"type": "mount"}, {"type": "uts"},
        {"type": "user", "path": format!("/proc/{spid}/ns/user")},
        {"type": "network", "path": format!("/proc/{spid}/ns/net")},
        {"type": "ipc", "path": format!("/proc/{spid}/ns/ipc")}
    ]);
    let (id, pid) = ctx.start(&c);
    assert_eq!(ns_link(pid, "user"), ns_link(spid, "user"));
    assert_eq!(ns_link(pid, "net"), ns_link(spid, "net"));
    assert_ne!(ns_link(pid, "pid"), ns_link(spid, "pid"));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(
        status_field(&status, "Uid").starts_with("200000\t"),
        "{status}"
    );
    ctx.runr(&["delete", "-f", &id]).ok();
    ctx.runr(&["delete", "-f", &sandbox]).ok();
    ctx.assert_gone(&id);
}

/// A veth pair made for a test, removed when dropped (if still there).
struct Veth(String, String);

impl Veth {
    fn new(tag: &str) -> Veth {
        let n = std::process::id() % 100_000;
        let (a, b) = (format!("rr{tag}{n}a"), format!("rr{tag}{n}b"));
        let ok = std::process::Command::new("ip")
            .args(["link", "add", &a, "type", "veth", "peer", "name", &b])
            .status()
            .unwrap()
            .success();
        assert!(ok, "ip link add veth (iproute2) failed");
        Veth(a, b)
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        for n in [&self.0, &self.1] {
            let _ = std::process::Command::new("ip")
                .args(["link", "del", n])
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

#[test]
fn net_device_moves_in_renamed_with_its_address() {
    let ctx = Ctx::new("netdev");
    let v = Veth::new("n");
    let ip = |args: &[&str]| {
        assert!(std::process::Command::new("ip")
            .args(args)
            .status()
            .unwrap()
            .success())
    };
    // 192.0.2.0/24 is the documentation range: nothing is sent anywhere.
    ip(&["addr", "add", "192.0.2.7/24", "dev", &v.0]);
    ip(&["link", "set", &v.0, "up"]);
    let mut c = ctx.config(
        "ip -o addr show eth7 | grep -o 'inet [0-9./]*'; ip -o link show eth7 | grep -c ',UP'",
    );
    c["linux"]["netDevices"] = json!({ v.0.clone(): {"name": "eth7"} });
    let out = ctx.run_config(&c).ok().stdout;
    assert_eq!(out, "inet 192.0.2.7/24\n1\n");
    // Missing devices, and netDevices without a network namespace, fail cleanly.
    let mut c = ctx.config("true");
    c["linux"]["netDevices"] = json!({"rrnosuchdev0": {}});
    let out = ctx.run_config(&c);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("network device \\\"rrnosuchdev0\\\" not found"),
        "{out:?}"
    );
    let mut c = ctx.config("true");
    c["linux"]["netDevices"] = json!({ v.1.clone(): {} });
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "network");
    let out = ctx.run_config(&c);
    assert!(
        out.code == 1 && out.stderr.contains("needs a network namespace"),
        "{out:?}"
    );
    assert!(std::fs::read_dir(&ctx.root).unwrap().next().is_none());
}
