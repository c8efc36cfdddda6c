//! The command line: spec, version, runc's flag forms.

use clap::CommandFactory;

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

/// runr with exactly `args` (no --root added), stdio through files.
fn raw(ctx: &Ctx, tag: &str, args: &[&str]) -> crate::common::Out {
    let (o, e) = (
        ctx.dir.join(format!("raw-out-{tag}")),
        ctx.dir.join(format!("raw-err-{tag}")),
    );
    let status = std::process::Command::new(crate::common::runr())
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&o).unwrap())
        .stderr(std::fs::File::create(&e).unwrap())
        .status()
        .unwrap();
    crate::common::Out {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read_to_string(&o).unwrap(),
        stderr: std::fs::read_to_string(&e).unwrap(),
    }
}

/// create works with every spelling of the bundle flag runc accepts.
#[test]
fn bundle_flag_forms_create_containers() {
    let ctx = Ctx::new("bundleforms");
    let b = ctx.bundle("true");
    let bs = b.to_str().unwrap().to_string();
    let forms: Vec<Vec<String>> = vec![
        vec!["-b".into(), bs.clone()],
        vec![format!("-b={bs}")],
        vec!["--bundle".into(), bs.clone()],
        vec![format!("--bundle={bs}")],
        vec!["-bundle".into(), bs.clone()],
        vec![format!("-bundle={bs}")],
        vec!["--b".into(), bs.clone()],
    ];
    for form in forms {
        let id = ctx.id();
        let mut args: Vec<&str> = vec!["create"];
        args.extend(form.iter().map(String::as_str));
        args.push(&id);
        ctx.runr(&args).ok();
        let st = ctx.state(&id);
        assert_eq!(st["status"], "created", "{form:?}");
        assert_eq!(st["bundle"], bs.as_str(), "{form:?}");
        ctx.runr(&["delete", &id]).ok();
        ctx.assert_gone(&id);
    }
}

/// --root, --log, --log-format and --debug in runc's spellings: the JSON
/// error line lands in the log file, the state under the root given.
#[test]
fn global_flag_forms_reach_root_and_log() {
    let ctx = Ctx::new("globalforms");
    let root = ctx.root.to_str().unwrap().to_string();
    let forms: [&[&str]; 4] = [
        &["-root", "R", "--log-format=json", "--log", "L"],
        &[
            "--root=R",
            "--log-format",
            "json",
            "--log=L",
            "-debug=false",
        ],
        &["-root=R", "-log-format=json", "-log", "L", "--debug=true"],
        &["--root", "R", "-log-format", "json", "-log=L"],
    ];
    for (n, form) in forms.iter().enumerate() {
        let log = ctx.dir.join(format!("log-{n}.json"));
        let log = log.to_str().unwrap();
        let mut args: Vec<String> = form
            .iter()
            .map(|a| a.replace('R', &root).replace('L', log))
            .collect();
        // Only the placeholders: flag names have no capital R or L.
        args.extend(["state".to_string(), "runr-test-nosuch".to_string()]);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = raw(&ctx, &n.to_string(), &argv);
        assert_eq!(out.code, 1, "{form:?}: {out:?}");
        let text = std::fs::read_to_string(log).unwrap();
        let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(last["level"], "error", "{form:?}: {text}");
        assert_eq!(last["msg"], "container does not exist", "{form:?}");
    }
    // The root given in the -root=DIR form is the one used.
    let b = ctx.bundle("sleep 30");
    let id = ctx.id();
    let root_eq = format!("-root={root}");
    let bundle = format!("--bundle={}", b.display());
    raw(&ctx, "run", &[&root_eq, "run", "-d", &bundle, &id]).ok();
    assert!(ctx.root.join(&id).join("state.json").exists());
    ctx.runr(&["delete", "--force", &id]).ok();
}

/// A running container driven through runc's short flags, single-dash long
/// flags and Go boolean values: run, list, ps, exec, kill, delete.
#[test]
fn short_flags_and_boolean_values_on_every_command() {
    let ctx = Ctx::new("shortforms");
    let b = ctx.bundle("sleep 60");
    let id = ctx.id();
    let bundle = format!("-bundle={}", b.display());
    ctx.runr(&["run", "--detach=true", &bundle, &id]).ok();
    assert_eq!(ctx.state(&id)["status"], "running");
    let pid = ctx.state(&id)["pid"].as_i64().unwrap();

    // -f=false is no --force: a running container is refused.
    let out = ctx.runr(&["delete", "-f=false", &id]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(ctx.state(&id)["status"], "running");

    assert_eq!(ctx.runr(&["list", "-q"]).ok().stdout, format!("{id}\n"));
    for form in [
        &["list", "-f", "json"][..],
        &["list", "-format=json"],
        &["list", "--format=json"],
    ] {
        let v: serde_json::Value = serde_json::from_str(&ctx.runr(form).ok().stdout).unwrap();
        assert_eq!(v[0]["id"], id.as_str(), "{form:?}");
    }
    for form in [
        &["ps", "-f", "json"][..],
        &["ps", "-f=json"],
        &["ps", "-format", "json"],
    ] {
        let mut args = form.to_vec();
        args.push(&id);
        assert_eq!(
            ctx.runr(&args).ok().stdout.trim(),
            format!("[{pid}]"),
            "{form:?}"
        );
    }
    // ps's own options after the id.
    let table = ctx.runr(&["ps", &id, "-o", "pid"]).ok().stdout;
    assert_eq!(
        table.split_whitespace().collect::<Vec<_>>(),
        ["PID", &pid.to_string()]
    );

    let out = ctx
        .runr(&[
            "exec",
            "-e",
            "A=1",
            "-e=B=2",
            "--env",
            "C=3",
            "-u",
            "1000:1000",
            "--cwd=/tmp",
            &id,
            "sh",
            "-c",
            "echo $A$B$C $(id -u) $(pwd)",
        ])
        .ok();
    assert_eq!(out.stdout, "123 1000 /tmp\n");
    let out = ctx
        .runr(&[
            "exec",
            "-user=0",
            "-cwd",
            "/proc",
            "-env=D=4",
            &id,
            "sh",
            "-c",
            "echo $D $(id -u) $(pwd)",
        ])
        .ok();
    assert_eq!(out.stdout, "4 0 /proc\n");
    // exec's flags end at the id: `-e` here is the command's.
    let out = ctx.runr(&["exec", &id, "echo", "-e", "x"]).ok();
    assert_eq!(out.stdout, "x\n");
    let pf = ctx.dir.join("exec.pid");
    let pidfile = format!("--pid-file={}", pf.display());
    ctx.runr(&["exec", "-d", &pidfile, &id, "sleep", "30"]).ok();
    let epid: i32 = std::fs::read_to_string(&pf)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(std::path::Path::new(&format!("/proc/{epid}")).exists());
    let proc_json = ctx.dir.join("process.json");
    std::fs::write(
        &proc_json,
        r#"{"args": ["sh", "-c", "echo from-p $(id -u)"], "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}}"#,
    )
    .unwrap();
    let p = proc_json.to_str().unwrap();
    assert_eq!(ctx.runr(&["exec", "-p", p, &id]).ok().stdout, "from-p 0\n");
    assert_eq!(
        ctx.runr(&["exec", &format!("--process={p}"), &id])
            .ok()
            .stdout,
        "from-p 0\n"
    );

    ctx.runr(&["kill", "-a=true", &id, "KILL"]).ok();
    ctx.wait_status(&id, "stopped");
    ctx.runr(&["delete", &id, "--force=true"]).ok();
    ctx.assert_gone(&id);
    // --force on a missing container, in runc's spelling after the id.
    ctx.runr(&["delete", &id, "-force"]).ok();
}

/// The documented commands (each has a man page): all but hidden ones.
pub fn commands() -> Vec<String> {
    runr::cli::Cli::command()
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect()
}

/// Every command's --help: a one-line about, usage naming its arguments,
/// and every flag it takes.
#[test]
fn every_command_help_documents_its_flags() {
    let top = std::process::Command::new(crate::common::runr())
        .arg("--help")
        .output()
        .unwrap();
    assert!(top.status.success());
    let top = String::from_utf8_lossy(&top.stdout).to_string();
    for c in commands() {
        assert!(top.contains(&format!("\n  {c} ")), "runr --help lacks {c}");
    }
    let cmd = runr::cli::Cli::command();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        let o = std::process::Command::new(crate::common::runr())
            .args([name, "--help"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{name} --help: {o:?}");
        let help = String::from_utf8_lossy(&o.stdout).to_string();
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        assert!(
            !about.is_empty() && !about.contains('\n'),
            "{name}: one-line about"
        );
        assert!(
            help.contains(&format!("Usage: runr {name}")),
            "{name}: {help}"
        );
        let takes_id = sub.get_positionals().any(|p| {
            p.get_value_names()
                .is_some_and(|v| v.iter().any(|n| n == "container-id"))
        });
        if takes_id {
            let usage = help.lines().find(|l| l.starts_with("Usage:")).unwrap();
            assert!(usage.contains("<container-id>"), "{name}: {usage}");
        }
        for a in sub.get_arguments().filter(|a| !a.is_hide_set()) {
            if let Some(long) = a.get_long() {
                assert!(
                    help.contains(&format!("--{long}")),
                    "{name} --help lacks --{long}"
                );
                assert!(a.get_help().is_some(), "{name} --{long} has no help");
            }
            if let Some(short) = a.get_short() {
                assert!(
                    help.contains(&format!("-{short}, --")),
                    "{name} --help lacks -{short}"
                );
            }
        }
        // -h is the short form of the same help.
        let o = std::process::Command::new(crate::common::runr())
            .args([name, "-h"])
            .output()
            .unwrap();
        assert!(
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains(&about),
            "{name} -h"
        );
        // Go's single-dash -help is --help.
        let o = std::process::Command::new(crate::common::runr())
            .args([name, "-help"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&o.stdout), help, "{name} -help");
    }
}
