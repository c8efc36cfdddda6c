//! Rootless mode: runr run by an ordinary user (the test user that
//! integration/deps.sh makes, with /etc/subuid and /etc/subgid ranges).
//! The user runs a copy of runr from the test's own directory, with
//! XDG_RUNTIME_DIR there too, so its default --root is the test's.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::common::{rootfs, runr, status_field, Ctx, Out};

const USER: &str = "runr-rootless";

struct Rootless {
    ctx: Ctx,
    uid: u32,
    /// The user's own directory: bundles, XDG_RUNTIME_DIR, output files.
    home: PathBuf,
    runr: PathBuf,
}

fn user_ids() -> (u32, u32) {
    let out = Command::new("id").args(["-u", USER]).output().unwrap();
    assert!(
        out.status.success(),
        "no test user {USER}: run integration/deps.sh as root"
    );
    let uid = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let out = Command::new("id").args(["-g", USER]).output().unwrap();
    let gid = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    (uid, gid)
}

/// The first /etc/subuid (or subgid) range of the test user.
fn sub_range(file: &str) -> (u32, u32) {
    let text = fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() == 3 && f[0] == USER).then(|| (f[1].parse().unwrap(), f[2].parse().unwrap()))
        })
        .unwrap_or_else(|| panic!("no {file} range for {USER}: run integration/deps.sh"))
}

impl Rootless {
    fn new(name: &str) -> Rootless {
        let ctx = Ctx::new(name);
        let (uid, gid) = user_ids();
        fs::set_permissions(&ctx.dir, fs::Permissions::from_mode(0o755)).unwrap();
        let home = ctx.dir.join("user");
        fs::create_dir_all(home.join("xdg")).unwrap();
        for d in [home.clone(), home.join("xdg")] {
            std::os::unix::fs::chown(&d, Some(uid), Some(gid)).unwrap();
            fs::set_permissions(&d, fs::Permissions::from_mode(0o700)).unwrap();
        }
        // The user cannot be trusted to reach the build tree: a copy.
        let copy = ctx.dir.join("runr");
        fs::copy(runr(), &copy).unwrap();
        fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).unwrap();
        Rootless {
            ctx,
            uid,
            home,
            runr: copy,
        }
    }

    /// Runs `runr args...` as the test user (no --root: the default).
    fn runr(&self, args: &[&str]) -> Out {
        self.as_user(self.runr.to_str().unwrap(), args)
    }

    fn as_user(&self, prog: &str, args: &[&str]) -> Out {
        let n = self.ctx.id();
        let (o, e) = (
            self.ctx.dir.join(format!("{n}.out")),
            self.ctx.dir.join(format!("{n}.err")),
        );
        let status = Command::new("setpriv")
            .args([
                &format!("--reuid={USER}"),
                &format!("--regid={USER}"),
                "--init-groups",
                "--",
            ])
            .arg("env")
            .arg("-i")
            .arg("PATH=/usr/sbin:/usr/bin:/sbin:/bin")
            .arg(format!("HOME={}", self.home.display()))
            .arg(format!(
                "XDG_RUNTIME_DIR={}",
                self.home.join("xdg").display()
            ))
            .arg(prog)
            .args(args)
            .current_dir(&self.home)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&o).unwrap())
            .stderr(fs::File::create(&e).unwrap())
            .status()
            .unwrap();
        Out {
            code: status.code().unwrap_or(-1),
            stdout: fs::read_to_string(&o).unwrap(),
            stderr: fs::read_to_string(&e).unwrap(),
        }
    }

    /// `runr spec --rootless` made by the user, with the shared rootfs,
    /// terminal off and `sh -c script`.
    fn config(&self, script: &str) -> Value {
        let b = self.home.join("spec");
        if !b.join("config.json").exists() {
            fs::create_dir_all(&b).unwrap();
            std::os::unix::fs::chown(&b, Some(self.uid), None).unwrap();
            self.runr(&["spec", "--rootless", "--bundle", b.to_str().unwrap()])
                .ok();
        }
        let mut c: Value =
            serde_json::from_slice(&fs::read(b.join("config.json")).unwrap()).unwrap();
        c["process"]["terminal"] = json!(false);
        c["process"]["args"] = json!(["sh", "-c", script]);
        c["root"]["path"] = json!(rootfs());
        c
    }

    fn bundle(&self, config: &Value) -> PathBuf {
        let b = self.home.join(self.ctx.id());
        fs::create_dir_all(&b).unwrap();
        fs::write(b.join("config.json"), serde_json::to_vec(config).unwrap()).unwrap();
        std::os::unix::fs::chown(&b, Some(self.uid), None).unwrap();
        b
    }

    fn state_root(&self) -> PathBuf {
        self.home.join("xdg/runr")
    }

    fn pid(&self, id: &str) -> i32 {
        let st: Value = serde_json::from_str(&self.runr(&["state", id]).ok().stdout).unwrap();
        st["pid"].as_i64().unwrap() as i32
    }
}

impl Drop for Rootless {
    fn drop(&mut self) {
        for e in fs::read_dir(self.state_root())
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = Command::new(runr())
                .arg("--root")
                .arg(self.state_root())
                .args(["delete", "--force"])
                .arg(e.file_name())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

#[test]
fn rootless_spec_maps_the_caller_to_root() {
    let r = Rootless::new("rl-spec");
    let c = r.config("true");
    assert_eq!(c["linux"]["uidMappings"][0]["hostID"], r.uid);
    assert!(c["linux"].get("resources").is_none());
    let ns = c["linux"]["namespaces"].to_string();
    assert!(
        ns.contains("\"user\"") && !ns.contains("\"network\""),
        "{ns}"
    );
}

#[test]
fn rootless_lifecycle_runs_as_the_user_outside_and_root_inside() {
    let r = Rootless::new("rl-life");
    let b = r.bundle(&r.config("id -u > /tmp/inside; sleep 100"));
    let id = r.ctx.id();
    r.runr(&["create", "--bundle", b.to_str().unwrap(), &id])
        .ok();
    assert!(
        r.state_root().join(&id).is_dir(),
        "the default root of a user is $XDG_RUNTIME_DIR/runr"
    );
    r.runr(&["start", &id]).ok();
    let pid = r.pid(&id);
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let outside = status_field(&status, "Uid");
    assert!(
        outside.split_whitespace().all(|u| u == r.uid.to_string()),
        "outside, the init runs as the user: {outside}"
    );
    let inside = r
        .runr(&["exec", &id, "sh", "-c", "id -u; cat /proc/self/uid_map"])
        .ok();
    let mut lines = inside.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("0"),
        "inside, the user is root: {inside:?}"
    );
    let map: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    assert_eq!(map, ["0", &r.uid.to_string(), "1"]);
    r.runr(&["kill", &id, "KILL"]).ok();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while Path::new(&format!("/proc/{pid}")).exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    r.runr(&["delete", &id]).ok();
    assert!(!r.state_root().join(&id).exists());
    assert!(r.runr(&["state", &id]).code != 0);
}

#[test]
fn rootless_exec_with_subordinate_ids_uses_newuidmap() {
    let r = Rootless::new("rl-exec");
    let (su, sn) = sub_range("/etc/subuid");
    let (sg, gn) = sub_range("/etc/subgid");
    let mut c = r.config("sleep 100");
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": r.uid, "size": 1},
        {"containerID": 1, "hostID": su, "size": sn.min(65536)}]);
    let gid = c["linux"]["gidMappings"][0]["hostID"].clone();
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1},
        {"containerID": 1, "hostID": sg, "size": gn.min(65536)}]);
    let b = r.bundle(&c);
    let id = r.ctx.id();
    r.runr(&["run", "--detach", "--bundle", b.to_str().unwrap(), &id])
        .ok();
    let out = r
        .runr(&[
            "exec",
            "--user",
            "1000:1000",
            &id,
            "sh",
            "-c",
            "id -u; id -g; wc -l < /proc/self/uid_map",
        ])
        .ok();
    let got: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    assert_eq!(got, ["1000", "1000", "2"], "{out:?}");
    // Outside, container uid 1 and up are the user's subordinate ids.
    let pid = r.pid(&id);
    let map = fs::read_to_string(format!("/proc/{pid}/uid_map")).unwrap();
    let second: Vec<&str> = map
        .lines()
        .nth(1)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(second.get(1), Some(&su.to_string().as_str()), "{map}");
    r.runr(&["delete", "--force", &id]).ok();
    assert!(!r.state_root().join(&id).exists());
}

#[test]
fn rootless_terminal_in_the_foreground() {
    let r = Rootless::new("rl-tty");
    let mut c = r.config("unused");
    c["process"]["terminal"] = json!(true);
    c["process"]["args"] = json!(["sh", "-c", "tty; id -u"]);
    let b = r.bundle(&c);
    let id = r.ctx.id();
    let cmd = format!("{} run --bundle {} {id}", r.runr.display(), b.display());
    let out = r.as_user("script", &["-qec", &cmd, "/dev/null"]);
    assert_eq!(out.code, 0, "{out:?}");
    // (The pty echoes script's EOF on the closed stdin as "^@", before or
    // after the container's output, so on a line of its own or not.)
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .map(|l| l.trim_start_matches("^@").trim())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines, ["/dev/pts/0", "0"], "{out:?}");
}

#[test]
fn rootless_limits_without_a_cgroup_fail_clearly_and_leave_nothing() {
    let r = Rootless::new("rl-limit");
    let mut c = r.config("true");
    c["linux"]["resources"] = json!({"memory": {"limit": 67108864}});
    let b = r.bundle(&c);
    let id = r.ctx.id();
    let out = r.runr(&["run", "--bundle", b.to_str().unwrap(), &id]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("cannot set memory limit: container could not join or create cgroup"),
        "{out:?}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(!r.state_root().join(&id).exists());
    // Without limits the same user's container runs (no cgroup needed).
    let out = r.runr(&[
        "run",
        "--bundle",
        r.bundle(&r.config("echo fine")).to_str().unwrap(),
        &r.ctx.id(),
    ]);
    assert_eq!(out.stdout.trim(), "fine", "{out:?}");
}

#[test]
fn rootless_sysfs_mount_falls_back_to_the_hosts() {
    let r = Rootless::new("rl-sysfs");
    let mut c =
        r.config("test -d /sys/kernel || exit 3; touch /sys/x 2>/dev/null && echo rw || echo ro");
    for m in c["mounts"].as_array_mut().unwrap() {
        if m["destination"] == "/sys" {
            *m = json!({"destination": "/sys", "type": "sysfs", "source": "sysfs",
                "options": ["nosuid", "noexec", "nodev", "ro"]});
        }
    }
    let out = r.runr(&[
        "run",
        "--bundle",
        r.bundle(&c).to_str().unwrap(),
        &r.ctx.id(),
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.trim(), "ro", "{out:?}");
}

#[test]
fn rootless_ps_and_kill_all_without_a_cgroup() {
    let r = Rootless::new("rl-ps");
    let b = r.bundle(&r.config("sleep 100 & sleep 200 & wait"));
    let id = r.ctx.id();
    r.runr(&["run", "--detach", "--bundle", b.to_str().unwrap(), &id])
        .ok();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let pids: Vec<i64> = loop {
        let out = r.runr(&["ps", "--format", "json", &id]).ok();
        let v: Vec<i64> = serde_json::from_str(&out.stdout).unwrap();
        if v.len() == 3 || std::time::Instant::now() > deadline {
            break v;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(pids.len(), 3, "init and two sleeps: {pids:?}");
    for op in [
        &["pause", &id][..],
        &["update", "--memory", "1000000", &id][..],
    ] {
        let out = r.runr(op);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(
            out.stderr.contains("the container has no cgroup"),
            "{out:?}"
        );
    }
    r.runr(&["kill", "--all", &id, "KILL"]).ok();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while pids
        .iter()
        .any(|p| Path::new(&format!("/proc/{p}")).exists())
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let left: Vec<&i64> = pids
        .iter()
        .filter(|p| {
            fs::read_to_string(format!("/proc/{p}/stat"))
                .map(|s| !s.contains(") Z "))
                .unwrap_or(false)
        })
        .collect();
    assert!(left.is_empty(), "kill --all left {left:?}");
    r.runr(&["delete", &id]).ok();
}

/// `runr check` as the user: rootless, each namespace is probed together
/// with a user namespace (as runr makes them), and runr can run here.
#[test]
fn check_as_user_probes_with_a_user_namespace() {
    let r = Rootless::new("rlcheck");
    let out = r.runr(&["check"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("root: no (rootless mode) [geteuid()=")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "namespace mnt: yes [/proc/self/ns/mnt present; unshare(CLONE_NEWUSER|CLONE_NEWNS) in a child: ok]"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn rootless_idmapped_mount_fails_clearly_and_leaves_nothing() {
    let r = Rootless::new("rl-idmap");
    let mut c = r.config("true");
    c["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/mnt", "type": "bind",
        "source": r.home, "options": ["rbind", "idmap"],
        "uidMappings": [{"containerID": 0, "hostID": r.uid, "size": 1}],
        "gidMappings": [{"containerID": 0, "hostID": r.uid, "size": 1}]}));
    let b = r.bundle(&c);
    let id = r.ctx.id();
    let out = r.runr(&["run", "--bundle", b.to_str().unwrap(), &id]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.err()
            .contains("mount /mnt: idmapped mounts need runr to run as root"),
        "{out:?}"
    );
    assert!(!r.state_root().join(&id).exists());
}
