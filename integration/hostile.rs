//! Hostile bundles: symlinks that point out of the rootfs, a fake /proc,
//! a swapped /dev/null, leaked-fd cwds, absurd inputs. Each must fail to
//! create or be contained, and leave nothing behind.

use std::os::unix::fs::symlink;
use std::path::Path;

use serde_json::json;

use crate::common::{build_rootfs, Ctx};

/// A private, writable rootfs for a test that plants things in it.
fn own_rootfs(ctx: &Ctx) -> std::path::PathBuf {
    let r = ctx.dir.join("own-rootfs");
    build_rootfs(&r);
    r
}

fn create_fails(ctx: &Ctx, c: &serde_json::Value, want: &str) {
    let b = ctx.bundle_with(c);
    let id = ctx.id();
    let out = ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]);
    assert_eq!(out.code, 1, "{want}: {out:?}");
    assert!(out.err().contains(want), "wanted {want:?}: {out:?}");
    ctx.assert_gone(&id);
}

#[test]
fn mount_destination_symlinks_resolve_inside_the_rootfs() {
    let ctx = Ctx::new("hostsym");
    let r = own_rootfs(&ctx);
    let outside = ctx.dir.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    // Both point at the host's `outside` dir if followed on the host.
    symlink(&outside, r.join("abs")).unwrap();
    symlink(
        format!("../../../../../../..{}", outside.display()),
        r.join("rel"),
    )
    .unwrap();
    let mut c = ctx.config("ls -d /abs/ /rel/ >/dev/null && echo inside");
    c["root"]["path"] = json!(r);
    c["root"]["readonly"] = json!(false);
    let m = c["mounts"].as_array_mut().unwrap();
    m.push(json!({"destination": "/abs/t1", "type": "tmpfs", "source": "tmpfs"}));
    m.push(json!({"destination": "/rel/t2", "type": "tmpfs", "source": "tmpfs"}));
    assert_eq!(ctx.run_config(&c).ok().stdout, "inside\n");
    // Nothing was created or mounted on the host side.
    assert!(
        std::fs::read_dir(&outside).unwrap().next().is_none(),
        "a mount point was made outside the rootfs"
    );
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mi.contains(outside.to_str().unwrap()));
}

#[test]
fn proc_sys_or_dev_as_a_symlink_is_refused() {
    let ctx = Ctx::new("hostproc");
    for d in ["proc", "sys", "dev"] {
        let r = own_rootfs(&ctx);
        std::fs::remove_dir(r.join(d)).unwrap();
        std::fs::create_dir_all(r.join("fake")).unwrap();
        symlink("/fake", r.join(d)).unwrap();
        let mut c = ctx.config("true");
        c["root"]["path"] = json!(r);
        create_fails(
            &ctx,
            &c,
            &format!("/{d} is a symlink in the rootfs: refused"),
        );
        std::fs::remove_dir_all(&r).unwrap();
    }
}

#[test]
fn binds_over_proc_are_refused_but_lxcfs_files_allowed() {
    let ctx = Ctx::new("hostprocbind");
    let src = ctx.dir.join("fakeproc");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("meminfo"), "MemTotal: 1 kB\n").unwrap();
    let mut c = ctx.config("true");
    c["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/proc/self", "type": "bind", "source": src, "options": ["bind"]}),
    );
    create_fails(
        &ctx,
        &c,
        "/proc/self cannot be mounted because it is inside /proc",
    );
    let mut c = ctx.config("true");
    c["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/proc", "type": "bind", "source": src, "options": ["rbind"]}));
    create_fails(&ctx, &c, "only a proc filesystem can be mounted at /proc");
    let mut c = ctx.config("head -1 /proc/meminfo");
    c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/proc/meminfo", "type": "bind", "source": src.join("meminfo"), "options": ["bind", "ro"]}));
    assert_eq!(ctx.run_config(&c).ok().stdout, "MemTotal: 1 kB\n");
}

#[test]
fn dev_null_swapped_for_a_symlink_is_not_used_for_masking() {
    let ctx = Ctx::new("hostnull");
    // linux.devices may not replace /dev/null with another device either.
    let mut c = ctx.config("true");
    c["linux"]["devices"] = json!([{"path": "/dev/null", "type": "c", "major": 1, "minor": 5}]);
    create_fails(
        &ctx,
        &c,
        "/dev/null in the container is not the null device",
    );
    // The image's own /dev (no tmpfs over it) with /dev/null a symlink out
    // of the rootfs, or a regular file: runr makes the real node before
    // masking with it, and the host file stays as it was.
    let host = ctx.dir.join("host-null");
    std::fs::write(&host, "host\n").unwrap();
    for kind in ["symlink", "file"] {
        let r = ctx.dir.join(format!("null-rootfs-{kind}"));
        build_rootfs(&r);
        if kind == "symlink" {
            symlink(&host, r.join("dev/null")).unwrap();
        } else {
            std::fs::write(r.join("dev/null"), "fake\n").unwrap();
        }
        let mut c = ctx.config("[ -c /dev/null ] && echo null; cat /proc/kcore; echo done");
        c["root"]["path"] = json!(r);
        c["root"]["readonly"] = json!(false);
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .retain(|m| m["destination"] != "/dev");
        // /proc/kcore is masked with /dev/null: it reads as empty.
        assert_eq!(ctx.run_config(&c).ok().stdout, "null\ndone\n", "{kind}");
        assert_eq!(std::fs::read_to_string(&host).unwrap(), "host\n", "{kind}");
    }
}

#[test]
fn cwd_through_a_leaked_fd_is_refused() {
    let ctx = Ctx::new("hostcwd");
    for n in 3..8 {
        let mut c = ctx.config("pwd");
        c["process"]["cwd"] = json!(format!("/proc/self/fd/{n}"));
        let b = ctx.bundle_with(&c);
        let id = ctx.id();
        let out = ctx.runr(&["run", "-b", b.to_str().unwrap(), &id]);
        assert_ne!(out.code, 0, "cwd /proc/self/fd/{n} was accepted: {out:?}");
        assert!(
            !out.stdout.contains('/'),
            "the process ran in {:?}",
            out.stdout
        );
        ctx.assert_gone(&id);
    }
}

#[test]
fn absurd_inputs_get_clear_errors() {
    let ctx = Ctx::new("hostabsurd");
    let mut c = ctx.config("true");
    c["hostname"] = json!("h".repeat(1 << 20));
    create_fails(&ctx, &c, "hostname is longer than 64 bytes");
    // 200 levels of nesting: serde's recursion limit, not a stack overflow.
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let b = ctx.bundle("true");
    let text = std::fs::read_to_string(b.join("config.json"))
        .unwrap()
        .replacen('{', &format!("{{\"x\": {deep},"), 1);
    std::fs::write(b.join("config.json"), text).unwrap();
    let id = ctx.id();
    let out = ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("recursion limit"), "{out:?}");
    // Invalid UTF-8 in config.json.
    std::fs::write(b.join("config.json"), b"{\"ociVersion\": \"\xff\xfe\"}").unwrap();
    let out = ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("invalid JSON"), "{out:?}");
    // 100,000 mounts: refused or mounted, in bounded time, nothing left.
    let mut c = ctx.config("true");
    let m = c["mounts"].as_array_mut().unwrap();
    for i in 0..100_000 {
        m.push(json!({"destination": format!("/t/{i}"), "type": "bogusfs", "source": "x"}));
    }
    let t = std::time::Instant::now();
    create_fails(&ctx, &c, "mount /t/0");
    assert!(t.elapsed().as_secs() < 60);
    assert!(!Path::new(&ctx.root).join(&id).exists());
}

/// A container process that watches /proc/*/exe while `runr exec` runs:
/// it tries to open each exe for writing, and keeps a read fd of every
/// one it can open to try reopening it for writing later, after that
/// process is gone (the O_PATH trick of CVE-2019-5736). `/evil` has
/// `#!/proc/self/exe` as interpreter: the kernel resolves it while the
/// exec'd process is still runr, so runr's binary runs in the container.
const EXE_ATTACKER: &str = r#"
n=0
while [ ! -e /report/stop ]; do
  for e in /proc/[0-9]*/exe; do
    [ "$e" -ef /bin/busybox ] && continue
    if (: >> "$e") 2>/dev/null; then echo "write-open $e" >> /report/log; fi
    if [ $n -lt 6 ] && eval "command exec $((n + 3))< \$e" 2>/dev/null; then
      n=$((n + 1)); echo "held $e" >> /report/log
    fi
  done
  f=3
  while [ $f -lt $((n + 3)) ]; do
    if (: >> /proc/self/fd/$f) 2>/dev/null; then echo "reopened-writable $f" >> /report/log; fi
    f=$((f + 1))
  done
done
echo done >> /report/log
"#;

#[test]
fn runr_binary_is_not_writable_through_proc_exe_during_exec() {
    let ctx = Ctx::new("hostexe");
    let r = own_rootfs(&ctx);
    std::fs::write(r.join("evil"), "#!/proc/self/exe\n").unwrap();
    std::fs::set_permissions(
        r.join("evil"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let report = ctx.dir.join("report");
    std::fs::create_dir_all(&report).unwrap();
    let mut c = ctx.config(EXE_ATTACKER);
    c["root"]["path"] = json!(r);
    c["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/report", "type": "bind", "source": report, "options": ["bind"]}),
    );
    let before = std::fs::read(crate::common::runr()).unwrap();
    let (id, _) = ctx.start(&c);
    for _ in 0..15 {
        // runr's own binary runs as the process: it rejects "/evil" as a
        // subcommand and exits 2.
        let out = ctx.runr(&["exec", &id, "/evil"]);
        assert_ne!(out.code, 0, "{out:?}");
        ctx.runr(&["exec", &id, "true"]).ok();
    }
    // Let the attacker retry its fds once no runr runs any more.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    std::fs::write(report.join("stop"), "").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let log = loop {
        let log = std::fs::read_to_string(report.join("log")).unwrap_or_default();
        if log.contains("done") || std::time::Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(log.contains("done"), "the attacker did not finish: {log}");
    assert!(
        !log.contains("write-open") && !log.contains("reopened-writable"),
        "runr's binary was writable from the container:\n{log}"
    );
    // The attack did reach runr's binary (else this test proves nothing).
    assert!(log.contains("held"), "no runr exe was ever opened:\n{log}");
    assert!(
        std::fs::read(crate::common::runr()).unwrap() == before,
        "runr's binary changed"
    );
    ctx.runr(&["delete", "--force", &id]).ok();
    ctx.assert_gone(&id);
}

#[test]
fn proc_writes_reach_the_real_procfs_or_fail() {
    let ctx = Ctx::new("hostprocw");
    let fake = ctx.dir.join("fake");
    std::fs::create_dir_all(&fake).unwrap();
    for f in ["domainname", "oom_score_adj", "shmmax"] {
        std::fs::write(fake.join(f), "untouched\n").unwrap();
    }
    let untouched = |what: &str| {
        for f in ["domainname", "oom_score_adj", "shmmax"] {
            assert_eq!(
                std::fs::read_to_string(fake.join(f)).unwrap(),
                "untouched\n",
                "{what}: runr wrote into the fake {f}"
            );
        }
    };
    // A mount over a /proc path runr writes to, spelled with `..`.
    let mut c = ctx.config("true");
    c["linux"]["sysctl"] = json!({"kernel.domainname": "d.example"});
    c["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/x/../proc/sys/kernel", "type": "bind", "source": fake, "options": ["bind"]}),
    );
    create_fails(&ctx, &c, "cannot be mounted because it is inside /proc");
    untouched("dotdot");
    // The same through a symlink to /proc in the image.
    let r = own_rootfs(&ctx);
    symlink("/proc", r.join("p")).unwrap();
    let mut c = ctx.config("true");
    c["root"]["path"] = json!(r);
    c["process"]["oomScoreAdj"] = json!(7);
    c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/p/self/oom_score_adj", "type": "bind", "source": fake.join("oom_score_adj"), "options": ["bind"]}));
    create_fails(&ctx, &c, "resolves to a path inside /proc");
    untouched("symlink");
    // The one sysctl file a mount may cover (as runc, for CRIU) is not a
    // sysctl a config may set: refused before anything is written.
    let mut c = ctx.config("true");
    c["linux"]["sysctl"] = json!({"kernel.ns_last_pid": "12345"});
    c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/proc/sys/kernel/ns_last_pid", "type": "bind", "source": fake.join("shmmax"), "options": ["bind"]}));
    create_fails(&ctx, &c, "is not in a separate kernel namespace");
    untouched("ns_last_pid");
    // Any other sysctl file may not be covered at all (and write_proc
    // refuses a covered file anyway: sys.rs unit test).
    let mut c = ctx.config("true");
    c["linux"]["sysctl"] = json!({"kernel.shmmax": "4096"});
    c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/proc/sys/kernel/shmmax", "type": "bind", "source": fake.join("shmmax"), "options": ["bind"]}));
    create_fails(&ctx, &c, "cannot be mounted because it is inside /proc");
    untouched("shmmax");
}

/// Creates a terminal container whose console goes to a runr-recvtty;
/// returns create's outcome and the recvtty (fed `input` once started).
fn create_with_tty(
    ctx: &Ctx,
    c: &serde_json::Value,
    id: &str,
) -> (crate::common::Out, std::process::Child, std::path::PathBuf) {
    let sock = ctx.dir.join(format!("{id}.sock"));
    let out = ctx.dir.join(format!("{id}.tty"));
    let rt = crate::terminal::recvtty(&sock, &out);
    let b = ctx.bundle_with(c);
    let res = ctx.runr(&[
        "create",
        "--console-socket",
        sock.to_str().unwrap(),
        "-b",
        b.to_str().unwrap(),
        id,
    ]);
    (res, rt, out)
}

#[test]
fn dev_console_and_pts_symlinks_are_not_followed_out() {
    use std::io::Write;
    let ctx = Ctx::new("hostcons");
    let host_file = ctx.dir.join("host-file");
    std::fs::write(&host_file, "host\n").unwrap();
    let host_dir = ctx.dir.join("host-pts");
    std::fs::create_dir_all(&host_dir).unwrap();
    let tty = |c: &mut serde_json::Value, r: &Path, own_dev: bool| {
        c["root"]["path"] = json!(r);
        c["root"]["readonly"] = json!(false);
        c["process"]["terminal"] = json!(true);
        c["process"]["args"] = json!(["sh"]);
        if own_dev {
            // The image's own /dev, not a fresh tmpfs: its links count.
            c["mounts"]
                .as_array_mut()
                .unwrap()
                .retain(|m| m["destination"] != "/dev");
        }
    };
    // /dev/console pointing out of the rootfs, absolute and via `..`.
    for (n, target) in [
        host_file.display().to_string(),
        format!("../../../../../../..{}", host_file.display()),
    ]
    .iter()
    .enumerate()
    {
        let r = ctx.dir.join(format!("cons-rootfs-{n}"));
        build_rootfs(&r);
        symlink(target, r.join("dev/console")).unwrap();
        let mut c = ctx.config("unused");
        tty(&mut c, &r, true);
        let id = ctx.id();
        let (out, mut rt, _) = create_with_tty(&ctx, &c, &id);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(
            out.err()
                .contains("/dev/console is a symlink in the container"),
            "{out:?}"
        );
        let _ = rt.kill();
        let _ = rt.wait();
        ctx.assert_gone(&id);
    }
    // /dev/pts a symlink out of the rootfs: devpts lands inside it, the
    // pty works, /dev/console is the pty.
    let r = ctx.dir.join("pts-rootfs");
    build_rootfs(&r);
    symlink(&host_dir, r.join("dev/pts")).unwrap();
    let mut c = ctx.config("unused");
    tty(&mut c, &r, true);
    let id = ctx.id();
    let (out, mut rt, tty_out) = create_with_tty(&ctx, &c, &id);
    assert_eq!(out.code, 0, "{out:?}");
    ctx.runr(&["start", &id]).ok();
    rt.stdin
        .as_mut()
        .unwrap()
        .write_all(b"tty; [ -c /dev/console ] && echo con''sole; exit\n")
        .unwrap();
    let text = crate::terminal::wait_for(&tty_out, "console\r\n");
    // The pty is on the devpts mounted where the link leads inside the
    // rootfs (the name shows the link's target path, resolved in there).
    assert!(text.contains("pts/0\r\n"), "{text:?}");
    let _ = rt.wait();
    ctx.runr(&["delete", "-f", &id]).ok();
    ctx.assert_gone(&id);
    assert_eq!(std::fs::read_to_string(&host_file).unwrap(), "host\n");
    assert!(
        std::fs::read_dir(&host_dir).unwrap().next().is_none(),
        "something was made in the host's directory"
    );
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mi.contains(host_dir.to_str().unwrap()));
    assert!(!mi.contains(host_file.to_str().unwrap()));
}

#[test]
fn masked_readonly_device_and_cwd_symlinks_resolve_inside_the_rootfs() {
    let ctx = Ctx::new("hostpaths");
    let r = own_rootfs(&ctx);
    let (out1, out2) = (ctx.dir.join("outside1"), ctx.dir.join("outside2"));
    std::fs::create_dir_all(&out1).unwrap();
    std::fs::create_dir_all(&out2).unwrap();
    std::fs::write(out1.join("secret"), "host-secret").unwrap();
    // The same paths inside the rootfs: where the links must lead.
    let in1 = r.join(out1.strip_prefix("/").unwrap());
    let in2 = r.join(out2.strip_prefix("/").unwrap());
    std::fs::create_dir_all(&in1).unwrap();
    std::fs::create_dir_all(&in2).unwrap();
    std::fs::write(in1.join("secret"), "inside-secret").unwrap();
    symlink(&out1, r.join("abs")).unwrap();
    symlink(
        format!("../../../../../../..{}", out2.display()),
        r.join("rel"),
    )
    .unwrap();
    let mut c = ctx.config(
        "cat /abs/secret; echo '|'; touch /rel/x 2>/dev/null || echo ro; \
         echo x > cwdfile && echo cwd; [ -c /abs/devnode ] && echo dev",
    );
    c["root"]["path"] = json!(r);
    c["root"]["readonly"] = json!(false);
    c["process"]["cwd"] = json!("/abs");
    c["linux"]["maskedPaths"] = json!(["/abs/secret"]);
    c["linux"]["readonlyPaths"] = json!(["/rel"]);
    c["linux"]["devices"] = json!([{"path": "/abs/devnode", "type": "c", "major": 1, "minor": 3}]);
    // Masked (empty), read-only, writable cwd and the node, all inside.
    assert_eq!(ctx.run_config(&c).ok().stdout, "|\nro\ncwd\ndev\n");
    assert!(in1.join("cwdfile").is_file());
    assert!(std::fs::symlink_metadata(in1.join("devnode")).is_ok());
    // The host's directories are as they were.
    assert_eq!(
        std::fs::read_to_string(out1.join("secret")).unwrap(),
        "host-secret"
    );
    let names = |d: &Path| -> Vec<String> {
        std::fs::read_dir(d)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(names(&out1), vec!["secret".to_string()]);
    assert!(names(&out2).is_empty());
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mi.contains(out1.to_str().unwrap()) && !mi.contains(out2.to_str().unwrap()));
}

/// `runr create`, measured: exit code, stderr, wall time and peak RSS in
/// KiB (by GNU time: the test's own wait4 would count the test process,
/// whose memory a spawned child shares until its exec).
fn create_measured(ctx: &Ctx, c_text: &[u8]) -> (i32, String, std::time::Duration, i64, String) {
    let b = ctx.bundle("true");
    std::fs::write(b.join("config.json"), c_text).unwrap();
    let id = ctx.id();
    let err = ctx.dir.join(format!("{id}.err"));
    let rss = ctx.dir.join(format!("{id}.rss"));
    let t = std::time::Instant::now();
    let st = std::process::Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss)
        .arg(crate::common::runr())
        .arg("--root")
        .arg(&ctx.root)
        .args(["create", "-b", b.to_str().unwrap(), &id])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .status()
        .expect("run /usr/bin/time (integration/deps.sh installs it)");
    let took = t.elapsed();
    let rss_text = std::fs::read_to_string(&rss).unwrap();
    let rss_kb = rss_text.lines().last().unwrap().trim().parse().unwrap();
    let stderr = std::fs::read_to_string(&err).unwrap();
    (st.code().unwrap_or(-1), stderr, took, rss_kb, id)
}

#[test]
fn huge_inputs_stay_in_bounded_time_and_memory() {
    let ctx = Ctx::new("hosthuge");
    let limit_kb = 512 * 1024;
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut c = ctx.config("true");
    let m = c["mounts"].as_array_mut().unwrap();
    for i in 0..100_000 {
        m.push(json!({"destination": format!("/t/{i}"), "type": "bogusfs", "source": "x"}));
    }
    cases.push(("100,000 mounts", serde_json::to_vec(&c).unwrap()));
    let mut c = ctx.config("true");
    c["annotations"] = json!({"big": "a".repeat(32 << 20)});
    cases.push(("32 MiB annotation", serde_json::to_vec(&c).unwrap()));
    let deep = format!("{}1{}", "[".repeat(1 << 20), "]".repeat(1 << 20));
    cases.push((
        "a million levels of nesting",
        format!("{{\"x\": {deep}}}").into_bytes(),
    ));
    let mut c = ctx.config("true");
    c["hostname"] = json!("h".repeat(1 << 20));
    cases.push(("1 MiB hostname", serde_json::to_vec(&c).unwrap()));
    for (what, text) in cases {
        let (code, stderr, took, rss_kb, id) = create_measured(&ctx, &text);
        assert!(code == 0 || code == 1, "{what}: exit {code}: {stderr}");
        assert!(
            code == 0 || stderr.trim_end().lines().count() == 1,
            "{what}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        assert!(took.as_secs() < 60, "{what}: took {took:?}");
        assert!(rss_kb < limit_kb, "{what}: peak RSS {rss_kb} KiB");
        eprintln!("{what}: exit {code} in {took:?}, peak RSS {rss_kb} KiB");
        ctx.runr(&["delete", "--force", &id]);
        ctx.assert_gone(&id);
    }
}
