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
        // The init dies with its parent (its death signal) or its channel:
        // on a loaded machine that can take a moment after runr is reaped,
        // and until then it is the created container it was.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            let st = status(&ctx, &id);
            if st == "stopped" || st.contains("does not exist") {
                break;
            }
            assert!(
                st == "created" && std::time::Instant::now() < deadline,
                "{point}: state says {st:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
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

/// A small tmpfs of our own (in the test's temp dir), unmounted when
/// dropped, even when the test fails; containers left in it are
/// force-deleted first.
struct SmallFs {
    dir: std::path::PathBuf,
}

impl SmallFs {
    fn new(ctx: &Ctx, size: &str) -> SmallFs {
        let dir = ctx.dir.join("smallfs");
        std::fs::create_dir_all(&dir).unwrap();
        let st = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(st.success(), "mount a tmpfs on {}", dir.display());
        SmallFs { dir }
    }

    /// Fills it with 4 KiB files until it is full; returns them.
    fn fill(&self) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        for i in 0.. {
            let f = self.dir.join(format!("fill-{i}"));
            match std::fs::write(&f, [0u8; 4096]) {
                Ok(()) => files.push(f),
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
                    let _ = std::fs::remove_file(&f);
                    return files;
                }
            }
        }
        unreachable!()
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let root = self.dir.join("state");
        if let Ok(rd) = std::fs::read_dir(&root) {
            for e in rd.flatten() {
                let _ = std::process::Command::new(runr())
                    .arg("--root")
                    .arg(&root)
                    .args(["delete", "--force"])
                    .arg(e.file_name())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status();
            }
        }
        let c = std::ffi::CString::new(self.dir.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: umount2 of our own mount point.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
}

#[test]
fn a_full_root_is_a_clear_error_and_leaves_nothing() {
    let ctx = Ctx::new("faultfull");
    let fs = SmallFs::new(&ctx, "64k");
    let root = fs.dir.join("state");
    std::fs::create_dir_all(&root).unwrap();
    let b = ctx.bundle("sleep 1000");
    let files = fs.fill();
    let at_root = |args: &[&str]| {
        let out = std::process::Command::new(runr())
            .arg("--root")
            .arg(&root)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(ctx.dir.join("full.out")).unwrap())
            .stderr(std::fs::File::create(ctx.dir.join("full.err")).unwrap())
            .status()
            .unwrap();
        (
            out.code().unwrap_or(-1),
            std::fs::read_to_string(ctx.dir.join("full.err")).unwrap(),
        )
    };
    // Free 0, 1, 2... pages: each create fails at a later write (state,
    // saved config, pid file) until one fits. Every failure is one clear
    // line and leaves nothing: no state dir, temp file, cgroup or process.
    let mut created = None;
    for free in 0..files.len() {
        if free > 0 {
            std::fs::remove_file(&files[free - 1]).unwrap();
        }
        let id = format!("runr-test-faultfull-{}-{free}", std::process::id());
        let pid_file = fs.dir.join(format!("pid-{free}"));
        let (code, err) = at_root(&[
            "create",
            "-b",
            b.to_str().unwrap(),
            "--pid-file",
            pid_file.to_str().unwrap(),
            &id,
        ]);
        if code == 0 {
            created = Some(id);
            break;
        }
        assert_eq!(code, 1, "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.to_lowercase().contains("no space left on device"),
            "{err}"
        );
        assert!(!root.join(&id).exists(), "{id}: state dir left: {err}");
        assert_eq!(Ctx::cgroups_named(&id), Vec::<std::path::PathBuf>::new());
        let left: Vec<_> = std::fs::read_dir(&fs.dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("fill-") && n != "state")
            .collect();
        assert!(left.is_empty(), "half-written files: {left:?}");
        let ps = std::process::Command::new("ps")
            .args(["-eo", "args"])
            .output()
            .unwrap();
        assert!(!String::from_utf8_lossy(&ps.stdout).contains(&id));
    }
    let id = created.expect("no create fitted even in the emptied root");
    // Full again: start, state and delete need no space.
    fs.fill();
    assert_eq!(at_root(&["start", &id]).0, 0);
    assert_eq!(at_root(&["state", &id]).0, 0);
    let (code, err) = at_root(&["delete", "--force", &id]);
    assert_eq!(code, 0, "{err}");
    assert!(!root.join(&id).exists());
    assert_eq!(Ctx::cgroups_named(&id), Vec::<std::path::PathBuf>::new());
}

/// A small deterministic random source (xorshift), seeded by the pid.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Starts `runr args` and SIGKILLs it after `delay` (if it still runs).
fn kill_after(ctx: &Ctx, args: &[&str], delay: std::time::Duration) {
    let mut child = std::process::Command::new(runr())
        .arg("--root")
        .arg(&ctx.root)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(ctx.dir.join("rk.out")).unwrap())
        .stderr(std::fs::File::create(ctx.dir.join("rk.err")).unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
}

/// Processes whose command line contains `needle` (runr copies that have
/// not exec'd yet carry the test's --root; container processes a marker).
fn procs_with(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.parse::<u32>().is_err() || name == std::process::id().to_string() {
            continue;
        }
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next())
            == Some("Z");
        if cmd.contains(needle) && !zombie {
            found.push(format!("{name}: {cmd}"));
        }
    }
    found
}

/// After a kill: `state` tells the truth (a live status has a live pid; an
/// error is one clear line), `delete --force` removes everything.
fn check_truth_and_clean(ctx: &Ctx, id: &str, marker: &str, what: &str) {
    let out = ctx.runr(&["state", id]);
    match serde_json::from_str::<serde_json::Value>(&out.stdout) {
        Ok(v) => {
            let st = v["status"].as_str().unwrap().to_string();
            let pid = v["pid"].as_i64().unwrap();
            if st == "stopped" {
                assert_eq!(pid, 0, "{what}: {v}");
            } else {
                assert!(
                    std::path::Path::new(&format!("/proc/{pid}")).exists(),
                    "{what}: state says {st} but pid {pid} is gone"
                );
            }
        }
        Err(_) => {
            assert_eq!(out.code, 1, "{what}: {out:?}");
            assert_eq!(out.stderr.trim_end().lines().count(), 1, "{what}: {out:?}");
            assert!(
                out.stderr.contains("container does not exist"),
                "{what}: {out:?}"
            );
        }
    }
    let out = ctx.runr(&["delete", "--force", id]);
    assert!(
        out.code == 0 || out.stderr.contains("container does not exist"),
        "{what}: {out:?}"
    );
    ctx.assert_gone(id);
    // Whatever was left dies with its parent or its channel.
    let root = ctx.root.to_string_lossy().into_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let left: Vec<String> = [procs_with(&root), procs_with(marker)].concat();
        if left.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: processes left: {left:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn sigkill_at_random_points_leaves_the_truth_and_nothing_else() {
    let ctx = Ctx::new("faultrandom");
    // A marker no other test's process carries.
    let marker = format!("sleep 7{}", std::process::id() % 100_000);
    let b = ctx.bundle(&format!("exec {marker}"));
    let bs = b.to_str().unwrap().to_string();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id()));
    let ms = std::time::Duration::from_micros;
    let t0 = std::time::Instant::now();
    let budget = std::time::Duration::from_secs(45);
    let mut done = [0u32; 4];
    for i in 0..200 {
        if t0.elapsed() > budget {
            break;
        }
        let id = ctx.id();
        let phase = i % 4;
        let what = format!("iteration {i}");
        match phase {
            0 => kill_after(&ctx, &["create", "-b", &bs, &id], ms(rng.below(30_000))),
            1 => {
                ctx.runr(&["create", "-b", &bs, &id]).ok();
                kill_after(&ctx, &["start", &id], ms(rng.below(8_000)));
            }
            2 => {
                ctx.runr(&["run", "-d", "-b", &bs, &id]).ok();
                let sleeper = format!("{marker}1");
                let args: Vec<&str> = sleeper.split(' ').collect();
                kill_after(
                    &ctx,
                    &[&["exec", "-d", &id][..], &args[..]].concat(),
                    ms(rng.below(15_000)),
                );
            }
            _ => {
                ctx.runr(&["run", "-d", "-b", &bs, &id]).ok();
                kill_after(&ctx, &["delete", "--force", &id], ms(rng.below(8_000)));
            }
        }
        check_truth_and_clean(&ctx, &id, &marker, &what);
        done[phase] += 1;
    }
    eprintln!(
        "create/start/exec/delete killed {done:?} times in {:?}",
        t0.elapsed()
    );
    assert!(
        done.iter().all(|&n| n >= 20),
        "too few iterations: {done:?}"
    );
    assert!(std::fs::read_dir(&ctx.root).unwrap().next().is_none());
}

#[test]
fn killed_during_exec_leaves_no_half_made_process() {
    let ctx = Ctx::new("faultexec");
    let (id, _) = ctx.start(&ctx.config("sleep 1000"));
    let marker = format!("sleep 8{}", std::process::id() % 100_000);
    let args: Vec<&str> = marker.split(' ').collect();
    for point in ["exec:after-clone", "exec:after-cgroups"] {
        assert_eq!(
            run_faulted(&ctx, point, &[&["exec", &id][..], &args[..]].concat()),
            libc::SIGKILL,
            "{point}"
        );
        // The child waits for a go that never comes: it sees its channel
        // close and leaves; the container runs on.
        let root = ctx.root.to_string_lossy().into_owned();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !procs_with(&root).is_empty() || !procs_with(&marker).is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "{point}: left {:?} {:?}",
                procs_with(&root),
                procs_with(&marker)
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(status(&ctx, &id), "running", "{point}");
    }
    ctx.runr(&["exec", &id, "true"]).ok();
    ctx.runr(&["delete", "--force", &id]).ok();
    ctx.assert_gone(&id);
}

#[test]
fn an_init_that_dies_on_its_own_reads_stopped() {
    let ctx = Ctx::new("faultdie");
    let (id, pid) = ctx.start(&ctx.config("sleep 1000"));
    // SAFETY: killing the container's init, a process this test started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    ctx.wait_status(&id, "stopped");
    assert_eq!(ctx.state(&id)["pid"], 0);
    let out = ctx.runr(&["exec", &id, "true"]);
    assert!(out.stderr.contains("stopped"), "{out:?}");
    // A plain delete (no --force) is enough for a stopped container.
    ctx.runr(&["delete", &id]).ok();
    ctx.assert_gone(&id);
}

#[test]
fn a_read_only_root_is_a_clear_error_and_leaves_nothing() {
    let ctx = Ctx::new("faultro");
    let fs = SmallFs::new(&ctx, "64k");
    let root = fs.dir.join("state");
    std::fs::create_dir_all(&root).unwrap();
    let st = std::process::Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(&fs.dir)
        .status()
        .unwrap();
    assert!(st.success());
    let b = ctx.bundle("sleep 1000");
    let id = ctx.id();
    let out = std::process::Command::new(runr())
        .arg("--root")
        .arg(&root)
        .args(["create", "-b", b.to_str().unwrap(), &id])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("read-only file system"), "{err}");
    assert!(!root.join(&id).exists());
    assert_eq!(Ctx::cgroups_named(&id), Vec::<std::path::PathBuf>::new());
}
