//! linux.seccomp on real containers: errno, argument conditions, kill,
//! notify with a listener, Docker's default profile, bad profiles.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;

use serde_json::{json, Value};

use crate::common::Ctx;

fn with_seccomp(ctx: &Ctx, script: &str, seccomp: Value) -> Value {
    let mut c = ctx.config(script);
    c["linux"]["seccomp"] = seccomp;
    c["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}));
    c
}

#[test]
fn errno_rule_blocks_mkdir_only() {
    let ctx = Ctx::new("scerrno");
    let c = with_seccomp(
        &ctx,
        "mkdir /tmp/x 2>&1; echo rc=$?; ls / >/dev/null && echo ls-ok; grep Seccomp: /proc/self/status",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}),
    );
    let out = ctx.run_config(&c).ok().stdout;
    assert!(
        out.contains("Operation not permitted\nrc=1\nls-ok\nSeccomp:\t2\n"),
        "{out}"
    );
}

#[test]
fn argument_condition_is_enforced_exactly() {
    let ctx = Ctx::new("scargs");
    // personality(PER_LINUX32 = 8) is refused with EACCES; personality(0) is not.
    let c = with_seccomp(
        &ctx,
        "linux32 true 2>/dev/null; echo l32=$?; linux64 true; echo l64=$?",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO",
            "errnoRet": 13, "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}),
    );
    let out = ctx.run_config(&c).ok().stdout;
    assert!(out.contains("l32=1\n") && out.contains("l64=0\n"), "{out}");
}

#[test]
fn kill_process_kills_with_sigsys() {
    let ctx = Ctx::new("sckill");
    let c = with_seccomp(
        &ctx,
        "sh -c 'mkdir /tmp/y'; echo rc=$?",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}]}),
    );
    let out = ctx.run_config(&c).ok().stdout;
    assert!(out.contains(&format!("rc={}", 128 + libc::SIGSYS)), "{out}");
}

#[test]
fn log_action_allows_and_logs() {
    let ctx = Ctx::new("sclog");
    let c = with_seccomp(
        &ctx,
        "mkdir /tmp/logged && echo made",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_LOG"}]}),
    );
    let out = ctx.run_config(&c).ok().stdout;
    assert_eq!(out, "made\n");
    let dmesg = std::process::Command::new("dmesg").output().unwrap();
    let text = String::from_utf8_lossy(&dmesg.stdout);
    assert!(
        text.lines()
            .any(|l| l.contains("type=1326") && l.contains("syscall=83")),
        "no audit line for mkdir"
    );
}

/// A seccomp agent: receives the listener fd and answers every
/// notification with EROFS. Returns the state it was sent.
fn agent(listener: UnixListener) -> std::thread::JoinHandle<Value> {
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let (fd, payload): (OwnedFd, Vec<u8>) = runr::terminal::recv_fd(conn.as_raw_fd()).unwrap();
        let state: Value = serde_json::from_slice(&payload).unwrap();
        loop {
            // SAFETY: notif/resp are plain structs the ioctls fill and read.
            let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
            if unsafe {
                libc::ioctl(
                    fd.as_raw_fd(),
                    libc::SECCOMP_IOCTL_NOTIF_RECV as _,
                    &mut req,
                )
            } < 0
            {
                break; // the filter is gone: every process exited
            }
            let resp = libc::seccomp_notif_resp {
                id: req.id,
                val: 0,
                error: -libc::EROFS,
                flags: 0,
            };
            unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND as _, &resp) };
        }
        state
    })
}

#[test]
fn notify_hands_the_fd_to_the_listener_which_answers() {
    let ctx = Ctx::new("scnotify");
    let sock = ctx.dir.join("agent.sock");
    let handle = agent(UnixListener::bind(&sock).unwrap());
    let c = with_seccomp(
        &ctx,
        "mkdir /tmp/n 2>&1; echo rc=$?",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock, "listenerMetadata": "meta-1",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}),
    );
    let out = ctx.run_config(&c).ok().stdout;
    assert!(out.contains("Read-only file system\nrc=1"), "{out}");
    let state = handle.join().unwrap();
    assert_eq!(state["metadata"], "meta-1");
    assert_eq!(state["fds"], json!(["seccompFd"]));
    assert_eq!(state["state"]["status"], "creating");
    assert!(state["pid"].as_i64().unwrap() > 1);
}

/// Docker's own profile format to OCI's, the way Docker does it for a
/// container with the default capabilities on x86_64.
fn docker_profile_to_oci(docker: &Value, caps: &[&str]) -> Value {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut kv = kernel
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let host = (kv.next().unwrap_or(0), kv.next().unwrap_or(0));
    let mut syscalls = Vec::new();
    for s in docker["syscalls"].as_array().unwrap() {
        let inc = &s["includes"];
        let exc = &s["excludes"];
        let list = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        let arches = list(&inc["arches"]);
        if !arches.is_empty()
            && !arches
                .iter()
                .any(|a| a == "amd64" || a == "x32" || a == "x86")
        {
            continue;
        }
        if list(&exc["arches"]).iter().any(|a| a == "amd64") {
            continue;
        }
        if !list(&inc["caps"])
            .iter()
            .all(|c| caps.contains(&c.as_str()))
        {
            continue;
        }
        if list(&exc["caps"])
            .iter()
            .any(|c| caps.contains(&c.as_str()))
        {
            continue;
        }
        if let Some(min) = inc["minKernel"].as_str() {
            let mut m = min.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
            if host < (m.next().unwrap_or(0), m.next().unwrap_or(0)) {
                continue;
            }
        }
        let mut entry = json!({"names": s["names"], "action": s["action"]});
        if let Some(args) = s["args"].as_array().filter(|a| !a.is_empty()) {
            entry["args"] = json!(args);
        }
        if !s["errnoRet"].is_null() {
            entry["errnoRet"] = s["errnoRet"].clone();
        }
        syscalls.push(entry);
    }
    let mut out = json!({
        "defaultAction": docker["defaultAction"],
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": syscalls
    });
    if !docker["defaultErrnoRet"].is_null() {
        out["defaultErrnoRet"] = docker["defaultErrnoRet"].clone();
    }
    out
}

#[test]
fn docker_default_profile_loads_and_runs() {
    let ctx = Ctx::new("scdocker");
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/build/fixtures/docker-seccomp-default.json"
    );
    let text = std::fs::read_to_string(path)
        .expect("run integration/deps.sh: it extracts Docker's default profile");
    let docker: Value = serde_json::from_str(&text).unwrap();
    let oci = docker_profile_to_oci(
        &docker,
        &["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
    );
    assert!(oci["syscalls"].as_array().unwrap().len() > 10);
    let c = with_seccomp(
        &ctx,
        "ls / > /dev/null && echo ok; mkdir /tmp/d && echo mkdir-ok; unshare -U true 2>/dev/null || echo unshare-denied; grep Seccomp: /proc/self/status",
        oci,
    );
    let out = ctx.run_config(&c).ok().stdout;
    assert_eq!(out, "ok\nmkdir-ok\nunshare-denied\nSeccomp:\t2\n");
}

#[test]
fn bad_profiles_fail_cleanly() {
    let ctx = Ctx::new("scbad");
    let cases = [
        (json!({"defaultAction": "SCMP_ACT_NOPE"}), "unknown variant"),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]}),
            "unknown variant",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ALMOST"}]}]}),
            "unknown variant",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                "args": [{"index": 7, "value": 1, "op": "SCMP_CMP_EQ"}]}]}),
            "argument index 7",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_NOTIFY"}),
            "default action",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
            "listenerPath",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/nonexistent/agent.sock",
                "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
            "connect to seccomp listener /nonexistent/agent.sock",
        ),
    ];
    for (sc, want) in cases {
        let c = with_seccomp(&ctx, "true", sc.clone());
        let b = ctx.bundle_with(&c);
        let id = ctx.id();
        let out = ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]);
        assert_eq!(out.code, 1, "{sc}: {out:?}");
        assert!(out.stderr.contains(want), "{want}: {out:?}");
        assert_eq!(out.stderr.trim_end().lines().count(), 1);
        ctx.assert_gone(&id);
    }
}

#[test]
fn exec_gets_the_containers_filter() {
    let ctx = Ctx::new("scexec");
    let c = with_seccomp(
        &ctx,
        "sleep 1000",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}]}),
    );
    let (id, _) = ctx.start(&c);
    let out = ctx.runr(&["exec", &id, "sh", "-c", "mkdir /tmp/e 2>&1; true"]);
    assert!(out.stdout.contains("No space left on device"), "{out:?}");
    ctx.runr(&["delete", "-f", &id]).ok();
}

#[test]
fn filter_flags_are_passed_to_the_kernel() {
    let ctx = Ctx::new("scflags");
    let c = with_seccomp(
        &ctx,
        "mkdir /tmp/f 2>&1; echo rc=$?",
        json!({"defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}),
    );
    let out = ctx.run_config(&c).ok().stdout;
    assert!(out.contains("Operation not permitted\nrc=1"), "{out}");
}

#[test]
fn profile_without_close_range_still_runs_with_only_stdio() {
    let ctx = Ctx::new("scclrange");
    // A profile older than close_range (Linux 5.9) answers it with EPERM,
    // as runtime-tools' default profile does.
    let c = with_seccomp(
        &ctx,
        "echo fds: $(ls /proc/self/fd)",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["close_range"], "action": "SCMP_ACT_ERRNO"}]}),
    );
    let out = ctx.run_config(&c).ok().stdout;
    // 3 is ls's own listing of the directory.
    assert_eq!(out, "fds: 0 1 2 3\n");
}

#[test]
fn profile_refusing_getcwd_fails_with_the_reason() {
    let ctx = Ctx::new("scgetcwd");
    // The cwd check (CVE-2024-21626) needs getcwd; refused, the error says so.
    let c = with_seccomp(
        &ctx,
        "true",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}]}),
    );
    let out = ctx.run_config(&c);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("getcwd: operation not permitted"),
        "{out:?}"
    );
}
