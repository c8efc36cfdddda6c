//! `--debug`: one timing line per phase of `create`, in order, in the
//! `--log` file (text or json); none without `--debug`.

use crate::common::Ctx;

const PHASES: [&str; 6] = ["parse", "cgroup", "clone", "mounts", "pivot_root", "exec"];

/// The phase names of the timing messages, in log order, and checks each
/// message is `phase=NAME took=N.NNNms`.
fn phases(msgs: &[String]) -> Vec<String> {
    msgs.iter()
        .filter_map(|m| m.strip_prefix("phase="))
        .map(|rest| {
            let (name, took) = rest.split_once(" took=").expect("took=");
            let ms = took.strip_suffix("ms").expect("in ms");
            let (_, frac) = ms.split_once('.').expect("three decimals");
            assert_eq!(frac.len(), 3, "{rest}");
            assert!(ms.parse::<f64>().unwrap() >= 0.0);
            name.to_string()
        })
        .collect()
}

fn create_logged(ctx: &Ctx, extra: &[&str], log: &std::path::Path) -> String {
    let b = ctx.bundle("true");
    let id = ctx.id();
    let mut args: Vec<&str> = extra.to_vec();
    args.extend([
        "--log",
        log.to_str().unwrap(),
        "create",
        "-b",
        b.to_str().unwrap(),
        &id,
    ]);
    ctx.runr(&args).ok();
    ctx.runr(&["delete", "--force", &id]).ok();
    std::fs::read_to_string(log).unwrap()
}

#[test]
fn debug_logs_each_create_phase_in_order() {
    let ctx = Ctx::new("dbgtime");
    let log = ctx.dir.join("debug.log");
    let text = create_logged(&ctx, &["--debug"], &log);
    let msgs: Vec<String> = text
        .lines()
        .filter(|l| l.contains("level=debug"))
        .map(|l| {
            let m = l.split_once(" msg=\"").expect("msg=").1;
            m.strip_suffix('"').unwrap().to_string()
        })
        .collect();
    assert_eq!(phases(&msgs), PHASES, "{text}");
    for l in text.lines().filter(|l| l.contains("msg=\"phase=")) {
        assert!(
            l.starts_with("time=\"") && l.contains(" level=debug msg=\"phase="),
            "{l}"
        );
    }

    let plain = ctx.dir.join("plain.log");
    let text = create_logged(&ctx, &[], &plain);
    assert!(!text.contains("phase="), "timing without --debug: {text}");
}

#[test]
fn debug_timings_in_json_log() {
    let ctx = Ctx::new("dbgjson");
    let log = ctx.dir.join("debug.json");
    let text = create_logged(&ctx, &["--debug", "--log-format", "json"], &log);
    let msgs: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("one JSON object a line"))
        .filter(|v| v["level"] == "debug")
        .map(|v| {
            assert!(v["time"].as_str().is_some(), "{v}");
            v["msg"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(phases(&msgs), PHASES, "{text}");
}
