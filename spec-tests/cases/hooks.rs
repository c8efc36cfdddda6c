//! config.md, POSIX-platform hooks: each kind, order, state on stdin, failures.

use crate::harness::*;
use serde_json::{json, Value};
use std::fs;

pub fn cases() -> Vec<Case> {
    vec![
        Case { section: "config.md hooks", name: "order and state", must: "prestart, createRuntime, createContainer at create; startContainer before the process; poststart after it, before start returns; poststop at delete", patch: nothing, check: Some(|env, _| {
            let out = env.dir.join(format!("hooks-{}", env.n.get()));
            fs::create_dir_all(&out).unwrap();
            let o = out.display().to_string();
            let hook = |name: &str, dir: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {dir}/{name}.json; echo {name} >> {dir}/order")]});
            let mut c = env.base(); sleeper(&mut c, env);
            c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/hooks", "type": "bind", "source": o, "options": ["bind"]}));
            c["hooks"] = json!({"prestart": [hook("prestart", &o)], "createRuntime": [hook("createRuntime", &o)],
                "createContainer": [hook("createContainer", &o)], "startContainer": [hook("startContainer", "/hooks")],
                "poststart": [hook("poststart", &o)], "poststop": [hook("poststop", &o)]});
            let (id, _) = created(env, c)?;
            let after_create = fs::read_to_string(out.join("order")).unwrap_or_default();
            env.rt(&["start", &id]);
            let after_start = fs::read_to_string(out.join("order")).unwrap_or_default();
            env.rt(&["delete", "--force", &id]);
            let all = fs::read_to_string(out.join("order")).unwrap_or_default();
            if after_create != "prestart\ncreateRuntime\ncreateContainer\n" { return Err(format!("after create: {after_create:?}")); }
            if after_start != "prestart\ncreateRuntime\ncreateContainer\nstartContainer\npoststart\n" { return Err(format!("after start: {after_start:?}")); }
            if !all.ends_with("poststop\n") { return Err(format!("after delete: {all:?}")); }
            let st: Value = serde_json::from_slice(&fs::read(out.join("poststart.json")).unwrap_or_default()).unwrap_or(Value::Null);
            if st["id"] != id.as_str() { return Err(format!("poststart state {st}")); }
            Ok(())
        }) },
        Case { section: "config.md hooks", name: "failing startContainer hook fails start", must: "if a startContainer hook fails, the runtime MUST generate an error", patch: nothing, check: Some(|env, _| {
            let mut c = env.base(); sleeper(&mut c, env);
            c["hooks"] = json!({"startContainer": [{"path": "/bin/false"}]});
            let (id, _) = created(env, c)?;
            let s = env.rt(&["start", &id]).code;
            let _ = env.rt(&["delete", "--force", &id]);
            if s == 0 { Err("start succeeded".into()) } else { Ok(()) }
        }) },
        Case { section: "config.md hooks", name: "failing createRuntime hook fails create", must: "if a createRuntime hook fails, the runtime MUST generate an error", patch: nothing, check: Some(|env, _| {
            let mut c = env.base();
            c["hooks"] = json!({"createRuntime": [{"path": "/bin/false"}]});
            let b = env.bundle(c);
            let id = env.id();
            let o = env.rt(&["create", "--bundle", b.to_str().unwrap(), &id]);
            let left = env.state(&id).is_some();
            let _ = env.rt(&["delete", "--force", &id]);
            if o.code == 0 || left { Err("create succeeded or left the container".into()) } else { Ok(()) }
        }) },
    ]
}
