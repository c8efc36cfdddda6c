//! Shared helpers: a busybox rootfs built once, per-test state roots,
//! bundles from `runr spec`'s template, and a runner that captures output
//! through files (a detached container keeps its stdio open).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use serde_json::{json, Value};

pub fn runr() -> &'static str {
    env!("CARGO_BIN_EXE_runr")
}

/// A static busybox rootfs, built once per test run and shared read-only.
pub fn rootfs() -> &'static Path {
    static ROOTFS: OnceLock<PathBuf> = OnceLock::new();
    ROOTFS.get_or_init(|| {
        assert_eq!(
            unsafe { libc::geteuid() },
            0,
            "the integration tests start real containers: run them as root"
        );
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rootfs");
        let current = fs::read(dir.join("bin/busybox")).ok() == fs::read("/bin/busybox").ok();
        if !current {
            let tmp = dir.with_extension(format!("tmp-{}", std::process::id()));
            build_rootfs(&tmp);
            let _ = fs::remove_dir_all(&dir);
            fs::rename(&tmp, &dir).unwrap();
        }
        dir
    })
}

/// Builds a busybox rootfs at `dir`.
pub fn build_rootfs(dir: &Path) {
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    fs::copy("/bin/busybox", bin.join("busybox"))
        .expect("copy /bin/busybox (apt-get install busybox-static)");
    let list = Command::new("/bin/busybox").arg("--list").output().unwrap();
    for app in String::from_utf8_lossy(&list.stdout).lines() {
        if app != "busybox" {
            std::os::unix::fs::symlink("busybox", bin.join(app)).unwrap();
        }
    }
    for d in ["proc", "sys", "dev", "tmp", "etc", "root", "run", "mnt"] {
        fs::create_dir_all(dir.join(d)).unwrap();
    }
    fs::write(dir.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    fs::write(dir.join("etc/group"), "root:x:0:\n").unwrap();
}

/// One command's outcome.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// stderr with the text log format's quoting undone (`msg="a \"b\""`).
    pub fn err(&self) -> String {
        self.stderr.replace("\\\"", "\"")
    }

    pub fn ok(self) -> Out {
        assert_eq!(self.code, 0, "runr failed: {self:?}");
        self
    }
}

/// A test's own state root, bundles and container ids.
pub struct Ctx {
    pub name: String,
    pub dir: PathBuf,
    pub root: PathBuf,
    n: AtomicU32,
}

impl Ctx {
    pub fn new(name: &str) -> Ctx {
        rootfs();
        let dir = std::env::temp_dir().join(format!("runr-test-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let root = dir.join("state");
        Ctx {
            name: name.to_string(),
            dir,
            root,
            n: AtomicU32::new(0),
        }
    }

    /// A unique container id for this test.
    pub fn id(&self) -> String {
        let n = self.n.fetch_add(1, Ordering::SeqCst);
        format!("runr-test-{}-{}-{n}", self.name, std::process::id())
    }

    /// The default template with terminal off, the shared rootfs and
    /// `sh -c script` as the process.
    pub fn config(&self, script: &str) -> Value {
        let mut c = runr::spec_template::default_spec(false);
        c["process"]["terminal"] = json!(false);
        c["process"]["args"] = json!(["sh", "-c", script]);
        c["root"]["path"] = json!(rootfs());
        c
    }

    /// Gives `c` a user namespace mapping container ids 0-65535 to host
    /// ids 100000-165535.
    pub fn with_userns(c: &mut Value) {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        let range = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c["linux"]["uidMappings"] = range.clone();
        c["linux"]["gidMappings"] = range;
    }

    /// Writes a bundle with `config` and returns its directory.
    pub fn bundle_with(&self, config: &Value) -> PathBuf {
        let n = self.n.fetch_add(1, Ordering::SeqCst);
        let b = self.dir.join(format!("bundle-{n}"));
        fs::create_dir_all(&b).unwrap();
        fs::write(
            b.join("config.json"),
            serde_json::to_vec_pretty(config).unwrap(),
        )
        .unwrap();
        b
    }

    pub fn bundle(&self, script: &str) -> PathBuf {
        self.bundle_with(&self.config(script))
    }

    /// Runs `runr --root ROOT args...`, stdio captured through files.
    pub fn runr(&self, args: &[&str]) -> Out {
        self.runr_env(args, &[])
    }

    pub fn runr_env(&self, args: &[&str], pre: &[&str]) -> Out {
        let n = self.n.fetch_add(1, Ordering::SeqCst);
        let (o, e) = (
            self.dir.join(format!("out-{n}")),
            self.dir.join(format!("err-{n}")),
        );
        let status = Command::new(runr())
            .args(pre)
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&o).unwrap())
            .stderr(fs::File::create(&e).unwrap())
            .status()
            .unwrap();
        Out {
            code: status.code().unwrap_or(
                128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0),
            ),
            stdout: fs::read_to_string(&o).unwrap(),
            stderr: fs::read_to_string(&e).unwrap(),
        }
    }

    /// `run` of a script in the default config, returning its output.
    pub fn run_script(&self, script: &str) -> Out {
        self.run_config(&self.config(script))
    }

    pub fn run_config(&self, config: &Value) -> Out {
        let b = self.bundle_with(config);
        let id = self.id();
        self.runr(&["run", "-b", b.to_str().unwrap(), &id])
    }

    /// The parsed `state` of a container.
    pub fn state(&self, id: &str) -> Value {
        let out = self.runr(&["state", id]).ok();
        serde_json::from_str(&out.stdout).unwrap()
    }

    /// Waits (10 s at most) until `state` reports `want`; before the
    /// container exists, the error line counts as its status.
    pub fn wait_status(&self, id: &str, want: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let out = self.runr(&["state", id]);
            let s = match serde_json::from_str::<Value>(&out.stdout) {
                Ok(v) => v["status"].as_str().unwrap_or("").to_string(),
                Err(_) => out.stderr.clone(),
            };
            if s == want {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{id} stayed {s}, wanted {want}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Creates and starts a container running `script`; returns id and pid.
    pub fn start(&self, config: &Value) -> (String, i32) {
        let b = self.bundle_with(config);
        let id = self.id();
        self.runr(&["create", "-b", b.to_str().unwrap(), &id]).ok();
        self.runr(&["start", &id]).ok();
        let pid = self.state(&id)["pid"].as_i64().unwrap() as i32;
        (id, pid)
    }

    /// Cgroup directories whose name contains `id`, anywhere under /sys/fs/cgroup.
    pub fn cgroups_named(id: &str) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut stack = vec![PathBuf::from("/sys/fs/cgroup")];
        while let Some(d) = stack.pop() {
            let Ok(rd) = fs::read_dir(&d) else { continue };
            for e in rd.flatten() {
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    let p = e.path();
                    if e.file_name().to_string_lossy().contains(id) {
                        found.push(p.clone());
                    }
                    stack.push(p);
                }
            }
        }
        found
    }

    /// Asserts that nothing of a container is left: state dir, cgroups.
    pub fn assert_gone(&self, id: &str) {
        assert!(
            !self.root.join(id).exists(),
            "state dir of {id} left behind"
        );
        assert_eq!(
            Self::cgroups_named(id),
            Vec::<PathBuf>::new(),
            "cgroups of {id} left behind"
        );
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        if let Ok(rd) = fs::read_dir(&self.root) {
            for e in rd.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                let _ = Command::new(runr())
                    .arg("--root")
                    .arg(&self.root)
                    .args(["delete", "--force", &id])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
        // Never delete through a mount: a container without a mount
        // namespace whose mounts delete missed (the leak check names them).
        let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        if info
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .any(|m| Path::new(m).starts_with(&self.dir))
        {
            eprintln!("{}: mounts left under it; not removed", self.dir.display());
            return;
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Reads a `Key:\tvalue` line of /proc/PID/status text.
pub fn status_field(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}
