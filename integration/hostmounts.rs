//! A container without a mount namespace of its own: it is in runr's
//! (config-linux.md: an unlisted namespace is inherited), chrooted into its
//! rootfs, and every mount made for it there is gone after delete. Each
//! test has a rootfs of its own, as these mounts are in the test's mount
//! namespace.

use std::ffi::CString;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::common::{build_rootfs, Ctx};

/// Mount points under `dir` in this process's mount namespace.
fn mounts_under(dir: &Path) -> Vec<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(String::from))
        .filter(|m| Path::new(m).starts_with(dir))
        .collect()
}

/// A rootfs of the test's own and a config on it without a mount namespace.
fn setup(ctx: &Ctx, script: &str) -> (PathBuf, Value) {
    let rootfs = ctx.dir.join("rootfs");
    build_rootfs(&rootfs);
    let rootfs = fs::canonicalize(rootfs).unwrap();
    let mut c = ctx.config(script);
    c["root"]["path"] = json!(rootfs);
    c["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "uts"}, {"type": "ipc"}]);
    (rootfs, c)
}

fn ns(pid: &str) -> String {
    fs::read_link(format!("/proc/{pid}/ns/mnt"))
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn runs_in_the_runtimes_mount_namespace_and_delete_unmounts() {
    let ctx = Ctx::new("hostmnt");
    let (rootfs, mut c) = setup(&ctx, "sleep 1000");
    c["root"]["readonly"] = json!(true);
    let (id, pid) = ctx.start(&c);
    assert_eq!(ns(&pid.to_string()), ns("self"));
    let made = mounts_under(&rootfs);
    for m in ["", "/proc", "/dev", "/sys"] {
        let want = format!("{}{m}", rootfs.display());
        assert!(made.contains(&want), "{want} not mounted: {made:?}");
    }
    // exec has no mount namespace to join: it is chrooted as the init is,
    // and sees the container's mounts (the read-only root, its /proc).
    let out = ctx
        .runr(&[
            "exec",
            &id,
            "sh",
            "-c",
            "ls /bin/busybox; touch /x 2>/dev/null || echo ro; tr '\\0' ' ' </proc/1/cmdline",
        ])
        .ok();
    assert_eq!(out.stdout, "/bin/busybox\nro\nsleep 1000 ");
    // What the container process mounts itself goes too.
    ctx.runr(&[
        "exec",
        "--cap",
        "CAP_SYS_ADMIN",
        &id,
        "mount",
        "-t",
        "tmpfs",
        "tmpfs",
        "/tmp",
    ])
    .ok();
    assert!(mounts_under(&rootfs).contains(&format!("{}/tmp", rootfs.display())));
    ctx.runr(&["delete", "-f", &id]).ok();
    assert_eq!(mounts_under(&rootfs), Vec::<String>::new());
    ctx.assert_gone(&id);
}

#[test]
fn a_mount_there_before_create_stays() {
    let ctx = Ctx::new("hostmntkeep");
    let (rootfs, c) = setup(&ctx, "true");
    let mnt = rootfs.join("mnt");
    let target = CString::new(mnt.to_str().unwrap()).unwrap();
    let tmpfs = CString::new("tmpfs").unwrap();
    // SAFETY: valid C strings; a tmpfs in the test's own temp dir.
    let r = unsafe {
        libc::mount(
            tmpfs.as_ptr(),
            target.as_ptr(),
            tmpfs.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0, "mount tmpfs on {}", mnt.display());
    let out = ctx.run_config(&c);
    let left = mounts_under(&rootfs);
    // SAFETY: as above.
    unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(left, vec![mnt.display().to_string()]);
}

#[test]
fn a_failed_create_leaves_no_mount() {
    let ctx = Ctx::new("hostmntfail");
    let (rootfs, mut c) = setup(&ctx, "true");
    // Fails after the rootfs bind, /proc and /dev are mounted.
    c["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/mnt/x", "type": "bind", "source": ctx.dir.join("missing"),
        "options": ["bind"]
    }));
    let b = ctx.bundle_with(&c);
    let id = ctx.id();
    let out = ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.err().contains("missing"), "{}", out.err());
    assert_eq!(mounts_under(&rootfs), Vec::<String>::new());
    ctx.assert_gone(&id);
}

#[test]
fn a_second_container_on_the_same_rootfs_is_refused() {
    let ctx = Ctx::new("hostmnttwo");
    let (rootfs, c) = setup(&ctx, "sleep 1000");
    let (first, _) = ctx.start(&c);
    let b = ctx.bundle_with(&c);
    let id = ctx.id();
    let out = ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.err().contains(&format!("in use by container {first}")),
        "{}",
        out.err()
    );
    ctx.assert_gone(&id);
    ctx.runr(&["delete", "-f", &first]).ok();
    assert_eq!(mounts_under(&rootfs), Vec::<String>::new());
}

#[test]
fn rootfs_propagation_needs_a_mount_namespace() {
    let ctx = Ctx::new("hostmntprop");
    let (rootfs, mut c) = setup(&ctx, "true");
    c["linux"]["rootfsPropagation"] = json!("shared");
    let out = ctx.run_config(&c);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.err()
            .contains("linux.rootfsPropagation needs a mount namespace"),
        "{}",
        out.err()
    );
    assert_eq!(mounts_under(&rootfs), Vec::<String>::new());
}
