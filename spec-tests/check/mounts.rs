//! config.md root and mounts; config-linux.md masked and read-only paths.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use serde_json::Value;

use crate::Tap;

/// (mount point, options, fstype, super options) of /proc/self/mountinfo.
type Mount = (String, String, String, String);

fn mounts() -> Vec<Mount> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let sep = f.iter().position(|x| *x == "-")?;
            Some((
                f.get(4)?.replace("\\040", " "),
                f.get(5)?.to_string(),
                f.get(sep + 1)?.to_string(),
                f.get(sep + 3).unwrap_or(&"").to_string(),
            ))
        })
        .collect()
}

fn last_mount<'a>(ms: &'a [Mount], dest: &str) -> Option<&'a Mount> {
    ms.iter().rev().find(|m| m.0 == dest)
}

pub fn check(t: &mut Tap, cfg: &Value) {
    let linux = &cfg["linux"];
    let ms = mounts();
    let w = write_probe("/");
    if cfg["root"]["readonly"].as_bool() == Some(true) {
        let root = last_mount(&ms, "/");
        t.check(
            root.is_some_and(|m| m.1.split(',').any(|o| o == "ro")),
            "config.md root.readonly",
            || format!("{root:?}"),
        );
        t.check(
            w == Some(libc::EROFS),
            "config.md root.readonly refuses writes",
            || format!("write gave {w:?}"),
        );
    } else if cfg["process"]["user"]["uid"].as_u64().unwrap_or(0) == 0 {
        t.check(w.is_none(), "config.md root writable", || {
            format!("write gave {w:?}")
        });
    }
    let all: Vec<&Value> = cfg["mounts"].as_array().into_iter().flatten().collect();
    for (i, m) in all.iter().enumerate() {
        // A relative destination is relative to "/".
        let dest = absolute(m["destination"].as_str().unwrap_or(""));
        // Only the last mount on a destination is visible.
        if all[i + 1..]
            .iter()
            .any(|l| absolute(l["destination"].as_str().unwrap_or("")) == dest)
        {
            continue;
        }
        let dest = dest.as_str();
        let found = last_mount(&ms, dest);
        let opts: Vec<&str> = m["options"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let typ = m["type"].as_str().unwrap_or("");
        let bind = typ == "bind" || opts.iter().any(|o| *o == "bind" || *o == "rbind");
        let typ_ok = bind || typ == "cgroup" || found.is_some_and(|f| f.2 == typ);
        t.check(
            found.is_some() && typ_ok,
            &format!("config.md mounts {dest} ({typ})"),
            || format!("{found:?}"),
        );
        // (The cgroup mount's own read-only check is a case of its own.)
        if typ == "cgroup" {
            continue;
        }
        if opts.contains(&"ro") {
            t.check(
                found.is_some_and(|f| f.1.split(',').any(|o| o == "ro")),
                &format!("config.md mounts {dest} ro"),
                || format!("{found:?}"),
            );
            let w = write_probe(dest);
            t.check(
                w == Some(libc::EROFS),
                &format!("config.md mounts {dest} ro refuses writes"),
                || format!("write gave {w:?}"),
            );
        }
        for flag in ["nosuid", "nodev", "noexec"] {
            if opts.contains(&flag) {
                t.check(
                    found.is_some_and(|f| f.1.split(',').any(|o| o == flag)),
                    &format!("config.md mounts {dest} {flag}"),
                    || format!("{found:?}"),
                );
            }
        }
        let flags = statvfs_flags(dest);
        if opts.contains(&"nosuid") {
            t.check(
                flags & libc::ST_NOSUID != 0,
                &format!("config.md mounts {dest} nosuid (statvfs)"),
                || format!("f_flag {flags:#x}"),
            );
        }
        // Behaviour where the process may write: tmpfs, and binds of the
        // suite's own temp dirs (never a read-only one).
        if (typ == "tmpfs" || bind) && !opts.contains(&"ro") && dest != "/spec" {
            let noexec = opts.contains(&"noexec");
            if let Some(ran) = exec_probe(dest) {
                t.check(
                    ran != noexec,
                    &format!("config.md mounts {dest} exec (noexec {noexec})"),
                    || format!("an executable there ran: {ran}"),
                );
            }
            if let Some(opened) = dev_probe(dest) {
                let nodev = opts.contains(&"nodev");
                t.check(
                    opened != nodev,
                    &format!("config.md mounts {dest} device open (nodev {nodev})"),
                    || format!("a device node there opened: {opened}"),
                );
            }
        }
        if typ == "tmpfs" {
            tmpfs_options(t, dest, &opts);
        }
        if typ == "devpts" {
            let sup = found.map(|f| f.3.clone()).unwrap_or_default();
            for o in opts.iter().filter(|o| {
                ["gid=", "mode=", "ptmxmode="]
                    .iter()
                    .any(|k| o.starts_with(k))
            }) {
                let (k, v) = o.split_once('=').unwrap();
                // mountinfo shows the gid as the initial user namespace
                // sees it.
                let norm = if k == "gid" {
                    format!("{k}={}", host_gid(v.parse().unwrap_or(0)))
                } else {
                    format!("{k}={:o}", u32::from_str_radix(v, 8).unwrap_or(0))
                };
                t.check(
                    sup.split(',').any(|x| x == norm),
                    &format!("config.md mounts {dest} devpts {o}"),
                    || sup.clone(),
                );
            }
        }
    }
    dev_links(t, cfg);
    for mp in linux["maskedPaths"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let Ok(meta) = fs::metadata(mp) else { continue };
        let masked = if meta.is_dir() {
            fs::read_dir(mp)
                .map(|mut d| d.next().is_none())
                .unwrap_or(true)
        } else {
            fs::read(mp).map(|b| b.is_empty()).unwrap_or(true)
        };
        t.check(masked, &format!("config-linux.md maskedPaths {mp}"), || {
            "readable".into()
        });
    }
    for rp in linux["readonlyPaths"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !Path::new(rp).exists() {
            continue;
        }
        let m = last_mount(&ms, rp);
        t.check(
            m.is_some_and(|m| m.1.split(',').any(|o| o == "ro")),
            &format!("config-linux.md readonlyPaths {rp}"),
            || format!("{m:?}"),
        );
    }
}

/// The host's gid for a gid of this user namespace (/proc/self/gid_map).
fn host_gid(gid: u64) -> u64 {
    let map = std::fs::read_to_string("/proc/self/gid_map").unwrap_or_default();
    map.lines()
        .filter_map(|l| {
            let n: Vec<u64> = l
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            (n.len() == 3 && gid >= n[0] && gid < n[0] + n[2]).then(|| n[1] + gid - n[0])
        })
        .next()
        .unwrap_or(gid)
}

fn absolute(dest: &str) -> String {
    if dest.starts_with('/') {
        dest.to_string()
    } else {
        format!("/{dest}")
    }
}

fn statvfs(path: &str) -> Option<libc::statvfs> {
    let c = std::ffi::CString::new(path).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and a zeroed out-struct.
    (unsafe { libc::statvfs(c.as_ptr(), &mut st) } == 0).then_some(st)
}

fn statvfs_flags(path: &str) -> u64 {
    statvfs(path).map(|s| s.f_flag).unwrap_or(0)
}

/// Tries to create a file at (or in) `dest`: None if it worked, else the errno.
fn write_probe(dest: &str) -> Option<i32> {
    let p = if Path::new(dest).is_dir() {
        format!("{dest}/.spec-probe-{}", std::process::id())
    } else {
        dest.to_string()
    };
    match fs::OpenOptions::new().create(true).append(true).open(&p) {
        Ok(_) => {
            if p != dest {
                let _ = fs::remove_file(&p);
            }
            None
        }
        Err(e) => e.raw_os_error(),
    }
}

/// Writes a script to the mount and runs it; None if the process may not
/// write there.
fn exec_probe(dest: &str) -> Option<bool> {
    let p = format!("{dest}/.spec-exec-{}", std::process::id());
    fs::write(&p, "#!/bin/sh\nexit 0\n").ok()?;
    let _ = fs::set_permissions(&p, fs::Permissions::from_mode(0o755));
    let ran = std::process::Command::new(&p)
        .status()
        .is_ok_and(|s| s.success());
    let _ = fs::remove_file(&p);
    Some(ran)
}

/// Makes /dev/null's twin in the mount and opens it; None if the process
/// may not mknod (no CAP_MKNOD).
fn dev_probe(dest: &str) -> Option<bool> {
    let p = format!("{dest}/.spec-null-{}", std::process::id());
    let c = std::ffi::CString::new(p.clone()).ok()?;
    // SAFETY: a valid C string.
    let r = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    if r != 0 {
        return None;
    }
    let opened = fs::File::open(&p).is_ok();
    let _ = fs::remove_file(&p);
    Some(opened)
}

fn size_bytes(v: &str) -> Option<u64> {
    let (n, mul) = match v.as_bytes().last()? {
        b'k' | b'K' => (&v[..v.len() - 1], 1 << 10),
        b'm' | b'M' => (&v[..v.len() - 1], 1 << 20),
        b'g' | b'G' => (&v[..v.len() - 1], 1 << 30),
        _ => (v, 1),
    };
    n.parse::<u64>().ok().map(|n| n * mul)
}

/// tmpfs size= and mode= as the filesystem reports them.
fn tmpfs_options(t: &mut Tap, dest: &str, opts: &[&str]) {
    for o in opts {
        if let Some(v) = o.strip_prefix("size=") {
            let want = size_bytes(v).unwrap_or(0);
            let got = statvfs(dest).map(|s| s.f_blocks * s.f_frsize).unwrap_or(0);
            t.check(
                got == want,
                &format!("config.md mounts {dest} tmpfs {o}"),
                || format!("size {got}"),
            );
        }
        if let Some(v) = o.strip_prefix("mode=") {
            let want = u32::from_str_radix(v, 8).unwrap_or(u32::MAX);
            let got = fs::metadata(dest).map(|m| m.mode() & 0o7777).unwrap_or(0);
            t.check(
                got == want,
                &format!("config.md mounts {dest} tmpfs {o}"),
                || format!("mode {got:o}"),
            );
        }
    }
}

/// runtime-linux.md: /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr.
fn dev_links(t: &mut Tap, cfg: &Value) {
    if !Path::new("/proc/self/fd").exists() || cfg["mounts"].as_array().is_none() {
        return;
    }
    for (link, target) in [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ] {
        let got = fs::read_link(link).map(|p| p.display().to_string()).ok();
        t.check(
            got.as_deref() == Some(target),
            &format!("runtime-linux.md symlink {link}"),
            || format!("{got:?}"),
        );
    }
}
