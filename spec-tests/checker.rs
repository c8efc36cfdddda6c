//! runr-spec-check: runs inside a container and compares what the process
//! sees with the config.json it is given (argv[1]), printing TAP. Part of
//! the conformance suite in spec-tests/; static, std and serde_json only.

use std::fs;
use std::path::Path;

use serde_json::Value;

struct Tap {
    n: usize,
    failed: usize,
}

impl Tap {
    fn check(&mut self, ok: bool, what: &str, detail: impl FnOnce() -> String) {
        self.n += 1;
        if ok {
            println!("ok {} - {what}", self.n);
        } else {
            self.failed += 1;
            println!("not ok {} - {what} # {}", self.n, detail());
        }
    }
}

fn status_field(key: &str) -> String {
    let s = fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

fn cap_mask(v: &Value) -> u64 {
    let names = [
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "LINUX_IMMUTABLE",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_ADMIN",
        "NET_RAW",
        "IPC_LOCK",
        "IPC_OWNER",
        "SYS_MODULE",
        "SYS_RAWIO",
        "SYS_CHROOT",
        "SYS_PTRACE",
        "SYS_PACCT",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_NICE",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "MKNOD",
        "LEASE",
        "AUDIT_WRITE",
        "AUDIT_CONTROL",
        "SETFCAP",
        "MAC_OVERRIDE",
        "MAC_ADMIN",
        "SYSLOG",
        "WAKE_ALARM",
        "BLOCK_SUSPEND",
        "AUDIT_READ",
        "PERFMON",
        "BPF",
        "CHECKPOINT_RESTORE",
    ];
    let mut m = 0u64;
    for n in v.as_array().into_iter().flatten().filter_map(Value::as_str) {
        let n = n.trim_start_matches("CAP_");
        if let Some(i) = names.iter().position(|x| *x == n) {
            m |= 1 << i;
        }
    }
    m
}

/// (mount point, options, fstype) of /proc/self/mountinfo.
fn mounts() -> Vec<(String, String, String)> {
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
            ))
        })
        .collect()
}

fn last_mount<'a>(
    ms: &'a [(String, String, String)],
    dest: &str,
) -> Option<&'a (String, String, String)> {
    ms.iter().rev().find(|m| m.0 == dest)
}

fn rlimit_line(name: &str) -> Option<(String, String)> {
    let want = match name {
        "RLIMIT_NOFILE" => "Max open files",
        "RLIMIT_NPROC" => "Max processes",
        "RLIMIT_CORE" => "Max core file size",
        "RLIMIT_STACK" => "Max stack size",
        "RLIMIT_CPU" => "Max cpu time",
        "RLIMIT_FSIZE" => "Max file size",
        "RLIMIT_MEMLOCK" => "Max locked memory",
        "RLIMIT_MSGQUEUE" => "Max msgqueue size",
        "RLIMIT_NICE" => "Max nice priority",
        "RLIMIT_RTPRIO" => "Max realtime priority",
        _ => return None,
    };
    let text = fs::read_to_string("/proc/self/limits").ok()?;
    let l = text.lines().find(|l| l.starts_with(want))?;
    let f: Vec<&str> = l[want.len()..].split_whitespace().collect();
    Some((f.first()?.to_string(), f.get(1)?.to_string()))
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/spec/config.json".into());
    let cfg: Value = match fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
    {
        Some(v) => v,
        None => {
            println!("1..1\nnot ok 1 - read {path}");
            std::process::exit(1);
        }
    };
    let mut t = Tap { n: 0, failed: 0 };
    let p = &cfg["process"];
    let linux = &cfg["linux"];

    if let Some(h) = cfg["hostname"].as_str() {
        let got = fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        t.check(got.trim() == h, "config.md hostname", || {
            format!("got {got:?}")
        });
    }
    if let Some(d) = cfg["domainname"].as_str() {
        let got = fs::read_to_string("/proc/sys/kernel/domainname").unwrap_or_default();
        t.check(got.trim() == d, "config.md domainname", || {
            format!("got {got:?}")
        });
    }
    if let Some(cwd) = p["cwd"].as_str() {
        let got = std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        t.check(got == cwd, "config.md process.cwd", || format!("got {got}"));
    }
    for e in p["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let (k, v) = e.split_once('=').unwrap_or((e, ""));
        let got = std::env::var(k).unwrap_or_default();
        t.check(got == v, &format!("config.md process.env {k}"), || {
            format!("got {got:?}")
        });
    }
    let uid = p["user"]["uid"].as_u64().unwrap_or(0);
    let gid = p["user"]["gid"].as_u64().unwrap_or(0);
    let got = status_field("Uid");
    t.check(
        got.split_whitespace().all(|x| x == uid.to_string()),
        "config.md process.user.uid",
        || got.clone(),
    );
    let got = status_field("Gid");
    t.check(
        got.split_whitespace().all(|x| x == gid.to_string()),
        "config.md process.user.gid",
        || got.clone(),
    );
    if let Some(g) = p["user"]["additionalGids"].as_array() {
        let mut want: Vec<String> = g
            .iter()
            .filter_map(Value::as_u64)
            .map(|x| x.to_string())
            .collect();
        want.sort();
        let mut got: Vec<String> = status_field("Groups")
            .split_whitespace()
            .map(String::from)
            .collect();
        got.sort();
        t.check(got == want, "config.md process.user.additionalGids", || {
            format!("{got:?}")
        });
    }
    if let Some(u) = p["user"]["umask"].as_u64() {
        let got = status_field("Umask");
        t.check(
            u64::from_str_radix(&got, 8).ok() == Some(u),
            "config.md process.user.umask",
            || got.clone(),
        );
    }
    let caps = &p["capabilities"];
    // An ambient capability needs to be permitted and inheritable too.
    let amb =
        cap_mask(&caps["ambient"]) & cap_mask(&caps["permitted"]) & cap_mask(&caps["inheritable"]);
    let (bnd, inh) = (cap_mask(&caps["bounding"]), cap_mask(&caps["inheritable"]));
    // What the process has after its execve (capabilities(7), no file
    // capabilities): root gets bounding | inheritable | ambient, anyone
    // else only the ambient set.
    let after_exec = if uid == 0 { bnd | inh | amb } else { amb };
    for (key, field, want) in [
        ("bounding", "CapBnd", bnd),
        ("inheritable", "CapInh", inh),
        ("effective", "CapEff", after_exec),
        ("permitted", "CapPrm", after_exec),
    ] {
        let got = u64::from_str_radix(&status_field(field), 16).unwrap_or(u64::MAX);
        t.check(
            got == want,
            &format!("config.md process.capabilities.{key}"),
            || format!("got {got:#x} want {want:#x}"),
        );
    }
    let got = u64::from_str_radix(&status_field("CapAmb"), 16).unwrap_or(u64::MAX);
    t.check(got == amb, "config.md process.capabilities.ambient", || {
        format!("got {got:#x} want {amb:#x}")
    });
    let nnp = p["noNewPrivileges"].as_bool().unwrap_or(false);
    t.check(
        status_field("NoNewPrivs") == if nnp { "1" } else { "0" },
        "config.md process.noNewPrivileges",
        || status_field("NoNewPrivs"),
    );
    for r in p["rlimits"].as_array().into_iter().flatten() {
        let name = r["type"].as_str().unwrap_or("");
        if let Some((soft, hard)) = rlimit_line(name) {
            let ok = r["soft"].as_u64().map(|v| v.to_string()) == Some(soft.clone())
                && r["hard"].as_u64().map(|v| v.to_string()) == Some(hard.clone());
            t.check(ok, &format!("config.md process.rlimits {name}"), || {
                format!("got {soft}/{hard}")
            });
        }
    }
    if let Some(adj) = p["oomScoreAdj"].as_i64() {
        let got = fs::read_to_string("/proc/self/oom_score_adj").unwrap_or_default();
        t.check(
            got.trim() == adj.to_string(),
            "config.md process.oomScoreAdj",
            || got.clone(),
        );
    }

    let ms = mounts();
    if cfg["root"]["readonly"].as_bool() == Some(true) {
        let root = last_mount(&ms, "/");
        t.check(
            root.is_some_and(|m| m.1.split(',').any(|o| o == "ro")),
            "config.md root.readonly",
            || format!("{root:?}"),
        );
    }
    for m in cfg["mounts"].as_array().into_iter().flatten() {
        let dest = m["destination"].as_str().unwrap_or("");
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
        if opts.contains(&"ro") && typ != "cgroup" {
            t.check(
                found.is_some_and(|f| f.1.split(',').any(|o| o == "ro")),
                &format!("config.md mounts {dest} ro"),
                || format!("{found:?}"),
            );
        }
        for flag in ["nosuid", "nodev", "noexec"] {
            if opts.contains(&flag) && typ != "cgroup" {
                t.check(
                    found.is_some_and(|f| f.1.split(',').any(|o| o == flag)),
                    &format!("config.md mounts {dest} {flag}"),
                    || format!("{found:?}"),
                );
            }
        }
    }
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
    for d in [
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/random",
        "/dev/urandom",
        "/dev/tty",
    ] {
        use std::os::unix::fs::FileTypeExt;
        let ok = fs::metadata(d)
            .map(|m| m.file_type().is_char_device())
            .unwrap_or(false);
        t.check(ok, &format!("config-linux.md default device {d}"), || {
            "missing".into()
        });
    }
    for dev in linux["devices"].as_array().into_iter().flatten() {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let path = dev["path"].as_str().unwrap_or("");
        let m = fs::metadata(path);
        let ok = m.as_ref().is_ok_and(|m| {
            let rdev = m.rdev();
            let (maj, min) = (
                ((rdev >> 8) & 0xfff) as i64,
                ((rdev & 0xff) | ((rdev >> 12) & 0xfff00)) as i64,
            );
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
            format!("{m:?}")
        });
    }
    for (k, v) in linux["sysctl"].as_object().into_iter().flatten() {
        let got =
            fs::read_to_string(format!("/proc/sys/{}", k.replace('.', "/"))).unwrap_or_default();
        t.check(
            got.trim() == v.as_str().unwrap_or(""),
            &format!("config-linux.md sysctl {k}"),
            || format!("got {got:?}"),
        );
    }
    if !linux["seccomp"].is_null() {
        t.check(
            status_field("Seccomp") == "2",
            "config-linux.md seccomp loaded (filter mode)",
            || status_field("Seccomp"),
        );
    }
    if linux["personality"]["domain"] == "LINUX32" {
        let mut u: Utsname = [0; 390];
        let m = uname_machine(&mut u);
        t.check(m == "i686", "config-linux.md personality LINUX32", || {
            m.clone()
        });
    }
    let mem = &linux["resources"]["memory"]["limit"];
    if let Some(l) = mem.as_i64() {
        let got = fs::read_to_string("/sys/fs/cgroup/memory/memory.limit_in_bytes")
            .or_else(|_| fs::read_to_string("/sys/fs/cgroup/memory.max"))
            .unwrap_or_default();
        t.check(
            got.trim() == l.to_string(),
            "config-linux.md resources.memory.limit",
            || format!("got {got:?}"),
        );
    }
    if let Some(l) = linux["resources"]["pids"]["limit"].as_i64() {
        let got = fs::read_to_string("/sys/fs/cgroup/pids/pids.max")
            .or_else(|_| fs::read_to_string("/sys/fs/cgroup/pids.max"))
            .unwrap_or_default();
        t.check(
            got.trim() == l.to_string(),
            "config-linux.md resources.pids.limit",
            || format!("got {got:?}"),
        );
    }
    if let Some(s) = linux["resources"]["cpu"]["shares"].as_u64() {
        let got = fs::read_to_string("/sys/fs/cgroup/cpu/cpu.shares").unwrap_or_default();
        t.check(
            got.trim() == s.to_string(),
            "config-linux.md resources.cpu.shares",
            || format!("got {got:?}"),
        );
    }
    println!("1..{}", t.n);
    std::process::exit(if t.failed == 0 { 0 } else { 1 });
}

type Utsname = [u8; 390];

/// The machine field of uname(2), without a libc crate.
fn uname_machine(buf: &mut Utsname) -> String {
    extern "C" {
        fn uname(buf: *mut u8) -> i32;
    }
    // SAFETY: struct utsname is six 65-byte fields: 390 bytes.
    if unsafe { uname(buf.as_mut_ptr()) } != 0 {
        return String::new();
    }
    let field = &buf[4 * 65..5 * 65];
    String::from_utf8_lossy(&field[..field.iter().position(|b| *b == 0).unwrap_or(65)]).into_owned()
}
