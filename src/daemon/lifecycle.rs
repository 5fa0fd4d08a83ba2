//! `gateward run` and `gateward validate`: open capture, drop privileges,
//! start the engine, turn signals into actions, tell systemd.
//!
//! Order at start: load and check the config → build the detection
//! context (enrichment databases) → open every interface → write the
//! pidfile → bind the metrics socket → drop privileges → open outputs →
//! start threads → READY=1.

use crate::capture::{LiveSource, Timestamp};
use crate::config::Config;
use crate::detect::engine::DetectCtx;
use crate::pipeline::{LiveOutput, LiveRun, LiveSnapshot, WriteOutput};
use crossbeam_channel::{Receiver, RecvTimeoutError, unbounded};
use sd_notify::NotifyState;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Exit status for a configuration error (as `analyze`).
const EXIT_CONFIG: i32 = 2;
/// Exit status for a runtime failure (capture could not open, lost
/// interface, output not drained, worker panic).
const EXIT_RUNTIME: i32 = 1;

/// What a signal asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Signal {
    Stop,
    Reopen,
    Reload,
}

fn say_error(msg: impl std::fmt::Display) {
    eprintln!("gateward: error: {msg}");
}

/// Loads `path` and runs every check `run` would, short of opening
/// interfaces: typed parse, semantic checks, BPF compilation, detector
/// lists and enrichment databases. The message names the key at fault.
pub fn validate(path: &Path) -> Result<Config, String> {
    let cfg = Config::load(path).map_err(|e| e.to_string())?;
    let ctx = cfg
        .detect_ctx()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(e) = ctx
        .allow
        .unknown_protocols(|p| ctx.names.knows_protocol(p))
        .into_iter()
        .next()
    {
        return Err(format!("{}: {e}", path.display()));
    }
    if !cfg.daemon.user.is_empty() {
        match nix::unistd::User::from_name(&cfg.daemon.user) {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(format!(
                    "{}: daemon.user: no such user `{}`",
                    path.display(),
                    cfg.daemon.user
                ));
            }
            Err(e) => return Err(format!("{}: daemon.user: {e}", path.display())),
        }
    }
    Ok(cfg)
}

/// What `run` would refuse in a configuration that is otherwise valid:
/// no interface to capture on, an interface this machine does not have, a
/// file sink whose directory is missing or not writable by the service
/// user. `validate --run` makes these errors (the unit's ExecStartPre);
/// plain `validate` prints them as warnings, since a configuration for
/// `analyze` needs no interface.
pub fn run_problems(cfg: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if cfg.capture.interfaces.is_empty() {
        out.push("capture.interfaces: no interface to capture on".to_string());
    }
    let sys = Path::new("/sys/class/net");
    if sys.is_dir() {
        for i in &cfg.capture.interfaces {
            if i != "any" && !sys.join(i).exists() {
                out.push(format!(
                    "capture.interfaces: no interface `{i}` on this machine"
                ));
            }
        }
    }
    let user = match cfg.daemon.user.as_str() {
        "" => None,
        name => nix::unistd::User::from_name(name).ok().flatten(),
    };
    for (n, sink) in cfg.output.sink.iter().enumerate() {
        let crate::sink::SinkConfig::File(f) = sink else {
            continue;
        };
        let Some(path) = &f.path else { continue };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            out.push(format!(
                "output.sink[{n}].path: directory {} does not exist",
                dir.display()
            ));
        } else if !writable_by(dir, user.as_ref()) {
            out.push(format!(
                "output.sink[{n}].path: directory {} is not writable by {}",
                dir.display(),
                user.as_ref()
                    .map_or("this user".to_string(), |u| format!("user `{}`", u.name))
            ));
        }
    }
    out
}

/// Whether `dir` is writable by `user` (by the mode bits for its uid and
/// primary group; supplementary groups are not consulted, so a directory
/// writable only through one is reported), or by this process when no
/// user is configured.
fn writable_by(dir: &Path, user: Option<&nix::unistd::User>) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(u) = user else {
        return nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK).is_ok();
    };
    if u.uid.is_root() {
        return true;
    }
    let Ok(m) = std::fs::metadata(dir) else {
        return false;
    };
    let mode = m.mode();
    (m.uid() == u.uid.as_raw() && mode & 0o200 != 0)
        || (m.gid() == u.gid.as_raw() && mode & 0o020 != 0)
        || mode & 0o002 != 0
}

/// Opens the configured sinks (`[[output.sink]]`), or standard output when
/// none is configured. Called after the privilege drop, so files are
/// created as the service user.
pub fn open_outputs(cfg: &Config) -> Result<Arc<dyn LiveOutput>, String> {
    if cfg.output.sink.is_empty() {
        return Ok(Arc::new(WriteOutput::new(
            "stdout",
            Box::new(std::io::stdout()),
        )));
    }
    let set = crate::sink::SinkSet::from_config(&cfg.output.sink)?;
    Ok(Arc::new(super::output::SinkOutput::new(set)))
}

fn notify(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        eprintln!("gateward: warning: sd_notify: {e}");
    }
}

fn spawn_signal_thread() -> Result<Receiver<Signal>, String> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR2};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP, SIGUSR2])
        .map_err(|e| format!("installing signal handlers: {e}"))?;
    let (tx, rx) = unbounded();
    std::thread::Builder::new()
        .name("gw-signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                let s = match sig {
                    SIGHUP => Signal::Reopen,
                    SIGUSR2 => Signal::Reload,
                    _ => Signal::Stop,
                };
                if tx.send(s).is_err() {
                    break;
                }
            }
        })
        .map_err(|e| format!("spawning signal thread: {e}"))?;
    Ok(rx)
}

/// Becomes `user` (its primary group and supplementary groups) and checks
/// that root cannot be regained.
fn drop_privileges(user: &str) -> Result<(), String> {
    use nix::unistd::{User, getegid, geteuid, getgid, getuid, initgroups, setgid, setuid};
    let u = User::from_name(user)
        .map_err(|e| format!("daemon.user: looking up `{user}`: {e}"))?
        .ok_or_else(|| format!("daemon.user: no such user `{user}`"))?;
    let name =
        std::ffi::CString::new(user).map_err(|_| format!("daemon.user: bad name `{user}`"))?;
    initgroups(&name, u.gid).map_err(|e| format!("initgroups({user}): {e}"))?;
    setgid(u.gid).map_err(|e| format!("setgid({}): {e}", u.gid))?;
    setuid(u.uid).map_err(|e| format!("setuid({}): {e}", u.uid))?;
    if getuid() != u.uid || geteuid() != u.uid || getgid() != u.gid || getegid() != u.gid {
        return Err(format!("privilege drop to `{user}` did not take effect"));
    }
    if !u.uid.is_root() && setuid(nix::unistd::Uid::from_raw(0)).is_ok() {
        return Err("privilege drop is reversible (setuid(0) succeeded); refusing to run".into());
    }
    Ok(())
}

fn wall_now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(d.as_micros().min(u64::MAX as u128) as u64)
}

/// Re-reads the config file and builds new detection settings; the caller
/// keeps the old ones on error.
fn reload_ctx(path: &Path) -> Result<Arc<DetectCtx>, String> {
    let cfg = Config::load(path).map_err(|e| e.to_string())?;
    cfg.detect_ctx()
        .map(Arc::new)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The pidfile, locked (`flock`) for the life of the process: a second
/// instance with the same pidfile finds it locked and exits instead of
/// overwriting (and later deleting) the first one's.
struct Pidfile(PathBuf, #[allow(dead_code)] std::fs::File);

impl Pidfile {
    fn create(p: PathBuf) -> Result<Pidfile, String> {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&p)
            .map_err(|e| format!("daemon.pidfile: {}: {e}", p.display()))?;
        // File::try_lock: Rust 1.89, the crate's rust-version.
        let locked = f.try_lock();
        match locked {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut other = String::new();
                let _ = std::io::Read::read_to_string(&mut f, &mut other);
                return Err(format!(
                    "daemon.pidfile: {} is locked by a running gateward (pid {}); refusing to start a second instance",
                    p.display(),
                    other.trim()
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(format!("daemon.pidfile: {}: lock: {e}", p.display()));
            }
        }
        f.set_len(0)
            .and_then(|_| f.write_all(format!("{}\n", std::process::id()).as_bytes()))
            .map_err(|e| format!("daemon.pidfile: {}: {e}", p.display()))?;
        Ok(Pidfile(p, f))
    }
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        // May fail after the privilege drop; systemd's RuntimeDirectory
        // cleans up then.
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `gateward run`: returns the process exit status (0 after a clean stop).
/// `interfaces`, when not empty, replaces `capture.interfaces`.
pub fn run(config: &Path, interfaces: &[String], all_flows: bool) -> i32 {
    let mut cfg = match validate(config) {
        Ok(c) => c,
        Err(e) => {
            say_error(e);
            return EXIT_CONFIG;
        }
    };
    if !interfaces.is_empty() {
        cfg.capture.interfaces = interfaces.to_vec();
    }
    if all_flows {
        cfg.output.all_flows = true;
    }
    if cfg.capture.interfaces.is_empty() {
        say_error(format!(
            "{}: capture.interfaces: no interface to capture on (set it or pass --interface)",
            config.display()
        ));
        return EXIT_CONFIG;
    }
    let ctx = match cfg.detect_ctx() {
        Ok(c) => Arc::new(c),
        Err(e) => {
            say_error(format!("{}: {e}", config.display()));
            return EXIT_CONFIG;
        }
    };
    let opts = cfg.capture.live_options();
    let mut sources = Vec::with_capacity(cfg.capture.interfaces.len());
    for i in &cfg.capture.interfaces {
        match LiveSource::open(i, &opts) {
            Ok(s) => sources.push(s),
            Err(e) => {
                say_error(format!(
                    "{e} (capture needs root or CAP_NET_RAW; see README)"
                ));
                return EXIT_RUNTIME;
            }
        }
    }
    let _pidfile = if cfg.daemon.pidfile.is_empty() {
        None
    } else {
        match Pidfile::create(PathBuf::from(&cfg.daemon.pidfile)) {
            Ok(p) => Some(p),
            Err(e) => {
                say_error(e);
                return EXIT_RUNTIME;
            }
        }
    };
    let signals = match spawn_signal_thread() {
        Ok(r) => r,
        Err(e) => {
            say_error(e);
            return EXIT_RUNTIME;
        }
    };
    let metrics = if cfg.daemon.metrics_listen.is_empty() {
        None
    } else {
        match std::net::TcpListener::bind(&cfg.daemon.metrics_listen) {
            Ok(l) => Some(l),
            Err(e) => {
                say_error(format!(
                    "daemon.metrics_listen: cannot listen on {}: {e}",
                    cfg.daemon.metrics_listen
                ));
                return EXIT_RUNTIME;
            }
        }
    };
    if !cfg.daemon.user.is_empty() {
        if nix::unistd::geteuid().is_root() {
            if let Err(e) = drop_privileges(&cfg.daemon.user) {
                say_error(e);
                return EXIT_RUNTIME;
            }
        } else {
            eprintln!(
                "gateward: note: not started as root; daemon.user `{}` ignored",
                cfg.daemon.user
            );
        }
    }
    let output = match open_outputs(&cfg) {
        Ok(o) => o,
        Err(e) => {
            say_error(e);
            return EXIT_RUNTIME;
        }
    };
    let shared_snapshot = Arc::new(Mutex::new(LiveSnapshot::default()));
    if let Some(l) = metrics {
        super::metrics::serve(l, shared_snapshot.clone());
    }
    let run = LiveRun::start(sources, &cfg, ctx, output);
    notify(&[NotifyState::Ready, NotifyState::Status("capturing")]);
    eprintln!(
        "gateward: capturing on {} ({} workers)",
        cfg.capture.interfaces.join(", "),
        cfg.pipeline.worker_count()
    );

    let stats_every =
        (cfg.daemon.stats_interval > 0).then(|| Duration::from_secs(cfg.daemon.stats_interval));
    let watchdog_every = sd_notify::watchdog_enabled().map(|d| d / 2);
    let mut next_stats = stats_every.map(|d| Instant::now() + d);
    let mut next_watchdog = watchdog_every.map(|d| Instant::now() + d);
    let mut code = 0;
    loop {
        let mut wake = Instant::now() + Duration::from_secs(1);
        for t in [next_stats, next_watchdog].into_iter().flatten() {
            wake = wake.min(t);
        }
        let got = signals.recv_timeout(wake.saturating_duration_since(Instant::now()));
        let now = Instant::now();
        match got {
            Ok(Signal::Stop) => break,
            Ok(Signal::Reopen) => match run.reopen() {
                Ok(()) => eprintln!(
                    "gateward: reopening outputs (each sink reopens before its next line and logs a failure)"
                ),
                Err(e) => say_error(format!("reopening outputs: {e}")),
            },
            Ok(Signal::Reload) => {
                notify(&[
                    NotifyState::Reloading,
                    NotifyState::monotonic_usec_now().unwrap_or(NotifyState::Status("reloading")),
                ]);
                match reload_ctx(config) {
                    Ok(c) => {
                        run.reload(c);
                        eprintln!(
                            "gateward: reloaded detection settings, feeds, databases and allow-lists from {} (other sections need a restart)",
                            config.display()
                        );
                    }
                    Err(e) => {
                        run.reload_failed();
                        say_error(format!("reload refused, keeping the running settings: {e}"));
                    }
                }
                notify(&[NotifyState::Ready, NotifyState::Status("capturing")]);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let snap = run.snapshot();
        if let (Some(t), Some(d)) = (next_stats, stats_every)
            && now >= t
        {
            run.emit(super::stats_event(
                &snap,
                wall_now(),
                cfg.output.host.as_deref(),
            ));
            next_stats = Some(t + d);
        }
        if let (Some(t), Some(d)) = (next_watchdog, watchdog_every)
            && now >= t
        {
            notify(&[NotifyState::Watchdog]);
            next_watchdog = Some(now + d);
        }
        *shared_snapshot.lock().unwrap_or_else(|e| e.into_inner()) = snap;
        if run.capturing() == 0 {
            say_error("every capture interface failed; stopping");
            code = EXIT_RUNTIME;
            break;
        }
    }

    notify(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    eprintln!("gateward: stopping: flushing flows and draining outputs");
    let deadline = Instant::now() + Duration::from_secs(cfg.daemon.shutdown_deadline);
    let final_stats = stats_every.is_some();
    let host = cfg.output.host.clone();
    let outcome = run.stop(deadline, |s| {
        final_stats.then(|| super::stats_event(s, wall_now(), host.as_deref()))
    });
    *shared_snapshot.lock().unwrap_or_else(|e| e.into_inner()) = outcome.snapshot.clone();
    let w = &outcome.snapshot.workers;
    let cap = outcome.snapshot.capture_totals();
    eprintln!(
        "gateward: stopped: {} packets, {} flows, {} alerts; kernel received {}, dropped {}, if-dropped {}",
        w.packets, w.flows, w.alerts, cap.received, cap.dropped, cap.if_dropped
    );
    for e in &outcome.capture_errors {
        say_error(format!("capture: {e}"));
        code = EXIT_RUNTIME;
    }
    if outcome.worker_panics > 0 {
        say_error(format!(
            "{} worker thread(s) panicked; their flows are lost (please report this bug)",
            outcome.worker_panics
        ));
        code = EXIT_RUNTIME;
    }
    if let Some(e) = &outcome.output_error {
        say_error(format!("output: {e}"));
        code = EXIT_RUNTIME;
    }
    code
}

#[cfg(test)]
mod tests {
    use super::Pidfile;

    #[test]
    fn a_second_instance_finds_the_pidfile_locked_and_leaves_it() {
        let dir = tempfile::tempdir().expect("dir");
        let p = dir.path().join("gateward.pid");
        let first = Pidfile::create(p.clone()).expect("first instance");
        let e = Pidfile::create(p.clone()).err().expect("second is refused");
        assert!(e.contains("locked by a running gateward"), "{e}");
        assert!(e.contains(&std::process::id().to_string()), "{e}");
        // The refused instance neither truncated nor removed it.
        let text = std::fs::read_to_string(&p).expect("still there");
        assert_eq!(text.trim(), std::process::id().to_string());
        drop(first);
        assert!(!p.exists(), "removed at exit");
        Pidfile::create(p).expect("free again");
    }
}
