// Records the git commit for `runr --version`.
fn git(args: &[&str]) -> Option<String> {
    std::process::Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=RUNR_COMMIT={commit}");
    // Rerun when HEAD moves: HEAD itself and the branch it names. A path
    // that does not exist (.git is a file in a worktree) would rerun this
    // and rebuild runr on every build.
    println!("cargo:rerun-if-changed=build.rs");
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        let common = git(&["rev-parse", "--git-common-dir"]).unwrap_or(dir);
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            let r = format!("{common}/{branch}");
            if std::path::Path::new(&r).exists() {
                println!("cargo:rerun-if-changed={r}");
            } else {
                println!("cargo:rerun-if-changed={common}/packed-refs");
            }
        }
    }
}
