//! `runr check`: the host report agrees with what the test reads itself.

use std::collections::BTreeSet;

use crate::common::Ctx;

/// The cgroup line's head, from this test's own reading of mountinfo:
/// (kind, v1 controllers).
fn cgroup_from_mountinfo() -> (String, Vec<String>) {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut v1 = BTreeSet::new();
    let mut v1_mounts = 0;
    let mut v2_at = None;
    for line in info.lines() {
        let (left, right) = line.split_once(" - ").unwrap();
        let mount = left.split(' ').nth(4).unwrap().to_string();
        let f: Vec<&str> = right.split(' ').collect();
        match f[0] {
            "cgroup2" => v2_at = Some(mount),
            "cgroup" => {
                v1_mounts += 1;
                for o in f[2].split(',') {
                    if !matches!(o, "rw" | "ro" | "clone_children")
                        && !o.starts_with("release_agent")
                        && !o.starts_with("name=")
                    {
                        v1.insert(o.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    let kind = match (v1_mounts, v2_at) {
        (0, Some(at)) if at == "/sys/fs/cgroup" => "v2".to_string(),
        (0, Some(at)) => format!("v2 (at {at})"),
        (0, None) => "none mounted".to_string(),
        (_, Some(at)) => format!("v1 hybrid (unified at {at})"),
        (_, None) => "v1".to_string(),
    };
    (kind, v1.into_iter().collect())
}

#[test]
fn check_reports_this_host() {
    let ctx = Ctx::new("check");
    let out = ctx.runr(&["check"]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    // Every line is `name: result [evidence]`.
    for l in &lines[..lines.len() - 1] {
        assert!(l.contains(": ") && l.ends_with(']'), "{l}");
    }
    assert_eq!(
        lines.last().copied(),
        Some("verdict: runr can run containers on this host")
    );

    let cg = lines
        .iter()
        .find_map(|l| l.strip_prefix("cgroup: "))
        .expect("a cgroup line");
    let (kind, v1) = cgroup_from_mountinfo();
    assert!(
        cg.starts_with(&format!("{kind}; controllers: ")),
        "{cg} vs {kind}"
    );
    if kind.starts_with("v1") {
        let want = format!("{kind}; controllers: {}", v1.join(", "));
        assert!(cg.starts_with(&want), "{cg}\nwanted {want}");
    }

    for e in std::fs::read_dir("/proc/self/ns").unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let kind = name.trim_end_matches("_for_children");
        let line = lines
            .iter()
            .find(|l| l.starts_with(&format!("namespace {kind}: ")))
            .unwrap_or_else(|| panic!("no line for namespace {kind}:\n{}", out.stdout));
        assert!(
            line.contains(&format!("/proc/self/ns/{kind} present")),
            "{line}"
        );
    }
    // Probes are real: the mount namespace was created, clone3 answered.
    assert!(lines.contains(
        &"namespace mnt: yes [/proc/self/ns/mnt present; unshare(CLONE_NEWNS) in a child: ok]"
    ));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("clone3: yes [clone3(NULL, 0): E")));
}

#[test]
fn check_json_matches_text() {
    let ctx = Ctx::new("checkjson");
    let text = ctx.runr(&["check"]).ok();
    let json = ctx.runr(&["check", "--format", "json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["ok"], true);
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len() + 1, text.stdout.lines().count());
    let cg = items.iter().find(|i| i["name"] == "cgroup").unwrap();
    let (kind, _) = cgroup_from_mountinfo();
    assert!(cg["result"].as_str().unwrap().starts_with(&kind), "{cg}");
    let bad = ctx.runr(&["check", "--format", "yaml"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("invalid format option"), "{bad:?}");
}

/// Inside a container whose seccomp filter hides clone3 (ENOSYS), as some
/// engines' profiles do, `runr check` says runr cannot run there, and why.
#[test]
fn check_fails_where_clone3_is_hidden() {
    let ctx = Ctx::new("checkfail");
    let bin_dir = std::path::Path::new(crate::common::runr())
        .parent()
        .unwrap();
    let mut c = ctx.config("/mnt/runr check");
    c["mounts"].as_array_mut().unwrap().push(serde_json::json!({
        "destination": "/mnt", "type": "bind", "source": bin_dir,
        "options": ["rbind", "ro"]
    }));
    c["linux"]["seccomp"] = serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
    });
    let out = ctx.run_config(&c);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("clone3: no ") && l.ends_with("[clone3(NULL, 0): ENOSYS]")),
        "{}",
        out.stdout
    );
    let verdict = out.stdout.lines().last().unwrap_or_default();
    assert!(
        verdict.starts_with("verdict: runr cannot run containers on this host: ")
            && verdict.contains("clone3: no"),
        "{verdict}"
    );
}
