//! config-linux.md: sysctl, masked and read-only paths, rootfs mount
//! propagation, personality, mount label, Intel RDT, memory policy.
//! Namespaces, devices, cgroups and seccomp have files of their own.

use std::fs;
use std::path::Path;

use serde_json::{json, Value};

use super::scenario::{config, refused, scratch};
use crate::harness::*;

const S: &str = "config-linux.md";

fn host_sysctl(key: &str) -> String {
    fs::read_to_string(format!("/proc/sys/{}", key.replace('.', "/")))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// A directory of the shared rootfs holding one file, made once.
fn rootfs_dir(env: &Env, name: &str) -> String {
    let d = env.rootfs.join(name);
    let _ = fs::create_dir_all(&d);
    let _ = fs::write(d.join("secret"), "visible\n");
    format!("/{name}")
}

fn rootfs_file(env: &Env, name: &str) -> String {
    let _ = fs::write(env.rootfs.join(name), "visible\n");
    format!("/{name}")
}

fn push(c: &mut Value, key: &str, v: String) {
    c["linux"][key].as_array_mut().unwrap().push(json!(v));
}

/// A shared bind of the suite's rootfs in the suite's own temp dir (so the
/// container's rootfs has a peer on the host), unmounted on drop.
struct SharedRoot(std::path::PathBuf);

impl SharedRoot {
    fn new(env: &Env) -> Result<SharedRoot, String> {
        let p = env.dir.join(format!("shared-root-{}", env.n.get()));
        fs::create_dir_all(&p).map_err(|e| e.to_string())?;
        let sh = |args: &[&str]| {
            std::process::Command::new("mount")
                .args(args)
                .status()
                .is_ok_and(|s| s.success())
        };
        let r = SharedRoot(p.clone());
        let p = p.to_str().unwrap();
        if !sh(&["--bind", env.rootfs.to_str().unwrap(), p]) || !sh(&["--make-shared", p]) {
            return Err("could not make a shared bind of the rootfs".into());
        }
        Ok(r)
    }
}

impl Drop for SharedRoot {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .args(["-R", "-l"])
            .arg(&self.0)
            .status();
        let _ = fs::remove_dir(&self.0);
    }
}

/// Mounts a tmpfs on the host under the container's (shared) rootfs after
/// create, and tells whether the container sees it.
fn host_mount_seen(env: &Env, prop: &str) -> Result<bool, String> {
    let root = SharedRoot::new(env)?;
    let r = super::scenario::create(
        env,
        config(env, |c| {
            c["root"]["path"] = json!(root.0);
            c["linux"]["rootfsPropagation"] = json!(prop);
        }),
    )?;
    let target = root.0.join("tmp");
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "spec-propagation"])
        .arg(&target)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return Err("mount a tmpfs on the host".into());
    }
    let info = fs::read_to_string(format!("/proc/{}/mountinfo", r.pid)).unwrap_or_default();
    drop(r);
    Ok(info.lines().any(|l| l.contains(" spec-propagation ")))
}

fn case(name: &'static str, must: &'static str, patch: fn(&mut Value, &Env)) -> Case {
    Case::checker(S, name, must, patch)
}

fn refusal(name: &'static str, must: &'static str, check: Check) -> Case {
    Case::scenario(S, name, must, check)
}

pub fn cases() -> Vec<Case> {
    vec![
        case("sysctl net.* in a new network namespace", "sysctl allows kernel parameters to be modified at runtime for the container", |c, _| {
            c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1", "net.core.somaxconn": "256", "net.ipv4.ping_group_range": "0 10"});
        }),
        case("sysctl kernel IPC keys in a new IPC namespace", "sysctl allows kernel parameters to be modified at runtime for the container", |c, _| {
            c["linux"]["sysctl"] = json!({"kernel.msgmax": "4096", "kernel.shmmax": "8388608", "kernel.sem": "100 2000 30 40", "fs.mqueue.msg_max": "20"});
        }),
        refusal("sysctl unknown key refused", "runtime.md: if the runtime is unable to create the environment specified in config.json, it MUST generate an error", |env, _| {
            refused(env, config(env, |c| c["linux"]["sysctl"] = json!({"kernel.spec_no_such_key": "1"})))
        }),
        refusal(
            "sysctl net.* without a network namespace refused",
            "sysctl is for the container: a net.* key in the host's network namespace would change the host (refused, as runc and crun do)",
            |env, _| {
                // The host's own value: accepting it by mistake changes nothing.
                let v = host_sysctl("net.ipv4.ip_forward");
                refused(env, config(env, |c| {
                    c["linux"]["namespaces"].as_array_mut().unwrap().retain(|n| n["type"] != "network");
                    c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": v});
                }))
            },
        ),
        refusal(
            "sysctl without a namespace of its own refused",
            "sysctl is for the container: a key no container namespace covers (vm.*) would change the host (refused, as runc and crun do)",
            |env, _| {
                let v = host_sysctl("vm.swappiness");
                refused(env, config(env, |c| c["linux"]["sysctl"] = json!({"vm.swappiness": v})))
            },
        ),
        case("maskedPaths: a file", "maskedPaths will mask over the provided paths so that they cannot be read", |c, env| {
            let f = rootfs_file(env, "masked-file");
            push(c, "maskedPaths", f);
        }),
        case("maskedPaths: a directory", "maskedPaths will mask over the provided paths so that they cannot be read", |c, env| {
            let d = rootfs_dir(env, "masked-dir");
            push(c, "maskedPaths", d);
        }),
        refusal("maskedPaths: a missing path is no error", "maskedPaths mask paths that exist; a path the rootfs lacks has nothing to mask (runc and crun go on)", |env, _| {
            let c = config(env, |c| push(c, "maskedPaths", "/no/such/masked/path".into()));
            super::scenario::create(env, c).map(|_| ())
        }),
        case("readonlyPaths: a file", "readonlyPaths will set the provided paths as readonly inside the container", |c, env| {
            c["root"]["readonly"] = json!(false);
            let f = rootfs_file(env, "ro-file");
            push(c, "readonlyPaths", f);
        }),
        case("readonlyPaths: a directory", "readonlyPaths will set the provided paths as readonly inside the container", |c, env| {
            c["root"]["readonly"] = json!(false);
            let d = rootfs_dir(env, "ro-dir");
            push(c, "readonlyPaths", d);
        }),
        case("readonlyPaths: a path under a tmpfs mount", "readonlyPaths will set the provided paths as readonly inside the container", |c, _| {
            scratch(c);
            push(c, "readonlyPaths", "/scratch".into());
        }),
        case("rootfsPropagation private", "private: the rootfs mount doesn't receive mount propagation events from the host", |c, _| {
            c["linux"]["rootfsPropagation"] = json!("private");
        }),
        case("rootfsPropagation slave", "slave: the rootfs mount receives propagation events from the host but not the other way around", |c, _| {
            c["linux"]["rootfsPropagation"] = json!("slave");
        }),
        case("rootfsPropagation shared", "shared: the rootfs mount belongs to a new peer group", |c, _| {
            c["linux"]["rootfsPropagation"] = json!("shared");
        }),
        case("rootfsPropagation unbindable", "unbindable: the rootfs mount is a private mount that cannot be bind-mounted", |c, _| {
            c["linux"]["rootfsPropagation"] = json!("unbindable");
        }),
        refusal(
            "rootfsPropagation slave: a host mount appears",
            "slave: the rootfs mount receives propagation events from the host (something mounted on the host also appears in the container)",
            |env, _| match host_mount_seen(env, "slave")? {
                true => Ok(()),
                false => Err("a tmpfs mounted on the host under the rootfs did not appear".into()),
            },
        ),
        refusal(
            "rootfsPropagation private: a host mount stays out",
            "private: the rootfs mount doesn't receive mount propagation events from the host",
            |env, _| match host_mount_seen(env, "private")? {
                false => Ok(()),
                true => Err("a tmpfs mounted on the host under the rootfs appeared".into()),
            },
        ),
        refusal("rootfsPropagation unknown value refused", "rootfsPropagation is either shared, slave, private or unbindable; runtime.md: create MUST error", |env, _| {
            refused(env, config(env, |c| c["linux"]["rootfsPropagation"] = json!("spec-nope")))
        }),
        case("personality LINUX32", "LINUX32 will set the uname system call to show a 32 bit CPU type, such as i686", |c, _| {
            c["linux"]["personality"] = json!({"domain": "LINUX32"});
        }),
        case("personality LINUX", "personality domain LINUX: the native execution domain", |c, _| {
            c["linux"]["personality"] = json!({"domain": "LINUX"});
        }),
        refusal("personality unknown domain refused", "domain: the valid list of constants is LINUX, LINUX32; runtime.md: create MUST error", |env, _| {
            refused(env, config(env, |c| c["linux"]["personality"] = json!({"domain": "SPEC_NOPE"})))
        }),
        refusal(
            "mountLabel (refused on a host without SELinux)",
            "mountLabel will set the SELinux context for the mounts; runtime.md: create MUST error if it cannot",
            |env, _| {
                let label = "system_u:object_r:container_file_t:s0:c1,c2";
                if Path::new("/sys/fs/selinux/enforce").exists() {
                    let c = config(env, |c| {
                        c["linux"]["mountLabel"] = json!(label);
                        c["process"]["args"] = json!(["/spec-check", "/spec/config.json"]);
                    });
                    return env.run_checker(c);
                }
                refused(env, config(env, |c| c["linux"]["mountLabel"] = json!(label)))
            },
        ),
        refusal(
            "apparmorProfile (refused on a host without AppArmor)",
            "config.md apparmorProfile specifies the AppArmor profile of the process; runtime.md: create MUST error if it cannot apply the config",
            |env, _| {
                let on = fs::read_to_string("/sys/module/apparmor/parameters/enabled").unwrap_or_default();
                if on.trim() == "Y" {
                    let c = config(env, |c| c["process"]["apparmorProfile"] = json!("unconfined"));
                    return super::support::sh_says(env, c, "cat /proc/self/attr/current", "unconfined");
                }
                let c = config(env, |c| c["process"]["apparmorProfile"] = json!("runr-spec-profile"));
                super::scenario::refused_naming(env, c, &["AppArmor", "apparmor"])
            },
        ),
        refusal(
            "intelRdt without resctrl refused",
            "if no mounted resctrl pseudo-filesystem is available in the runtime mount namespace, the runtime MUST generate an error",
            |env, _| {
                if fs::read_to_string("/proc/self/mountinfo").unwrap_or_default().contains(" - resctrl ") {
                    return Ok(());
                }
                let c = config(env, |c| c["linux"]["intelRdt"] = json!({"closID": "spec", "l3CacheSchema": "L3:0=f"}));
                super::scenario::refused_naming(env, c, &["intelRdt", "Intel RDT", "resctrl"])
            },
        ),
        case("memoryPolicy MPOL_BIND", "memoryPolicy sets the NUMA memory policy of the container process (mode, nodes)", |c, _| {
            c["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND", "nodes": "0"});
        }),
        case("memoryPolicy MPOL_INTERLEAVE", "memoryPolicy sets the NUMA memory policy of the container process (mode, nodes)", |c, _| {
            c["linux"]["memoryPolicy"] = json!({"mode": "MPOL_INTERLEAVE", "nodes": "0"});
        }),
    ]
}
