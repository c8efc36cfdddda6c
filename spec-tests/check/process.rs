//! config.md: hostname, domainname, and the process (cwd, env, user, capabilities, noNewPrivileges, rlimits, oomScoreAdj).

use std::fs;

use serde_json::Value;

use crate::{status_field, Tap};

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

fn rlimit_line(name: &str) -> Option<(String, String)> {
    let want = match name {
        "RLIMIT_CPU" => "Max cpu time",
        "RLIMIT_FSIZE" => "Max file size",
        "RLIMIT_DATA" => "Max data size",
        "RLIMIT_STACK" => "Max stack size",
        "RLIMIT_CORE" => "Max core file size",
        "RLIMIT_RSS" => "Max resident set",
        "RLIMIT_NPROC" => "Max processes",
        "RLIMIT_NOFILE" => "Max open files",
        "RLIMIT_MEMLOCK" => "Max locked memory",
        "RLIMIT_AS" => "Max address space",
        "RLIMIT_LOCKS" => "Max file locks",
        "RLIMIT_SIGPENDING" => "Max pending signals",
        "RLIMIT_MSGQUEUE" => "Max msgqueue size",
        "RLIMIT_NICE" => "Max nice priority",
        "RLIMIT_RTPRIO" => "Max realtime priority",
        "RLIMIT_RTTIME" => "Max realtime timeout",
        _ => return None,
    };
    let text = fs::read_to_string("/proc/self/limits").ok()?;
    let l = text.lines().find(|l| l.starts_with(want))?;
    let f: Vec<&str> = l[want.len()..].split_whitespace().collect();
    Some((f.first()?.to_string(), f.get(1)?.to_string()))
}

/// How /proc/self/limits shows a limit value.
fn limit_text(v: &Value) -> Option<String> {
    let n = v.as_u64()?;
    Some(if n == u64::MAX {
        "unlimited".into()
    } else {
        n.to_string()
    })
}

/// runtime-linux.md: only stdin, stdout and stderr are open (the one
/// extra descriptor is the directory being listed).
fn check_fds(t: &mut Tap) {
    let mut extra: Vec<String> = Vec::new();
    for e in fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
    {
        let n = e.file_name().to_string_lossy().into_owned();
        if matches!(n.as_str(), "0" | "1" | "2") {
            continue;
        }
        let target = fs::read_link(e.path()).unwrap_or_default();
        extra.push(format!("{n} -> {}", target.display()));
    }
    let listing_fd = extra.iter().filter(|x| x.ends_with("/fd")).count();
    t.check(
        extra.len() == listing_fd && listing_fd <= 1,
        "runtime-linux.md only stdio file descriptors open",
        || format!("{extra:?}"),
    );
}

pub fn check(t: &mut Tap, cfg: &Value) {
    let p = &cfg["process"];
    check_fds(t);
    let argv: Vec<String> = fs::read("/proc/self/cmdline")
        .unwrap_or_default()
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let want: Vec<String> = p["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(String::from)
        .chain(std::iter::once(String::new()))
        .collect();
    t.check(argv == want, "config.md process.args", || {
        format!("{argv:?}")
    });

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
        // The last entry for a key is the one a process sees.
        let last = p["env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .rfind(|x| x.split_once('=').map_or(*x, |kv| kv.0) == k);
        if last != Some(e) {
            continue;
        }
        let got = std::env::var_os(k).map(|g| g.to_string_lossy().into_owned());
        t.check(
            got.as_deref() == Some(v),
            &format!("config.md process.env {k}"),
            || format!("got {got:?}"),
        );
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
    // Without additionalGids the process has no supplementary groups.
    {
        let mut want: Vec<String> = p["user"]["additionalGids"]
            .as_array()
            .into_iter()
            .flatten()
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
    // capabilities): root gets bounding | inheritable, limited by
    // no_new_privs to what it held before (permitted); anyone else keeps
    // only the ambient set, which is added in both cases.
    let nnp = p["noNewPrivileges"].as_bool().unwrap_or(false);
    let root_gets = if nnp {
        (bnd | inh) & cap_mask(&caps["permitted"])
    } else {
        bnd | inh
    };
    let after_exec = if uid == 0 { root_gets | amb } else { amb };
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
    t.check(
        status_field("NoNewPrivs") == if nnp { "1" } else { "0" },
        "config.md process.noNewPrivileges",
        || status_field("NoNewPrivs"),
    );
    for r in p["rlimits"].as_array().into_iter().flatten() {
        let name = r["type"].as_str().unwrap_or("");
        if let Some((soft, hard)) = rlimit_line(name) {
            let ok = limit_text(&r["soft"]) == Some(soft.clone())
                && limit_text(&r["hard"]) == Some(hard.clone());
            t.check(ok, &format!("config.md process.rlimits {name}"), || {
                format!("got {soft}/{hard}")
            });
        }
    }
    sched(t, p);
    if let Some(adj) = p["oomScoreAdj"].as_i64() {
        let got = fs::read_to_string("/proc/self/oom_score_adj").unwrap_or_default();
        t.check(
            got.trim() == adj.to_string(),
            "config.md process.oomScoreAdj",
            || got.clone(),
        );
    }
}

/// process.scheduler, process.ioPriority and process.execCPUAffinity.final
/// as the kernel reports them for this process.
fn sched(t: &mut Tap, p: &Value) {
    let s = &p["scheduler"];
    if let Some(policy) = s["policy"].as_str() {
        let want = [
            ("SCHED_OTHER", 0),
            ("SCHED_FIFO", 1),
            ("SCHED_RR", 2),
            ("SCHED_BATCH", 3),
            ("SCHED_IDLE", 5),
            ("SCHED_DEADLINE", 6),
        ]
        .iter()
        .find(|(n, _)| *n == policy)
        .map(|x| x.1);
        // SAFETY: plain queries of this process.
        let got = unsafe { libc::sched_getscheduler(0) } & !0x4000_0000;
        t.check(
            Some(got) == want,
            "config.md process.scheduler.policy",
            || format!("policy {got}"),
        );
        if let Some(nice) = s["nice"].as_i64() {
            // SAFETY: as above.
            let got = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
            t.check(
                i64::from(got) == nice,
                "config.md process.scheduler.nice",
                || format!("nice {got}"),
            );
        }
    }
    let io = &p["ioPriority"];
    if let Some(class) = io["class"].as_str() {
        let c = match class {
            "IOPRIO_CLASS_RT" => 1,
            "IOPRIO_CLASS_BE" => 2,
            "IOPRIO_CLASS_IDLE" => 3,
            _ => -1,
        };
        let want = (c << 13) | io["priority"].as_i64().unwrap_or(0);
        // SAFETY: ioprio_get(IOPRIO_WHO_PROCESS, self).
        let got = unsafe { libc::syscall(libc::SYS_ioprio_get, 1, 0) };
        t.check(got == want, "config.md process.ioPriority", || {
            format!("ioprio {got:#x} want {want:#x}")
        });
    }
    if let Some(cpus) = p["execCPUAffinity"]["final"].as_str() {
        let got = status_field("Cpus_allowed_list");
        t.check(
            got == cpus,
            "config.md process.execCPUAffinity.final",
            || format!("Cpus_allowed_list {got}"),
        );
    }
}
