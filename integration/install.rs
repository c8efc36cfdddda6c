//! `make install`'s file part (install-files) into a temporary DESTDIR:
//! runr, one man page per command, and completions that the shells load.
//! It needs runr-docgen, so it is built only with `--features docgen`
//! (as `make test` runs the tests).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cli::commands;
use crate::common::runr;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Man page text with roff's escaped dashes made plain.
fn man_text(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .replace("\\-", "-")
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn install_puts_runr_man_pages_and_completions_under_destdir() {
    let dest =
        TempDir(std::env::temp_dir().join(format!("runr-test-install-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dest.0);
    let out = Path::new(runr()).parent().unwrap();
    assert_eq!(
        Path::new(env!("CARGO_BIN_EXE_runr-docgen"))
            .parent()
            .unwrap(),
        out
    );
    let status = Command::new("make")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("-s")
        .arg("install-files")
        .arg(format!("OUT={}", out.display()))
        .arg(format!("DESTDIR={}", dest.0.display()))
        .arg("PREFIX=/opt/runr")
        .status()
        .unwrap();
    assert!(status.success(), "make install-files: {status}");
    let prefix = dest.0.join("opt/runr");

    let bin = prefix.join("bin/runr");
    assert_eq!(std::fs::read(&bin).unwrap(), std::fs::read(runr()).unwrap());
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&bin).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o755);

    let man8 = prefix.join("share/man/man8");
    let top = man_text(&man8.join("runr.8"));
    assert!(
        top.starts_with(".ie") || top.contains(".TH runr 8"),
        "{top}"
    );
    for c in commands() {
        assert!(top.contains(&format!("runr-{c}(8)")), "runr.8 lacks {c}");
        let page = man_text(&man8.join(format!("runr-{c}.8")));
        assert!(
            page.contains(&format!(".TH runr-{c} 8")),
            "runr-{c}.8: {page}"
        );
        assert!(
            page.contains(".SH SYNOPSIS") && page.contains(&format!("runr {c}")),
            "{c}"
        );
    }
    let create = man_text(&man8.join("runr-create.8"));
    for flag in [
        "--bundle",
        "--console-socket",
        "--pid-file",
        "--no-pivot",
        "--preserve-fds",
    ] {
        assert!(create.contains(flag), "runr-create.8 lacks {flag}");
    }
    assert!(create.contains(".SH EXAMPLES"));
    if have("groff") {
        let pages: Vec<PathBuf> = std::fs::read_dir(&man8)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        let o = Command::new("groff")
            .args(["-man", "-ww", "-z", "-Tutf8"])
            .args(&pages)
            .output()
            .unwrap();
        assert!(
            o.status.success() && o.stderr.is_empty(),
            "groff: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    // bash loads the completion and completes commands and their flags.
    let bash = prefix.join("share/bash-completion/completions/runr");
    let script = format!(
        "source {} && complete -p runr && \
         COMP_WORDS=(runr cre); COMP_CWORD=1; _runr runr cre runr; echo \"words: ${{COMPREPLY[*]}}\"; \
         COMP_WORDS=(runr create --pid); COMP_CWORD=2; _runr runr --pid create; echo \"words: ${{COMPREPLY[*]}}\"",
        bash.display()
    );
    let o = Command::new("bash")
        .args(["--norc", "-c", &script])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "bash: {o:?}");
    assert!(text.contains("-F _runr runr"), "{text}");
    assert!(text.contains("words: create\n"), "{text}");
    assert!(text.contains("words: --pid-file\n"), "{text}");

    let zsh = std::fs::read_to_string(prefix.join("share/zsh/site-functions/_runr")).unwrap();
    assert!(zsh.starts_with("#compdef runr"), "{zsh}");
    assert!(
        zsh.contains("'--bundle=[") && zsh.contains("'create:"),
        "zsh completion"
    );
    let fish =
        std::fs::read_to_string(prefix.join("share/fish/vendor_completions.d/runr.fish")).unwrap();
    assert!(
        fish.contains("complete -c runr") && fish.contains("-l bundle"),
        "fish completion"
    );
    for (shell, path) in [
        ("zsh", prefix.join("share/zsh/site-functions/_runr")),
        (
            "fish",
            prefix.join("share/fish/vendor_completions.d/runr.fish"),
        ),
    ] {
        if have(shell) {
            let o = Command::new(shell).arg("-n").arg(&path).output().unwrap();
            assert!(o.status.success(), "{shell} -n: {o:?}");
        }
    }
}
