//! Races between runr processes on the same containers.

use std::process::{Command, Stdio};

use crate::common::{runr, Ctx};

/// A runr running in the background; its stderr goes to a file (a
/// container it creates keeps the stdio it inherits open).
struct Bg {
    child: std::process::Child,
    err: std::path::PathBuf,
}

struct Done {
    ok: bool,
    stderr: String,
}

impl Bg {
    fn wait(mut self) -> Done {
        let st = self.child.wait().unwrap();
        Done {
            ok: st.success(),
            stderr: std::fs::read_to_string(&self.err).unwrap_or_default(),
        }
    }
}

fn spawn(ctx: &Ctx, args: &[&str]) -> Bg {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let err = ctx.dir.join(format!("bg-err-{n}"));
    let child = Command::new(runr())
        .arg("--root")
        .arg(&ctx.root)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    Bg { child, err }
}

#[test]
fn two_creates_of_one_id_exactly_one_wins() {
    let ctx = Ctx::new("race2");
    let b = ctx.bundle("sleep 1000");
    let bs = b.to_str().unwrap().to_string();
    for _ in 0..5 {
        let id = ctx.id();
        let kids: Vec<_> = (0..2)
            .map(|_| spawn(&ctx, &["create", "-b", &bs, &id]))
            .collect();
        let outs: Vec<Done> = kids.into_iter().map(Bg::wait).collect();
        let wins = outs.iter().filter(|o| o.ok).count();
        assert_eq!(
            wins,
            1,
            "{:?}",
            outs.iter().map(|o| &o.stderr).collect::<Vec<_>>()
        );
        let loser = outs.iter().find(|o| !o.ok).unwrap();
        assert!(
            loser
                .stderr
                .contains("container with given ID already exists"),
            "{}",
            loser.stderr
        );
        assert_eq!(ctx.state(&id)["status"], "created");
        ctx.runr(&["start", &id]).ok();
        ctx.runr(&["delete", "--force", &id]).ok();
        ctx.assert_gone(&id);
    }
}

#[test]
fn parallel_lifecycles_with_state_and_exec_leave_nothing() {
    let ctx = Ctx::new("race8");
    let b = ctx.bundle("sleep 1000");
    let bs = b.to_str().unwrap().to_string();
    let loops = 8;
    let per = 100;
    std::thread::scope(|s| {
        for l in 0..loops {
            let (ctx, bs) = (&ctx, bs.clone());
            s.spawn(move || {
                for i in 0..per {
                    let id = format!("runr-test-race8-{}-{l}-{i}", std::process::id());
                    ctx.runr(&["create", "-b", &bs, &id]).ok();
                    // Others poke it meanwhile: state and exec must answer
                    // clearly, never hang or corrupt anything.
                    let mut side = vec![
                        spawn(ctx, &["state", &id]),
                        spawn(ctx, &["exec", &id, "true"]),
                    ];
                    ctx.runr(&["start", &id]).ok();
                    side.push(spawn(ctx, &["kill", &id, "KILL"]));
                    side.push(spawn(ctx, &["state", &id]));
                    for k in side {
                        let o = k.wait();
                        // A clear line, or none: the exec'd process may itself
                        // be killed with the container (exit 137, no message).
                        assert!(
                            o.ok || o.stderr.lines().count() <= 1,
                            "unclear failure: {}",
                            o.stderr
                        );
                        assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
                    }
                    ctx.runr(&["delete", "--force", &id]).ok();
                    ctx.assert_gone(&id);
                }
            });
        }
    });
    assert!(std::fs::read_dir(&ctx.root).unwrap().next().is_none());
}

#[test]
fn list_never_shows_a_half_created_container_as_running() {
    let ctx = Ctx::new("racelist");
    let b = ctx.bundle("sleep 1000");
    let bs = b.to_str().unwrap().to_string();
    for _ in 0..8 {
        let id = ctx.id();
        let create = spawn(&ctx, &["create", "-b", &bs, &id]);
        // list waits for the container's lock: while create runs, the
        // container is absent or created, never running.
        for _ in 0..5 {
            let out = ctx.runr(&["list", "--format", "json"]).ok();
            let rows: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
            for r in rows.as_array().into_iter().flatten() {
                if r["id"] == id.as_str() {
                    assert_eq!(r["status"], "created", "{r}");
                }
            }
        }
        let done = create.wait();
        assert!(done.ok, "{}", done.stderr);
        assert_eq!(ctx.state(&id)["status"], "created");
        ctx.runr(&["delete", "--force", &id]).ok();
        ctx.assert_gone(&id);
    }
}

#[test]
fn delete_kill_and_state_racing_on_one_container_are_serialised() {
    let ctx = Ctx::new("raceone");
    for _ in 0..5 {
        let (id, _) = ctx.start(&ctx.config("sleep 1000"));
        let mut kids = Vec::new();
        for i in 0..9 {
            let args: &[&str] = match i % 3 {
                0 => &["kill", &id, "KILL"],
                1 => &["delete", "--force", &id],
                _ => &["state", &id],
            };
            kids.push(spawn(&ctx, args));
        }
        for k in kids {
            let o = k.wait();
            assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
            if !o.ok {
                // The only ways to lose: it was gone, or already stopped.
                assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
                assert!(
                    o.stderr.contains("container does not exist")
                        || o.stderr.contains("container not running"),
                    "{}",
                    o.stderr
                );
            }
        }
        ctx.assert_gone(&id);
    }
}
