//! runc parses flags the Go way (urfave/cli over Go's flag package):
//! `-name` and `--name` alike, short and long names interchangeable
//! (`--b`, `-bundle`), a value as `=value` or the next word whatever it
//! starts with (`--log -x`), booleans as `--name=true|false`, and no flags
//! after the container id of `exec`, `kill` and `ps`. clap accepts only part
//! of that, so argv is first rewritten to clap's canonical forms:
//! `--long=value` and `--long`.

use clap::CommandFactory;

use super::Cli;

/// One flag of a command, as clap defines it.
struct Flag {
    long: String,
    short: Option<char>,
    takes_value: bool,
}

/// The flags `cmd` defines itself (not its subcommands').
fn flags(cmd: &clap::Command) -> Vec<Flag> {
    cmd.get_arguments()
        .filter_map(|a| {
            Some(Flag {
                long: a.get_long()?.to_string(),
                short: a.get_short(),
                takes_value: a.get_action().takes_values(),
            })
        })
        .collect()
}

/// Looks `name` up as a short flag (one character) or a long one.
fn find<'a>(scopes: &[&'a [Flag]], name: &str) -> Option<&'a Flag> {
    let mut chars = name.chars();
    let short = match (chars.next(), chars.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    };
    scopes.iter().flat_map(|s| s.iter()).find(|f| match short {
        Some(c) => f.short == Some(c),
        None => f.long == name,
    })
}

/// Go's strconv.ParseBool.
fn go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Subcommands whose flags end at the container id: what follows is the
/// command (exec), the signal (kill) or ps's own options (ps).
const STOP_AT_ID: [&str; 3] = ["exec", "kill", "ps"];

/// Rewrites runc's flag forms into clap's, up to `--` and, for exec, kill
/// and ps, up to the container id. Unknown flags and clusters of short
/// flags (`-dt`) are left for clap.
pub fn normalize(args: Vec<String>) -> Vec<String> {
    normalize_for(&Cli::command(), args)
}

/// Normalizes and parses argv, building clap's command once.
pub fn parse(args: Vec<String>) -> Result<Cli, clap::Error> {
    use clap::FromArgMatches;
    let root = Cli::command();
    let args = normalize_for(&root, args);
    let mut matches = root.try_get_matches_from(args)?;
    Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut Cli::command()))
}

fn normalize_for(root: &clap::Command, args: Vec<String>) -> Vec<String> {
    let global = flags(root);
    let mut local: Vec<Flag> = Vec::new();
    let mut subcommand: Option<String> = None;
    let mut out = Vec::with_capacity(args.len());
    let mut iter = args.into_iter();
    if let Some(prog) = iter.next() {
        out.push(prog);
    }
    while let Some(a) = iter.next() {
        if a == "--" {
            out.push(a);
            out.extend(iter);
            break;
        }
        if a.len() > 1 && a.starts_with('-') {
            let body = a.strip_prefix("--").unwrap_or(&a[1..]);
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            // clap adds --help itself, so it is not among the flags.
            if name == "help" && inline.is_none() {
                out.push("--help".into());
                continue;
            }
            let Some(flag) = find(&[&local, &global], name) else {
                out.push(a);
                continue;
            };
            if flag.takes_value {
                match inline.or_else(|| iter.next()) {
                    Some(v) => out.push(format!("--{}={v}", flag.long)),
                    // clap says the value is missing.
                    None => out.push(format!("--{}", flag.long)),
                }
            } else {
                match inline.as_deref().map(go_bool) {
                    None | Some(Some(true)) => out.push(format!("--{}", flag.long)),
                    Some(Some(false)) => {}
                    // Not a boolean: clap says the flag takes no value.
                    Some(None) => out.push(a),
                }
            }
            continue;
        }
        match &subcommand {
            None => {
                if let Some(sub) = root.find_subcommand(&a) {
                    local = flags(sub);
                }
                subcommand = Some(a.clone());
            }
            Some(s) if STOP_AT_ID.contains(&s.as_str()) => {
                out.push(a);
                out.extend(iter);
                break;
            }
            Some(_) => {}
        }
        out.push(a);
    }
    out
}

/// The global flags that take a value (`--root DIR`); a unit test keeps
/// the list equal to clap's.
const GLOBAL_VALUE_FLAGS: [&str; 5] = ["root", "log", "log-format", "rootless", "criu"];

/// The subcommand word of a raw argv, found without building the command
/// line parser: the first word that is not a global flag or its value.
/// A hint only (for work worth starting before the parse); the parse
/// decides.
pub fn subcommand_hint(args: &[String]) -> Option<&str> {
    let mut iter = args.iter().skip(1);
    while let Some(a) = iter.next() {
        if a == "--" {
            return None;
        }
        match a.strip_prefix('-') {
            Some(body) if !body.is_empty() => {
                let body = body.strip_prefix('-').unwrap_or(body);
                if !body.contains('=') && GLOBAL_VALUE_FLAGS.contains(&body) {
                    iter.next();
                }
            }
            _ => return Some(a),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_value_flags_are_claps() {
        let mut theirs: Vec<String> = flags(&Cli::command())
            .into_iter()
            .filter(|f| f.takes_value)
            .map(|f| f.long)
            .collect();
        theirs.sort();
        let mut ours = GLOBAL_VALUE_FLAGS.map(String::from).to_vec();
        ours.sort();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn the_hint_is_the_parsed_subcommand() {
        for (argv, want) in [
            (
                &[
                    "runr",
                    "--root",
                    "/r",
                    "--log=/l",
                    "-log-format",
                    "json",
                    "create",
                    "x",
                ][..],
                Some("create"),
            ),
            (&["runr", "--debug", "run", "-b", "/b", "x"], Some("run")),
            (
                &["runr", "--rootless", "true", "exec", "x", "sh"],
                Some("exec"),
            ),
            (&["runr", "-root", "exec", "state", "x"], Some("state")),
            (&["runr", "--systemd-cgroup", "--", "run"], None),
            (&["runr", "--help"], None),
            (&["runr", "-", "x"], Some("-")),
        ] {
            let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
            assert_eq!(subcommand_hint(&argv), want, "{argv:?}");
        }
    }

    fn n(v: &[&str]) -> Vec<String> {
        normalize(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn single_dash_long_flags_become_double() {
        assert_eq!(
            n(&["runr", "-root", "/r", "run", "-bundle=/b", "-detach", "c1"]),
            ["runr", "--root=/r", "run", "--bundle=/b", "--detach", "c1"]
        );
    }

    #[test]
    fn short_and_long_names_are_one_flag() {
        for form in [
            &["-b", "/b"][..],
            &["-b=/b"],
            &["--b", "/b"],
            &["--bundle", "/b"],
            &["--bundle=/b"],
            &["-bundle", "/b"],
        ] {
            let mut v = vec!["runr", "create"];
            v.extend_from_slice(form);
            v.push("c1");
            assert_eq!(n(&v), ["runr", "create", "--bundle=/b", "c1"], "{form:?}");
        }
    }

    #[test]
    fn single_dash_help_is_help() {
        assert_eq!(n(&["runr", "-help"]), ["runr", "--help"]);
        assert_eq!(
            n(&["runr", "create", "-help"]),
            ["runr", "create", "--help"]
        );
    }

    #[test]
    fn a_value_may_start_with_a_dash() {
        assert_eq!(
            n(&["runr", "--log", "-x", "state", "c1"]),
            ["runr", "--log=-x", "state", "c1"]
        );
        assert_eq!(
            n(&["runr", "update", "--cpu-quota", "-1", "c1"]),
            ["runr", "update", "--cpu-quota=-1", "c1"]
        );
    }

    #[test]
    fn booleans_take_go_values() {
        assert_eq!(
            n(&["runr", "delete", "--force=true", "c1"]),
            ["runr", "delete", "--force", "c1"]
        );
        assert_eq!(
            n(&["runr", "delete", "-f=false", "c1"]),
            ["runr", "delete", "c1"]
        );
        assert_eq!(
            n(&["runr", "-debug=1", "list", "-q=T"]),
            ["runr", "--debug", "list", "--quiet"]
        );
        assert_eq!(
            n(&["runr", "delete", "--force=maybe", "c1"]),
            ["runr", "delete", "--force=maybe", "c1"]
        );
    }

    #[test]
    fn flags_are_scoped_to_their_command() {
        // spec's --rootless is a boolean; the global one takes a value.
        assert_eq!(
            n(&[
                "runr",
                "--rootless",
                "true",
                "spec",
                "-rootless",
                "-b",
                "/b"
            ]),
            [
                "runr",
                "--rootless=true",
                "spec",
                "--rootless",
                "--bundle=/b"
            ]
        );
        // -f is list's --format but delete's --force.
        assert_eq!(
            n(&["runr", "list", "-f", "json"]),
            ["runr", "list", "--format=json"]
        );
    }

    #[test]
    fn exec_kill_and_ps_stop_at_the_id() {
        assert_eq!(
            n(&["runr", "kill", "c1", "-all"]),
            ["runr", "kill", "c1", "-all"]
        );
        assert_eq!(
            n(&["runr", "-debug", "kill", "-all", "c1", "9"]),
            ["runr", "--debug", "kill", "--all", "c1", "9"]
        );
        assert_eq!(
            n(&["runr", "exec", "-u", "0", "-tty", "c1", "sh", "-e", "x"]),
            ["runr", "exec", "--user=0", "--tty", "c1", "sh", "-e", "x"]
        );
        assert_eq!(
            n(&["runr", "ps", "-f", "table", "c1", "-o", "pid"]),
            ["runr", "ps", "--format=table", "c1", "-o", "pid"]
        );
    }

    /// Every argv of /work/shared/reference/engine-argv.md (containerd,
    /// Docker, podman) parses, with the values where they belong.
    #[test]
    fn engine_argvs_parse() {
        use crate::cli::{Command, LogFormat};
        use clap::Parser;
        let parse = |v: &[&str]| {
            let mut argv = vec!["runr"];
            argv.extend_from_slice(v);
            let argv = n(&argv);
            Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"))
        };
        let g = [
            "--root",
            "/run/containerd/runc/default",
            "--log",
            "/b/log.json",
            "--log-format",
            "json",
        ];
        let with_g = |v: &[&str]| {
            let mut a = g.to_vec();
            a.extend_from_slice(v);
            parse(&a)
        };
        let c = with_g(&[
            "create",
            "--bundle",
            "/b",
            "--pid-file",
            "/b/init.pid",
            "t1",
        ]);
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.log.as_deref(), Some(std::path::Path::new("/b/log.json")));
        assert_eq!(
            c.root.as_deref(),
            Some(std::path::Path::new("/run/containerd/runc/default"))
        );
        match c.command {
            Some(Command::Create(a)) => {
                assert_eq!(a.bundle, std::path::Path::new("/b"));
                assert_eq!(a.id, "t1");
            }
            other => panic!("{other:?}"),
        }
        for v in [
            &["start", "t1"][..],
            &["delete", "t1"],
            &["delete", "--force", "t1"],
            &[
                "create",
                "--bundle",
                "/b",
                "--pid-file",
                "/b/init.pid",
                "--console-socket",
                "/tmp/pty1/pty.sock",
                "t2",
            ],
            &["ps", "--format", "json", "t3"],
            &["pause", "t3"],
            &["resume", "t3"],
            &["kill", "t3", "15"],
            &["kill", "--all", "t4", "9"],
            &["update", "--resources", "-", "t3"],
        ] {
            with_g(v);
        }
        match with_g(&[
            "exec",
            "--process",
            "/tmp/runc-process1",
            "--console-socket",
            "/s",
            "--detach",
            "--pid-file",
            "/b/e2.pid",
            "t3",
        ])
        .command
        {
            Some(Command::Exec(e)) => {
                assert!(e.detach);
                assert_eq!(e.args, ["t3"]);
                assert_eq!(
                    e.process.as_deref(),
                    Some(std::path::Path::new("/tmp/runc-process1"))
                );
            }
            other => panic!("{other:?}"),
        }
        // podman (as runc: `=` forms, no --root).
        let p = parse(&[
            "--log-format=json",
            "--log",
            "/p/log",
            "create",
            "--bundle",
            "/b",
            "--pid-file",
            "/p/pid",
            "--console-socket",
            "/tmp/conmon-term.1",
            "c1",
        ]);
        assert_eq!(p.log_format, LogFormat::Json);
        for v in [
            &["start", "c1"][..],
            &[
                "exec",
                "--pid-file",
                "/p",
                "--process",
                "/f",
                "--detach",
                "--tty",
                "--console-socket",
                "/s",
                "c1",
            ],
            &["kill", "c1", "15"],
            &["delete", "--force", "c1"],
        ] {
            parse(v);
        }
    }

    #[test]
    fn unknown_flags_clusters_and_after_dashdash_are_kept() {
        assert_eq!(
            n(&["runr", "exec", "-dt", "--nope", "c1", "--", "-b"]),
            ["runr", "exec", "-dt", "--nope", "c1", "--", "-b"]
        );
        assert_eq!(
            n(&["runr", "run", "--", "-b", "x"]),
            ["runr", "run", "--", "-b", "x"]
        );
    }
}
