//! personality, scheduler, I/O priority, CPU affinity, memory policy and
//! LSM labels, seen from inside the container.

use serde_json::json;

use crate::common::Ctx;

#[test]
fn personality_linux32_changes_uname() {
    let ctx = Ctx::new("persona");
    let mut c = ctx.config("uname -m");
    c["linux"]["personality"] = json!({"domain": "LINUX32"});
    assert_eq!(ctx.run_config(&c).ok().stdout, "i686\n");
}

#[test]
fn scheduler_io_priority_and_affinity() {
    let ctx = Ctx::new("sched");
    // /proc/self/stat: field 19 is nice, field 41 the policy (3 = SCHED_BATCH).
    let mut c = ctx
        .config("cut -d' ' -f19,41 /proc/self/stat; ionice -p $$; taskset -p $$ | sed 's/.*: //'");
    c["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 5});
    c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 6});
    c["process"]["execCPUAffinity"] = json!({"final": "0"});
    let out = ctx.run_config(&c).ok().stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "5 3", "{out}");
    assert!(
        lines[1].contains("best-effort") && lines[1].contains('6'),
        "{out}"
    );
    assert_eq!(lines[2], "1", "{out}");
}

#[test]
fn memory_policy_applies() {
    let ctx = Ctx::new("mempol");
    let mut c = ctx.config("grep -q 'bind:0' /proc/self/numa_maps && echo bound || (head -3 /proc/self/numa_maps; echo unbound)");
    c["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND", "nodes": "0"});
    let out = ctx.run_config(&c).ok().stdout;
    assert_eq!(out, "bound\n");
}

#[test]
fn lsm_labels_and_rdt_without_host_support_fail_clearly() {
    let ctx = Ctx::new("lsm");
    let cases = [
        (
            "apparmor",
            json!({"process": {"apparmorProfile": "docker-default"}}),
            "AppArmor is not enabled",
        ),
        (
            "selinux",
            json!({"process": {"selinuxLabel": "system_u:system_r:container_t:s0"}}),
            "SELinux is not enabled",
        ),
        (
            "rdt",
            json!({"linux": {"intelRdt": {"closID": "x"}}}),
            "no resctrl",
        ),
    ];
    for (name, patch, want) in cases {
        if name == "apparmor" && runr::security::lsm::apparmor_enabled() {
            continue;
        }
        if name == "selinux" && runr::security::lsm::selinux_enabled() {
            continue;
        }
        let mut c = ctx.config("true");
        for (top, fields) in patch.as_object().unwrap() {
            for (k, v) in fields.as_object().unwrap() {
                c[top][k] = v.clone();
            }
        }
        let b = ctx.bundle_with(&c);
        let id = ctx.id();
        let out = ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]);
        assert_eq!(out.code, 1, "{name}: {out:?}");
        assert!(out.stderr.contains(want), "{name}: {out:?}");
        ctx.assert_gone(&id);
    }
}
