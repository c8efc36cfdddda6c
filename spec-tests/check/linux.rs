//! config-linux.md and runtime-linux.md from inside: devices, /dev links,
//! user namespace maps, sysctl, seccomp, personality, rootfs propagation,
//! read-only paths, memory policy, file descriptors; and `--syscall`, a
//! probe the seccomp cases run.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use serde_json::Value;

use crate::{status_field, Tap};

type Utsname = [u8; 390];

extern "C" {
    fn uname(buf: *mut u8) -> i32;
    fn syscall(n: i64, ...) -> i64;
}

/// The machine field of uname(2), without a libc crate.
fn uname_machine(buf: &mut Utsname) -> String {
    // SAFETY: struct utsname is six 65-byte fields: 390 bytes.
    if unsafe { uname(buf.as_mut_ptr()) } != 0 {
        return String::new();
    }
    let field = &buf[4 * 65..5 * 65];
    String::from_utf8_lossy(&field[..field.iter().position(|b| *b == 0).unwrap_or(65)]).into_owned()
}

fn major_minor(rdev: u64) -> (i64, i64) {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    (major as i64, minor as i64)
}

fn errno_of(r: std::io::Result<impl Sized>) -> i32 {
    match r {
        Ok(_) => 0,
        Err(e) => e.raw_os_error().unwrap_or(-1),
    }
}

/// config-linux.md Default Devices: present, right numbers, and working.
fn default_devices(t: &mut Tap) {
    for (d, maj, min) in [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ] {
        let m = fs::metadata(d);
        let ok = m
            .as_ref()
            .is_ok_and(|m| m.file_type().is_char_device() && major_minor(m.rdev()) == (maj, min));
        t.check(
            ok,
            &format!("config-linux.md default device {d} c {maj}:{min}"),
            || format!("{:?}", m.map(|m| (m.mode(), major_minor(m.rdev())))),
        );
    }
    let mut buf = [1u8; 8];
    let null_ok = fs::write("/dev/null", b"x").is_ok()
        && fs::File::open("/dev/null").is_ok_and(|mut f| f.read(&mut buf).ok() == Some(0));
    t.check(
        null_ok,
        "config-linux.md /dev/null discards and reads empty",
        String::new,
    );
    let zero = fs::File::open("/dev/zero").and_then(|mut f| f.read_exact(&mut buf));
    t.check(
        zero.is_ok() && buf == [0; 8],
        "config-linux.md /dev/zero reads zeros",
        || format!("{zero:?} {buf:?}"),
    );
    let full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .and_then(|mut f| f.write_all(b"x"));
    let e = errno_of(full);
    t.check(
        e == 28,
        "config-linux.md /dev/full write fails ENOSPC",
        || format!("errno {e}"),
    );
    for d in ["/dev/random", "/dev/urandom"] {
        let r = fs::File::open(d).and_then(|mut f| f.read_exact(&mut buf));
        t.check(r.is_ok(), &format!("config-linux.md {d} reads"), || {
            format!("{r:?}")
        });
    }
    let ptmx = fs::symlink_metadata("/dev/ptmx");
    let link = fs::read_link("/dev/ptmx")
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let ok = link == "pts/ptmx"
        || link == "/dev/pts/ptmx"
        || ptmx
            .as_ref()
            .is_ok_and(|m| m.file_type().is_char_device() && major_minor(m.rdev()) == (5, 2));
    t.check(
        ok,
        "config-linux.md /dev/ptmx is /dev/pts/ptmx (bind or symlink)",
        || format!("{link:?} {:?}", ptmx.map(|m| m.mode())),
    );
}

/// runtime-linux.md: the /dev symbolic links, when /proc is mounted.
fn dev_links(t: &mut Tap) {
    if fs::metadata("/proc/self/fd").is_err() {
        return;
    }
    for (l, target) in [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ] {
        let got = fs::read_link(l).map(|p| p.display().to_string());
        t.check(
            got.as_deref().ok() == Some(target),
            &format!("runtime-linux.md {l} -> {target}"),
            || format!("{got:?}"),
        );
    }
}

/// runtime-linux.md: only stdin, stdout and stderr are open by default.
fn file_descriptors(t: &mut Tap) {
    let Ok(rd) = fs::read_dir("/proc/self/fd") else {
        return;
    };
    let mut extra = Vec::new();
    for e in rd.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        let target = fs::read_link(e.path())
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        // The directory being read is an fd of its own.
        let stdio = ["0", "1", "2"].contains(&n.as_str());
        let listing = target.starts_with("/proc/") && target.ends_with("/fd");
        if !stdio && !listing {
            extra.push(format!("{n} -> {target}"));
        }
    }
    t.check(
        extra.is_empty(),
        "runtime-linux.md only fds 0, 1, 2 are open",
        || extra.join(", "),
    );
}

fn devices(t: &mut Tap, linux: &Value) {
    for dev in linux["devices"].as_array().into_iter().flatten() {
        let path = dev["path"].as_str().unwrap_or("");
        let m = fs::metadata(path);
        let ok = m.as_ref().is_ok_and(|m| {
            let (maj, min) = major_minor(m.rdev());
            let typ_ok = match dev["type"].as_str() {
                Some("c") | Some("u") => m.file_type().is_char_device(),
                Some("b") => m.file_type().is_block_device(),
                Some("p") => m.file_type().is_fifo(),
                _ => false,
            };
            let mode_ok = dev["fileMode"]
                .as_u64()
                .is_none_or(|fm| (m.mode() & 0o7777) as u64 == fm);
            let own_ok = dev["uid"].as_u64().is_none_or(|u| m.uid() as u64 == u)
                && dev["gid"].as_u64().is_none_or(|g| m.gid() as u64 == g);
            typ_ok
                && mode_ok
                && own_ok
                && (dev["type"] == "p"
                    || (Some(maj) == dev["major"].as_i64() && Some(min) == dev["minor"].as_i64()))
        });
        t.check(ok, &format!("config-linux.md devices {path}"), || {
            format!(
                "{:?}",
                m.map(|m| (
                    format!("{:o}", m.mode()),
                    major_minor(m.rdev()),
                    m.uid(),
                    m.gid()
                ))
            )
        });
    }
}

/// config-linux.md User namespace mappings, as /proc/self/{uid,gid}_map.
fn id_maps(t: &mut Tap, linux: &Value) {
    let new_user = linux["namespaces"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|n| n["type"] == "user" && n.get("path").is_none());
    if !new_user {
        return;
    }
    for (key, file) in [
        ("uidMappings", "/proc/self/uid_map"),
        ("gidMappings", "/proc/self/gid_map"),
    ] {
        let mut want: Vec<[u64; 3]> = linux[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                [
                    m["containerID"].as_u64().unwrap_or(0),
                    m["hostID"].as_u64().unwrap_or(0),
                    m["size"].as_u64().unwrap_or(0),
                ]
            })
            .collect();
        let text = fs::read_to_string(file).unwrap_or_default();
        let mut got: Vec<[u64; 3]> = text
            .lines()
            .map(|l| {
                let f: Vec<u64> = l
                    .split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect();
                [
                    f.first().copied().unwrap_or(0),
                    f.get(1).copied().unwrap_or(0),
                    f.get(2).copied().unwrap_or(0),
                ]
            })
            .collect();
        want.sort();
        got.sort();
        t.check(
            want == got,
            &format!("config-linux.md {key} in {file}"),
            || format!("{text:?}"),
        );
    }
}

/// config-linux.md Rootfs Mount Propagation, from the optional fields of
/// the root's line in /proc/self/mountinfo.
fn rootfs_propagation(t: &mut Tap, linux: &Value) {
    let Some(want) = linux["rootfsPropagation"].as_str() else {
        return;
    };
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let Some(line) = info
        .lines()
        .rev()
        .find(|l| l.split(' ').nth(4) == Some("/"))
    else {
        t.check(false, "config-linux.md rootfsPropagation", || {
            "no / in mountinfo".into()
        });
        return;
    };
    let opt: Vec<&str> = line.split(' ').skip(6).take_while(|f| *f != "-").collect();
    let has = |p: &str| opt.iter().any(|o| o.starts_with(p));
    let ok = match want {
        "shared" | "rshared" => has("shared:"),
        // A slave of this host's private / has no master: not shared is
        // what can be seen.
        "slave" | "rslave" => !has("shared:") && !has("unbindable"),
        "private" | "rprivate" => opt.is_empty(),
        "unbindable" | "runbindable" => has("unbindable"),
        _ => false,
    };
    t.check(
        ok,
        &format!("config-linux.md rootfsPropagation {want}"),
        || format!("{opt:?}"),
    );
}

/// config-linux.md Readonly Paths: the path's mount is read-only
/// (statvfs ST_RDONLY), and a file there refuses opening for write.
fn readonly_writes(t: &mut Tap, linux: &Value) {
    extern "C" {
        fn statvfs(path: *const std::ffi::c_char, buf: *mut u64) -> i32;
    }
    for rp in linux["readonlyPaths"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let Ok(m) = fs::metadata(rp) else { continue };
        let mut buf = [0u64; 16];
        let c = std::ffi::CString::new(rp).unwrap_or_default();
        // SAFETY: struct statvfs is 112 bytes on x86_64; f_flag is its 10th word.
        let r = unsafe { statvfs(c.as_ptr(), buf.as_mut_ptr()) };
        let ro = r == 0 && buf[9] & 1 == 1;
        // Opened, never written: harmless even where a write is not.
        let e = if m.is_dir() {
            30
        } else {
            errno_of(fs::OpenOptions::new().write(true).open(rp))
        };
        t.check(
            ro && e == 30,
            &format!("config-linux.md readonlyPaths {rp} is read-only"),
            || format!("statvfs {r} flags {:#x}, open for write: errno {e}", buf[9]),
        );
    }
}

fn sysctl(t: &mut Tap, linux: &Value) {
    for (k, v) in linux["sysctl"].as_object().into_iter().flatten() {
        let got =
            fs::read_to_string(format!("/proc/sys/{}", k.replace('.', "/"))).unwrap_or_default();
        let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        t.check(
            norm(&got) == norm(v.as_str().unwrap_or("")),
            &format!("config-linux.md sysctl {k}"),
            || format!("got {got:?}"),
        );
    }
}

/// config-linux.md memoryPolicy, read back with get_mempolicy(2).
fn memory_policy(t: &mut Tap, linux: &Value) {
    let Some(mode) = linux["memoryPolicy"]["mode"].as_str() else {
        return;
    };
    let modes = [
        "MPOL_DEFAULT",
        "MPOL_PREFERRED",
        "MPOL_BIND",
        "MPOL_INTERLEAVE",
        "MPOL_LOCAL",
        "MPOL_PREFERRED_MANY",
        "MPOL_WEIGHTED_INTERLEAVE",
    ];
    let mut got: i32 = -1;
    let mut mask = [0u64; 16];
    // SAFETY: get_mempolicy(&mode, nodemask, maxnode, addr 0, flags 0).
    let r = unsafe {
        syscall(
            239,
            &mut got as *mut i32,
            mask.as_mut_ptr(),
            1024i64,
            0i64,
            0i64,
        )
    };
    let name = modes.get((got & 0xff) as usize).copied().unwrap_or("?");
    t.check(
        r == 0 && name == mode,
        &format!("config-linux.md memoryPolicy {mode}"),
        || {
            format!(
                "get_mempolicy {r}: mode {got} ({name}) nodes {:#x}",
                mask[0]
            )
        },
    );
}

/// config-linux.md Namespaces, from inside: a new pid namespace makes the
/// process its init; a new network namespace has only its own loopback.
fn namespaces(t: &mut Tap, linux: &Value) {
    let new = |typ: &str| {
        linux["namespaces"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|n| n["type"] == typ && n.get("path").is_none())
    };
    if new("pid") {
        let me = std::process::id();
        t.check(
            me == 1,
            "config-linux.md pid namespace: the process is pid 1",
            || format!("pid {me}"),
        );
    }
    if new("network") {
        let dev = fs::read_to_string("/proc/net/dev").unwrap_or_default();
        let ifs: Vec<&str> = dev
            .lines()
            .skip(2)
            .filter_map(|l| l.split(':').next())
            .map(str::trim)
            .collect();
        t.check(
            ifs == ["lo"],
            "config-linux.md network namespace: only lo",
            || format!("{ifs:?}"),
        );
    }
}

/// config-linux.md mountLabel: the SELinux context of the container's
/// mounts (tmpfs mounts show it as their context= option).
fn mount_label(t: &mut Tap, linux: &Value) {
    let Some(label) = linux["mountLabel"].as_str().filter(|l| !l.is_empty()) else {
        return;
    };
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let dev = info
        .lines()
        .rev()
        .find(|l| l.split(' ').nth(4) == Some("/dev"));
    let ok = dev.is_some_and(|l| {
        l.contains(&format!("context=\"{label}\"")) || l.contains(&format!("context={label}"))
    });
    t.check(ok, "config-linux.md mountLabel on /dev", || {
        format!("{dev:?}")
    });
}

pub fn check(t: &mut Tap, cfg: &Value) {
    let linux = &cfg["linux"];
    namespaces(t, linux);
    mount_label(t, linux);
    default_devices(t);
    dev_links(t);
    file_descriptors(t);
    devices(t, linux);
    id_maps(t, linux);
    sysctl(t, linux);
    rootfs_propagation(t, linux);
    readonly_writes(t, linux);
    memory_policy(t, linux);
    if !linux["seccomp"].is_null() {
        t.check(
            status_field("Seccomp") == "2",
            "config-linux.md seccomp loaded (filter mode)",
            || status_field("Seccomp"),
        );
    }
    if let Some(domain) = linux["personality"]["domain"].as_str() {
        let mut u: Utsname = [0; 390];
        let m = uname_machine(&mut u);
        let want = if domain == "LINUX32" {
            "i686"
        } else {
            "x86_64"
        };
        t.check(
            m == want,
            &format!("config-linux.md personality {domain}"),
            || m.clone(),
        );
    }
}

/// `spec-check --syscall NR [ARG...]`: makes one raw system call and
/// prints `ret=R errno=E`. An ARG is a number (decimal or 0x hex) or
/// `s:TEXT`, a pointer to that C string.
pub fn syscall_probe(args: &[String]) -> i32 {
    let num = |s: &str| {
        s.strip_prefix("0x")
            .map(|h| u64::from_str_radix(h, 16))
            .unwrap_or_else(|| s.parse::<u64>())
            .unwrap_or(0) as i64
    };
    let strings: Vec<std::ffi::CString> = args
        .iter()
        .map(|a| std::ffi::CString::new(a.strip_prefix("s:").unwrap_or("")).unwrap_or_default())
        .collect();
    let mut a = [0i64; 6];
    for (i, s) in args.iter().enumerate().skip(1).take(6) {
        a[i - 1] = if s.starts_with("s:") {
            strings[i].as_ptr() as i64
        } else {
            num(s)
        };
    }
    let nr = args.first().map(|s| num(s)).unwrap_or(-1);
    // SAFETY: the caller names the call; string args outlive it.
    let r = unsafe { syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    let e = if r < 0 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    } else {
        0
    };
    println!("ret={r} errno={e}");
    0
}
