//! runtime-linux.md: file descriptors and /dev symbolic links.

use super::support::*;
use crate::harness::*;
use serde_json::json;
use std::fs;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

pub fn cases() -> Vec<Case> {
    vec![
        Case { section: "runtime-linux.md", name: "only stdio reaches the process", must: "by default, only the stdin, stdout and stderr file descriptors are kept open for the application by the runtime (the caller's fd 7 is not)", patch: nothing, check: Some(|env, _| {
            let b = env.bundle(env.base());
            let id = env.id();
            let tap = env.dir.join(format!("{id}.tap"));
            let extra = fs::File::open("/etc/hostname").unwrap();
            let mut cmd = Command::new(&env.rt);
            cmd.arg("--root").arg(&env.root).args(["create", "--bundle", b.to_str().unwrap(), &id])
                .stdin(Stdio::null()).stdout(fs::File::create(&tap).unwrap()).stderr(Stdio::null());
            let raw = std::os::fd::AsRawFd::as_raw_fd(&extra);
            // SAFETY: dup2 only, between fork and exec; fd 7 is left without CLOEXEC.
            unsafe {
                cmd.pre_exec(move || if libc::dup2(raw, 7) < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) });
            }
            let st = cmd.status().unwrap();
            drop(extra);
            if !st.success() { return cleanup(env, &id, Err("create failed".into())); }
            env.rt(&["start", &id]);
            let r = env.wait_status(&id, "stopped");
            let _ = env.rt(&["delete", "--force", &id]);
            r?;
            let out = fs::read_to_string(&tap).unwrap_or_default();
            let bad: Vec<&str> = out.lines().filter(|l| l.starts_with("not ok")).collect();
            ensure(out.contains("only stdio file descriptors open") && bad.is_empty(), || format!("{bad:?}"))
        }) },
        Case { section: "runtime-linux.md", name: "dev symlinks", must: "runtimes MUST create the symlinks /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr if the source file exists after processing mounts", patch: nothing, check: Some(|env, _| {
            sh_says(env, env.base(), "for l in fd stdin stdout stderr; do readlink /dev/$l; done | tr '\\n' ' '", "/proc/self/fd /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2")
        }) },
        Case { section: "runtime-linux.md", name: "dev symlinks with /dev from the rootfs", must: "the /dev symlinks MUST be created even when no tmpfs is mounted on /dev", patch: nothing, check: Some(|env, _| {
            let mut c = env.base();
            c["root"]["readonly"] = json!(false);
            c["mounts"].as_array_mut().unwrap().retain(|m| !m["destination"].as_str().unwrap_or("").starts_with("/dev"));
            sh_says(env, c, "readlink /dev/stdout", "/proc/self/fd/1")
        }) },
    ]
}
