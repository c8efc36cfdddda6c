//! One line per namespace kind (present in /proc/self/ns, and creatable:
//! unshare in a forked child), and whether user namespaces are allowed.

use std::path::Path;

use super::probe::{self, in_child};
use super::Item;

/// CLONE_NEWTIME (Linux 5.6), missing from some libc versions.
const CLONE_NEWTIME: i32 = 0x80;

/// The kinds runr creates, with their unshare flag and whether runc's
/// default config (`runr spec`) asks for them.
const KINDS: [(&str, i32, bool); 8] = [
    ("mnt", libc::CLONE_NEWNS, true),
    ("uts", libc::CLONE_NEWUTS, true),
    ("ipc", libc::CLONE_NEWIPC, true),
    ("pid", libc::CLONE_NEWPID, true),
    ("net", libc::CLONE_NEWNET, true),
    ("user", libc::CLONE_NEWUSER, false),
    ("cgroup", libc::CLONE_NEWCGROUP, false),
    ("time", CLONE_NEWTIME, false),
];

pub fn items(rootless: bool) -> Vec<Item> {
    let mut out: Vec<Item> = KINDS
        .iter()
        .map(|&(kind, flag, default)| {
            let needed = default || (kind == "user" && rootless);
            namespace(kind, flag, rootless).required(needed)
        })
        .collect();
    // Kinds this kernel has that runr does not know of still get a line.
    for kind in listed() {
        if !KINDS.iter().any(|(k, _, _)| *k == kind) {
            out.push(Item::new(
                &format!("namespace {kind}"),
                true,
                "present (not used by runr)",
                format!("/proc/self/ns/{kind} present"),
            ));
        }
    }
    out.push(userns_allowed().required(rootless));
    out
}

/// The kinds listed in /proc/self/ns (`pid_for_children` counts as `pid`).
fn listed() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/proc/self/ns")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .map(|n| n.trim_end_matches("_for_children").to_string())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v.dedup();
    v
}

fn flag_name(kind: &str) -> String {
    match kind {
        "mnt" => "CLONE_NEWNS".to_string(),
        k => format!("CLONE_NEW{}", k.to_uppercase()),
    }
}

/// Probes one kind. Rootless, runr makes every namespace together with a
/// user namespace, which is what gives it the right to: so is the probe.
fn namespace(kind: &str, flag: i32, rootless: bool) -> Item {
    let with_user = rootless && flag != libc::CLONE_NEWUSER;
    let (flag, flags) = if with_user {
        (
            flag | libc::CLONE_NEWUSER,
            format!("CLONE_NEWUSER|{}", flag_name(kind)),
        )
    } else {
        (flag, flag_name(kind))
    };
    let name = format!("namespace {kind}");
    let path = format!("/proc/self/ns/{kind}");
    let present = Path::new(&path).exists();
    let r = in_child(|| {
        // SAFETY: unshare in a child that exits right after.
        if unsafe { libc::unshare(flag) } == 0 {
            Ok(())
        } else {
            Err(probe::last_errno())
        }
    });
    let evidence = format!(
        "{path} {}; unshare({flags}) in a child: {}",
        if present { "present" } else { "missing" },
        probe::outcome(r)
    );
    let result = match (present, r.is_ok()) {
        (true, true) => "yes",
        (true, false) => "no (present but not creatable)",
        (false, true) => "yes (creatable, not listed in /proc/self/ns)",
        (false, false) => "no",
    };
    Item::new(&name, r.is_ok(), result, evidence)
}

fn read_number(path: &str) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// user.max_user_namespaces, and the distribution switches for
/// unprivileged user namespaces where the kernel has them.
fn userns_allowed() -> Item {
    // SAFETY: geteuid cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let mut why = Vec::new();
    let max = read_number("/proc/sys/user/max_user_namespaces");
    why.push(match max {
        Some(n) => format!("user.max_user_namespaces={n}"),
        None => "/proc/sys/user/max_user_namespaces unreadable".to_string(),
    });
    let mut ok = max.is_some_and(|n| n > 0);
    let mut unprivileged = true;
    for (key, path) in [
        (
            "kernel.unprivileged_userns_clone",
            "/proc/sys/kernel/unprivileged_userns_clone",
        ),
        (
            "kernel.apparmor_restrict_unprivileged_userns",
            "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
        ),
    ] {
        match read_number(path) {
            Some(v) => {
                why.push(format!("{key}={v}"));
                let denies = if key.ends_with("clone") {
                    v == 0
                } else {
                    v != 0
                };
                unprivileged &= !denies;
            }
            None => why.push(format!("{key} absent")),
        }
    }
    if !root && !unprivileged {
        ok = false;
    }
    let result = match (ok, unprivileged) {
        (false, _) => "no",
        (true, true) => "yes (unprivileged too)",
        (true, false) => "yes (for root only)",
    };
    Item::new("user namespaces allowed", ok, result, why.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_names_follow_the_headers() {
        assert_eq!(flag_name("mnt"), "CLONE_NEWNS");
        assert_eq!(flag_name("cgroup"), "CLONE_NEWCGROUP");
    }
}
