//! config-linux.md Seccomp: each action as a rule's and as the default,
//! errno values, argument operators, architectures, flags, unknown names
//! and values, and the SCMP_ACT_NOTIFY listener. The container process is
//! `spec-check --syscall`, which makes one raw call and prints
//! `ret=R errno=E`; a process killed by the filter shows as status=159
//! (128 + SIGSYS) from the shell that ran it.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;

use serde_json::{json, Value};

use super::scenario::{config, create, expect, output, refused, shell};
use crate::harness::*;

const S: &str = "config-linux.md seccomp";

/// getpriority(2) on x86_64: harmless, and neither runtimes nor busybox
/// sh make it, so a filter on it only hits the probe.
const GETPRIORITY: u32 = 140;

/// Every x86_64 system call but getpriority and setpriority: the allow
/// list the default-action cases need for the runtime, sh and the probe.
const ALLOW: &[&str] = &[
    "read",
    "write",
    "open",
    "close",
    "stat",
    "fstat",
    "lstat",
    "poll",
    "lseek",
    "mmap",
    "mprotect",
    "munmap",
    "brk",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "ioctl",
    "pread64",
    "pwrite64",
    "readv",
    "writev",
    "access",
    "pipe",
    "select",
    "sched_yield",
    "mremap",
    "msync",
    "mincore",
    "madvise",
    "shmget",
    "shmat",
    "shmctl",
    "dup",
    "dup2",
    "pause",
    "nanosleep",
    "getitimer",
    "alarm",
    "setitimer",
    "getpid",
    "sendfile",
    "socket",
    "connect",
    "accept",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "shutdown",
    "bind",
    "listen",
    "getsockname",
    "getpeername",
    "socketpair",
    "setsockopt",
    "getsockopt",
    "clone",
    "fork",
    "vfork",
    "execve",
    "exit",
    "wait4",
    "kill",
    "uname",
    "semget",
    "semop",
    "semctl",
    "shmdt",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "fcntl",
    "flock",
    "fsync",
    "fdatasync",
    "truncate",
    "ftruncate",
    "getdents",
    "getcwd",
    "chdir",
    "fchdir",
    "rename",
    "mkdir",
    "rmdir",
    "creat",
    "link",
    "unlink",
    "symlink",
    "readlink",
    "chmod",
    "fchmod",
    "chown",
    "fchown",
    "lchown",
    "umask",
    "gettimeofday",
    "getrlimit",
    "getrusage",
    "sysinfo",
    "times",
    "ptrace",
    "getuid",
    "syslog",
    "getgid",
    "setuid",
    "setgid",
    "geteuid",
    "getegid",
    "setpgid",
    "getppid",
    "getpgrp",
    "setsid",
    "setreuid",
    "setregid",
    "getgroups",
    "setgroups",
    "setresuid",
    "getresuid",
    "setresgid",
    "getresgid",
    "getpgid",
    "setfsuid",
    "setfsgid",
    "getsid",
    "capget",
    "capset",
    "rt_sigpending",
    "rt_sigtimedwait",
    "rt_sigqueueinfo",
    "rt_sigsuspend",
    "sigaltstack",
    "utime",
    "mknod",
    "personality",
    "ustat",
    "statfs",
    "fstatfs",
    "sysfs",
    "sched_setparam",
    "sched_getparam",
    "sched_setscheduler",
    "sched_getscheduler",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_rr_get_interval",
    "mlock",
    "munlock",
    "mlockall",
    "munlockall",
    "vhangup",
    "modify_ldt",
    "pivot_root",
    "prctl",
    "arch_prctl",
    "adjtimex",
    "setrlimit",
    "chroot",
    "sync",
    "acct",
    "settimeofday",
    "mount",
    "umount2",
    "swapon",
    "swapoff",
    "reboot",
    "sethostname",
    "setdomainname",
    "iopl",
    "ioperm",
    "init_module",
    "delete_module",
    "quotactl",
    "gettid",
    "readahead",
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "getxattr",
    "lgetxattr",
    "fgetxattr",
    "listxattr",
    "llistxattr",
    "flistxattr",
    "removexattr",
    "lremovexattr",
    "fremovexattr",
    "tkill",
    "time",
    "futex",
    "sched_setaffinity",
    "sched_getaffinity",
    "set_thread_area",
    "io_setup",
    "io_destroy",
    "io_getevents",
    "io_submit",
    "io_cancel",
    "get_thread_area",
    "lookup_dcookie",
    "epoll_create",
    "epoll_ctl_old",
    "epoll_wait_old",
    "remap_file_pages",
    "getdents64",
    "set_tid_address",
    "restart_syscall",
    "semtimedop",
    "fadvise64",
    "timer_create",
    "timer_settime",
    "timer_gettime",
    "timer_getoverrun",
    "timer_delete",
    "clock_settime",
    "clock_gettime",
    "clock_getres",
    "clock_nanosleep",
    "exit_group",
    "epoll_wait",
    "epoll_ctl",
    "tgkill",
    "utimes",
    "mbind",
    "set_mempolicy",
    "get_mempolicy",
    "mq_open",
    "mq_unlink",
    "mq_timedsend",
    "mq_timedreceive",
    "mq_notify",
    "mq_getsetattr",
    "kexec_load",
    "waitid",
    "add_key",
    "request_key",
    "keyctl",
    "ioprio_set",
    "ioprio_get",
    "inotify_init",
    "inotify_add_watch",
    "inotify_rm_watch",
    "migrate_pages",
    "openat",
    "mkdirat",
    "mknodat",
    "fchownat",
    "futimesat",
    "newfstatat",
    "unlinkat",
    "renameat",
    "linkat",
    "symlinkat",
    "readlinkat",
    "fchmodat",
    "faccessat",
    "pselect6",
    "ppoll",
    "unshare",
    "set_robust_list",
    "get_robust_list",
    "splice",
    "tee",
    "sync_file_range",
    "vmsplice",
    "move_pages",
    "utimensat",
    "epoll_pwait",
    "signalfd",
    "timerfd_create",
    "eventfd",
    "fallocate",
    "timerfd_settime",
    "timerfd_gettime",
    "accept4",
    "signalfd4",
    "eventfd2",
    "epoll_create1",
    "dup3",
    "pipe2",
    "inotify_init1",
    "preadv",
    "pwritev",
    "rt_tgsigqueueinfo",
    "perf_event_open",
    "recvmmsg",
    "fanotify_init",
    "fanotify_mark",
    "prlimit64",
    "name_to_handle_at",
    "open_by_handle_at",
    "clock_adjtime",
    "syncfs",
    "sendmmsg",
    "setns",
    "getcpu",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "finit_module",
    "sched_setattr",
    "sched_getattr",
    "renameat2",
    "seccomp",
    "getrandom",
    "memfd_create",
    "kexec_file_load",
    "bpf",
    "execveat",
    "userfaultfd",
    "membarrier",
    "mlock2",
    "copy_file_range",
    "preadv2",
    "pwritev2",
    "pkey_mprotect",
    "pkey_alloc",
    "pkey_free",
    "statx",
    "io_pgetevents",
    "rseq",
    "pidfd_send_signal",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "pidfd_open",
    "clone3",
    "close_range",
    "openat2",
    "pidfd_getfd",
    "faccessat2",
    "process_madvise",
];

/// Runs `probe` (a shell line) under `seccomp`; returns its output words.
fn run(env: &Env, seccomp: Value, probe: &str) -> Result<String, String> {
    let c = config(env, |c| {
        c["linux"]["seccomp"] = seccomp;
        shell(c, &format!("{probe}; echo status=$?"));
    });
    // Only the probe's words: a shell may add "Bad system call".
    output(env, c).map(|o| {
        o.split_whitespace()
            .filter(|w| {
                w.starts_with("ret=")
                    || w.starts_with("errno=")
                    || w.starts_with("status=")
                    || w.chars().all(|c| c.is_ascii_digit() || c == '-')
            })
            .collect::<Vec<_>>()
            .join(" ")
    })
}

fn probe(args: &str) -> String {
    format!("/spec-check --syscall {GETPRIORITY} {args}")
}

fn rule(action: &str, extra: Value) -> Value {
    let mut r = json!({"names": ["getpriority"], "action": action});
    for (k, v) in extra.as_object().into_iter().flatten() {
        r[k] = v.clone();
    }
    json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [r]})
}

/// "rule ACTION": getpriority under a rule with that action.
fn rule_case(env: &Env, name: &str) -> Result<(), String> {
    let action = name.split(' ').nth(1).unwrap();
    let want = match action {
        "SCMP_ACT_ERRNO" => "ret=-1 errno=1 status=0",
        "SCMP_ACT_TRACE" => "ret=-1 errno=38 status=0",
        "SCMP_ACT_LOG" | "SCMP_ACT_ALLOW" => "ret=20 errno=0 status=0",
        _ => "status=159",
    };
    expect(run(env, rule(action, json!({})), &probe("0 0")), want)
}

/// "default ACTION": getpriority is the one call the allow list leaves out.
fn default_case(env: &Env, name: &str) -> Result<(), String> {
    let action = name.split(' ').nth(1).unwrap();
    let want = match action {
        "SCMP_ACT_ERRNO" => "ret=-1 errno=1 status=0",
        "SCMP_ACT_LOG" => "ret=20 errno=0 status=0",
        _ => "status=159",
    };
    let sc = json!({"defaultAction": action, "syscalls": [{"names": ALLOW, "action": "SCMP_ACT_ALLOW"}]});
    expect(run(env, sc, &probe("0 0")), want)
}

/// "args OP": getpriority(PRIO_PROCESS, who) for who in 0 6 7 8, with an
/// ERRNO(33) rule on `who OP 7` (MASKED_EQ: who & 6 == 6); prints the
/// blocked `who`s.
fn op_case(env: &Env, name: &str) -> Result<(), String> {
    let op = name.split(' ').nth(1).unwrap();
    let (value, two, blocked) = match op {
        "SCMP_CMP_EQ" => (7, 0, "7"),
        "SCMP_CMP_NE" => (7, 0, "0 6 8"),
        "SCMP_CMP_LT" => (7, 0, "0 6"),
        "SCMP_CMP_LE" => (7, 0, "0 6 7"),
        "SCMP_CMP_GT" => (7, 0, "8"),
        "SCMP_CMP_GE" => (7, 0, "7 8"),
        _ => (6, 6, "6 7"),
    };
    let mut arg = json!({"index": 1, "value": value, "op": op});
    if op == "SCMP_CMP_MASKED_EQ" {
        arg["valueTwo"] = json!(two);
    }
    let sc = rule("SCMP_ACT_ERRNO", json!({"errnoRet": 33, "args": [arg]}));
    let script = format!(
        "for w in 0 6 7 8; do {} | grep -q errno=33 && echo $w; done; true",
        probe("0 $w")
    );
    expect(run(env, sc, &script), &format!("{blocked} status=0"))
}

fn refused_seccomp(env: &Env, sc: Value) -> Result<(), String> {
    refused(env, config(env, |c| c["linux"]["seccomp"] = sc))
}

/// Accepts one connection on `sock` and returns what came: the JSON text
/// and how many file descriptors rode along.
fn listen_once(sock: &std::path::Path) -> Result<std::thread::JoinHandle<(String, usize)>, String> {
    let l = UnixListener::bind(sock).map_err(|e| format!("bind {}: {e}", sock.display()))?;
    Ok(std::thread::spawn(move || {
        let Ok((mut s, _)) = l.accept() else {
            return (String::new(), 0);
        };
        let mut buf = vec![0u8; 65536];
        let mut cmsg = [0u8; 128];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: a zeroed msghdr pointing at live buffers.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cmsg.as_mut_ptr().cast();
        msg.msg_controllen = cmsg.len();
        let n = unsafe { libc::recvmsg(s.as_raw_fd(), &mut msg, 0) };
        let mut fds = 0;
        // SAFETY: walking the control messages recvmsg filled in.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_type == libc::SCM_RIGHTS {
                    let k = ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / 4;
                    for i in 0..k {
                        libc::close(*(libc::CMSG_DATA(c) as *const i32).add(i));
                    }
                    fds += k;
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        let mut text = String::from_utf8_lossy(&buf[..n.max(0) as usize]).into_owned();
        let _ = s.read_to_string(&mut text);
        (text, fds)
    }))
}

pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for a in [
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_TRAP",
        "SCMP_ACT_LOG",
        "SCMP_ACT_TRACE",
        "SCMP_ACT_ALLOW",
    ] {
        v.push(Case {
            section: S,
            name: Box::leak(format!("rule {a}").into_boxed_str()),
            must: "syscalls[].action: the action for seccomp rules (ERRNO without errnoRet: EPERM)",
            patch: nothing,
            check: Some(rule_case),
        });
    }
    for a in [
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_TRAP",
        "SCMP_ACT_LOG",
    ] {
        v.push(Case {
            section: S,
            name: Box::leak(format!("default {a}").into_boxed_str()),
            must: "defaultAction: the default action for seccomp, for calls no rule matches",
            patch: nothing,
            check: Some(default_case),
        });
    }
    for op in [
        "SCMP_CMP_EQ",
        "SCMP_CMP_NE",
        "SCMP_CMP_LT",
        "SCMP_CMP_LE",
        "SCMP_CMP_GT",
        "SCMP_CMP_GE",
        "SCMP_CMP_MASKED_EQ",
    ] {
        v.push(Case {
            section: S,
            name: Box::leak(format!("args {op}").into_boxed_str()),
            must: "syscalls[].args: index, value (valueTwo), op compare a syscall argument",
            patch: nothing,
            check: Some(op_case),
        });
    }
    v.extend([
        Case {
            section: S,
            name: "errnoRet",
            must: "errnoRet: the errno return code to use (ERRNO)",
            patch: nothing,
            check: Some(|env, _| expect(run(env, rule("SCMP_ACT_ERRNO", json!({"errnoRet": 5})), &probe("0 0")), "ret=-1 errno=5 status=0")),
        },
        Case {
            section: S,
            name: "defaultErrnoRet",
            must: "defaultErrnoRet: the errno return code to use for the default action",
            patch: nothing,
            check: Some(|env, _| {
                let sc = json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 13, "syscalls": [{"names": ALLOW, "action": "SCMP_ACT_ALLOW"}]});
                expect(run(env, sc, &probe("0 0")), "ret=-1 errno=13 status=0")
            }),
        },
        Case {
            section: S,
            name: "args on two indexes all match",
            must: "syscalls[].args: every condition of a rule applies (index 0 and index 1)",
            patch: nothing,
            check: Some(|env, _| {
                let sc = rule("SCMP_ACT_ERRNO", json!({"errnoRet": 33, "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 7, "op": "SCMP_CMP_EQ"}]}));
                let script = format!("for a in '0 7' '1 7' '0 0'; do {} | grep -q errno=33 && echo \"$a\" | tr ' ' -; done; true", probe("$a"));
                expect(run(env, sc, &script), "0-7 status=0")
            }),
        },
        Case {
            section: S,
            name: "architectures",
            must: "architectures: the architectures used for system calls (x86_64, x86, x32)",
            patch: nothing,
            check: Some(|env, _| {
                let mut sc = rule("SCMP_ACT_ERRNO", json!({}));
                sc["architectures"] = json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
                expect(run(env, sc, &probe("0 0")), "ret=-1 errno=1 status=0")
            }),
        },
        Case {
            section: S,
            name: "unknown syscall name skipped",
            must: "names: the names of the syscalls (the spec leaves unknown names open; as runc and crun, skipped, the rest applies)",
            patch: nothing,
            check: Some(|env, _| {
                let mut sc = rule("SCMP_ACT_ERRNO", json!({}));
                sc["syscalls"][0]["names"] = json!(["no_such_syscall_spec", "getpriority"]);
                expect(run(env, sc, &probe("0 0")), "ret=-1 errno=1 status=0")
            }),
        },
        Case {
            section: S,
            name: "unknown action refused",
            must: "action: one of the listed constants; runtime.md: create MUST error if it cannot apply the config",
            patch: nothing,
            check: Some(|env, _| refused_seccomp(env, rule("SCMP_ACT_SPEC_NOPE", json!({})))),
        },
        Case {
            section: S,
            name: "unknown operator refused",
            must: "op: one of the listed constants; runtime.md: create MUST error if it cannot apply the config",
            patch: nothing,
            check: Some(|env, _| refused_seccomp(env, rule("SCMP_ACT_ERRNO", json!({"args": [{"index": 0, "value": 1, "op": "SCMP_CMP_SPEC_NOPE"}]})))),
        },
        Case {
            section: S,
            name: "unknown architecture refused",
            must: "architectures: one of the listed constants; runtime.md: create MUST error if it cannot apply the config",
            patch: nothing,
            check: Some(|env, _| {
                let mut sc = rule("SCMP_ACT_ERRNO", json!({}));
                sc["architectures"] = json!(["SCMP_ARCH_SPEC_NOPE"]);
                refused_seccomp(env, sc)
            }),
        },
        Case {
            section: S,
            name: "errnoRet on an action without errno refused",
            must: "when the action doesn't support an errno, the runtime MUST print an error and fail",
            patch: nothing,
            check: Some(|env, _| refused_seccomp(env, rule("SCMP_ACT_KILL", json!({"errnoRet": 5})))),
        },
        Case {
            section: S,
            name: "unknown flag refused",
            must: "flags: one of the listed constants; runtime.md: create MUST error if it cannot apply the config",
            patch: nothing,
            check: Some(|env, _| {
                let mut sc = rule("SCMP_ACT_ERRNO", json!({}));
                sc["flags"] = json!(["SECCOMP_FILTER_FLAG_SPEC_NOPE"]);
                refused_seccomp(env, sc)
            }),
        },
        Case {
            section: S,
            name: "listenerPath that cannot be reached refused",
            must: "if sending to this socket fails, the runtime MUST generate an error",
            patch: nothing,
            check: Some(|env, _| {
                let mut sc = rule("SCMP_ACT_NOTIFY", json!({}));
                sc["listenerPath"] = json!(env.dir.join("no-such-listener.sock"));
                refused_seccomp(env, sc)
            }),
        },
        Case {
            section: S,
            name: "listenerPath gets the container process state",
            must: "the runtime MUST send the container process state (ociVersion, fds [seccompFd], pid, metadata, state) with the fd by SCM_RIGHTS",
            patch: nothing,
            check: Some(|env, _| {
                let sock = env.dir.join(format!("listener-{}.sock", env.n.get()));
                let got = listen_once(&sock)?;
                let mut sc = rule("SCMP_ACT_NOTIFY", json!({}));
                sc["listenerPath"] = json!(sock);
                sc["listenerMetadata"] = json!("spec-metadata");
                let r = create(env, config(env, |c| c["linux"]["seccomp"] = sc));
                if r.is_err() {
                    // Unblock the listener.
                    let _ = std::os::unix::net::UnixStream::connect(&sock);
                }
                let r = r?;
                let (text, fds) = got.join().map_err(|_| "listener panicked")?;
                let v: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text:?}"))?;
                super::scenario::all(&[
                    (v["ociVersion"].is_string(), "ociVersion".into()),
                    (v["fds"] == json!(["seccompFd"]) && fds == 1, format!("fds {} with {fds} passed", v["fds"])),
                    (v["pid"].as_i64() == Some(r.pid), format!("pid {} vs {}", v["pid"], r.pid)),
                    (v["metadata"] == "spec-metadata", format!("metadata {}", v["metadata"])),
                    (v["state"]["id"] == r.id.as_str() && v["state"]["status"] == "creating", format!("state {}", v["state"])),
                ])
            }),
        },
    ]);
    for f in [
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    ] {
        v.push(Case {
            section: S,
            name: Box::leak(format!("flag {f}").into_boxed_str()),
            must: "flags: list of flags to use with seccomp(2); the filter still applies",
            patch: nothing,
            check: Some(|env, name| {
                let mut sc = rule("SCMP_ACT_ERRNO", json!({}));
                sc["flags"] = json!([name.split(' ').nth(1).unwrap()]);
                expect(run(env, sc, &probe("0 0")), "ret=-1 errno=1 status=0")
            }),
        });
    }
    v
}
