//! runc accepts Go-style single-dash long flags (`-root /x`, `-bundle=/b`,
//! `-no-subreaper`) and stops parsing flags after the container id of
//! `exec` and `kill`. clap does neither, so argv is rewritten first.

use clap::CommandFactory;

use super::Cli;

struct Known {
    /// Long flag names, and whether each takes a value.
    longs: Vec<(String, bool)>,
}

impl Known {
    fn collect() -> Known {
        let cmd = Cli::command();
        let mut longs = Vec::new();
        let mut add = |c: &clap::Command| {
            for a in c.get_arguments() {
                if let Some(l) = a.get_long() {
                    longs.push((l.to_string(), a.get_action().takes_values()));
                }
            }
        };
        add(&cmd);
        for sub in cmd.get_subcommands() {
            add(sub);
        }
        Known { longs }
    }

    fn find(&self, name: &str) -> Option<bool> {
        self.longs.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
}

/// Rewrites `-name[=v]` to `--name[=v]` for known long flags, up to `--`,
/// and for exec and kill up to the container id.
pub fn normalize(args: Vec<String>) -> Vec<String> {
    let known = Known::collect();
    let mut out = Vec::with_capacity(args.len());
    let mut iter = args.into_iter();
    if let Some(prog) = iter.next() {
        out.push(prog);
    }
    let mut subcommand: Option<String> = None;
    let mut expect_value = false;
    let mut frozen = false;
    for a in iter {
        if frozen {
            out.push(a);
            continue;
        }
        if expect_value {
            expect_value = false;
            out.push(a);
            continue;
        }
        if a == "--" {
            frozen = true;
            out.push(a);
            continue;
        }
        if let Some(rest) = a.strip_prefix("--") {
            let (name, has_eq) = match rest.split_once('=') {
                Some((n, _)) => (n, true),
                None => (rest, false),
            };
            expect_value = !has_eq && known.find(name) == Some(true);
            out.push(a);
            continue;
        }
        if let Some(rest) = a.strip_prefix('-') {
            let (name, has_eq) = match rest.split_once('=') {
                Some((n, _)) => (n, true),
                None => (rest, false),
            };
            if name.len() > 1 {
                if let Some(takes) = known.find(name) {
                    expect_value = takes && !has_eq;
                    out.push(format!("-{a}"));
                    continue;
                }
            }
            out.push(a);
            continue;
        }
        // A positional: the subcommand first, then (exec, kill) the id.
        match &subcommand {
            None => subcommand = Some(a.clone()),
            Some(s) if s == "exec" || s == "kill" => frozen = true,
            Some(_) => {}
        }
        out.push(a);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: &[&str]) -> Vec<String> {
        normalize(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn single_dash_long_flags_become_double() {
        assert_eq!(
            n(&["runr", "-root", "/r", "run", "-bundle=/b", "-detach", "c1"]),
            [
                "runr",
                "--root",
                "/r",
                "run",
                "--bundle=/b",
                "--detach",
                "c1"
            ]
        );
    }

    #[test]
    fn short_flags_and_values_are_kept() {
        assert_eq!(
            n(&["runr", "create", "-b", "/b", "c1"]),
            ["runr", "create", "-b", "/b", "c1"]
        );
        assert_eq!(
            n(&["runr", "--log", "-x", "state", "c1"]),
            ["runr", "--log", "-x", "state", "c1"]
        );
    }

    #[test]
    fn kill_and_exec_stop_at_the_id() {
        assert_eq!(
            n(&["runr", "kill", "c1", "-all"]),
            ["runr", "kill", "c1", "-all"]
        );
        assert_eq!(
            n(&["runr", "-debug", "kill", "-all", "c1", "9"]),
            ["runr", "--debug", "kill", "--all", "c1", "9"]
        );
    }
}
