//! Each config.json field, checked from inside the container.

use serde_json::json;

use crate::common::{status_field, Ctx};

#[test]
fn hostname_pid1_and_default_mounts() {
    let ctx = Ctx::new("basics");
    let out = ctx
        .run_script("hostname; echo pid=$$; cat /proc/self/mountinfo")
        .ok();
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("runr"));
    assert_eq!(lines.next(), Some("pid=1"));
    let mounts: Vec<(String, String, String)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let sep = f.iter().position(|x| *x == "-").unwrap();
            (f[4].to_string(), f[5].to_string(), f[sep + 1].to_string())
        })
        .collect();
    let find = |dest: &str| {
        mounts
            .iter()
            .find(|m| m.0 == dest)
            .unwrap_or_else(|| panic!("{dest} not mounted: {mounts:?}"))
    };
    assert!(find("/").1.starts_with("ro"), "root must be read-only");
    assert_eq!(find("/proc").2, "proc");
    assert_eq!(find("/dev").2, "tmpfs");
    assert_eq!(find("/dev/pts").2, "devpts");
    assert_eq!(find("/dev/shm").2, "tmpfs");
    assert_eq!(find("/dev/mqueue").2, "mqueue");
    assert_eq!(find("/sys").2, "sysfs");
    assert!(find("/sys").1.starts_with("ro"));
    assert!(find("/sys/fs/cgroup/pids").1.starts_with("ro"));
    assert!(find("/proc/sys").1.starts_with("ro"));
}

#[test]
fn devices_and_dev_links() {
    let ctx = Ctx::new("devs");
    let out = ctx
        .run_script("ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty | cut -c1-10,30-45; for l in fd stdin ptmx; do readlink /dev/$l; done; echo x > /dev/null && echo null-ok")
        .ok();
    for l in out.stdout.lines().take(6) {
        assert!(l.starts_with("crw-rw-rw-"), "{l}");
    }
    assert!(
        out.stdout
            .contains("/proc/self/fd\n/proc/self/fd/0\npts/ptmx\nnull-ok"),
        "{}",
        out.stdout
    );
}

#[test]
fn masked_and_readonly_paths() {
    let ctx = Ctx::new("masked");
    let out = ctx
        .run_script(
            "wc -c < /proc/keys; ls /sys/firmware | wc -l; echo x > /proc/sys/kernel/domainname 2>/dev/null && echo WROTE; touch /newfile 2>/dev/null && echo ROOTRW; echo done",
        )
        .ok();
    assert_eq!(out.stdout, "0\n0\ndone\n");
}

#[test]
fn default_capabilities() {
    let ctx = Ctx::new("caps");
    let out = ctx.run_script("cat /proc/self/status").ok().stdout;
    // CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29)
    let want = format!("{:016x}", (1u64 << 5) | (1 << 10) | (1 << 29));
    assert_eq!(status_field(&out, "CapEff"), want);
    assert_eq!(status_field(&out, "CapPrm"), want);
    assert_eq!(status_field(&out, "CapBnd"), want);
    assert_eq!(status_field(&out, "CapInh"), "0000000000000000");
    assert_eq!(status_field(&out, "NoNewPrivs"), "1");
}

#[test]
fn all_five_capability_sets() {
    let ctx = Ctx::new("caps5");
    let mut c = ctx.config("cat /proc/self/status");
    let set = json!(["CAP_SYS_ADMIN", "CAP_CHOWN"]);
    c["process"]["capabilities"] = json!({
        "bounding": set, "effective": set, "permitted": set, "inheritable": set, "ambient": ["CAP_CHOWN"]
    });
    c["process"]["noNewPrivileges"] = json!(false);
    let out = ctx.run_config(&c).ok().stdout;
    let want = format!("{:016x}", (1u64 << 21) | 1);
    for k in ["CapEff", "CapPrm", "CapBnd", "CapInh"] {
        assert_eq!(status_field(&out, k), want, "{k}");
    }
    assert_eq!(status_field(&out, "CapAmb"), "0000000000000001");
    assert_eq!(status_field(&out, "NoNewPrivs"), "0");
}

#[test]
fn user_groups_umask_cwd_env() {
    let ctx = Ctx::new("user");
    let mut c = ctx.config("cat /proc/self/status; umask; pwd; echo FOO=$FOO");
    c["process"]["user"] =
        json!({"uid": 1000, "gid": 1001, "additionalGids": [10, 20], "umask": 63});
    c["process"]["cwd"] = json!("/tmp");
    c["process"]["env"] = json!(["PATH=/bin", "FOO=bar baz"]);
    let out = ctx.run_config(&c).ok().stdout;
    assert!(
        status_field(&out, "Uid").starts_with("1000\t1000\t1000"),
        "{out}"
    );
    assert!(
        status_field(&out, "Gid").starts_with("1001\t1001\t1001"),
        "{out}"
    );
    assert_eq!(status_field(&out, "Groups"), "10 20");
    assert_eq!(
        status_field(&out, "CapEff"),
        "0000000000000000",
        "a non-root user keeps no effective caps"
    );
    assert!(out.contains("\n0077\n/tmp\nFOO=bar baz\n"), "{out}");
}

#[test]
fn rlimits_and_oom_score_adj() {
    let ctx = Ctx::new("rlimits");
    let mut c = ctx.config("ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj");
    c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000}]);
    c["process"]["oomScoreAdj"] = json!(123);
    assert_eq!(ctx.run_config(&c).ok().stdout, "512\n1000\n123\n");
}

#[test]
fn sysctl_domainname_and_tmpfs_options() {
    let ctx = Ctx::new("sysctl");
    let mut c = ctx.config("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/domainname; stat -c '%a' /scratch; grep ' /scratch ' /proc/self/mountinfo");
    c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
    c["domainname"] = json!("example.org");
    c["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=700", "size=1m"]
    }));
    let out = ctx.run_config(&c).ok().stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..3], ["1", "example.org", "700"]);
    assert!(
        lines[3].contains("nosuid,nodev") && lines[3].contains("size=1024k"),
        "{}",
        lines[3]
    );
}

#[test]
fn bind_mounts_read_only_and_read_write() {
    let ctx = Ctx::new("bind");
    let host = ctx.dir.join("hostdata");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("hello"), "from host\n").unwrap();
    let rw = ctx.dir.join("rw");
    std::fs::create_dir_all(&rw).unwrap();
    let mut c = ctx
        .config("cat /data/hello; touch /data/x 2>/dev/null || echo ro-ok; echo written > /out/f");
    let m = c["mounts"].as_array_mut().unwrap();
    m.push(json!({"destination": "/data", "type": "bind", "source": host, "options": ["rbind", "ro", "nosuid"]}));
    m.push(json!({"destination": "/out", "type": "none", "source": rw, "options": ["bind"]}));
    assert_eq!(ctx.run_config(&c).ok().stdout, "from host\nro-ok\n");
    assert_eq!(std::fs::read_to_string(rw.join("f")).unwrap(), "written\n");
    assert!(!host.join("x").exists());
}

#[test]
fn overlay_mount_stacks_layers() {
    let ctx = Ctx::new("overlay");
    let (lower, upper, work) = (
        ctx.dir.join("lower"),
        ctx.dir.join("upper"),
        ctx.dir.join("work"),
    );
    for d in [&lower, &upper, &work] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(lower.join("layer"), "lower\n").unwrap();
    let mut c = ctx.config("cat /ov/layer; echo new > /ov/added");
    c["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/ov", "type": "overlay", "source": "overlay",
        "options": [format!("lowerdir={}", lower.display()), format!("upperdir={}", upper.display()), format!("workdir={}", work.display())]
    }));
    assert_eq!(ctx.run_config(&c).ok().stdout, "lower\n");
    assert_eq!(
        std::fs::read_to_string(upper.join("added")).unwrap(),
        "new\n"
    );
}

#[test]
fn linux_devices_are_created_and_allowed() {
    let ctx = Ctx::new("lnxdev");
    let mut c = ctx.config("ls -l /dev/fuse | cut -c1-10; stat -c '%t:%T %u:%g' /dev/fuse; echo x > /dev/fuse 2>&1 | grep -q 'not permitted' && echo denied || echo allowed");
    c["linux"]["devices"] = json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o640, "uid": 7, "gid": 8}]);
    let out = ctx.run_config(&c).ok().stdout;
    assert_eq!(out, "crw-r-----\na:e5 7:8\nallowed\n");
}

#[test]
fn device_cgroup_denies_what_is_not_allowed() {
    let ctx = Ctx::new("devcg");
    // mknod is allowed (c *:* m) but opening an unlisted device is not.
    let mut c = ctx.config("mknod /dev/mem2 c 1 1 && (head -c1 /dev/mem2 >/dev/null 2>&1 && echo opened || echo denied)");
    c["process"]["capabilities"]["bounding"]
        .as_array_mut()
        .unwrap()
        .push(json!("CAP_MKNOD"));
    c["process"]["capabilities"]["effective"]
        .as_array_mut()
        .unwrap()
        .push(json!("CAP_MKNOD"));
    c["process"]["capabilities"]["permitted"]
        .as_array_mut()
        .unwrap()
        .push(json!("CAP_MKNOD"));
    let out = ctx.run_config(&c).ok();
    assert_eq!(out.stdout, "denied\n");
}

#[test]
fn annotations_are_in_state() {
    let ctx = Ctx::new("annot");
    let mut c = ctx.config("sleep 1000");
    c["annotations"] = json!({"org.example/key": "value"});
    let (id, _) = ctx.start(&c);
    assert_eq!(ctx.state(&id)["annotations"]["org.example/key"], "value");
    ctx.runr(&["delete", "-f", &id]).ok();
}

#[test]
fn idmapped_bind_mount_shows_mapped_owners() {
    let ctx = Ctx::new("idmap");
    let host = ctx.dir.join("idm");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("f"), "x").unwrap();
    let mut c = ctx.config("stat -c '%u:%g' /idm/f /plain/f");
    let m = c["mounts"].as_array_mut().unwrap();
    m.push(
        json!({"destination": "/idm", "type": "bind", "source": host, "options": ["rbind"],
        "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
        "gidMappings": [{"containerID": 0, "hostID": 2000, "size": 1}]}),
    );
    m.push(json!({"destination": "/plain", "type": "bind", "source": host, "options": ["rbind"]}));
    assert_eq!(ctx.run_config(&c).ok().stdout, "1000:2000\n0:0\n");
    // idmap with no mappings needs a container user namespace.
    let mut c = ctx.config("true");
    c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/idm", "type": "bind", "source": host, "options": ["bind", "idmap"]}));
    let out = ctx.run_config(&c);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("idmap mount needs uidMappings"),
        "{out:?}"
    );
}

#[test]
fn recursive_read_only_bind() {
    let ctx = Ctx::new("rro");
    let host = ctx.dir.join("rrosrc");
    std::fs::create_dir_all(&host).unwrap();
    let mut c = ctx.config("touch /r/x 2>&1; grep ' /r ' /proc/self/mountinfo | cut -d' ' -f6");
    c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/r", "type": "bind", "source": host, "options": ["rbind", "rro", "rnosuid"]}));
    let out = ctx.run_config(&c).ok().stdout;
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(
        out.trim_end().ends_with("ro,nosuid,relatime") || out.contains("ro,nosuid"),
        "{out}"
    );
    assert!(!host.join("x").exists());
}

#[test]
fn tmpcopyup_starts_the_tmpfs_with_the_directory_contents() {
    let ctx = Ctx::new("copyup");
    let mut c = ctx.config("cat /etc/passwd; ls -l /etc/group | cut -c1-10; echo new > /etc/added && echo writable; grep ' /etc ' /proc/self/mountinfo | cut -d' ' -f9");
    c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/etc", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "mode=755"]}));
    let out = ctx.run_config(&c).ok().stdout;
    assert_eq!(
        out,
        "root:x:0:0:root:/root:/bin/sh\n-rw-r--r--\nwritable\ntmpfs\n"
    );
}

#[test]
fn rootfs_propagation_is_set_on_the_container_root() {
    // The optional fields of / in mountinfo: "shared:N" for shared, the word
    // "unbindable" for unbindable (proc(5)).
    for (prop, want) in [("shared", "shared:"), ("unbindable", "unbindable")] {
        let ctx = Ctx::new("rootprop");
        let mut c = ctx.config("awk '$5 == \"/\" {print}' /proc/self/mountinfo");
        c["linux"]["rootfsPropagation"] = json!(prop);
        let out = ctx.run_config(&c).ok().stdout;
        let fields: Vec<&str> = out
            .split(" - ")
            .next()
            .unwrap()
            .split(' ')
            .skip(6)
            .collect();
        assert!(
            fields.iter().any(|f| f.starts_with(want)),
            "{prop}: / has {fields:?} in {out:?}"
        );
    }
}

#[test]
fn capabilities_runr_cannot_grant_are_a_warning() {
    // Every capability the kernel knows, in every set. Those runr's own
    // bounding set lacks (a restricted host) are left out with a warning;
    // the container gets all the others.
    let ctx = Ctx::new("capsall");
    let own = status_field(
        &std::fs::read_to_string("/proc/self/status").unwrap(),
        "CapBnd",
    );
    let own = u64::from_str_radix(&own, 16).unwrap();
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    const NAMES: [&str; 41] = [
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "LINUX_IMMUTABLE",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_ADMIN",
        "NET_RAW",
        "IPC_LOCK",
        "IPC_OWNER",
        "SYS_MODULE",
        "SYS_RAWIO",
        "SYS_CHROOT",
        "SYS_PTRACE",
        "SYS_PACCT",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_NICE",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "MKNOD",
        "LEASE",
        "AUDIT_WRITE",
        "AUDIT_CONTROL",
        "SETFCAP",
        "MAC_OVERRIDE",
        "MAC_ADMIN",
        "SYSLOG",
        "WAKE_ALARM",
        "BLOCK_SUSPEND",
        "AUDIT_READ",
        "PERFMON",
        "BPF",
        "CHECKPOINT_RESTORE",
    ];
    let all: Vec<String> = NAMES[..=last.min(40) as usize]
        .iter()
        .map(|n| format!("CAP_{n}"))
        .collect();
    let mut c = ctx.config("cat /proc/self/status");
    c["process"]["capabilities"] =
        json!({"bounding": all, "effective": all, "permitted": all, "inheritable": all});
    let out = ctx.run_config(&c).ok();
    let want = own & ((1u64 << (last.min(40) + 1)) - 1);
    for k in ["CapEff", "CapPrm", "CapBnd", "CapInh"] {
        assert_eq!(status_field(&out.stdout, k), format!("{want:016x}"), "{k}");
    }
    let missing = (0..=last.min(40)).any(|c| own & (1 << c) == 0);
    assert_eq!(
        out.stderr
            .contains("ignoring unknown or unavailable capabilities"),
        missing,
        "{out:?}"
    );
}
