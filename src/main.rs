//! The `gateward` command line: `analyze` for captures, `run` for the live
//! daemon, `validate` for checking a configuration.

use clap::{Parser, Subcommand};

/// mimalloc: flows, dissector states and events are allocated and freed by
/// the hundred thousand, across threads; it measured faster than the system
/// allocator on the standard workload (bench/run.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use gateward::config::Config;
use gateward::pipeline::{self, Input};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[path = "main/progress.rs"]
mod progress;
use std::process::ExitCode;

/// Network-edge traffic sensor: flags VPN, proxy, tunnel and remote-desktop
/// flows and writes EVE-shaped JSON Lines.
#[derive(Parser)]
#[command(name = "gateward", version = env!("GATEWARD_VERSION"), about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse pcap/pcapng captures offline and write one JSON object per flow.
    Analyze(AnalyzeArgs),
    /// Capture live on the configured interfaces until SIGTERM/SIGINT
    /// (SIGHUP reopens outputs, SIGUSR2 reloads feeds, databases and
    /// allow-lists).
    Run(RunArgs),
    /// Check a configuration file (every key, list and database) and exit
    /// 0 if it is usable, 2 with the offending key otherwise.
    Validate(ValidateArgs),
    /// Run the per-host correlation stage on EVE JSON Lines (one or several
    /// sensors' output) and write its host alerts.
    Correlate(CorrelateArgs),
    /// Write the man pages or a shell completion script (for packagers:
    /// scripts/build-deb.sh runs it before `cargo deb`).
    #[command(hide = true)]
    Generate {
        #[command(subcommand)]
        what: Generate,
    },
}

/// What `gateward generate` writes.
#[derive(Subcommand)]
enum Generate {
    /// Man pages: gateward.1 and one page per subcommand (gateward-analyze.1, ...).
    Man {
        /// Directory to write them in (created if missing).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// The completion script for SHELL (gateward.bash, _gateward, gateward.fish, ...).
    Completions {
        /// The shell.
        #[arg(value_enum, value_name = "SHELL")]
        shell: clap_complete::Shell,
        /// Directory to write it in (created if missing).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(clap::Args)]
struct CorrelateArgs {
    /// EVE JSON Lines files, read in order; `-` reads standard input.
    #[arg(required_unless_present = "kafka_brokers", value_name = "EVE")]
    inputs: Vec<String>,
    /// Read EVE from Kafka instead, as one member of a consumer group
    /// (build feature `kafka`; the sensors' sinks use `partition_by = "host"`).
    #[arg(long, value_name = "HOST:PORT,...", conflicts_with = "inputs")]
    kafka_brokers: Option<String>,
    /// The topic the sensors' Kafka sinks write.
    #[arg(
        long,
        value_name = "TOPIC",
        requires = "kafka_brokers",
        default_value = "gateward"
    )]
    kafka_topic: String,
    /// The consumer group: every member of one correlation runs with the same id.
    #[arg(
        long,
        value_name = "GROUP",
        requires = "kafka_brokers",
        default_value = "gateward-correlate"
    )]
    kafka_group: String,
    /// With --kafka-brokers: stop after SECONDS without a message (default: run until killed).
    #[arg(long, value_name = "SECONDS", requires = "kafka_brokers")]
    idle_exit: Option<f64>,
    /// Write the host alerts to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// TOML configuration file: its `home_net` and `[correlate]` section.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    report: ReportArgs,
    /// Do not print the summary on standard error.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct RunArgs {
    /// TOML configuration file (see systemd/gateward.toml).
    #[arg(short, long, value_name = "FILE")]
    config: PathBuf,
    /// Interface to capture on (repeatable); replaces capture.interfaces.
    #[arg(short, long = "interface", value_name = "IF")]
    interfaces: Vec<String>,
    /// Write every flow, not only flows with detections (as output.all_flows).
    #[arg(long)]
    all_flows: bool,
}

#[derive(clap::Args)]
struct ValidateArgs {
    /// TOML configuration file to check.
    #[arg(short, long, value_name = "FILE")]
    config: PathBuf,
    /// Also refuse what only `run` needs: an interface to capture on that
    /// exists here, file sinks in directories the service user can write
    /// (otherwise printed as warnings). The systemd unit's ExecStartPre.
    #[arg(long)]
    run: bool,
}

#[derive(clap::Args)]
struct AnalyzeArgs {
    /// Capture files (pcap or pcapng, detected by content), read in order as
    /// one capture; `-` reads standard input.
    #[arg(required = true, value_name = "CAPTURE")]
    captures: Vec<String>,
    /// Write every flow, not only flows with detections.
    #[arg(long)]
    all_flows: bool,
    /// Write JSON Lines to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// TOML configuration file (see systemd/gateward.toml).
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Worker threads (overrides pipeline.workers; default: one per core).
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    workers: Option<u16>,
    #[command(flatten)]
    report: ReportArgs,
    /// Do not print the run summary on standard error, nor the progress bar
    /// (shown on a terminal when a run takes more than a second).
    #[arg(short, long)]
    quiet: bool,
}

/// The analyst's report, for `analyze` and `correlate`.
#[derive(clap::Args)]
struct ReportArgs {
    /// Write the analyst's report to FILE after the run (hosts ranked with
    /// their reasons, timelines, top flagged flows, counts, the run summary).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Report format: text, json or html (default: from FILE's extension).
    #[arg(long, value_name = "FORMAT", requires = "report")]
    report_format: Option<String>,
}

/// Where the report goes and in which form, checked before the run.
struct ReportTarget {
    path: PathBuf,
    format: gateward::report::ReportFormat,
    file: std::fs::File,
}

impl ReportArgs {
    /// The report's file (created now, so a bad path fails before any
    /// work) and format, or a one-line error.
    fn open(&self) -> Result<Option<ReportTarget>, String> {
        let Some(path) = &self.report else {
            return Ok(None);
        };
        let format = match &self.report_format {
            Some(f) => f.parse().map_err(|e| format!("--report-format: {e}"))?,
            None => gateward::report::ReportFormat::from_path(path).ok_or_else(|| {
                format!(
                    "{}: cannot tell the report format from the name; use --report-format text|json|html",
                    path.display()
                )
            })?,
        };
        let file = std::fs::File::create(path)
            .map_err(|e| format!("{}: cannot create report: {e}", path.display()))?;
        Ok(Some(ReportTarget {
            path: path.clone(),
            format,
            file,
        }))
    }
}

impl ReportTarget {
    /// Writes the report; an error is one line naming the file.
    fn write(self, report: &gateward::report::Report) -> Result<(), String> {
        let mut w = std::io::BufWriter::new(self.file);
        report
            .write(self.format, &mut w)
            .and_then(|_| w.flush())
            .map_err(|e| format!("{}: writing report: {e}", self.path.display()))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Analyze(args) => analyze(args),
        Command::Run(args) => {
            let code = gateward::daemon::run(&args.config, &args.interfaces, args.all_flows);
            ExitCode::from(code.clamp(0, 255) as u8)
        }
        Command::Correlate(args) => correlate(args),
        Command::Generate { what } => generate(what),
        Command::Validate(args) => match gateward::daemon::validate(&args.config) {
            Ok(cfg) => {
                let problems = gateward::daemon::run_problems(&cfg);
                if args.run
                    && let Some(p) = problems.first()
                {
                    return fail(format!("{}: {p}", args.config.display()));
                }
                for p in &problems {
                    eprintln!(
                        "gateward: warning: {}: `gateward run` would refuse: {p}",
                        args.config.display()
                    );
                }
                println!("{}: configuration OK", args.config.display());
                // What the operator's catalogue feeds loaded, so a truncated
                // download shows (the CI check reads this line too).
                if let Ok(ctx) = cfg.detect_ctx() {
                    let (tools, patterns, signers) = ctx.names.rmm_summary();
                    if tools > 0 {
                        println!(
                            "detect.names: LOLRMM feed: {tools} tools, {patterns} domain patterns, {signers} signer names"
                        );
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
    }
}

/// `gateward generate`: man pages and completions from the command line's
/// own definition, so they never drift from `--help`.
fn generate(what: Generate) -> ExitCode {
    use clap::CommandFactory;
    let dir = match &what {
        Generate::Man { dir } | Generate::Completions { dir, .. } => dir.clone(),
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return fail(format!("{}: {e}", dir.display()));
    }
    let mut cmd = Cli::command();
    let written = match what {
        Generate::Man { .. } => clap_mangen::generate_to(cmd, &dir).map(|()| dir.clone()),
        Generate::Completions { shell, .. } => {
            // Without the hidden subcommands, which clap_complete would list
            // (`help` is added again by the new command); the top level has
            // no options of its own besides --help/--version.
            cmd.build();
            let public: Vec<clap::Command> = cmd
                .get_subcommands()
                .filter(|c| !c.is_hide_set() && c.get_name() != "help")
                .cloned()
                .collect();
            let mut shown = clap::Command::new("gateward")
                .version(env!("GATEWARD_VERSION"))
                .subcommands(public);
            if let Some(about) = cmd.get_about() {
                shown = shown.about(about.clone());
            }
            clap_complete::generate_to(shell, &mut shown, "gateward", &dir)
        }
    };
    match written {
        Ok(p) => {
            println!("{}", p.display());
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!("{}: {e}", dir.display())),
    }
}

/// The correlation stage's line of the run summary.
fn print_correlation(c: &gateward::correlate::Correlator) {
    let st = c.stats();
    eprintln!(
        "gateward: correlation: {} observations, hosts tracked {} (peak {}, evicted {}, expired {}), host alerts {} (held back {}), suppressed by allow-list {}, truncated sessions {} findings {}",
        st.observations,
        st.hosts_tracked,
        st.hosts_peak,
        st.hosts_evicted,
        st.hosts_expired,
        st.alerts,
        st.alerts_held_back,
        st.suppressed_allowed_tool + st.suppressed_concentrator,
        st.sessions_truncated,
        st.findings_truncated
    );
}

fn correlate(args: CorrelateArgs) -> ExitCode {
    use gateward::pipeline::eve::{EveStats, correlate_eve};
    let cfg = match &args.config {
        Some(path) => match Config::load(path) {
            Ok(c) => c,
            Err(e) => return fail(e),
        },
        None => Config::default(),
    };
    if args.inputs.iter().filter(|i| *i == "-").count() > 1 {
        return fail("standard input (-) can be named only once");
    }
    let mut correlator = match gateward::correlate::Correlator::new(cfg.correlate_config()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let report = match args.report.open() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Box::new(std::io::BufWriter::new(f)),
            Err(e) => return fail(format!("{}: cannot create output: {e}", path.display())),
        },
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut readers: Vec<(String, Box<dyn std::io::BufRead>)> = Vec::new();
    for name in &args.inputs {
        let r: Box<dyn std::io::BufRead> = if name == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            match std::fs::File::open(name) {
                Ok(f) => Box::new(std::io::BufReader::new(f)),
                Err(e) => return fail(format!("{name}: cannot open: {e}")),
            }
        };
        readers.push((name.clone(), r));
    }
    // All inputs form one stream: records of several sensors interleave in
    // the reorder buffer.
    let mut chained: Box<dyn std::io::BufRead> = Box::new(std::io::empty());
    for (_, r) in readers {
        chained = Box::new(std::io::Read::chain(chained, r));
    }
    let mut stats = EveStats::default();
    let mut builder = report
        .as_ref()
        .map(|_| gateward::report::ReportBuilder::new(Default::default()));
    let mut also = |o: &gateward::correlate::Observation| {
        if let Some(b) = builder.as_mut() {
            b.add_observation(o);
        }
    };
    let result = match &args.kafka_brokers {
        None => correlate_eve(
            &mut chained,
            &mut correlator,
            &mut out,
            &mut stats,
            &mut also,
        ),
        Some(brokers) => match correlate_from_kafka(
            &args,
            brokers,
            &mut correlator,
            &mut out,
            &mut stats,
            &mut also,
        ) {
            Ok(()) => Ok(()),
            Err(e) => return fail(e),
        },
    };
    if let (Some(target), Some(b)) = (report, builder) {
        let hosts = correlator.hosts_ranked();
        let run = gateward::report::RunSummary {
            inputs: args.inputs.clone(),
            host_alerts: correlator.stats().alerts,
            first_capture_time: hosts.iter().map(|h| h.first_seen.clone()).min(),
            last_capture_time: hosts.iter().map(|h| h.last_seen.clone()).max(),
            ..Default::default()
        };
        let r = b.finish(hosts, correlator.stats(), run);
        if let Err(e) = target.write(&r) {
            eprintln!("gateward: error: {e}");
            return ExitCode::from(1);
        }
    }
    if !args.quiet {
        eprintln!(
            "gateward: {} lines read ({} not JSON, {} too long), {} records correlated ({} late)",
            stats.lines, stats.invalid, stats.too_long, stats.observations, stats.late
        );
        print_correlation(&correlator);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gateward: error: {e}");
            ExitCode::from(1)
        }
    }
}

/// `correlate --kafka-brokers`: one member of the consumer group.
#[cfg(feature = "kafka")]
fn correlate_from_kafka(
    args: &CorrelateArgs,
    brokers: &str,
    correlator: &mut gateward::correlate::Correlator,
    out: &mut dyn Write,
    stats: &mut gateward::pipeline::eve::EveStats,
    also: &mut dyn FnMut(&gateward::correlate::Observation),
) -> Result<(), String> {
    let idle_exit = match args.idle_exit {
        None => None,
        Some(s) if s.is_finite() && (0.0..=1e6).contains(&s) => {
            Some(std::time::Duration::from_secs_f64(s))
        }
        Some(s) => {
            return Err(format!(
                "--idle-exit {s}: not a number of seconds from 0 to 1000000"
            ));
        }
    };
    let input = gateward::pipeline::eve_kafka::KafkaInput {
        brokers: brokers.to_owned(),
        topic: args.kafka_topic.clone(),
        group: args.kafka_group.clone(),
        idle_exit,
    };
    gateward::pipeline::eve_kafka::correlate_kafka(&input, correlator, out, stats, also)
}

/// Without the `kafka` feature: a clear error.
#[cfg(not(feature = "kafka"))]
fn correlate_from_kafka(
    _: &CorrelateArgs,
    _: &str,
    _: &mut gateward::correlate::Correlator,
    _: &mut dyn Write,
    _: &mut gateward::pipeline::eve::EveStats,
    _: &mut dyn FnMut(&gateward::correlate::Observation),
) -> Result<(), String> {
    Err("built without Kafka support: rebuild with --features kafka".into())
}

fn config_name(args: &AnalyzeArgs) -> String {
    args.config.as_ref().map_or_else(
        || "default configuration".to_string(),
        |p| p.display().to_string(),
    )
}

/// True when both paths name one existing file (same device and inode).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("gateward: error: {msg}");
    ExitCode::from(2)
}

fn analyze(args: AnalyzeArgs) -> ExitCode {
    let mut cfg = match &args.config {
        Some(path) => match Config::load(path) {
            Ok(c) => c,
            Err(e) => return fail(e),
        },
        None => Config::default(),
    };
    if args.all_flows {
        cfg.output.all_flows = true;
    }
    if let Some(n) = args.workers {
        cfg.pipeline.workers = n as usize;
    }
    let inputs: Vec<Input> = args
        .captures
        .iter()
        .map(|c| {
            if c == "-" {
                Input::Stdin
            } else {
                Input::Path(PathBuf::from(c))
            }
        })
        .collect();
    if inputs.iter().filter(|i| matches!(i, Input::Stdin)).count() > 1 {
        return fail("standard input (-) can be named only once");
    }
    let named: Vec<&std::path::Path> = [&args.output, &args.report.report]
        .into_iter()
        .flatten()
        .map(PathBuf::as_path)
        .collect();
    for out in named {
        if let Some(c) = args
            .captures
            .iter()
            .find(|c| same_file(out, std::path::Path::new(c)))
        {
            return fail(format!(
                "{}: is the input {c}; refusing to overwrite a capture with output",
                out.display()
            ));
        }
    }
    let ctx = match cfg.detect_ctx() {
        Ok(c) => std::sync::Arc::new(c),
        Err(e) => return fail(format!("{}: {e}", config_name(&args))),
    };
    // Warnings about an incomplete enrichment setup matter only to someone
    // who configured enrichment; the default is documented in the README.
    let e = &cfg.enrich;
    let configured = !(e.country_db.is_empty()
        && e.city_db.is_empty()
        && e.asn_db.is_empty()
        && e.feed.is_empty()
        && e.asn_list.is_empty());
    if !args.quiet && configured {
        for w in ctx.enrich.warnings() {
            eprintln!("gateward: warning: {w}");
        }
    }
    let out: Box<dyn Write + Send> = match &args.output {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Box::new(f),
            Err(e) => return fail(format!("{}: cannot create output: {e}", path.display())),
        },
        None => Box::new(std::io::stdout()),
    };
    let report = match args.report.open() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if report.is_some() && !cfg.correlate.enabled {
        return fail("--report needs the correlation stage (correlate.enabled = true)");
    }
    let stdout_free = args.output.is_some() || !std::io::stdout().is_terminal();
    let progress = (!args.quiet && stdout_free && std::io::stderr().is_terminal())
        .then(|| progress::Progress::start(&inputs));
    let outcome = pipeline::run_offline(&inputs, &cfg, ctx, out, report.is_some());
    drop(progress);
    if let (Some(target), Some(builder), Some(c)) =
        (report, outcome.report, outcome.correlator.as_ref())
    {
        let w = &outcome.stats.workers;
        let hosts = c.hosts_ranked();
        let run = gateward::report::RunSummary {
            inputs: args.captures.clone(),
            packets: w.packets,
            bytes: w.bytes,
            flows: w.flows,
            alerts: w.alerts,
            host_alerts: c.stats().alerts,
            elapsed_s: outcome.stats.elapsed_secs,
            first_capture_time: hosts.iter().map(|h| h.first_seen.clone()).min(),
            last_capture_time: hosts.iter().map(|h| h.last_seen.clone()).max(),
        };
        let r = builder.finish(hosts, c.stats(), run);
        if let Err(e) = target.write(&r) {
            eprintln!("gateward: error: {e}");
            return ExitCode::from(1);
        }
    }
    if !args.quiet {
        eprintln!("{}", outcome.stats.summary());
        if let Some(c) = &outcome.correlator {
            print_correlation(c);
        }
    }
    let mut code = ExitCode::SUCCESS;
    for e in &outcome.errors {
        eprintln!("gateward: error: {}: {}", e.input, e.error);
        code = ExitCode::from(1);
    }
    if outcome.stats.worker_panics > 0 {
        eprintln!(
            "gateward: error: {} worker thread(s) panicked; their flows are lost (please report this bug)",
            outcome.stats.worker_panics
        );
        code = ExitCode::from(1);
    }
    if let Some(e) = &outcome.output_error {
        eprintln!("gateward: error: writing output: {e}");
        code = ExitCode::from(1);
    }
    code
}
