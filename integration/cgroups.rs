//! Resource limits on the real (v1) hierarchy, pause/resume, update, ps,
//! events.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{runr, Ctx};

/// The container's directory in a v1 controller hierarchy.
fn cg_dir(id: &str, controller: &str) -> PathBuf {
    let found = Ctx::cgroups_named(id);
    found
        .into_iter()
        .find(|p| p.starts_with(format!("/sys/fs/cgroup/{controller}/")))
        .unwrap_or_else(|| panic!("no {controller} cgroup for {id}"))
}

fn read(p: &Path, f: &str) -> String {
    std::fs::read_to_string(p.join(f))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn limits_land_in_the_cgroup_files() {
    let ctx = Ctx::new("limits");
    let mut c = ctx.config("sleep 1000");
    c["linux"]["resources"]["memory"] =
        json!({"limit": 67108864, "reservation": 33554432, "swappiness": 10});
    c["linux"]["resources"]["pids"] = json!({"limit": 20});
    c["linux"]["resources"]["cpu"] =
        json!({"shares": 512, "quota": 25000, "period": 50000, "cpus": "0", "mems": "0"});
    let (id, _) = ctx.start(&c);
    let mem = cg_dir(&id, "memory");
    assert_eq!(read(&mem, "memory.limit_in_bytes"), "67108864");
    assert_eq!(read(&mem, "memory.soft_limit_in_bytes"), "33554432");
    assert_eq!(read(&mem, "memory.swappiness"), "10");
    assert_eq!(read(&cg_dir(&id, "pids"), "pids.max"), "20");
    let cpu = cg_dir(&id, "cpu");
    assert_eq!(read(&cpu, "cpu.shares"), "512");
    assert_eq!(read(&cpu, "cpu.cfs_quota_us"), "25000");
    assert_eq!(read(&cpu, "cpu.cfs_period_us"), "50000");
    assert_eq!(read(&cg_dir(&id, "cpuset"), "cpuset.cpus"), "0");
    ctx.runr(&["delete", "-f", &id]).ok();
    ctx.assert_gone(&id);
}

#[test]
fn memory_limit_ooms_and_events_report_it() {
    let ctx = Ctx::new("oom");
    let mut c = ctx.config("while [ ! -e /dev/shm/go ]; do sleep 0.05; done; dd if=/dev/zero of=/dev/null bs=200M count=1 2>/dev/null; echo rc=$?; sleep 1000");
    c["linux"]["resources"]["memory"] = json!({"limit": 67108864, "swap": 67108864});
    let b = ctx.bundle_with(&c);
    let id = ctx.id();
    let out = ctx.dir.join("oom.out");
    ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]).ok();
    // The container's stdout goes to a file: create's own stdout is it.
    let _ = std::fs::remove_file(&out);
    let ev_out = ctx.dir.join("events.out");
    let mut events = Command::new(runr())
        .arg("--root")
        .arg(&ctx.root)
        .args(["events", "--interval", "100ms", &id])
        .stdout(std::fs::File::create(&ev_out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    ctx.runr(&["start", &id]).ok();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&ev_out)
        .unwrap()
        .contains("\"stats\"")
    {
        assert!(Instant::now() < deadline, "events printed no stats");
        std::thread::sleep(Duration::from_millis(20));
    }
    ctx.runr(&["exec", &id, "touch", "/dev/shm/go"]).ok();
    let mem = cg_dir(&id, "memory");
    while !std::fs::read_to_string(&ev_out)
        .unwrap()
        .contains("\"oom\"")
    {
        assert!(
            Instant::now() < deadline,
            "no OOM seen: {}",
            std::fs::read_to_string(&ev_out).unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let oom: Vec<Value> = std::fs::read_to_string(&ev_out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v["type"] == "oom")
        .collect();
    assert_eq!(oom[0]["id"], id.as_str());
    // The notification comes as the OOM starts; the kill (and its counter)
    // a moment later.
    while !read(&mem, "memory.oom_control").contains("oom_kill 1") {
        assert!(
            Instant::now() < deadline,
            "no OOM kill: {}",
            read(&mem, "memory.oom_control")
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    ctx.runr(&["delete", "-f", &id]).ok();
    let _ = events.wait();
    ctx.assert_gone(&id);
}

#[test]
fn pids_limit_stops_forks() {
    let ctx = Ctx::new("pids");
    let mut c = ctx.config("for i in 1 2 3 4 5 6 7 8; do sleep 5 & done 2>&1; wait");
    c["linux"]["resources"]["pids"] = json!({"limit": 4});
    let out = ctx.run_config(&c);
    assert!(
        out.stdout.contains("can't fork") || out.stderr.contains("can't fork"),
        "{out:?}"
    );
}

#[test]
fn pause_stops_progress_and_resume_continues() {
    let ctx = Ctx::new("pause");
    let host = ctx.dir.join("counter");
    std::fs::create_dir_all(&host).unwrap();
    let mut c = ctx.config("while :; do echo x >> /c/n; sleep 0.01; done");
    c["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/c", "type": "bind", "source": host, "options": ["bind"]}));
    let (id, _) = ctx.start(&c);
    // The file only grows while the container runs.
    let n = || {
        std::fs::metadata(host.join("n"))
            .map(|m| m.len())
            .unwrap_or(0)
    };
    std::thread::sleep(Duration::from_millis(100));
    ctx.runr(&["pause", &id]).ok();
    assert_eq!(ctx.state(&id)["status"], "paused");
    let a = n();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(n(), a, "a paused container made progress");
    let out = ctx.runr(&["exec", &id, "true"]);
    assert_eq!(out.code, 255);
    assert!(
        out.stderr
            .contains("cannot exec in a paused container (use --ignore-paused to override)"),
        "{out:?}"
    );
    ctx.runr(&["resume", &id]).ok();
    assert_eq!(ctx.state(&id)["status"], "running");
    std::thread::sleep(Duration::from_millis(200));
    assert!(n() > a, "no progress after resume");
    // delete --force of a paused container works too.
    ctx.runr(&["pause", &id]).ok();
    ctx.runr(&["delete", "--force", &id]).ok();
    ctx.assert_gone(&id);
}

#[test]
fn update_changes_the_live_cgroup() {
    let ctx = Ctx::new("update");
    let mut c = ctx.config("sleep 1000");
    c["linux"]["resources"]["memory"] = json!({"limit": 67108864});
    let (id, _) = ctx.start(&c);
    let mem = cg_dir(&id, "memory");
    ctx.runr(&[
        "update",
        "--memory",
        "100M",
        "--pids-limit",
        "50",
        "--cpu-share",
        "256",
        &id,
    ])
    .ok();
    assert_eq!(
        read(&mem, "memory.limit_in_bytes"),
        (100u64 << 20).to_string()
    );
    assert_eq!(read(&cg_dir(&id, "pids"), "pids.max"), "50");
    assert_eq!(read(&cg_dir(&id, "cpu"), "cpu.shares"), "256");
    let mut child = Command::new(runr())
        .arg("--root")
        .arg(&ctx.root)
        .args(["update", "--resources", "-", &id])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"memory":{"limit":83886080,"reservation":0,"swap":167772160,"kernel":0},"cpu":{"shares":0,"quota":0,"period":0},"pids":{"limit":60},"blockIO":{"weight":0}}"#)
        .unwrap();
    assert!(child.wait().unwrap().success());
    // Docker's update JSON: zeros mean "unchanged", as runc reads them.
    assert_eq!(read(&mem, "memory.limit_in_bytes"), "83886080");
    assert_eq!(read(&mem, "memory.memsw.limit_in_bytes"), "167772160");
    assert_eq!(read(&cg_dir(&id, "cpu"), "cpu.shares"), "256");
    assert_eq!(read(&cg_dir(&id, "pids"), "pids.max"), "60");
    ctx.runr(&["kill", &id, "KILL"]).ok();
    ctx.wait_status(&id, "stopped");
    let out = ctx.runr(&["update", "--memory", "1G", &id]);
    assert!(
        out.code == 1 && out.stderr.contains("container not running"),
        "{out:?}"
    );
    let out = ctx.runr(&["pause", &id]);
    assert!(
        out.code == 1 && out.stderr.contains("container not running"),
        "{out:?}"
    );
    ctx.runr(&["delete", &id]).ok();
}

#[test]
fn ps_and_stats_show_the_container() {
    let ctx = Ctx::new("ps");
    let (id, pid) = ctx.start(&ctx.config("sleep 1000 & sleep 1000"));
    let deadline = Instant::now() + Duration::from_secs(10);
    let pids: Vec<i64> = loop {
        let out = ctx.runr(&["ps", "--format", "json", &id]).ok();
        let v: Vec<i64> = serde_json::from_str(&out.stdout).unwrap();
        if v.len() == 2 {
            break v;
        }
        assert!(Instant::now() < deadline, "{v:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(pids.contains(&(pid as i64)));
    let table = ctx.runr(&["ps", &id]).ok().stdout;
    let mut lines = table.lines();
    assert!(lines.next().unwrap().split_whitespace().any(|h| h == "PID"));
    assert_eq!(lines.count(), 2, "{table}");
    let out = ctx.runr(&["events", "--stats", &id]).ok();
    let v: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(v["type"], "stats");
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["data"]["pids"]["current"], 2);
    assert!(v["data"]["memory"]["usage"]["usage"].as_u64().unwrap() > 0);
    assert!(v["data"]["cpu"]["usage"]["total"].as_u64().unwrap() > 0);
    ctx.runr(&["delete", "-f", &id]).ok();
}

#[test]
fn bad_limits_fail_cleanly() {
    let ctx = Ctx::new("badlimits");
    let cases: [(Value, &str); 4] = [
        (json!({"memory": {"limit": -5}}), "invalid memory.limit -5"),
        (json!({"cpu": {"cpus": "99"}}), "cpuset.cpus"),
        (json!({"unified": {"memory.nope": "1"}}), "memory.nope"),
        (
            json!({"network": {"classID": 1}}),
            "needs the net_cls cgroup controller",
        ),
    ];
    for (res, want) in cases {
        let mut c = ctx.config("true");
        for (k, v) in res.as_object().unwrap() {
            c["linux"]["resources"][k] = v.clone();
        }
        let b = ctx.bundle_with(&c);
        let id = ctx.id();
        let out = ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]);
        assert_eq!(out.code, 1, "{res}: {out:?}");
        assert!(out.stderr.contains(want), "{want}: {out:?}");
        ctx.assert_gone(&id);
    }
    // A bad update leaves the running container and its limits alone.
    let mut c = ctx.config("sleep 1000");
    c["linux"]["resources"]["pids"] = json!({"limit": 20});
    let (id, _) = ctx.start(&c);
    let out = ctx.runr(&["update", "--memory", "lots", &id]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("invalid size"), "{out:?}");
    assert_eq!(read(&cg_dir(&id, "pids"), "pids.max"), "20");
    assert_eq!(ctx.state(&id)["status"], "running");
    ctx.runr(&["delete", "-f", &id]).ok();
}

/// Makes `cmd` join the cgroup `dir` between fork and exec.
fn in_cgroup(cmd: &mut Command, dir: &Path) {
    use std::os::unix::process::CommandExt;
    let procs = std::ffi::CString::new(dir.join("cgroup.procs").to_str().unwrap()).unwrap();
    // SAFETY: only open/write/close between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
            if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                return Err(std::io::Error::last_os_error());
            }
            libc::close(fd);
            Ok(())
        });
    }
}

#[test]
fn ebpf_device_filter_enforces_rules_on_cgroup_v2() {
    use runr::cgroups::devices::Rule;
    // This host's cgroup2 mount (hybrid: /sys/fs/cgroup/unified) takes
    // device programs like a unified host does.
    let mount = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.join("cgroup.procs").exists() && p.join("cgroup.controllers").exists())
        .expect("a cgroup2 mount");
    let dir = mount.join(format!("runr-test-ebpf-{}", std::process::id()));
    std::fs::create_dir(&dir).unwrap();
    let rules = vec![
        Rule {
            allow: false,
            typ: 'a',
            major: None,
            minor: None,
            access: "rwm".into(),
        },
        Rule {
            allow: true,
            typ: 'c',
            major: Some(1),
            minor: Some(3),
            access: "rw".into(),
        },
    ];
    let applied = runr::cgroups::ebpf::apply(&dir, &rules);
    let out = applied.as_ref().ok().map(|_| {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "echo x > /dev/null && echo null-ok; head -c1 /dev/zero >/dev/null 2>&1 && echo zero-ok || echo zero-denied"]);
        in_cgroup(&mut cmd, &dir);
        cmd.output().unwrap()
    });
    let _ = std::fs::remove_dir(&dir);
    applied.unwrap();
    let out = out.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "null-ok\nzero-denied\n",
        "{out:?}"
    );
}

#[test]
fn v2_freeze_kill_and_remove_on_the_real_unified_mount() {
    use std::collections::BTreeMap;
    let mount = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.join("cgroup.controllers").exists())
        .expect("a cgroup2 mount");
    let dir = mount.join(format!("runr-test-v2-{}", std::process::id()));
    std::fs::create_dir(&dir).unwrap();
    let mut cmd = Command::new("/bin/sleep");
    cmd.arg("1000");
    in_cgroup(&mut cmd, &dir);
    let mut child = cmd.spawn().unwrap();
    let mut paths = BTreeMap::new();
    paths.insert(mount.to_string_lossy().into_owned(), dir.clone());
    let cg = runr::cgroups::Cgroups::from_paths(&paths);
    assert_eq!(cg.pids(), vec![child.id() as i32]);
    cg.set_frozen(true).unwrap();
    assert!(std::fs::read_to_string(dir.join("cgroup.events"))
        .unwrap()
        .contains("frozen 1"));
    assert!(runr::cgroups::is_frozen(&paths));
    cg.set_frozen(false).unwrap();
    assert!(std::fs::read_to_string(dir.join("cgroup.events"))
        .unwrap()
        .contains("frozen 0"));
    let stats = serde_json::to_value(cg.stats().unwrap()).unwrap();
    assert!(stats["cpu"].is_object());
    cg.kill_all().unwrap();
    let _ = child.wait();
    cg.destroy().unwrap();
    assert!(!dir.exists());
}
