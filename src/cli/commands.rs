//! Dispatch: each subcommand maps its flags onto one library call.

use std::io::Write;

use anyhow::{bail, Context, Result};

use super::{Cli, Command, CreateArgs};
use crate::container::create::CreateOpts;
use crate::container::state::Store;
use crate::container::{self, ContainerError};

fn create_opts(a: &CreateArgs, detach: bool, rootless: bool) -> CreateOpts {
    CreateOpts {
        rootless,
        bundle: a.bundle.clone(),
        pid_file: a
            .pid_file
            .as_ref()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone())),
        console_socket: a.console_socket.clone(),
        no_pivot: a.no_pivot,
        no_new_keyring: a.no_new_keyring,
        preserve_fds: a.preserve_fds,
        detach,
    }
}

/// The rootless mode (`--rootless`), and a refusal of the modes runr does
/// not have. Rootless: cgroups are used where the caller may, and a
/// container without limits runs without them.
fn check_modes(cli: &Cli) -> Result<bool> {
    if cli.systemd_cgroup {
        bail!("the systemd cgroup driver (--systemd-cgroup) is not supported by runr yet");
    }
    Ok(match cli.rootless.as_str() {
        "true" => true,
        "false" => false,
        "auto" => crate::rootless::detect(),
        other => bail!("invalid --rootless value {other:?}: use true, false or auto"),
    })
}

/// --root, or its default: /run/runr for root, $XDG_RUNTIME_DIR/runr for
/// anyone else who has one (as runc does with its own name).
fn state_root(cli: &Cli) -> std::path::PathBuf {
    if let Some(r) = &cli.root {
        return r.clone();
    }
    // SAFETY: geteuid cannot fail.
    let euid = unsafe { libc::geteuid() };
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) if euid != 0 => std::path::Path::new(&dir).join("runr"),
        _ => "/run/runr".into(),
    }
}

/// Runs the command; returns the process exit code.
pub fn dispatch(cli: Cli) -> Result<i32> {
    if cli.version {
        print!("{}", version());
        return Ok(0);
    }
    let Some(command) = &cli.command else {
        use clap::CommandFactory;
        Cli::command().print_help().ok();
        return Ok(0);
    };
    let store = Store::new(&state_root(&cli));
    match command {
        Command::Create(a) => {
            let rootless = check_modes(&cli)?;
            container::create::create(&store, &a.id, &create_opts(a, true, rootless))?;
        }
        Command::Run {
            create,
            detach,
            keep,
            no_subreaper: _,
        } => {
            let rootless = check_modes(&cli)?;
            if *keep {
                bail!("run --keep is not supported by runr yet");
            }
            let opts = create_opts(create, *detach, rootless);
            return container::run::run(&store, &create.id, &opts, *detach);
        }
        Command::Start { id } => {
            let (locked, state) = store.open(id)?;
            match container::start::start(&locked, &state) {
                Ok(()) => {}
                Err(container::start::Failure::Refused(e)) => return Err(e),
                Err(container::start::Failure::MustDestroy(e)) => {
                    if let Err(d) = container::delete::destroy(locked, &state) {
                        crate::logging::warn(&format!("delete after failed start: {d:#}"));
                    }
                    return Err(e);
                }
            }
        }
        Command::State { id } => {
            let (locked, state) = store.open(id)?;
            let status = locked.status(&state);
            let json = serde_json::to_string_pretty(&state.public(status))?;
            println!("{json}");
        }
        Command::Kill { all, id, signal } => {
            // runc looks the container up before it parses the signal.
            let (locked, state) = store.open(id)?;
            let sig = crate::signal::parse(signal).map_err(anyhow::Error::msg)?;
            container::kill::kill(&locked, &state, sig, *all)?;
        }
        Command::Delete { force, id } => match store.open(id) {
            Ok((locked, state)) => container::delete::delete(locked, &state, *force)?,
            Err(e) if *force && matches!(e.downcast_ref(), Some(ContainerError::NotExist)) => {
                // The directory may be a leftover without state.json.
                let dir = store.root().join(id);
                if crate::container::state::validate_id(id).is_ok() && dir.is_dir() {
                    std::fs::remove_dir_all(&dir)
                        .with_context(|| format!("remove {}", dir.display()))?;
                }
            }
            Err(e) if *force && store.root().join(id).join("state.json").is_file() => {
                let note = container::delete::force_unreadable(&store, id)
                    .with_context(|| format!("{e:#}"))?;
                crate::logging::warn(&note);
            }
            Err(e) => return Err(e),
        },
        Command::List { format, quiet } => list(&store, format, *quiet)?,
        Command::Spec { bundle, rootless } => {
            spec(bundle.as_deref(), *rootless)?;
        }
        Command::Exec(a) => {
            // runc exits 255 when exec itself fails, and says so first.
            return Ok(match exec(&store, a) {
                Ok(code) => code,
                Err(e) => {
                    crate::logging::error(&format!("exec failed: {e:#}"));
                    255
                }
            });
        }
        Command::Ps {
            format,
            id,
            ps_args,
        } => {
            let (locked, state) = store.open(id)?;
            let status = locked.status(&state);
            drop(locked);
            print!("{}", container::ps::ps(&state, status, format, ps_args)?);
        }
        Command::Pause { id } => {
            let (locked, state) = store.open(id)?;
            container::pause::pause(&locked, &state)?;
        }
        Command::Resume { id } => {
            let (locked, state) = store.open(id)?;
            container::pause::resume(&locked, &state)?;
        }
        Command::Events {
            interval,
            stats,
            id,
        } => {
            let interval = container::events::parse_duration(interval)?;
            container::events::events(&store, id, *stats, interval)?;
        }
        Command::Update(a) => {
            let flags = container::update::UpdateFlags {
                resources: a.resources.clone(),
                memory: a.memory.clone(),
                memory_swap: a.memory_swap.clone(),
                memory_reservation: a.memory_reservation.clone(),
                kernel_memory: a.kernel_memory.clone(),
                kernel_memory_tcp: a.kernel_memory_tcp.clone(),
                cpu_share: a.cpu_share,
                cpu_quota: a.cpu_quota,
                cpu_period: a.cpu_period,
                cpu_rt_period: a.cpu_rt_period,
                cpu_rt_runtime: a.cpu_rt_runtime,
                cpuset_cpus: a.cpuset_cpus.clone(),
                cpuset_mems: a.cpuset_mems.clone(),
                pids_limit: a.pids_limit,
                blkio_weight: a.blkio_weight,
                l3_cache_schema: a.l3_cache_schema.clone(),
                mem_bw_schema: a.mem_bw_schema.clone(),
            };
            let (locked, state) = store.open(&a.id)?;
            container::update::update(&locked, &state, &flags)?;
        }
        Command::Check { format } => return crate::check::main(format, check_modes(&cli)?),
        Command::Features(_) => println!("{}", crate::features::render()),
        Command::Checkpoint(_) => bail!("checkpoint is not supported by runr"),
        Command::Restore(_) => bail!("restore is not supported by runr"),
    }
    Ok(0)
}

fn exec(store: &Store, a: &super::ExecArgs) -> Result<i32> {
    let (id, args) = a.args.split_first().expect("clap requires the id");
    let opts = container::exec::ExecOpts {
        process_file: a.process.clone(),
        args: args.to_vec(),
        detach: a.detach,
        pid_file: a
            .pid_file
            .as_ref()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone())),
        tty: a.tty,
        console_socket: a.console_socket.clone(),
        cwd: a.cwd.clone(),
        env: a.env.clone(),
        user: a.user.clone(),
        additional_gids: a.additional_gids.clone(),
        caps: a.cap.clone(),
        no_new_privs: a.no_new_privs,
        preserve_fds: a.preserve_fds,
        ignore_paused: a.ignore_paused,
        apparmor: a.apparmor.clone(),
        process_label: a.process_label.clone(),
        cgroup: a.cgroup.clone(),
    };
    container::exec::exec(store, id, &opts)
}

pub fn version() -> String {
    format!(
        "runr version {}\ncommit: {}\nspec: {}\n",
        env!("CARGO_PKG_VERSION"),
        option_env!("RUNR_COMMIT").unwrap_or("unknown"),
        container::OCI_VERSION
    )
}

fn list(store: &Store, format: &str, quiet: bool) -> Result<()> {
    let rows = container::list::rows(store)?;
    let mut out = std::io::stdout().lock();
    if quiet {
        for r in &rows {
            writeln!(out, "{}", r.id)?;
        }
        return Ok(());
    }
    match format {
        "table" => out.write_all(container::list::table(&rows).as_bytes())?,
        "json" => {
            let v: Vec<&serde_json::Value> = rows.iter().map(|r| &r.json).collect();
            writeln!(out, "{}", serde_json::to_string(&v)?)?;
        }
        other => bail!("invalid format option {other:?}"),
    }
    Ok(())
}

fn spec(bundle: Option<&std::path::Path>, rootless: bool) -> Result<()> {
    let dir = bundle.unwrap_or(std::path::Path::new("."));
    let path = dir.join("config.json");
    if path.exists() {
        bail!("File config.json exists. Remove it first");
    }
    let mut v = crate::spec_template::default_spec(crate::spec_template::cgroup2_host());
    if rootless {
        crate::spec_template::to_rootless(&mut v);
    }
    let text = crate::spec_template::render(&v);
    std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))
}
