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
fn proc_or_sys_as_a_symlink_is_refused() {
    let ctx = Ctx::new("hostproc");
    for d in ["proc", "sys"] {
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
