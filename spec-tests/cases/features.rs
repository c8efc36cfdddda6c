//! features.md and features-linux.md: the features document, its shape,
//! and that the runtime accepts what it lists.

use serde_json::{json, Value};

use super::scenario::{all, config, create, output, scratch};
use crate::harness::*;

const S: &str = "features.md";

fn features(env: &Env) -> Result<Value, String> {
    let o = env.rt(&["features"]);
    if o.code != 0 {
        return Err(format!("features exited {}: {}", o.code, o.stderr.trim()));
    }
    serde_json::from_str(&o.stdout).map_err(|e| format!("{e}: {:?}", o.stdout))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

fn semver(s: &str) -> Option<(u64, u64, u64, bool)> {
    let (core, pre) = match s.split_once('-') {
        Some((c, _)) => (c, true),
        None => (s.split('+').next()?, false),
    };
    let n: Vec<u64> = core
        .split('.')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    (n.len() == 3).then(|| (n[0], n[1], n[2], !pre))
}

/// Every key of `v` is one of `known`.
fn keys_known(v: &Value, at: &str, known: &[&str], bad: &mut Vec<String>) {
    for k in v.as_object().into_iter().flatten().map(|(k, _)| k) {
        if !known.contains(&k.as_str()) {
            bad.push(format!("{at}{k}"));
        }
    }
}

fn case(name: &'static str, must: &'static str, check: Check) -> Case {
    Case::scenario(S, name, must, check)
}

pub fn cases() -> Vec<Case> {
    vec![
        case("ociVersionMin and ociVersionMax", "ociVersionMin/Max (REQUIRED) are SemVer; ociVersionMax MUST NOT be less than ociVersionMin", |env, _| {
            let f = features(env)?;
            let (lo, hi) = (f["ociVersionMin"].as_str().unwrap_or(""), f["ociVersionMax"].as_str().unwrap_or(""));
            match (semver(lo), semver(hi)) {
                (Some(a), Some(b)) if a <= b => Ok(()),
                _ => Err(format!("min {lo:?}, max {hi:?}")),
            }
        }),
        case("config at ociVersionMin accepted", "the runtime MUST accept ociVersionMin as the ociVersion property of config.json", |env, _| {
            let v = features(env)?["ociVersionMin"].clone();
            create(env, config(env, |c| c["ociVersion"] = v)).map(|_| ())
        }),
        case("config at ociVersionMax accepted", "the runtime MUST accept ociVersionMax as the ociVersion property of config.json", |env, _| {
            let v = features(env)?["ociVersionMax"].clone();
            create(env, config(env, |c| c["ociVersion"] = v)).map(|_| ())
        }),
        case("only properties the spec defines", "the feature document MUST NOT contain properties that are not defined in this version of the spec", |env, _| {
            let f = features(env)?;
            let mut bad = Vec::new();
            keys_known(&f, "", &["ociVersionMin", "ociVersionMax", "hooks", "mountOptions", "linux", "annotations", "potentiallyUnsafeConfigAnnotations"], &mut bad);
            let l = &f["linux"];
            keys_known(l, "linux.", &["namespaces", "capabilities", "cgroup", "seccomp", "apparmor", "selinux", "intelRdt", "memoryPolicy", "mountExtensions", "netDevices"], &mut bad);
            keys_known(&l["cgroup"], "linux.cgroup.", &["v1", "v2", "systemd", "systemdUser", "rdma"], &mut bad);
            keys_known(&l["seccomp"], "linux.seccomp.", &["enabled", "actions", "operators", "archs", "knownFlags", "supportedFlags"], &mut bad);
            keys_known(&l["intelRdt"], "linux.intelRdt.", &["enabled", "schemata", "monitoring"], &mut bad);
            keys_known(&l["mountExtensions"], "linux.mountExtensions.", &["idmap"], &mut bad);
            for k in ["apparmor", "selinux", "netDevices"] {
                keys_known(&l[k], &format!("linux.{k}."), &["enabled"], &mut bad);
            }
            for (k, v) in f["annotations"].as_object().into_iter().flatten() {
                if !v.is_string() || k.is_empty() {
                    bad.push(format!("annotation {k}: {v}"));
                }
            }
            if bad.is_empty() { Ok(()) } else { Err(format!("unknown: {bad:?}")) }
        }),
        case("hooks listed are accepted", "the runtime MUST support the elements of hooks as the hooks property of config.json", |env, _| {
            let f = features(env)?;
            let names = strings(&f["hooks"]);
            let known = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"];
            let mut facts: Vec<(bool, String)> = names.iter().map(|h| (known.contains(&h.as_str()), format!("unknown hook {h}"))).collect();
            // /bin/true is both the host's and the container's (busybox).
            let mut c = config(env, |_| {});
            c["process"]["args"] = json!(["true"]);
            for h in &names {
                c["hooks"][h] = json!([{"path": "/bin/true"}]);
            }
            facts.push((output(env, c).is_ok(), "a config with every listed hook failed".into()));
            all(&facts)
        }),
        case("mount options listed are accepted", "the runtime MUST recognize the elements of mountOptions as the options of mounts", |env, _| {
            let f = features(env)?;
            let src = env.dir.join("mount-src");
            let _ = std::fs::create_dir_all(&src);
            let mut bad = Vec::new();
            for o in strings(&f["mountOptions"]) {
                // idmap options need mappings on the mount: their own case.
                if o.contains("idmap") {
                    continue;
                }
                let c = config(env, |c| {
                    scratch(c);
                    c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/scratch/m", "type": "bind", "source": src, "options": ["rbind", o]}));
                });
                if let Err(e) = create(env, c) {
                    bad.push(format!("{o}: {e}"));
                }
            }
            if bad.is_empty() { Ok(()) } else { Err(bad.join("; ")) }
        }),
        case("namespaces listed can be created", "the runtime MUST recognize the elements of linux.namespaces as the type of linux.namespaces", |env, _| {
            let f = features(env)?;
            let list = strings(&f["linux"]["namespaces"]);
            let c = config(env, |c| {
                c["linux"]["namespaces"] = json!(list.iter().map(|t| json!({"type": t})).collect::<Vec<_>>());
                if list.iter().any(|t| t == "user") {
                    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
                    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
                }
                if !list.iter().any(|t| t == "uts") {
                    c.as_object_mut().unwrap().remove("hostname");
                }
            });
            let r = create(env, c)?;
            let me = std::process::id() as i64;
            let facts: Vec<(bool, String)> = list
                .iter()
                .map(|t| {
                    let p = match t.as_str() { "network" => "net", "mount" => "mnt", t => t };
                    (ns_of(r.pid, p) != ns_of(me, p), format!("{t} not new"))
                })
                .collect();
            all(&facts)
        }),
        case("capabilities listed are accepted", "the runtime MUST recognize the elements of linux.capabilities in process.capabilities", |env, _| {
            let f = features(env)?;
            let caps = strings(&f["linux"]["capabilities"]);
            let r = create(env, config(env, |c| c["process"]["capabilities"]["bounding"] = json!(caps)))?;
            let st = std::fs::read_to_string(format!("/proc/{}/status", r.pid)).unwrap_or_default();
            let bnd = st.lines().find_map(|l| l.strip_prefix("CapBnd:")).map(str::trim).unwrap_or("");
            // Only what the runtime itself holds can be kept.
            let mine = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            let mine = mine.lines().find_map(|l| l.strip_prefix("CapBnd:")).map(str::trim).unwrap_or("");
            let mask = u64::from_str_radix(mine, 16).unwrap_or(0);
            let want = (0..caps.len()).fold(0u64, |m, i| m | 1 << i) & mask;
            let got = u64::from_str_radix(bnd, 16).unwrap_or(0);
            all(&[(got == want, format!("{} listed, CapBnd {bnd}, wanted {want:016x}", caps.len()))])
        }),
        case("seccomp actions, operators, archs and flags listed are accepted", "the runtime MUST recognize actions, operators, archs and knownFlags; MUST support supportedFlags", |env, _| {
            let f = features(env)?;
            let s = &f["linux"]["seccomp"];
            if s["enabled"] == false {
                return Ok(());
            }
            let mut bad = Vec::new();
            let mut try_filter = |what: String, sc: Value| {
                if let Err(e) = create(env, config(env, |c| c["linux"]["seccomp"] = sc)) {
                    bad.push(format!("{what}: {e}"));
                }
            };
            for a in strings(&s["actions"]).into_iter().filter(|a| a != "SCMP_ACT_NOTIFY") {
                try_filter(a.clone(), json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpriority"], "action": a}]}));
            }
            for op in strings(&s["operators"]) {
                try_filter(op.clone(), json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 7, "valueTwo": 7, "op": op}]}]}));
            }
            // A filter holds one byte order: big-endian archs cannot join
            // this little-endian host's filter (libseccomp: EDOM).
            let big = ["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64"];
            for arch in strings(&s["archs"]).into_iter().filter(|a| !big.contains(&a.as_str())) {
                try_filter(arch.clone(), json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": [arch], "syscalls": [{"names": ["getpriority"], "action": "SCMP_ACT_ERRNO"}]}));
            }
            // WAIT_KILLABLE_RECV only goes with a listener.
            for fl in strings(&s["supportedFlags"]).into_iter().filter(|f| !f.contains("WAIT_KILLABLE")) {
                try_filter(fl.clone(), json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": [fl], "syscalls": [{"names": ["getpriority"], "action": "SCMP_ACT_ERRNO"}]}));
            }
            let known = strings(&s["knownFlags"]);
            for fl in strings(&s["supportedFlags"]) {
                if !known.is_empty() && !known.contains(&fl) {
                    bad.push(format!("supported flag {fl} not in knownFlags"));
                }
            }
            if bad.is_empty() { Ok(()) } else { Err(bad.join("; ")) }
        }),
        case("idmap mounts when mountExtensions.idmap is enabled", "idmap.enabled: the runtime parses and attempts to use the uidMappings and gidMappings of mounts", |env, _| {
            let f = features(env)?;
            if f["linux"]["mountExtensions"]["idmap"]["enabled"] != true {
                return Ok(());
            }
            let src = env.dir.join("idmap-src");
            let _ = std::fs::create_dir_all(&src);
            let _ = std::fs::write(src.join("owned"), "x");
            // A file of the host's root, through a mount mapping 0 to 1000 (uids)
            // and 2000 (gids).
            let c = config(env, |c| {
                c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/hostbin", "type": "bind", "source": src, "options": ["rbind", "idmap"],
                    "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}], "gidMappings": [{"containerID": 0, "hostID": 2000, "size": 1}]}));
                c["process"]["args"] = json!(["stat", "-c", "owner=%u:%g", "/hostbin/owned"]);
            });
            let out = output(env, c)?;
            all(&[(out.trim() == "owner=1000:2000", format!("a host root file through the idmap mount: {out:?}"))])
        }),
        case("cgroup managers", "linux.cgroup: v1, v2, systemd, systemdUser, rdma are booleans", |env, _| {
            let f = features(env)?;
            let bad: Vec<String> = f["linux"]["cgroup"].as_object().into_iter().flatten().filter(|(_, v)| !v.is_boolean()).map(|(k, _)| k.clone()).collect();
            if bad.is_empty() { Ok(()) } else { Err(format!("not booleans: {bad:?}")) }
        }),
    ]
}
