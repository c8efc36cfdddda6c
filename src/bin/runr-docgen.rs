//! runr-docgen PREFIX: writes runr's man pages (section 8) and its bash, zsh
//! and fish completions under PREFIX/share, in the places `make install`
//! promises, from the clap definition runr itself parses with. A binary of
//! its own, so runr does not carry clap_mangen and clap_complete.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::roff::{roman, Roff};
use clap_mangen::Man;

use runr::cli::Cli;

/// runr's command, as the man pages and completions describe it.
fn command() -> clap::Command {
    let mut cmd = Cli::command()
        .version(env!("CARGO_PKG_VERSION"))
        .disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// An `after_long_help` text is "Example(s):" then indented lines: the
/// page gets an EXAMPLES section with the lines kept as they are.
fn examples(roff: &mut Roff, text: &str) {
    let body = match text.split_once('\n') {
        Some((first, rest)) if first.starts_with("Example") && first.ends_with(':') => rest,
        _ => text,
    };
    roff.control("SH", ["EXAMPLES"]);
    roff.control("nf", []);
    for line in body.lines() {
        roff.text([roman(line.strip_prefix("  ").unwrap_or(line))]);
    }
    roff.control("fi", []);
}

/// One page: clap_mangen's sections, examples kept verbatim, SEE ALSO.
fn page(cmd: &clap::Command, see_also: &str) -> Result<Vec<u8>> {
    let man = Man::new(cmd.clone())
        .section("8")
        .manual("runr manual")
        .source(format!("runr {}", env!("CARGO_PKG_VERSION")));
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut out)?;
    }
    let mut roff = Roff::new();
    if let Some(text) = cmd.get_after_long_help() {
        examples(&mut roff, &text.to_string());
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(see_also)]);
    roff.to_writer(&mut out)?;
    Ok(out)
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    let mut f = fs::File::create(path).with_context(|| format!("create {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("write {}", path.display()))
}

/// runr.8 and runr-<command>.8 for each documented command.
fn man_pages(prefix: &Path) -> Result<Vec<PathBuf>> {
    let dir = prefix.join("share/man/man8");
    let cmd = command();
    let subs: Vec<&clap::Command> = cmd.get_subcommands().filter(|s| !s.is_hide_set()).collect();
    let mut written = Vec::new();
    let all: Vec<String> = subs
        .iter()
        .map(|s| format!("runr-{}(8)", s.get_name()))
        .collect();
    let path = dir.join("runr.8");
    write(&path, &page(&cmd, &format!("runc(8), {}", all.join(", ")))?)?;
    written.push(path);
    for sub in subs {
        let path = dir.join(format!("runr-{}.8", sub.get_name()));
        write(&path, &page(sub, "runr(8)")?)?;
        written.push(path);
    }
    Ok(written)
}

/// The completion scripts, where bash-completion, zsh and fish look.
fn completions(prefix: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (shell, rel) in [
        (Shell::Bash, "share/bash-completion/completions/runr"),
        (Shell::Zsh, "share/zsh/site-functions/_runr"),
        (Shell::Fish, "share/fish/vendor_completions.d/runr.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut command(), "runr", &mut buf);
        let path = prefix.join(rel);
        write(&path, &buf)?;
        written.push(path);
    }
    Ok(written)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [prefix] if !prefix.starts_with('-') => {
            let prefix = Path::new(prefix);
            man_pages(prefix).and_then(|mut m| {
                m.extend(completions(prefix)?);
                Ok(m)
            })
        }
        _ => Err(anyhow::anyhow!(
            "usage: runr-docgen PREFIX (writes PREFIX/share/man/man8/*.8 and the bash, zsh and fish completions)"
        )),
    };
    match result {
        Ok(files) => {
            for f in files {
                println!("{}", f.display());
            }
        }
        Err(e) => {
            eprintln!("runr-docgen: {e:#}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_keep_their_lines() {
        let mut roff = Roff::new();
        examples(&mut roff, "Example:\n  runr start a\n  runr kill a");
        let text = roff.to_roff();
        assert!(
            text.contains(".SH EXAMPLES\n.nf\nrunr start a\nrunr kill a\n.fi"),
            "{text}"
        );
    }
}
