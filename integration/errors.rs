//! Errors in runc's words: engines match on them (containerd's shim on
//! "container not running" and "does not exist" after kill and delete;
//! podman on "container not running" and "does not exist"; CRI-O on
//! "does not exist" at delete). Each case checks the exit code, one line
//! on stderr, and runc's phrase in it. tools/compare-errors.sh shows the
//! same cases next to runc's output.

use crate::common::Ctx;

/// The containers the cases act on, one per state.
struct Fixture {
    created: String,
    running: String,
    stopped: String,
    paused: String,
    bundle: String,
}

fn fixture(ctx: &Ctx) -> Fixture {
    let bundle = ctx.bundle("sleep 1000");
    let created = ctx.id();
    ctx.runr(&["create", "-b", bundle.to_str().unwrap(), &created])
        .ok();
    let (running, _) = ctx.start(&ctx.config("sleep 1000"));
    let (paused, _) = ctx.start(&ctx.config("sleep 1000"));
    ctx.runr(&["pause", &paused]).ok();
    let (stopped, _) = ctx.start(&ctx.config("true"));
    ctx.wait_status(&stopped, "stopped");
    Fixture {
        created,
        running,
        stopped,
        paused,
        bundle: bundle.to_str().unwrap().to_string(),
    }
}

#[test]
fn errors_carry_runcs_words() {
    let ctx = Ctx::new("errors");
    let f = fixture(&ctx);
    let missing = format!("runr-test-errors-{}-nosuch", std::process::id());
    let nosuch = ctx.dir.join("nosuch");
    let empty = ctx.dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (b, c, r, s, z, m) = (
        f.bundle.as_str(),
        f.created.as_str(),
        f.running.as_str(),
        f.stopped.as_str(),
        f.paused.as_str(),
        missing.as_str(),
    );
    let not_stopped = format!("cannot delete container {r} that is not stopped: running");
    let events_stopped = format!("container with id {s} is not running");
    let cases: Vec<(&str, Vec<&str>, i32, &str)> = vec![
        (
            "state missing",
            vec!["state", m],
            1,
            "container does not exist",
        ),
        (
            "kill missing",
            vec!["kill", m, "KILL"],
            1,
            "container does not exist",
        ),
        (
            "delete missing",
            vec!["delete", m],
            1,
            "container does not exist",
        ),
        (
            "start missing",
            vec!["start", m],
            1,
            "container does not exist",
        ),
        (
            "exec missing",
            vec!["exec", m, "true"],
            255,
            "container does not exist",
        ),
        (
            "pause missing",
            vec!["pause", m],
            1,
            "container does not exist",
        ),
        (
            "resume missing",
            vec!["resume", m],
            1,
            "container does not exist",
        ),
        ("ps missing", vec!["ps", m], 1, "container does not exist"),
        (
            "events missing",
            vec!["events", "--stats", m],
            1,
            "container does not exist",
        ),
        (
            "update missing",
            vec!["update", "--memory", "100000000", m],
            1,
            "container does not exist",
        ),
        (
            "create existing",
            vec!["create", "-b", b, c],
            1,
            "container with given ID already exists",
        ),
        (
            "run existing",
            vec!["run", "-b", b, c],
            1,
            "container with given ID already exists",
        ),
        (
            "kill stopped",
            vec!["kill", s, "KILL"],
            1,
            "container not running",
        ),
        (
            "start running",
            vec!["start", r],
            1,
            "cannot start an already running container",
        ),
        (
            "start stopped",
            vec!["start", s],
            1,
            "cannot start a container that has stopped",
        ),
        (
            "start paused",
            vec!["start", z],
            1,
            "cannot start a container in the paused state",
        ),
        ("delete running", vec!["delete", r], 1, &not_stopped),
        (
            "pause stopped",
            vec!["pause", s],
            1,
            "container not running",
        ),
        (
            "resume running",
            vec!["resume", r],
            1,
            "container not paused",
        ),
        (
            "resume stopped",
            vec!["resume", s],
            1,
            "container not paused",
        ),
        (
            "exec stopped",
            vec!["exec", s, "true"],
            255,
            "exec failed: cannot exec in a stopped container",
        ),
        (
            "exec paused",
            vec!["exec", z, "true"],
            255,
            "exec failed: cannot exec in a paused container",
        ),
        (
            "update stopped",
            vec!["update", "--memory", "100000000", s],
            1,
            "container not running",
        ),
        (
            "events stopped",
            vec!["events", "--stats", s],
            1,
            &events_stopped,
        ),
        (
            "invalid id",
            vec!["state", "../x"],
            1,
            "invalid container ID format: ../x",
        ),
        (
            "invalid id at create",
            vec!["create", "-b", b, "a/b"],
            1,
            "invalid container ID format: a/b",
        ),
        (
            "unknown signal",
            vec!["kill", r, "SIGNOPE"],
            1,
            "unknown signal \"SIGNOPE\"",
        ),
        (
            "missing bundle",
            vec!["create", "-b", nosuch.to_str().unwrap(), m],
            1,
            "no such file or directory",
        ),
        (
            "missing config.json",
            vec!["create", "-b", empty.to_str().unwrap(), m],
            1,
            "JSON specification file config.json not found",
        ),
    ];
    let mut wrong = Vec::new();
    for (label, args, code, phrase) in &cases {
        let out = ctx.runr(args);
        let err = out.err();
        if out.code != *code || !err.contains(phrase) || err.lines().count() != 1 {
            wrong.push(format!(
                "{label}: exit {} (want {code}), stderr {err:?} (want {phrase:?})",
                out.code
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // delete --force of a missing id is no error (as runc).
    let out = ctx.runr(&["delete", "--force", m]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    // ps of a stopped container is no error (as runc): it has no processes.
    let out = ctx.runr(&["ps", "--format", "json", s]).ok();
    assert_eq!(out.stdout.trim(), "[]");
    let out = ctx.runr(&["ps", s]).ok();
    assert_eq!(out.stdout.lines().count(), 1, "only the header: {out:?}");

    // Nothing was changed by the refusals.
    for (id, status) in [
        (c, "created"),
        (r, "running"),
        (s, "stopped"),
        (z, "paused"),
    ] {
        assert_eq!(ctx.state(id)["status"], status, "{id}");
    }
    assert!(!ctx.root.join(m).exists());
    ctx.runr(&["delete", "--force", z]).ok();
}
