//! `runr exec` into running and created containers.

use serde_json::json;

use crate::common::{status_field, Ctx};

#[test]
fn exec_exits_with_the_process_status_in_the_container() {
    let ctx = Ctx::new("exec");
    let (id, pid) = ctx.start(&ctx.config("sleep 1000"));
    let out = ctx.runr(&[
        "exec",
        &id,
        "sh",
        "-c",
        "echo $$; cat /proc/1/comm; hostname; exit 3",
    ]);
    assert_eq!(out.code, 3, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_ne!(lines[0], "1");
    assert_eq!(&lines[1..], ["sleep", "runr"]);
    // Same namespaces as the init.
    let out = ctx
        .runr(&["exec", &id, "readlink", "/proc/self/ns/pid"])
        .ok();
    let init_ns = std::fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap();
    assert_eq!(out.stdout.trim(), init_ns.to_str().unwrap());
    ctx.runr(&["delete", "-f", &id]).ok();
}

#[test]
fn exec_detach_writes_pid_file_and_joins_the_cgroup() {
    let ctx = Ctx::new("execdetach");
    let (id, _) = ctx.start(&ctx.config("sleep 1000"));
    let pf = ctx.dir.join("exec.pid");
    ctx.runr(&[
        "exec",
        "-d",
        "--pid-file",
        pf.to_str().unwrap(),
        &id,
        "sleep",
        "100",
    ])
    .ok();
    let pid: i32 = std::fs::read_to_string(&pf)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(
        cg.lines().any(|l| l.contains(":pids:") && l.ends_with(&id)),
        "{cg}"
    );
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_eq!(comm.trim(), "sleep");
    ctx.runr(&["delete", "-f", &id]).ok();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z"),
        "exec'd process survived delete: {stat}"
    );
    ctx.assert_gone(&id);
}

#[test]
fn exec_flags_user_env_cwd_caps() {
    let ctx = Ctx::new("execflags");
    let (id, _) = ctx.start(&ctx.config("sleep 1000"));
    let out = ctx
        .runr(&[
            "exec",
            "-u",
            "1000:1001",
            "-g",
            "7",
            "--cwd",
            "/tmp",
            "-e",
            "FOO=bar",
            "--cap",
            "CAP_SYS_ADMIN",
            "--no-new-privs",
            &id,
            "sh",
            "-c",
            "cat /proc/self/status; pwd; echo FOO=$FOO",
        ])
        .ok()
        .stdout;
    assert!(status_field(&out, "Uid").starts_with("1000\t"), "{out}");
    assert!(status_field(&out, "Gid").starts_with("1001\t"), "{out}");
    assert_eq!(status_field(&out, "Groups"), "7");
    let bnd = u64::from_str_radix(&status_field(&out, "CapBnd"), 16).unwrap();
    assert_ne!(bnd & (1 << 21), 0, "--cap adds to the bounding set");
    assert_eq!(
        status_field(&out, "CapInh"),
        "0000000000000000",
        "never inheritable"
    );
    assert_eq!(status_field(&out, "NoNewPrivs"), "1");
    assert!(out.ends_with("/tmp\nFOO=bar\n"), "{out}");
    ctx.runr(&["delete", "-f", &id]).ok();
}

#[test]
fn exec_process_json_and_created_container() {
    let ctx = Ctx::new("execproc");
    let b = ctx.bundle("sleep 1000");
    let id = ctx.id();
    ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]).ok();
    let pj = ctx.dir.join("process.json");
    let p = json!({"cwd": "/", "args": ["sh", "-c", "echo from-json $A"], "env": ["PATH=/bin", "A=1"],
                   "user": {"uid": 0, "gid": 0}});
    std::fs::write(&pj, p.to_string()).unwrap();
    let out = ctx
        .runr(&["exec", "--process", pj.to_str().unwrap(), &id])
        .ok();
    assert_eq!(out.stdout, "from-json 1\n");
    std::fs::write(&pj, "{\"cwd\": 5}").unwrap();
    let out = ctx.runr(&["exec", "--process", pj.to_str().unwrap(), &id]);
    assert_eq!(out.code, 255);
    assert!(out.stderr.contains("field cwd"), "{out:?}");
    ctx.runr(&["delete", &id]).ok();
}

#[test]
fn exec_errors_exit_255_and_stopped_is_refused() {
    let ctx = Ctx::new("execerr");
    let (id, _) = ctx.start(&ctx.config("sleep 1000"));
    let out = ctx.runr(&["exec", &id, "no-such-cmd"]);
    assert_eq!(out.code, 255);
    assert!(
        out.err()
            .contains("exec: \"no-such-cmd\": executable file not found in $PATH"),
        "{out:?}"
    );
    let out = ctx.runr(&["exec", "-u", "nobody", &id, "true"]);
    assert_eq!(out.code, 255);
    assert!(out.stderr.contains("numeric"), "{out:?}");
    ctx.runr(&["kill", &id, "KILL"]).ok();
    ctx.wait_status(&id, "stopped");
    let out = ctx.runr(&["exec", &id, "true"]);
    assert_eq!(out.code, 255);
    assert!(
        out.stderr.contains("cannot exec in a stopped container"),
        "{out:?}"
    );
    let out = ctx.runr(&["exec", "nope", "true"]);
    assert!(out.stderr.contains("container does not exist"), "{out:?}");
    ctx.runr(&["delete", &id]).ok();
}

#[test]
fn exec_leaks_no_fd_and_keeps_preserved_ones() {
    let ctx = Ctx::new("execfds");
    let (id, _) = ctx.start(&ctx.config("sleep 1000"));
    let out = ctx.runr(&["exec", &id, "ls", "/proc/self/fd"]).ok();
    assert_eq!(
        out.stdout, "0\n1\n2\n3\n",
        "only stdio and ls's own directory fd"
    );
    ctx.runr(&["delete", "-f", &id]).ok();
}

#[test]
fn exec_into_user_namespaced_container() {
    let ctx = Ctx::new("execuserns");
    let mut c = ctx.config("sleep 1000");
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 300000, "size": 65536}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 300000, "size": 65536}]);
    let (id, _) = ctx.start(&c);
    let pf = ctx.dir.join("p.pid");
    ctx.runr(&[
        "exec",
        "-d",
        "--pid-file",
        pf.to_str().unwrap(),
        &id,
        "sleep",
        "100",
    ])
    .ok();
    let pid = std::fs::read_to_string(&pf).unwrap();
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid.trim())).unwrap();
    assert!(
        status_field(&status, "Uid").starts_with("300000\t"),
        "{status}"
    );
    let out = ctx.runr(&["exec", &id, "id", "-u"]).ok();
    assert_eq!(out.stdout, "0\n");
    ctx.runr(&["delete", "-f", &id]).ok();
}
