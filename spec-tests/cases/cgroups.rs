//! config-linux.md Control groups: cgroupsPath, each linux.resources
//! controller (read back from inside by the checker), the allowed device
//! list (observed by opening a device), unified. A resource this host's
//! cgroups lack must be refused (runtime.md: create MUST generate an error
//! when it cannot create the environment the config asks for).

use std::fs;
use std::path::Path;

use serde_json::{json, Value};

use super::scenario::{all, config, create, expect, output, refused, shell};
use crate::harness::*;

const S: &str = "config-linux.md cgroups";

fn res(c: &mut Value, key: &str, v: Value) {
    c["linux"]["resources"][key] = v;
}

fn host_has(file: &str) -> bool {
    Path::new("/sys/fs/cgroup").join(file).exists()
}

/// The checker where the host has `file`; else create must fail.
fn applied_or_refused(env: &Env, file: &str, patch: fn(&mut Value)) -> Result<(), String> {
    let mut c = env.base();
    patch(&mut c);
    if host_has(file) {
        env.run_checker(c)
    } else {
        refused(env, c)
    }
}

/// Opens /dev/fuse (c 10:229, created through linux.devices) for reading
/// and for writing under the given allowed device list; prints r=.. w=..
fn fuse_access(env: &Env, rules: Value) -> Result<String, String> {
    let c = config(env, |c| {
        c["linux"]["devices"] = json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666}]);
        c["linux"]["resources"]["devices"] = rules;
        shell(c, "(exec 3</dev/fuse) 2>/dev/null && echo r=ok || echo r=no; (exec 3>/dev/fuse) 2>/dev/null && echo w=ok || echo w=no");
    });
    output(env, c).map(|o| o.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn cg_line(pid: i64, ctrl: &str) -> String {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    text.lines()
        .find(|l| {
            l.split(':')
                .nth(1)
                .is_some_and(|c| c.split(',').any(|x| x == ctrl))
        })
        .map(|l| l.splitn(3, ':').nth(2).unwrap_or("").to_string())
        .unwrap_or_default()
}

/// Whether a directory called `name` is left in a cgroup hierarchy.
fn cgroup_dir_left(name: &str) -> bool {
    fn find(dir: &Path, name: &str, depth: u32) -> bool {
        fs::read_dir(dir).into_iter().flatten().flatten().any(|e| {
            e.file_type().is_ok_and(|t| t.is_dir())
                && (e.file_name() == name || (depth > 0 && find(&e.path(), name, depth - 1)))
        })
    }
    find(Path::new("/sys/fs/cgroup"), name, 5)
}

fn checker_case(name: &'static str, must: &'static str, patch: fn(&mut Value, &Env)) -> Case {
    Case::checker(S, name, must, patch)
}

pub fn cases() -> Vec<Case> {
    vec![
        checker_case("memory limit", "memory.limit sets limit of memory usage", |c, _| res(c, "memory", json!({"limit": 67108864}))),
        checker_case("memory reservation", "memory.reservation sets soft limit of memory usage", |c, _| {
            res(c, "memory", json!({"limit": 67108864, "reservation": 33554432}))
        }),
        checker_case("memory swap", "memory.swap sets limit of memory+Swap usage", |c, _| {
            res(c, "memory", json!({"limit": 67108864, "swap": 134217728}))
        }),
        checker_case("memory unlimited", "values for memory specify the limit in bytes, or -1 for unlimited memory", |c, _| {
            res(c, "memory", json!({"limit": -1, "swap": -1}))
        }),
        checker_case("memory swappiness", "memory.swappiness sets swappiness parameter of vmscan", |c, _| {
            res(c, "memory", json!({"swappiness": 23}))
        }),
        checker_case("memory kernelTCP", "memory.kernelTCP sets hard limit for kernel TCP buffer memory", |c, _| {
            res(c, "memory", json!({"kernelTCP": 16777216}))
        }),
        checker_case("memory disableOOMKiller", "disableOOMKiller true disables the OOM killer", |c, _| {
            res(c, "memory", json!({"limit": 67108864, "disableOOMKiller": true}))
        }),
        checker_case("memory useHierarchy", "useHierarchy true enables hierarchical memory accounting", |c, _| {
            res(c, "memory", json!({"useHierarchy": true}))
        }),
        Case {
            section: S,
            name: "blockIO leafWeight (refused where blkio has no leaf weight)",
            must: "leafWeight: weight of the cgroup's tasks against its child cgroups; runtime.md: create MUST error if it cannot apply the config",
            patch: nothing,
            check: Some(|env, _| {
                let mut c = env.base();
                c["linux"]["resources"]["blockIO"] = json!({"leafWeight": 300});
                // Only CFQ had leaf weights; the checker cannot read them back.
                if host_has("blkio/blkio.leaf_weight") {
                    return super::scenario::create(env, c).map(|_| ());
                }
                refused(env, c)
            }),
        },
        checker_case("cpu shares", "cpu.shares specifies a relative share of CPU time", |c, _| res(c, "cpu", json!({"shares": 512}))),
        checker_case("cpu quota and period", "cpu.quota: time in microseconds all tasks can run during one period", |c, _| {
            res(c, "cpu", json!({"quota": 50000, "period": 200000}))
        }),
        checker_case("cpu burst", "cpu.burst: accumulated time tasks can run additionally for burst during one period", |c, _| {
            res(c, "cpu", json!({"quota": 50000, "period": 100000, "burst": 20000}))
        }),
        checker_case("cpu realtime runtime and period", "cpu.realtimeRuntime/realtimePeriod: the realtime scheduler's budget", |c, _| {
            res(c, "cpu", json!({"realtimeRuntime": 1000, "realtimePeriod": 1000000}))
        }),
        checker_case("cpu idle", "cpu.idle 1: SCHED_IDLE (cgroups configured with minimum weight)", |c, _| res(c, "cpu", json!({"idle": 1}))),
        checker_case("cpuset cpus", "cpu.cpus: list of CPUs the container will run in", |c, _| res(c, "cpu", json!({"cpus": "0"}))),
        checker_case("cpuset mems", "cpu.mems: list of memory nodes the container will run in", |c, _| res(c, "cpu", json!({"mems": "0"}))),
        checker_case("pids limit", "pids.limit specifies the maximum number of tasks in the cgroup", |c, _| res(c, "pids", json!({"limit": 50}))),
        checker_case("blockIO throttleReadBpsDevice", "throttleReadBpsDevice: per-device bandwidth rate limits", |c, _| {
            let (ma, mi) = super::scenario::host_disk().unwrap_or((254, 0));
            c["linux"]["resources"]["blockIO"] = json!({"throttleReadBpsDevice": [{"major": ma, "minor": mi, "rate": 1048576}]});
        }),
        checker_case("blockIO throttleWriteBpsDevice", "throttleWriteBpsDevice: per-device bandwidth rate limits", |c, _| {
            let (ma, mi) = super::scenario::host_disk().unwrap_or((254, 0));
            c["linux"]["resources"]["blockIO"] = json!({"throttleWriteBpsDevice": [{"major": ma, "minor": mi, "rate": 2097152}]});
        }),
        checker_case("blockIO throttleReadIOPSDevice", "throttleReadIOPSDevice: per-device IO rate limits", |c, _| {
            let (ma, mi) = super::scenario::host_disk().unwrap_or((254, 0));
            c["linux"]["resources"]["blockIO"] = json!({"throttleReadIOPSDevice": [{"major": ma, "minor": mi, "rate": 300}]});
        }),
        checker_case("blockIO throttleWriteIOPSDevice", "throttleWriteIOPSDevice: per-device IO rate limits", |c, _| {
            let (ma, mi) = super::scenario::host_disk().unwrap_or((254, 0));
            c["linux"]["resources"]["blockIO"] = json!({"throttleWriteIOPSDevice": [{"major": ma, "minor": mi, "rate": 400}]});
        }),
        checker_case("blockIO weight", "blockIO.weight specifies per-cgroup weight", |c, _| {
            c["linux"]["resources"]["blockIO"] = json!({"weight": 300});
        }),
        Case {
            section: S,
            name: "blockIO weightDevice (refused where the disk has no BFQ)",
            must: "weightDevice: an array of per-device bandwidth weights; runtime.md: create MUST error if it cannot apply the config",
            patch: nothing,
            check: Some(|env, _| {
                let disk = super::scenario::host_disk().unwrap_or((254, 0));
                let mut c = env.base();
                c["linux"]["resources"]["blockIO"] = json!({"weightDevice": [{"major": disk.0, "minor": disk.1, "weight": 200}]});
                if super::scenario::bfq(disk) {
                    env.run_checker(c)
                } else {
                    refused(env, c)
                }
            }),
        },
        Case {
            section: S,
            name: "hugepageLimits (refused where hugetlb is not a v1 controller)",
            must: "hugepageLimits limits HugeTLB usage per size; runtime.md: create MUST error if it cannot apply the config",
            patch: nothing,
            check: Some(|env, _| {
                applied_or_refused(env, "hugetlb/hugetlb.2MB.limit_in_bytes", |c| {
                    c["linux"]["resources"]["hugepageLimits"] = json!([{"pageSize": "2MB", "limit": 4194304}])
                })
            }),
        },
        Case {
            section: S,
            name: "network classID (refused without net_cls)",
            must: "network.classID tags the cgroup's packets; runtime.md: create MUST error if it cannot apply the config",
            patch: nothing,
            check: Some(|env, _| {
                applied_or_refused(env, "net_cls/net_cls.classid", |c| c["linux"]["resources"]["network"] = json!({"classID": 1048577}))
            }),
        },
        Case {
            section: S,
            name: "network priorities (refused without net_prio)",
            must: "network.priorities per interface; runtime.md: create MUST error if it cannot apply the config",
            patch: nothing,
            check: Some(|env, _| {
                applied_or_refused(env, "net_prio/net_prio.ifpriomap", |c| {
                    c["linux"]["resources"]["network"] = json!({"priorities": [{"name": "lo", "priority": 5}]})
                })
            }),
        },
        Case {
            section: S,
            name: "rdma (refused without the rdma controller)",
            must: "rdma limits hca_handles/hca_objects; runtime.md: create MUST error if it cannot apply the config",
            patch: nothing,
            check: Some(|env, _| {
                if host_has("rdma") {
                    return Ok(());
                }
                refused(env, { let mut c = env.base(); c["linux"]["resources"]["rdma"] = json!({"mlx5_1": {"hcaHandles": 3}}); c })
            }),
        },
        Case {
            section: S,
            name: "unified on a host without that v2 controller refused",
            must: "the runtime MUST generate an error when the configuration refers to a cgroup controller that is not present",
            patch: nothing,
            check: Some(|env, _| {
                let v2 = fs::read_to_string("/sys/fs/cgroup/unified/cgroup.controllers")
                    .or_else(|_| fs::read_to_string("/sys/fs/cgroup/cgroup.controllers"))
                    .unwrap_or_default();
                let mut c = env.base();
                c["linux"]["resources"]["unified"] = json!({"pids.max": "20"});
                // Where v2 runs pids, the value must be written instead.
                if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() && v2.split_whitespace().any(|c| c == "pids") {
                    return env.run_checker(c);
                }
                refused(env, c)
            }),
        },
        Case {
            section: S,
            name: "devices: an allowed device opens",
            must: "allowed device list: allow true, type, major, minor, access rw lets the device be opened",
            patch: nothing,
            check: Some(|env, _| {
                expect(fuse_access(env, json!([{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}])), "r=ok w=ok")
            }),
        },
        Case {
            section: S,
            name: "devices: a denied device does not open",
            must: "allowed device list: allow false denies access to the device",
            patch: nothing,
            check: Some(|env, _| expect(fuse_access(env, json!([{"allow": false, "access": "rwm"}])), "r=no w=no")),
        },
        Case {
            section: S,
            name: "devices: entries applied in order (allow rw, then deny w)",
            must: "the runtime MUST apply entries in the listed order",
            patch: nothing,
            check: Some(|env, _| {
                expect(
                    fuse_access(env, json!([{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"},
                        {"allow": false, "type": "c", "major": 10, "minor": 229, "access": "w"}])),
                    "r=ok w=no",
                )
            }),
        },
        Case {
            section: S,
            name: "devices: entries applied in order (deny w, then allow rw)",
            must: "the runtime MUST apply entries in the listed order",
            patch: nothing,
            check: Some(|env, _| {
                expect(
                    fuse_access(env, json!([{"allow": false, "access": "rwm"}, {"allow": false, "type": "c", "major": 10, "minor": 229, "access": "w"},
                        {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}])),
                    "r=ok w=ok",
                )
            }),
        },
        Case {
            section: S,
            name: "devices: wildcard major (type c, no numbers) allows",
            must: "unset major, minor mean all, mapping to * in the filesystem API",
            patch: nothing,
            check: Some(|env, _| expect(fuse_access(env, json!([{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "access": "r"}])), "r=ok w=no")),
        },
        Case {
            section: S,
            name: "absolute cgroupsPath",
            must: "an absolute cgroupsPath MUST be taken relative to the cgroups mount point",
            patch: sleeper,
            check: Some(|env, _| {
                let path = format!("/runr-spec-abs-{}", std::process::id());
                let r = create(env, config(env, |c| {
                    c["linux"]["cgroupsPath"] = json!(path);
                    res(c, "memory", json!({"limit": 50331648}));
                }))?;
                let lim = fs::read_to_string(format!("/sys/fs/cgroup/memory{path}/memory.limit_in_bytes")).unwrap_or_default();
                all(&[
                    (cg_line(r.pid, "pids") == path, format!("pids cgroup {:?}", cg_line(r.pid, "pids"))),
                    (cg_line(r.pid, "memory") == path, format!("memory cgroup {:?}", cg_line(r.pid, "memory"))),
                    (lim.trim() == "50331648", format!("limit at {path}: {lim:?}")),
                ])
            }),
        },
        Case {
            section: S,
            name: "relative cgroupsPath",
            must: "a relative cgroupsPath MAY be interpreted relative to a runtime-determined location",
            patch: sleeper,
            check: Some(|env, _| {
                let top = format!("runr-spec-rel-{}", std::process::id());
                let rel = format!("{top}/c");
                let r = create(env, config(env, |c| c["linux"]["cgroupsPath"] = json!(rel)))?;
                let line = cg_line(r.pid, "pids");
                drop(r);
                // The parent the runtime made stays (runc's way): remove it
                // (again a moment later if a hierarchy was still busy).
                for _ in 0..20 {
                    rmdir_named(Path::new("/sys/fs/cgroup"), &top, 5);
                    if !cgroup_dir_left(&top) {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                all(&[(line.ends_with(&rel), format!("pids cgroup {line:?}"))])
            }),
        },
        Case {
            section: S,
            name: "same cgroupsPath, same place",
            must: "the runtime MUST consistently attach to the same place in the cgroups hierarchy given the same value of cgroupsPath",
            patch: sleeper,
            check: Some(|env, _| {
                let path = format!("/runr-spec-same-{}", std::process::id());
                let first = create(env, config(env, |c| c["linux"]["cgroupsPath"] = json!(path)))?;
                let a: Vec<String> = ["pids", "memory", "cpu"].iter().map(|c| cg_line(first.pid, c)).collect();
                drop(first);
                let second = create(env, config(env, |c| c["linux"]["cgroupsPath"] = json!(path)))?;
                let b: Vec<String> = ["pids", "memory", "cpu"].iter().map(|c| cg_line(second.pid, c)).collect();
                all(&[(a == b && a[0] == path, format!("first {a:?}, then {b:?}"))])
            }),
        },
        Case {
            section: S,
            name: "cgroupsPath shared by two containers",
            must: "same cgroupsPath, same place; a runtime MAY refuse a non-empty cgroup at create and MUST then generate an error",
            patch: sleeper,
            check: Some(|env, _| {
                let path = format!("/runr-spec-shared-{}", std::process::id());
                let first = create(env, config(env, |c| c["linux"]["cgroupsPath"] = json!(path)))?;
                match create(env, config(env, |c| c["linux"]["cgroupsPath"] = json!(path))) {
                    Ok(second) => all(&[(
                        cg_line(second.pid, "pids") == cg_line(first.pid, "pids"),
                        format!("{:?} vs {:?}", cg_line(second.pid, "pids"), cg_line(first.pid, "pids")),
                    )]),
                    Err(e) => all(&[(e.len() > "create failed: ".len(), "refused without a message".into())]),
                }
            }),
        },
        checker_case("cgroup namespace: own cgroups at its root", "cgroup: the container will have an isolated view of the cgroup hierarchy", |c, _| {
            c["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "cgroup"}));
        }),
    ]
}
