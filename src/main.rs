use runr::cli::{argv, dispatch, Command, LogFormat};
use runr::logging;

fn main() {
    let raw: Vec<String> = std::env::args().collect();
    // The read-only re-exec (below) before anything else: the parse is
    // then done once, in the re-exec'd runr. An error here is left to the
    // same call after the parse, which reports it.
    if matches!(argv::subcommand_hint(&raw), Some("create" | "run" | "exec")) {
        let _ = runr::process::selfexe::protect();
    }
    let cli = match argv::parse(raw) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let format = match cli.log_format {
        LogFormat::Text => logging::Format::Text,
        LogFormat::Json => logging::Format::Json,
    };
    if let Err(e) = logging::init(cli.log.as_deref(), format, cli.debug) {
        eprintln!("open log file: {e}");
        std::process::exit(1);
    }
    // Commands that start processes in a container run from a read-only
    // view of the binary (CVE-2019-5736).
    if matches!(
        cli.command,
        Some(Command::Create(_) | Command::Run { .. } | Command::Exec(_))
    ) {
        if let Err(e) = runr::process::selfexe::protect() {
            logging::error(&format!("{e:#}"));
            std::process::exit(1);
        }
    }
    let code = match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            logging::error(&format!("{e:#}"));
            1
        }
    };
    std::process::exit(code);
}
