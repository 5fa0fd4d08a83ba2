//! The live daemon and its lab peers inside the namespaces of
//! [`super::netns::Netns`]: start `gateward run`, wait until it is ready,
//! steer it with signals, stop it; a web server and curl for traffic.
//! The live and replay tests used to inline these loops in every test.

use super::netns::{Netns, signal, wait_timeout};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_gateward");

/// How long `gateward run` may take to say `capturing on`.
pub const START_LIMIT: Duration = Duration::from_secs(10);

/// A child process killed (and reaped) when dropped, so a failing test
/// leaves no web server, rsyslogd or daemon behind in a namespace.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `gateward run --config CFG` inside namespace A, its stderr in a file
/// (read while it runs: readiness, reload and reopen messages). Killed on
/// drop if the test did not stop it.
pub struct Daemon {
    pub child: Child,
    err_path: PathBuf,
}

impl Daemon {
    /// Starts the daemon with `stdout` and waits until it is capturing: the
    /// one start-up sequence of every live test. Panics if it exits or does
    /// not get there within [`START_LIMIT`].
    pub fn start(ns: &Netns, cfg: &Path, stdout: Stdio, err_path: PathBuf) -> Daemon {
        let child = ns
            .exec(&ns.a)
            .arg(BIN)
            .args(["run", "--config"])
            .arg(cfg)
            .stdout(stdout)
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .unwrap();
        let mut d = Daemon { child, err_path };
        d.wait_for("capturing on", START_LIMIT);
        d
    }

    /// What the daemon has written to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err_path).unwrap_or_default()
    }

    /// Waits until stderr contains `what`; panics, naming it, when the
    /// daemon exits first or `limit` passes.
    pub fn wait_for(&mut self, what: &str, limit: Duration) {
        let until = Instant::now() + limit;
        while !self.stderr().contains(what) {
            if Instant::now() > until || self.child.try_wait().unwrap().is_some() {
                let _ = self.child.kill();
                panic!("daemon: never saw `{what}` on stderr: {}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits up to `limit` for stderr to contain `what`; true if it did.
    /// For the callers that assert on it themselves, or only need a pause
    /// until the daemon has acted on a signal.
    pub fn saw(&self, what: &str, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        while !self.stderr().contains(what) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.stderr().contains(what)
    }

    /// Sends `sig` ("HUP", "USR2", "TERM").
    pub fn signal(&self, sig: &str) {
        signal(&self.child, sig);
    }

    /// True while the daemon has not exited.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGTERM and wait up to `limit` for the exit; panics (after killing
    /// it) when it does not stop in time. The caller checks the status.
    pub fn stop(&mut self, limit: Duration) -> ExitStatus {
        self.signal("TERM");
        match wait_timeout(&mut self.child, limit) {
            Some(status) => status,
            None => {
                let _ = self.child.kill();
                panic!(
                    "daemon did not stop within {} s: {}",
                    limit.as_secs(),
                    self.stderr()
                );
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `python3 -m http.server 8080` in namespace A on 10.99.7.1, serving
/// `dir`: the web server (or "proxy") every live test sends requests to.
pub fn web_server(ns: &Netns, dir: &Path) -> Guard {
    Guard(
        ns.exec(&ns.a)
            .args([
                "python3",
                "-m",
                "http.server",
                "8080",
                "--bind",
                "10.99.7.1",
            ])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// `curl -s -o /dev/null ARGS...` from namespace B, retried for up to about
/// five seconds (the web server may still be starting); true once one
/// attempt succeeded.
pub fn curl_from_b(ns: &Netns, args: &[&str]) -> bool {
    for _ in 0..50 {
        let ok = ns
            .exec(&ns.b)
            .args(["curl", "-s", "-o", "/dev/null"])
            .args(args)
            .status()
            .unwrap()
            .success();
        if ok {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A request through the web server used as a forward proxy: an
/// absolute-form request that gateward flags as `proxy/http_proxy`.
pub fn proxy_request(ns: &Netns, url: &str) -> bool {
    curl_from_b(ns, &["-x", "http://10.99.7.1:8080", url])
}
