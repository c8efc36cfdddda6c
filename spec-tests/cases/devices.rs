//! config-linux.md Devices and Default Devices; runtime-linux.md's /dev
//! links and file descriptors. The checker verifies every listed device
//! (type, major, minor, fileMode, uid, gid) and the default ones.

use serde_json::{json, Value};

use super::scenario::{config, refused, scratch};
use crate::harness::*;

const S: &str = "config-linux.md devices";

fn devices(c: &mut Value, list: Value) {
    c["linux"]["devices"] = list;
}

fn case(name: &'static str, must: &'static str, patch: fn(&mut Value, &Env)) -> Case {
    Case::checker(S, name, must, patch)
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::scenario(
            S,
            "/dev/console with a terminal",
            "/dev/console is set up if terminal is enabled in the config by bind mounting the pseudoterminal pty to /dev/console",
            console_is_the_pty,
        ),
        case(
            "default devices",
            "the runtime MUST also supply /dev/null, zero, full, random, urandom, tty, and /dev/ptmx (bind or symlink of /dev/pts/ptmx)",
            nothing,
        ),
        case(
            "default devices in a user namespace",
            "the runtime MUST also supply the default devices (here where mknod is not allowed)",
            |c, _| {
                c["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "user"}));
                c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
                c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
            },
        ),
        Case {
            section: "runtime-linux.md",
            name: "/dev symbolic links and file descriptors",
            must: "runtimes MUST create /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr links; only stdin, stdout and stderr are kept open by default",
            patch: nothing,
            check: None,
        },
        case("character device with mode and owner", "devices: type c, path, major, minor, fileMode, uid, gid", |c, _| {
            devices(c, json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o640, "uid": 7, "gid": 8}]));
        }),
        case("block device", "devices: type b with major and minor", |c, _| {
            devices(c, json!([{"path": "/dev/spec-loop", "type": "b", "major": 7, "minor": 200, "fileMode": 0o600, "uid": 0, "gid": 6}]));
        }),
        case("fifo device", "devices: type p (major and minor not required)", |c, _| {
            devices(c, json!([{"path": "/dev/spec-fifo", "type": "p", "fileMode": 0o620}]));
        }),
        case("unbuffered character device (u)", "devices: type u is an unbuffered character device", |c, _| {
            devices(c, json!([{"path": "/dev/spec-u", "type": "u", "major": 1, "minor": 3, "fileMode": 0o666}]));
        }),
        case("several devices", "devices lists devices that MUST be available in the container", |c, _| {
            devices(c, json!([
                {"path": "/dev/spec-a", "type": "c", "major": 1, "minor": 5, "fileMode": 0o644},
                {"path": "/dev/spec-b", "type": "c", "major": 1, "minor": 7, "fileMode": 0o600, "uid": 1},
                {"path": "/dev/spec-c", "type": "b", "major": 7, "minor": 201, "fileMode": 0o660, "gid": 3}]));
        }),
        case("device in a directory that does not exist yet", "the path is the full path to the device inside the container", |c, _| {
            devices(c, json!([{"path": "/dev/spec/sub/zero", "type": "c", "major": 1, "minor": 5, "fileMode": 0o666}]));
        }),
        case("device outside /dev", "the path MAY be anywhere in the container filesystem, notably outside of /dev", |c, _| {
            scratch(c);
            devices(c, json!([{"path": "/scratch/spec-null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666}]));
        }),
        case("listed device over a default one", "devices MUST be available as listed: /dev/null listed with its own fileMode and owner", |c, _| {
            devices(c, json!([{"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o606, "uid": 0, "gid": 0}]));
        }),
        Case {
            section: S,
            name: "existing file that does not match refused",
            must: "if a file already exists at path that does not match the requested device, the runtime MUST generate an error",
            patch: nothing,
            check: Some(|env, _| {
                refused(env, config(env, |c| devices(c, json!([{"path": "/etc/passwd", "type": "c", "major": 1, "minor": 3}]))))
            }),
        },
    ]
}

/// With a terminal, /dev/console is the container's pty: the same device
/// as its stdin. The pty master goes to runr-recvtty (built beside this
/// driver), which writes what the container prints to a file.
fn console_is_the_pty(env: &Env, _: &str) -> Result<(), String> {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let recvtty = exe.with_file_name("runr-recvtty");
    let n = env.id();
    let sock = env.dir.join(format!("{n}.sock"));
    let out = env.dir.join(format!("{n}.tty"));
    let mut rx = Command::new(&recvtty)
        .arg(&sock)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).map_err(|e| e.to_string())?)
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("run {}: {e}", recvtty.display()))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !sock.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let c = config(env, |c| {
        c["process"]["terminal"] = json!(true);
        c["process"]["args"] = json!([
            "sh",
            "-c",
            "stat -c 'console %t:%T %F' /dev/console; stat -L -c 'stdin %t:%T' /proc/self/fd/0"
        ]);
    });
    let b = env.bundle(c);
    let id = env.id();
    let sock_s = sock.to_string_lossy().into_owned();
    let o = env.rt(&[
        "create",
        "--bundle",
        b.to_str().unwrap(),
        "--console-socket",
        &sock_s,
        &id,
    ]);
    let r = if o.code != 0 {
        Err(format!("create failed: {}", o.stderr.trim()))
    } else {
        let _ = env.rt(&["start", &id]);
        env.wait_status(&id, "stopped")
    };
    let _ = env.rt(&["delete", "--force", &id]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while rx.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = rx.kill();
    let _ = rx.wait();
    r?;
    let got = std::fs::read_to_string(&out).unwrap_or_default();
    let field = |key: &str| {
        got.lines()
            .find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_string()))
    };
    let (console, stdin) = (field("console "), field("stdin "));
    match (console, stdin) {
        (Some(c), Some(s)) if c == format!("{s} character special file") => Ok(()),
        _ => Err(format!("/dev/console is not the pty of stdin: {got:?}")),
    }
}
