//! The command line: spec, version, runc's flag forms.

use crate::common::Ctx;

#[test]
fn spec_writes_runc_template_and_refuses_overwrite() {
    let ctx = Ctx::new("spec");
    let d = ctx.dir.join("specdir");
    std::fs::create_dir_all(&d).unwrap();
    ctx.runr(&["spec", "--bundle", d.to_str().unwrap()]).ok();
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("config.json")).unwrap()).unwrap();
    assert_eq!(v["process"]["terminal"], true);
    assert_eq!(v["process"]["args"], serde_json::json!(["sh"]));
    assert_eq!(v["hostname"], "runr");
    assert_eq!(v["root"]["readonly"], true);
    assert_eq!(v["process"]["noNewPrivileges"], true);
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "ociVersion",
            "process",
            "root",
            "hostname",
            "mounts",
            "linux"
        ]
    );
    let out = ctx.runr(&["spec", "-b", d.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("File config.json exists. Remove it first"),
        "{out:?}"
    );
}

#[test]
fn version_has_runc_shape() {
    let ctx = Ctx::new("version");
    let out = ctx.runr(&["--version"]).ok().stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("runr version "), "{out}");
    assert!(lines[1].starts_with("commit: "));
    assert!(lines[2].starts_with("spec: 1."));
}

#[test]
fn single_dash_long_flags_work() {
    let ctx = Ctx::new("dash");
    let b = ctx.bundle("echo dash-ok");
    let id = ctx.id();
    let root = ctx.root.to_str().unwrap().to_string();
    let out = std::process::Command::new(crate::common::runr())
        .args([
            "-root",
            &root,
            "run",
            &format!("-bundle={}", b.display()),
            &id,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "dash-ok\n");
}

#[test]
fn unsupported_modes_and_commands_fail_cleanly() {
    let ctx = Ctx::new("modes");
    let b = ctx.bundle("true");
    let id = ctx.id();
    let out = ctx.runr_env(
        &["create", "-b", b.to_str().unwrap(), &id],
        &["--systemd-cgroup"],
    );
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("systemd cgroup driver"), "{out:?}");
    ctx.assert_gone(&id);
    let out = ctx.runr(&["checkpoint", &id]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("checkpoint is not supported"),
        "{out:?}"
    );
    let out = ctx.runr_env(
        &["run", "-b", b.to_str().unwrap(), &id],
        &["--rootless=false"],
    );
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn features_tell_what_runr_supports() {
    let ctx = Ctx::new("features");
    let out = ctx.runr(&["features"]).ok();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["ociVersionMax"], "1.3.0");
    assert_eq!(v["hooks"].as_array().unwrap().len(), 6);
    assert!(v["mountOptions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o == "rro"));
    assert!(v["linux"]["seccomp"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "SCMP_ACT_NOTIFY"));
    assert_eq!(v["linux"]["mountExtensions"]["idmap"]["enabled"], true);
    assert_eq!(v["linux"]["cgroup"]["systemd"], false);
    assert!(v["linux"]["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == "CAP_SYS_ADMIN"));
    // Every mount option it lists is one runr's parser accepts.
    for o in v["mountOptions"].as_array().unwrap() {
        assert!(
            runr::rootfs::options::parse(&[o.as_str().unwrap().to_string()]).is_ok(),
            "{o}"
        );
    }
}
