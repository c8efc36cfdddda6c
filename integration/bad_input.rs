//! Bad input: one clear line, exit 1, nothing left behind.

use serde_json::json;

use crate::common::Ctx;

/// Runs create with a bundle and checks the error and that nothing is left.
fn create_fails(ctx: &Ctx, bundle: &std::path::Path, want: &str) {
    let id = ctx.id();
    let out = ctx.runr(&["create", "-b", bundle.to_str().unwrap(), &id]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.err().contains(want),
        "wanted {want:?} in {:?}",
        out.stderr
    );
    assert_eq!(
        out.stderr.trim_end().lines().count(),
        1,
        "one line: {:?}",
        out.stderr
    );
    ctx.assert_gone(&id);
}

#[test]
fn missing_bundle_and_config() {
    let ctx = Ctx::new("nobundle");
    create_fails(&ctx, &ctx.dir.join("nope"), "bundle");
    let empty = ctx.dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    create_fails(&ctx, &empty, "config.json");
}

#[test]
fn malformed_json_and_wrong_types() {
    let ctx = Ctx::new("badjson");
    let b = ctx.bundle("true");
    std::fs::write(b.join("config.json"), "{\"ociVersion\": \"1.0\",").unwrap();
    create_fails(&ctx, &b, "invalid JSON");
    let mut c = ctx.config("true");
    c["process"]["terminal"] = json!("yes");
    let b = ctx.bundle_with(&c);
    create_fails(
        &ctx,
        &b,
        "field process.terminal: invalid type: string \"yes\", expected a boolean at line",
    );
}

#[test]
fn missing_root_and_executable() {
    let ctx = Ctx::new("noroot");
    let mut c = ctx.config("true");
    c["root"]["path"] = json!("/nonexistent-rootfs");
    create_fails(&ctx, &ctx.bundle_with(&c), "rootfs");
    let mut c = ctx.config("true");
    c["process"]["args"] = json!(["no-such-binary"]);
    create_fails(
        &ctx,
        &ctx.bundle_with(&c),
        "exec: \"no-such-binary\": executable file not found in $PATH",
    );
    let mut c = ctx.config("true");
    c["process"]["args"] = json!([]);
    create_fails(&ctx, &ctx.bundle_with(&c), "process.args must not be empty");
}

#[test]
fn setup_failure_in_the_init_is_reported_and_cleaned() {
    let ctx = Ctx::new("initfail");
    let mut c = ctx.config("true");
    c["process"]["cwd"] = json!("/does/not/exist");
    create_fails(&ctx, &ctx.bundle_with(&c), "chdir to cwd (/does/not/exist)");
    let mut c = ctx.config("true");
    c["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/x", "type": "bind", "source": "/no/such/src", "options": ["bind"]}),
    );
    create_fails(
        &ctx,
        &ctx.bundle_with(&c),
        "mount /x: bind source /no/such/src",
    );
}

#[test]
fn unsupported_fields_are_refused_by_name() {
    let ctx = Ctx::new("unsupported");
    let mut c = ctx.config("true");
    c["linux"]["rootfsPropagation"] = json!("sideways");
    create_fails(
        &ctx,
        &ctx.bundle_with(&c),
        "unknown linux.rootfsPropagation \"sideways\"",
    );
    let mut c = ctx.config("true");
    c["linux"]["intelRdt"] = json!({"closID": "x"});
    create_fails(
        &ctx,
        &ctx.bundle_with(&c),
        "linux.intelRdt is set but this host has no resctrl",
    );
}

#[test]
fn existing_and_invalid_ids() {
    let ctx = Ctx::new("ids");
    let b = ctx.bundle("sleep 1000");
    let id = ctx.id();
    ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]).ok();
    let out = ctx.runr(&["create", "-b", b.to_str().unwrap(), &id]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("container with given ID already exists"),
        "{out:?}"
    );
    assert_eq!(
        ctx.state(&id)["status"],
        "created",
        "the first one is untouched"
    );
    for bad in ["a/b", "..", "x y"] {
        let out = ctx.runr(&["create", "-b", b.to_str().unwrap(), bad]);
        assert_eq!(out.code, 1);
        assert!(
            out.stderr.contains("invalid container ID format"),
            "{out:?}"
        );
    }
    ctx.runr(&["delete", &id]).ok();
}

#[test]
fn unknown_signal_and_missing_container() {
    let ctx = Ctx::new("badsig");
    let (id, _) = ctx.start(&ctx.config("sleep 1000"));
    let out = ctx.runr(&["kill", &id, "FOO"]);
    assert_eq!(out.code, 1);
    assert!(out.err().contains("unknown signal \"FOO\""), "{out:?}");
    assert_eq!(ctx.state(&id)["status"], "running");
    ctx.runr(&["delete", "-f", &id]).ok();
    for args in [
        vec!["state", "nope"],
        vec!["start", "nope"],
        vec!["kill", "nope"],
        vec!["delete", "nope"],
    ] {
        let out = ctx.runr(&args);
        assert_eq!(out.code, 1);
        assert!(
            out.stderr.contains("container does not exist"),
            "{args:?}: {out:?}"
        );
    }
    ctx.runr(&["delete", "--force", "nope"]).ok();
}

#[test]
fn log_file_gets_json_lines() {
    let ctx = Ctx::new("logjson");
    let log = ctx.dir.join("log.json");
    let l = log.to_str().unwrap();
    let out = ctx.runr_env(&["state", "nope"], &["--log", l, "--log-format", "json"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stderr, "container does not exist\n");
    let out = ctx.runr_env(&["kill", "nope", "FOO"], &["--log", l, "--log-format=json"]);
    assert_eq!(out.code, 1);
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 2);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("every log line is JSON");
        assert_eq!(v["level"], "error");
        let t = v["time"].as_str().unwrap();
        assert!(t.len() == 20 && t.ends_with('Z'), "{t}");
    }
}
