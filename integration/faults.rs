//! runr killed at each phase (RUNR_FAULT makes it SIGKILL itself at a
//! named point): afterwards `state` tells the truth and `delete --force`
//! removes everything.

use crate::common::{runr, Ctx};

fn run_faulted(ctx: &Ctx, point: &str, args: &[&str]) -> i32 {
    let st = std::process::Command::new(runr())
        .env("RUNR_FAULT", point)
        .arg("--root")
        .arg(&ctx.root)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(ctx.dir.join("fault.out")).unwrap())
        .stderr(std::fs::File::create(ctx.dir.join("fault.err")).unwrap())
        .status()
        .unwrap();
    std::os::unix::process::ExitStatusExt::signal(&st).unwrap_or(0)
}

fn status(ctx: &Ctx, id: &str) -> String {
    let out = ctx.runr(&["state", id]);
    match serde_json::from_str::<serde_json::Value>(&out.stdout) {
        Ok(v) => v["status"].as_str().unwrap_or("").to_string(),
        Err(_) => {
            assert_eq!(out.stderr.trim_end().lines().count(), 1, "{out:?}");
            out.err()
        }
    }
}

#[test]
fn killed_during_create_is_cleaned_by_delete_force() {
    let ctx = Ctx::new("faultcreate");
    let b = ctx.bundle("sleep 1000");
    for point in [
        "create:after-cgroups",
        "create:after-clone",
        "create:after-ready",
        "create:after-state",
    ] {
        let id = ctx.id();
        assert_eq!(
            run_faulted(&ctx, point, &["create", "-b", b.to_str().unwrap(), &id]),
            libc::SIGKILL,
            "{point}"
        );
        let st = status(&ctx, &id);
        assert!(
            st == "stopped" || st.contains("does not exist"),
            "{point}: state says {st:?}"
        );
        // Whatever is left of the init dies with its parent or its channel.
        ctx.runr(&["delete", "--force", &id]).ok();
        ctx.assert_gone(&id);
        assert!(!ctx.root.join(&id).exists());
    }
}

#[test]
fn killed_during_start_leaves_a_running_container() {
    let ctx = Ctx::new("faultstart");
    let b = ctx.bundle("sleep 1000");
    let id = ctx.id();
    ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]).ok();
    assert_eq!(
        run_faulted(&ctx, "start:after-release", &["start", &id]),
        libc::SIGKILL
    );
    // The process runs although the fifo is still there: state says so.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while status(&ctx, &id) != "running" {
        assert!(
            std::time::Instant::now() < deadline,
            "state says {}",
            status(&ctx, &id)
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    ctx.runr(&["delete", "--force", &id]).ok();
    ctx.assert_gone(&id);
}

#[test]
fn killed_during_delete_is_finished_by_another_delete() {
    let ctx = Ctx::new("faultdelete");
    let b = ctx.bundle("sleep 1000");
    for point in ["delete:after-kill", "delete:after-cgroups"] {
        let id = ctx.id();
        ctx.runr(&["run", "-d", "-b", b.to_str().unwrap(), &id])
            .ok();
        assert_eq!(
            run_faulted(&ctx, point, &["delete", "--force", &id]),
            libc::SIGKILL,
            "{point}"
        );
        let st = status(&ctx, &id);
        assert_eq!(st, "stopped", "{point}");
        ctx.runr(&["delete", "--force", &id]).ok();
        ctx.assert_gone(&id);
    }
}

#[test]
fn garbage_state_file_is_a_clear_error_and_force_delete_works() {
    let ctx = Ctx::new("faultgarbage");
    let (id, _) = ctx.start(&ctx.config("sleep 1000"));
    let state_file = ctx.root.join(&id).join("state.json");
    let good = std::fs::read(&state_file).unwrap();
    std::fs::write(&state_file, b"{\"truncated\": ").unwrap();
    let out = ctx.runr(&["state", &id]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("state.json"), "{out:?}");
    // delete --force finds the container again by the cgroups its saved
    // config names, and kills it.
    let pid = serde_json::from_slice::<serde_json::Value>(&good).unwrap()["pid"]
        .as_i64()
        .unwrap() as i32;
    ctx.runr(&["delete", "--force", &id]).ok();
    ctx.assert_gone(&id);
    wait_dead(pid);
}

/// Waits (5 s at most) until `pid` is no live process.
fn wait_dead(pid: i32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let st = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = st
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next());
        if st.is_empty() || state == Some("Z") {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{pid} still lives");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn a_reused_pid_is_not_taken_for_the_container() {
    let ctx = Ctx::new("faultpid");
    let (id, pid) = ctx.start(&ctx.config("sleep 1000"));
    // Pretend the init died and its pid went to another process: the
    // start time recorded no longer matches the process behind the pid.
    let file = ctx.root.join(&id).join("state.json");
    let mut st: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    st["pid_start"] = serde_json::json!(st["pid_start"].as_u64().unwrap() + 1);
    std::fs::write(&file, serde_json::to_vec(&st).unwrap()).unwrap();
    assert_eq!(status(&ctx, &id), "stopped");
    let out = ctx.runr(&["kill", &id, "KILL"]);
    assert!(
        out.code == 1 && out.stderr.contains("container not running"),
        "{out:?}"
    );
    assert!(
        std::fs::metadata(format!("/proc/{pid}")).is_ok(),
        "kill reached the stranger"
    );
    ctx.runr(&["delete", "--force", &id]).ok();
    ctx.assert_gone(&id);
}

#[test]
fn an_unwritable_root_is_a_clear_error() {
    let ctx = Ctx::new("faultroot");
    let b = ctx.bundle("true");
    let id = ctx.id();
    // /proc takes no new directories: a read-only root as far as runr goes.
    let out = std::process::Command::new(runr())
        .args([
            "--root",
            "/proc/runr-test-root",
            "create",
            "-b",
            b.to_str().unwrap(),
            &id,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("create state root /proc/runr-test-root"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1);
    assert_eq!(Ctx::cgroups_named(&id), Vec::<std::path::PathBuf>::new());
}

/// runr with fds 0, 1 and 2 closed (as a careless daemon may start it),
/// given 20 s at most; returns its exit code.
fn run_closed_stdio(ctx: &Ctx, args: &[&str]) -> i32 {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(runr());
    cmd.arg("--root").arg(&ctx.root).args(args);
    // SAFETY: only close(2) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            for fd in 0..3 {
                libc::close(fd);
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            assert!(
                std::os::unix::process::ExitStatusExt::signal(&st).is_none(),
                "{args:?} died: {st:?}"
            );
            return st.code().unwrap();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} hung with its stdio closed");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn closed_stdio_under_runr_works_or_fails_clearly() {
    let ctx = Ctx::new("faultstdio");
    let b = ctx.bundle("sleep 1000");
    let id = ctx.id();
    assert_eq!(
        run_closed_stdio(&ctx, &["create", "-b", b.to_str().unwrap(), &id]),
        0
    );
    // The init got /dev/null, not one of runr's own files, as its stdio.
    let pid = ctx.state(&id)["pid"].as_i64().unwrap();
    for fd in 0..3 {
        let link = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).unwrap();
        assert_eq!(link, std::path::Path::new("/dev/null"), "fd {fd}");
    }
    assert_eq!(run_closed_stdio(&ctx, &["state", &id]), 0);
    assert_eq!(run_closed_stdio(&ctx, &["start", &id]), 0);
    assert_eq!(ctx.state(&id)["status"], "running");
    assert_eq!(run_closed_stdio(&ctx, &["exec", &id, "true"]), 0);
    assert_eq!(run_closed_stdio(&ctx, &["list"]), 0);
    // A failure still says why, in the log.
    let log = ctx.dir.join("closed.log");
    let code = run_closed_stdio(
        &ctx,
        &["--log", log.to_str().unwrap(), "state", "runr-test-none"],
    );
    assert_eq!(code, 1);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("container does not exist"), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
    assert_eq!(run_closed_stdio(&ctx, &["delete", "--force", &id]), 0);
    ctx.assert_gone(&id);
}
