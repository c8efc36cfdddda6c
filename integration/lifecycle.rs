//! create/start/state/kill/delete/run as runc does them.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::Ctx;

#[test]
fn full_lifecycle() {
    let ctx = Ctx::new("lifecycle");
    let b = ctx.bundle("sleep 1000");
    let id = ctx.id();
    let pid_file = ctx.dir.join("init.pid");
    ctx.runr(&[
        "create",
        "-b",
        b.to_str().unwrap(),
        "--pid-file",
        pid_file.to_str().unwrap(),
        &id,
    ])
    .ok();
    let st = ctx.state(&id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], id.as_str());
    assert_eq!(st["bundle"], b.to_str().unwrap());
    let pid = st["pid"].as_i64().unwrap();
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), pid.to_string());
    // The init waits on the fifo: it has not exec'd sleep yet.
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_ne!(comm.trim(), "sleep");

    ctx.runr(&["start", &id]).ok();
    assert_eq!(ctx.state(&id)["status"], "running");
    // start returns when execve has closed the fifo; the kernel renames
    // the task a moment later, within the same execve.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
        if comm.trim() == "sleep" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the process is {comm:?}, not sleep"
        );
        std::thread::sleep(Duration::from_millis(1));
    }

    ctx.runr(&["kill", &id, "KILL"]).ok();
    ctx.wait_status(&id, "stopped");
    assert_eq!(ctx.state(&id)["pid"], 0);
    ctx.runr(&["delete", &id]).ok();
    let out = ctx.runr(&["state", &id]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("container does not exist"), "{out:?}");
    ctx.assert_gone(&id);
}

#[test]
fn run_exits_with_the_container_status() {
    let ctx = Ctx::new("exit7");
    let out = ctx.run_script("echo out; echo err >&2; exit 7");
    assert_eq!(out.code, 7, "{out:?}");
    assert_eq!(out.stdout, "out\n");
    assert_eq!(out.stderr, "err\n");
    assert!(
        std::fs::read_dir(&ctx.root).unwrap().next().is_none(),
        "run must delete the container"
    );
}

#[test]
fn run_reports_death_by_signal_as_128_plus_n() {
    let ctx = Ctx::new("sig");
    let b = ctx.bundle("sleep 1000");
    let id = ctx.id();
    let mut child = Command::new(crate::common::runr())
        .arg("--root")
        .arg(&ctx.root)
        .args(["run", "-b", b.to_str().unwrap(), &id])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    ctx.wait_status(&id, "running");
    ctx.runr(&["kill", &id, "9"]).ok();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(137));
    ctx.assert_gone(&id);
}

#[test]
fn run_forwards_signals_to_the_container() {
    let ctx = Ctx::new("fwd");
    let b = ctx.bundle(
        "trap 'exit 42' TERM; trap 'echo got-usr1' USR1; echo ready; while :; do sleep 0.05; done",
    );
    let id = ctx.id();
    let out = ctx.dir.join("fwd.out");
    let mut child = Command::new(crate::common::runr())
        .arg("--root")
        .arg(&ctx.root)
        .args(["run", "-b", b.to_str().unwrap(), &id])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&out).unwrap().contains("ready") {
        assert!(Instant::now() < deadline, "container never got ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id() as i32;
    unsafe { libc::kill(pid, libc::SIGUSR1) };
    while !std::fs::read_to_string(&out).unwrap().contains("got-usr1") {
        assert!(Instant::now() < deadline, "USR1 was not forwarded");
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(child.wait().unwrap().code(), Some(42));
    ctx.assert_gone(&id);
}

#[test]
fn run_detach_leaves_it_running() {
    let ctx = Ctx::new("detach");
    let b = ctx.bundle("sleep 1000");
    let id = ctx.id();
    ctx.runr(&["run", "-d", "-b", b.to_str().unwrap(), &id])
        .ok();
    assert_eq!(ctx.state(&id)["status"], "running");
    let out = ctx.runr(&["delete", &id]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(&format!(
            "cannot delete container {id} that is not stopped: running"
        )),
        "{out:?}"
    );
    ctx.runr(&["delete", "--force", &id]).ok();
    ctx.assert_gone(&id);
}

#[test]
fn start_twice_and_kill_stopped_are_refused() {
    let ctx = Ctx::new("twice");
    let (id, _) = ctx.start(&ctx.config("sleep 1000"));
    let out = ctx.runr(&["start", &id]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("cannot start an already running container"),
        "{out:?}"
    );
    ctx.runr(&["kill", &id, "KILL"]).ok();
    ctx.wait_status(&id, "stopped");
    let out = ctx.runr(&["start", &id]);
    assert!(
        out.stderr
            .contains("cannot start a container that has stopped"),
        "{out:?}"
    );
    let out = ctx.runr(&["kill", &id]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("container not running"), "{out:?}");
    ctx.runr(&["delete", &id]).ok();
    ctx.assert_gone(&id);
}

#[test]
fn delete_of_created_container_kills_its_init() {
    let ctx = Ctx::new("delcreated");
    let b = ctx.bundle("sleep 1000");
    let id = ctx.id();
    ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]).ok();
    let pid = ctx.state(&id)["pid"].as_i64().unwrap();
    ctx.runr(&["delete", &id]).ok();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z"),
        "init still alive: {stat}"
    );
    ctx.assert_gone(&id);
}

#[test]
fn kill_all_and_force_delete_reach_every_process() {
    let ctx = Ctx::new("killall");
    // Shares the host pid namespace: killing the init alone would leave the
    // background sleep behind; --all and delete --force must not.
    let mut c = ctx.config("sleep 1000 & sleep 1000");
    let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
    ns.retain(|n| n["type"] != "pid");
    let (id, _) = ctx.start(&c);
    let cg = Ctx::cgroups_named(&id);
    let procs = cg
        .iter()
        .find(|p| p.starts_with("/sys/fs/cgroup/pids"))
        .unwrap()
        .join("cgroup.procs");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(&procs).unwrap().lines().count() < 2 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    ctx.runr(&["kill", "--all", &id, "STOP"]).ok();
    let pids: Vec<String> = std::fs::read_to_string(&procs)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    for p in &pids {
        // Delivery is asynchronous: wait for each to be stopped.
        loop {
            let st = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap();
            let state = st.rsplit(") ").next().unwrap().chars().next().unwrap();
            if state == 'T' || state == 't' {
                break;
            }
            assert!(Instant::now() < deadline, "{p} not stopped: {st}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    ctx.runr(&["delete", "--force", &id]).ok();
    for p in &pids {
        let st = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        assert!(st.is_empty() || st.contains(") Z"), "{p} survived: {st}");
    }
    ctx.assert_gone(&id);
}

#[test]
fn list_shows_containers_in_runc_columns() {
    let ctx = Ctx::new("list");
    let b = ctx.bundle("sleep 1000");
    let id = ctx.id();
    ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]).ok();
    let table = ctx.runr(&["list"]).ok().stdout;
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    );
    let row = lines.next().unwrap();
    assert!(
        row.starts_with(&id) && row.contains(" created ") && row.ends_with("root"),
        "{row}"
    );
    assert_eq!(ctx.runr(&["list", "-q"]).ok().stdout, format!("{id}\n"));
    let json: serde_json::Value =
        serde_json::from_str(&ctx.runr(&["list", "--format", "json"]).ok().stdout).unwrap();
    assert_eq!(json[0]["id"], id.as_str());
    assert_eq!(json[0]["status"], "created");
    ctx.runr(&["delete", &id]).ok();
    ctx.assert_gone(&id);
}

#[test]
fn no_pivot_runs_the_container() {
    let ctx = Ctx::new("nopivot");
    let b = ctx.bundle("cat /proc/self/mountinfo | head -1; echo pid $$");
    let id = ctx.id();
    let out = ctx
        .runr(&["run", "--no-pivot", "-b", b.to_str().unwrap(), &id])
        .ok();
    assert!(out.stdout.contains("pid 1"), "{out:?}");
}

/// Runs `runr run` with an extra file open as fd 3.
fn run_with_fd3(ctx: &Ctx, extra: &[&str], script: &str, file: &std::path::Path) -> (i32, String) {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let b = ctx.bundle(script);
    let id = ctx.id();
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .unwrap();
    let fd = f.as_raw_fd();
    let mut cmd = Command::new(crate::common::runr());
    cmd.arg("--root")
        .arg(&ctx.root)
        .arg("run")
        .args(extra)
        .args(["-b", b.to_str().unwrap(), &id]);
    // SAFETY: dup2 is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            // dup2 onto itself keeps O_CLOEXEC: clear it explicitly.
            if libc::dup2(fd, 3) < 0 || libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn preserve_fds_passes_extra_fds_and_nothing_else_leaks() {
    let ctx = Ctx::new("fds");
    let out = ctx.dir.join("fd3.txt");
    let (code, _) = run_with_fd3(&ctx, &["--preserve-fds", "1"], "echo via-fd3 >&3", &out);
    assert_eq!(code, 0);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "via-fd3\n");
    // Without --preserve-fds, the process has stdin, stdout, stderr and
    // only what it opens itself (ls's directory fd).
    let (code, listing) = run_with_fd3(&ctx, &[], "exec ls -l /proc/self/fd", &out);
    assert_eq!(code, 0);
    let fds: Vec<&str> = listing.lines().filter(|l| l.starts_with('l')).collect();
    assert_eq!(fds.len(), 4, "{listing}");
    assert!(!listing.contains("fd3.txt"), "{listing}");
}

#[test]
fn kill_signal_zero_probes_the_init() {
    let ctx = Ctx::new("kill0");
    let b = ctx.bundle("sleep 1000");
    let id = ctx.id();
    ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]).ok();
    // Signal 0 sends nothing: the container stays as it was.
    ctx.runr(&["kill", &id, "0"]).ok();
    assert_eq!(ctx.state(&id)["status"], "created");
    ctx.runr(&["start", &id]).ok();
    ctx.runr(&["kill", &id, "0"]).ok();
    ctx.runr(&["kill", "--all", &id, "0"]).ok();
    assert_eq!(ctx.state(&id)["status"], "running");
    ctx.runr(&["kill", &id, "KILL"]).ok();
    ctx.wait_status(&id, "stopped");
    let out = ctx.runr(&["kill", &id, "0"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("container not running"), "{out:?}");
    ctx.runr(&["delete", &id]).ok();
    let out = ctx.runr(&["kill", &id, "0"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("container does not exist"), "{out:?}");
}

#[test]
fn start_fails_when_the_exec_fails_after_release() {
    // The program is there at create, gone at start: the init is released,
    // its execve fails, and start must say so rather than succeed.
    let ctx = Ctx::new("execgone");
    let host = ctx.dir.join("prog");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::copy("/bin/busybox", host.join("true")).unwrap();
    let mut c = ctx.config("true");
    c["process"]["args"] = serde_json::json!(["/prog/true"]);
    c["mounts"].as_array_mut().unwrap().push(serde_json::json!(
        {"destination": "/prog", "type": "bind", "source": host.to_str().unwrap(), "options": ["bind"]}
    ));
    let b = ctx.bundle_with(&c);
    let id = ctx.id();
    ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]).ok();
    std::fs::remove_file(host.join("true")).unwrap();
    let out = ctx.runr(&["start", &id]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("exec \\\"/prog/true\\\": no such file or directory"),
        "{out:?}"
    );
    ctx.runr(&["delete", "--force", &id]);
    ctx.assert_gone(&id);
}

/// config.md: process is OPTIONAL, and REQUIRED when start is called. A
/// container without one is created (namespaces, cgroups, mounts), can be
/// exec'd into with --process, and refuses start without changing.
#[test]
fn without_process_created_but_not_started() {
    let ctx = Ctx::new("noprocess");
    let mut c = ctx.config("true");
    c.as_object_mut().unwrap().remove("process");
    let b = ctx.bundle_with(&c);
    let id = ctx.id();
    ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]).ok();
    assert_eq!(ctx.state(&id)["status"], "created");
    let out = ctx.runr(&["start", &id]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.err().contains("process property must not be empty"),
        "{}",
        out.err()
    );
    assert_eq!(ctx.state(&id)["status"], "created");
    let out = ctx.runr(&["exec", &id, "true"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.err().contains("pass --process"), "{}", out.err());
    let p = ctx.dir.join("process.json");
    std::fs::write(
        &p,
        r#"{"args":["hostname"],"cwd":"/","user":{"uid":0,"gid":0},"env":["PATH=/bin"]}"#,
    )
    .unwrap();
    let out = ctx
        .runr(&["exec", "--process", p.to_str().unwrap(), &id])
        .ok();
    assert_eq!(out.stdout, "runr\n");
    ctx.runr(&["delete", &id]).ok();
    ctx.assert_gone(&id);
    // run: created, then start refuses; nothing is left.
    let id = ctx.id();
    let out = ctx.runr(&["run", "-b", b.to_str().unwrap(), &id]);
    assert_eq!(out.code, 1, "{out:?}");
    ctx.assert_gone(&id);
}
