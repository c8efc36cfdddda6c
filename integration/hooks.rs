//! The six hook kinds: order, namespaces, state on stdin, failures.

use serde_json::{json, Value};

use crate::common::Ctx;

/// A hook that appends its name to `order` and saves its stdin.
fn hook(dir: &str, name: &str) -> Value {
    json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {dir}/{name}.json; echo {name} >> {dir}/order")]})
}

#[test]
fn all_six_kinds_run_once_in_order_with_state() {
    let ctx = Ctx::new("hooks");
    let host = ctx.dir.join("hookout");
    std::fs::create_dir_all(&host).unwrap();
    let h = host.to_str().unwrap();
    let mut c = ctx.config("echo main >> /hooks/order");
    c["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/hooks", "type": "bind", "source": h, "options": ["bind"]}));
    c["annotations"] = json!({"a": "b"});
    // createContainer runs before pivot_root (host paths); startContainer in
    // the container (its /bin/sh, the bind-mounted /hooks).
    c["hooks"] = json!({
        "prestart": [hook(h, "prestart")],
        "createRuntime": [hook(h, "createRuntime")],
        "createContainer": [hook(h, "createContainer")],
        "startContainer": [hook("/hooks", "startContainer")],
        "poststart": [hook(h, "poststart")],
        "poststop": [hook(h, "poststop")]
    });
    let out = ctx.run_config(&c);
    assert_eq!(out.code, 0, "{out:?}");
    let order = std::fs::read_to_string(host.join("order")).unwrap();
    let lines: Vec<&str> = order.lines().collect();
    // main and poststart race: poststart runs once the process is exec'd.
    assert_eq!(
        &lines[..4],
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer"
        ]
    );
    let mut rest = lines[4..].to_vec();
    assert_eq!(rest.pop(), Some("poststop"));
    rest.sort();
    assert_eq!(rest, ["main", "poststart"]);
    let st = |n: &str| -> Value {
        serde_json::from_slice(&std::fs::read(host.join(format!("{n}.json"))).unwrap()).unwrap()
    };
    assert_eq!(st("prestart")["status"], "creating");
    assert_eq!(st("createRuntime")["annotations"]["a"], "b");
    assert_eq!(st("createContainer")["status"], "creating");
    assert_eq!(st("startContainer")["status"], "created");
    assert_eq!(st("poststart")["status"], "running");
    assert_eq!(st("poststop")["status"], "stopped");
    assert!(st("prestart")["pid"].as_i64().unwrap() > 1);
    assert!(st("prestart")["bundle"]
        .as_str()
        .unwrap()
        .starts_with(ctx.dir.to_str().unwrap()));
}

fn failing(kind: &str, extra: Value) -> Value {
    let mut h = json!({"path": "/bin/sh", "args": ["sh", "-c", "echo bad-hook >&2; exit 3"]});
    if let Some(o) = extra.as_object() {
        for (k, v) in o {
            h[k] = v.clone();
        }
    }
    json!({ kind: [h] })
}

#[test]
fn failing_create_hooks_fail_create_and_leave_nothing() {
    let ctx = Ctx::new("hookfail");
    for kind in ["prestart", "createRuntime", "createContainer"] {
        // Lifecycle steps 12 and 13: destroyed, then the poststop hooks.
        let mark = ctx.dir.join(format!("poststop-after-{kind}"));
        let mut c = ctx.config("true");
        c["hooks"] = failing(kind, json!({}));
        c["hooks"]["poststop"] =
            json!([{"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}", mark.display())]}]);
        let b = ctx.bundle_with(&c);
        let id = ctx.id();
        let out = ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]);
        assert_eq!(out.code, 1, "{kind}: {out:?}");
        assert!(
            out.stderr.contains(&format!("{kind} hook #0")) && out.stderr.contains("bad-hook"),
            "{out:?}"
        );
        ctx.assert_gone(&id);
        let st: Value = serde_json::from_slice(&std::fs::read(&mark).unwrap()).unwrap();
        assert_eq!(st["status"], "stopped", "{kind}: {st}");
        assert_eq!(st["id"], id.as_str());
    }
    let mut c = ctx.config("true");
    c["hooks"] = json!({"createRuntime": [{"path": "/no/such/hook"}]});
    let b = ctx.bundle_with(&c);
    let id = ctx.id();
    let out = ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("/no/such/hook"), "{out:?}");
    ctx.assert_gone(&id);
}

#[test]
fn hook_timeout_fails_create() {
    let ctx = Ctx::new("hooktimeout");
    let mut c = ctx.config("true");
    c["hooks"] =
        json!({"prestart": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]});
    let b = ctx.bundle_with(&c);
    let id = ctx.id();
    let t = std::time::Instant::now();
    let out = ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("timed out after 1s"), "{out:?}");
    assert!(t.elapsed().as_secs() < 10);
    ctx.assert_gone(&id);
}

#[test]
fn failing_start_container_hook_fails_start_and_deletes_the_container() {
    let ctx = Ctx::new("hookstart");
    let mut c = ctx.config("sleep 1000");
    c["hooks"] = failing("startContainer", json!({}));
    let b = ctx.bundle_with(&c);
    let id = ctx.id();
    ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]).ok();
    let out = ctx.runr(&["start", &id]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("startContainer hook #0"), "{out:?}");
    ctx.assert_gone(&id);
}

#[test]
fn failing_poststart_and_poststop_hooks_are_warnings_and_the_rest_run() {
    // runtime.md: the runtime MUST log a warning, but the remaining hooks
    // and lifecycle continue as if the hook had succeeded.
    let ctx = Ctx::new("hookwarn");
    let marks = ctx.dir.join("marks");
    let m = marks.to_str().unwrap();
    let mut c = ctx.config("sleep 1000");
    let bad = json!({"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]});
    let mark = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("echo {name} >> {m}")]});
    c["hooks"] = json!({
        "poststart": [bad.clone(), mark("poststart")],
        "poststop": [bad, mark("poststop")]
    });
    let b = ctx.bundle_with(&c);
    let id = ctx.id();
    ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]).ok();
    let out = ctx.runr(&["start", &id]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("level=warning") && out.stderr.contains("poststart hook #0"),
        "{out:?}"
    );
    assert_eq!(ctx.state(&id)["status"], "running");
    ctx.runr(&["kill", &id, "KILL"]).ok();
    ctx.wait_status(&id, "stopped");
    let out = ctx.runr(&["delete", &id]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("poststop hook #0"), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(&marks).unwrap(),
        "poststart\npoststop\n"
    );
    ctx.assert_gone(&id);
}
