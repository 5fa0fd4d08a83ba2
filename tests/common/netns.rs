//! Two network namespaces joined by a veth pair, for the tests that run the
//! daemon on a real interface (`gw0` in each namespace) without touching the
//! host's network. Needs root and `ip netns`; callers skip when it fails.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Runs a command quietly; true when it exited 0.
pub fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Sends `sig` (e.g. "TERM", "HUP") to a child process.
pub fn signal(child: &Child, sig: &str) {
    assert!(sh(&["kill", &format!("-{sig}"), &child.id().to_string()]));
}

/// Waits for a child to exit, giving up after `limit`.
pub fn wait_timeout(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Namespaces A and B with `gw0` up in each; removed on drop.
pub struct Netns {
    pub a: String,
    pub b: String,
}

impl Netns {
    /// `tag` keeps the names of different test binaries apart; with
    /// `addresses`, A gets 10.99.7.1/24 and B 10.99.7.2/24 (and `lo` is up)
    /// so real clients and servers can talk across the pair.
    pub fn create(tag: &str, addresses: bool) -> Result<Netns, String> {
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        if !is_root {
            return Err("not running as root".into());
        }
        // Tests run in parallel threads of one process: the pid alone
        // would give two tests the same names.
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let id = std::process::id() % 10_000 * 10 + NEXT.fetch_add(1, Ordering::Relaxed) % 10;
        let n = Netns {
            a: format!("gw{tag}-a-{id}"),
            b: format!("gw{tag}-b-{id}"),
        };
        let va = format!("gw{tag}a{id}");
        let vb = format!("gw{tag}b{id}");
        let ok = sh(&["ip", "netns", "add", &n.a])
            && sh(&["ip", "netns", "add", &n.b])
            && sh(&[
                "ip", "link", "add", &va, "type", "veth", "peer", "name", &vb,
            ])
            && sh(&["ip", "link", "set", &va, "netns", &n.a])
            && sh(&["ip", "link", "set", &vb, "netns", &n.b]);
        if !ok {
            return Err("cannot create network namespaces / veth pair (`ip netns`)".into());
        }
        for (ns, dev, addr) in [(&n.a, &va, "10.99.7.1/24"), (&n.b, &vb, "10.99.7.2/24")] {
            let ok = (!addresses || sh(&["ip", "-n", ns, "addr", "add", addr, "dev", dev]))
                && sh(&["ip", "-n", ns, "link", "set", dev, "name", "gw0"])
                && sh(&["ip", "-n", ns, "link", "set", "gw0", "up"])
                && (!addresses || sh(&["ip", "-n", ns, "link", "set", "lo", "up"]));
            if !ok {
                return Err("cannot configure the veth pair".into());
            }
        }
        Ok(n)
    }

    /// A command that will run inside namespace `ns` (`self.a` or `self.b`).
    pub fn exec(&self, ns: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        sh(&["ip", "netns", "del", &self.a]);
        sh(&["ip", "netns", "del", &self.b]);
    }
}
