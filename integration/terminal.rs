//! Terminals: console sockets (with the project's runr-recvtty), the
//! foreground pty proxy of `run` and `exec -t` (under `script`), errors.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{runr, Ctx};

pub fn recvtty(sock: &Path, out: &Path) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_runr-recvtty"))
        .arg(sock)
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(out).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "runr-recvtty did not listen");
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

pub fn wait_for(path: &Path, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = std::fs::read_to_string(path).unwrap_or_default();
        if s.contains(text) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{text:?} never appeared in {s:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn tty_config(ctx: &Ctx) -> serde_json::Value {
    let mut c = ctx.config("unused");
    c["process"]["terminal"] = json!(true);
    c["process"]["args"] = json!(["sh"]);
    c["process"]["consoleSize"] = json!({"height": 33, "width": 77});
    c
}

#[test]
fn console_socket_receives_a_working_master() {
    let ctx = Ctx::new("consock");
    let sock = ctx.dir.join("tty.sock");
    let out = ctx.dir.join("tty.out");
    let mut rt = recvtty(&sock, &out);
    let b = ctx.bundle_with(&tty_config(&ctx));
    let id = ctx.id();
    ctx.runr(&[
        "create",
        "--console-socket",
        sock.to_str().unwrap(),
        "-b",
        b.to_str().unwrap(),
        &id,
    ])
    .ok();
    ctx.runr(&["start", &id]).ok();
    rt.stdin
        .as_mut()
        .unwrap()
        .write_all(b"tty; stty size; echo h''i\n")
        .unwrap();
    let text = wait_for(&out, "hi\r\n");
    assert!(text.contains("/dev/pts/0\r\n"), "{text:?}");
    assert!(text.contains("33 77\r\n"), "consoleSize: {text:?}");
    rt.stdin.as_mut().unwrap().write_all(b"exit\n").unwrap();
    assert!(rt.wait().unwrap().success());
    ctx.runr(&["delete", "-f", &id]).ok();
    ctx.assert_gone(&id);
}

#[test]
fn exec_tty_through_a_console_socket() {
    let ctx = Ctx::new("exectty");
    let (id, _) = ctx.start(&ctx.config("sleep 1000"));
    let sock = ctx.dir.join("exec.sock");
    let out = ctx.dir.join("exec.out");
    let mut rt = recvtty(&sock, &out);
    let r = ctx.runr(&[
        "exec",
        "-t",
        "-d",
        "--console-socket",
        sock.to_str().unwrap(),
        &id,
        "sh",
        "-c",
        "tty; echo done",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let text = wait_for(&out, "done\r\n");
    assert!(text.starts_with("/dev/pts/0\r\n"), "{text:?}");
    drop(rt.stdin.take());
    assert!(rt.wait().unwrap().success());
    ctx.runr(&["delete", "-f", &id]).ok();
}

/// Runs a command line under `script`, which gives it a controlling tty.
fn under_script(cmdline: &str, input: &str) -> (i32, String) {
    let mut child = Command::new("script")
        .args(["-qec", cmdline, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script (util-linux) is needed for tty tests");
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn run_and_exec_proxy_the_callers_terminal() {
    let ctx = Ctx::new("runtty");
    let b = ctx.bundle_with(&tty_config(&ctx));
    let id = ctx.id();
    let cmd = format!(
        "{} --root {} run -b {} {id}",
        runr(),
        ctx.root.display(),
        b.display()
    );
    let (code, out) = under_script(&cmd, "tty; echo in-run; exit 5\n");
    assert_eq!(code, 5, "{out}");
    assert!(out.contains("/dev/pts/0\r\nin-run\r\n"), "{out:?}");
    ctx.assert_gone(&id);

    let (sid, _) = ctx.start(&ctx.config("sleep 1000"));
    let cmd = format!(
        "{} --root {} exec -t {sid} sh -c 'tty; exit 4'",
        runr(),
        ctx.root.display()
    );
    let (code, out) = under_script(&cmd, "");
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("/dev/pts/0"), "{out:?}");
    ctx.runr(&["delete", "-f", &sid]).ok();
}

#[test]
fn terminal_errors_leave_nothing() {
    let ctx = Ctx::new("ttyerr");
    let b = ctx.bundle_with(&tty_config(&ctx));
    let id = ctx.id();
    let out = ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("cannot allocate tty if runr will detach without setting console socket"),
        "{out:?}"
    );
    ctx.assert_gone(&id);
    let out = ctx.runr(&[
        "create",
        "--console-socket",
        "/nonexistent.sock",
        "-b",
        b.to_str().unwrap(),
        &id,
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("connect to console socket /nonexistent.sock"),
        "{out:?}"
    );
    ctx.assert_gone(&id);
    let plain = ctx.bundle("true");
    let sock = ctx.dir.join("unused.sock");
    let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let out = ctx.runr(&[
        "create",
        "--console-socket",
        sock.to_str().unwrap(),
        "-b",
        plain.to_str().unwrap(),
        &id,
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("cannot use console socket if runr will not allocate tty"),
        "{out:?}"
    );
    ctx.assert_gone(&id);
    // Foreground without a terminal to proxy.
    let out = ctx.runr(&["run", "-b", b.to_str().unwrap(), &id]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("stdin is not a terminal"), "{out:?}");
    ctx.assert_gone(&id);
}
