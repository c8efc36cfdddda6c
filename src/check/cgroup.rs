//! The cgroup line: which version is mounted, where, and its controllers,
//! read from /proc/self/mountinfo (the cgroup mounts this process sees).

use std::path::Path;

use super::Item;
use crate::cgroups::{self, Hierarchy};

/// The usual mount point of the cgroup tree.
const ROOT: &str = "/sys/fs/cgroup";

pub fn items(rootless: bool) -> Vec<Item> {
    let info = match std::fs::read_to_string("/proc/self/mountinfo") {
        Ok(t) => t,
        Err(e) => {
            return vec![Item::new(
                "cgroup",
                false,
                "unknown",
                format!("read /proc/self/mountinfo: {e}"),
            )
            .required(!rootless)]
        }
    };
    let hs = cgroups::parse_mountinfo(&info);
    let v2_controllers = |mount: &Path| {
        std::fs::read_to_string(mount.join("cgroup.controllers"))
            .map(|s| s.split_whitespace().map(String::from).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    vec![describe(&hs, v2_controllers).required(!rootless)]
}

/// The line for the mounted hierarchies `hs`; `v2_controllers` reads a
/// cgroup2 mount's cgroup.controllers.
fn describe(hs: &[Hierarchy], v2_controllers: impl Fn(&Path) -> Vec<String>) -> Item {
    let v1: Vec<&Hierarchy> = hs.iter().filter(|h| !h.v2).collect();
    let v2 = hs.iter().find(|h| h.v2);
    let mut ctrls: Vec<String> = v1
        .iter()
        .flat_map(|h| h.controllers.iter())
        .filter(|c| !c.starts_with("name="))
        .cloned()
        .collect();
    ctrls.sort();
    ctrls.dedup();
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    match (v1.is_empty(), v2) {
        (true, None) => Item::new(
            "cgroup",
            false,
            "none mounted",
            "/proc/self/mountinfo: no cgroup or cgroup2 filesystem",
        ),
        (true, Some(h)) => {
            let c = v2_controllers(&h.mount);
            let at = if h.mount == Path::new(ROOT) {
                String::new()
            } else {
                format!(" (at {})", h.mount.display())
            };
            Item::new(
                "cgroup",
                true,
                format!("v2{at}; controllers: {}", list(&c)),
                format!(
                    "/proc/self/mountinfo: cgroup2 at {}; {}",
                    h.mount.display(),
                    h.mount.join("cgroup.controllers").display()
                ),
            )
        }
        (false, v2) => {
            let kind = match v2 {
                Some(h) => format!("v1 hybrid (unified at {})", h.mount.display()),
                None => "v1".to_string(),
            };
            let unified = v2
                .map(|h| format!("; unified controllers: {}", list(&v2_controllers(&h.mount))))
                .unwrap_or_default();
            Item::new(
                "cgroup",
                true,
                format!("{kind}; controllers: {}{unified}", list(&ctrls)),
                format!(
                    "/proc/self/mountinfo: {} cgroup v1 hierarchies{}",
                    v1.len(),
                    v2.map(|h| format!(", cgroup2 at {}", h.mount.display()))
                        .unwrap_or_default()
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(mount: &str, ctrls: &[&str], v2: bool) -> Hierarchy {
        Hierarchy {
            mount: mount.into(),
            controllers: ctrls.iter().map(|s| s.to_string()).collect(),
            v2,
        }
    }

    #[test]
    fn hybrid_v1_and_v2_are_told_apart() {
        let none = |_: &Path| Vec::new();
        let hybrid = [
            h("/sys/fs/cgroup/memory", &["memory"], false),
            h("/sys/fs/cgroup/cpu,cpuacct", &["cpu", "cpuacct"], false),
            h("/sys/fs/cgroup/systemd", &["name=systemd"], false),
            h("/sys/fs/cgroup/unified", &[], true),
        ];
        let i = describe(&hybrid, none);
        assert_eq!(
            i.result,
            "v1 hybrid (unified at /sys/fs/cgroup/unified); controllers: cpu, cpuacct, memory; unified controllers: none"
        );
        let v1 = describe(&hybrid[..2], none);
        assert_eq!(v1.result, "v1; controllers: cpu, cpuacct, memory");
        let v2 = describe(&[h("/sys/fs/cgroup", &[], true)], |_: &Path| {
            vec!["cpu".into(), "io".into()]
        });
        assert_eq!(v2.result, "v2; controllers: cpu, io");
        assert!(!describe(&[], none).ok);
    }
}
