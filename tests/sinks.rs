//! Sinks against real listeners: a file renamed under the sink (logrotate),
//! Unix stream and datagram sockets, syslog over UDP, TCP and TLS parsed as
//! RFC 5424 with RFC 6587 octet counting, a TCP outage under both when-full
//! policies (every line delivered or counted), and a real rsyslogd when the
//! machine has one (`.ci/install-deps.sh` installs it).

use gateward::sink::{
    FileSink, SinkConfig, SinkSet, SyslogProtocol, SyslogSink, UnixSink, WhenFull,
};
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;

use common::{alert_lines, or_skip, tool, wait_until};

/// An alert line with flow id and sequence number `i`.
fn alert(i: usize) -> String {
    common::alert_line(i, i)
}

/// Alert lines `from..to` (flow id = sequence number).
fn lines(from: usize, to: usize) -> Vec<u8> {
    alert_lines(from, to, 0)
}

fn seq_of(json: &str) -> usize {
    let v: serde_json::Value = serde_json::from_str(json).expect("intact JSON");
    v["seq"].as_u64().expect("seq") as usize
}

/// A file sink appending to `path`.
fn file_sink(path: &Path) -> SinkConfig {
    SinkConfig::File(FileSink {
        path: Some(path.to_path_buf()),
        ..Default::default()
    })
}

/// A Unix socket sink to `path` (stream or datagram by the variant).
fn unix_sink(path: PathBuf) -> UnixSink {
    UnixSink {
        path: Some(path),
        ..Default::default()
    }
}

/// Fields of one RFC 5424 message: (pri, hostname, app, procid, msgid, msg).
fn parse5424(m: &str) -> (u8, String, String, String, String, String) {
    let rest = m.strip_prefix('<').expect("<PRI>");
    let (pri, rest) = rest.split_once('>').expect("PRI>");
    let f: Vec<&str> = rest.splitn(8, ' ').collect();
    assert_eq!(f.len(), 8, "{m}");
    assert_eq!(f[0], "1", "VERSION");
    assert!(
        f[1].ends_with('Z') && f[1].contains('T'),
        "TIMESTAMP {}",
        f[1]
    );
    assert_eq!(f[6], "-", "STRUCTURED-DATA");
    (
        pri.parse().expect("PRI number"),
        f[2].into(),
        f[3].into(),
        f[4].into(),
        f[5].into(),
        f[7].into(),
    )
}

/// Reads RFC 6587 octet-counted frames until EOF or `max` frames.
fn read_octet_frames(r: &mut impl Read, max: usize) -> Vec<String> {
    let mut r = BufReader::new(r);
    let mut out = Vec::new();
    while out.len() < max {
        let mut len = Vec::new();
        if r.read_until(b' ', &mut len).unwrap_or(0) == 0 {
            break;
        }
        let n: usize = std::str::from_utf8(&len[..len.len() - 1])
            .expect("ascii length")
            .parse()
            .expect("octet count");
        let mut msg = vec![0u8; n];
        r.read_exact(&mut msg).expect("whole frame");
        out.push(String::from_utf8(msg).expect("utf-8"));
    }
    out
}

fn read_seqs(path: &Path) -> Vec<usize> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(seq_of)
        .collect()
}

#[test]
fn file_sink_appends_and_reopens_after_rename() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eve.json");
    std::fs::write(&path, "").unwrap();
    let set = SinkSet::from_config(&[file_sink(&path)]).unwrap();
    for chunk in 0..10 {
        set.send(&lines(chunk * 50, chunk * 50 + 50));
    }
    wait_until("500 lines written", Duration::from_secs(10), || {
        set.counters()[0].sent == 500
    });
    let rotated = dir.path().join("eve.json.1");
    std::fs::rename(&path, &rotated).unwrap();
    set.reopen();
    set.send(&lines(500, 1000));
    let c = set.shutdown(Duration::from_secs(5));
    assert_eq!((c[0].sent, c[0].dropped, c[0].errors), (1000, 0, 0));
    assert_eq!(read_seqs(&rotated), (0..500).collect::<Vec<_>>());
    assert_eq!(read_seqs(&path), (500..1000).collect::<Vec<_>>());
}

#[test]
fn file_sink_counts_a_partial_last_line_and_skips_empty_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eve.json");
    let set = SinkSet::from_config(&[file_sink(&path)]).unwrap();
    set.send(format!("{}\n\n{}", alert(1), alert(2)).as_bytes());
    let c = set.shutdown(Duration::from_secs(5));
    assert_eq!(c[0].sent, 2);
    assert_eq!(read_seqs(&path), vec![1, 2]);
}

#[test]
fn unix_stream_sink_delivers_newline_framed_lines() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("s.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        BufReader::new(s)
            .lines()
            .map(|l| seq_of(&l.unwrap()))
            .collect::<Vec<_>>()
    });
    let set = SinkSet::from_config(&[SinkConfig::UnixStream(unix_sink(sock))]).unwrap();
    set.send(&lines(0, 300));
    let c = set.shutdown(Duration::from_secs(5));
    assert_eq!((c[0].sent, c[0].dropped), (300, 0));
    assert_eq!(server.join().unwrap(), (0..300).collect::<Vec<_>>());
}

#[test]
fn unix_dgram_sink_sends_one_line_per_datagram() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("d.sock");
    let rx = std::os::unix::net::UnixDatagram::bind(&sock).unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut c = unix_sink(sock);
    c.common.when_full = Some(WhenFull::Block);
    let set = SinkSet::from_config(&[SinkConfig::UnixDgram(c)]).unwrap();
    let server = std::thread::spawn(move || {
        let mut buf = vec![0u8; 70_000];
        (0..100)
            .map(|_| {
                let n = rx.recv(&mut buf).unwrap();
                assert_ne!(buf[n - 1], b'\n');
                seq_of(std::str::from_utf8(&buf[..n]).unwrap())
            })
            .collect::<Vec<_>>()
    });
    set.send(&lines(0, 100));
    assert_eq!(server.join().unwrap(), (0..100).collect::<Vec<_>>());
    let c = set.shutdown(Duration::from_secs(5));
    assert_eq!((c[0].sent, c[0].dropped), (100, 0));
}

/// A syslog sink to `address` with fast retries.
fn syslog_sink(address: String, protocol: SyslogProtocol) -> SyslogSink {
    let mut c = SyslogSink {
        address: Some(address),
        protocol: Some(protocol),
        hostname: Some("gw-test".into()),
        ..Default::default()
    };
    c.common.retry_min_ms = 10;
    c.common.retry_max_ms = 50;
    c
}

#[test]
fn syslog_udp_sends_rfc5424_datagrams() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let addr = rx.local_addr().unwrap().to_string();
    let mut c = syslog_sink(addr, SyslogProtocol::Udp);
    c.common.when_full = Some(WhenFull::Block);
    let set = SinkSet::from_config(&[SinkConfig::Syslog(c)]).unwrap();
    set.send(&lines(0, 50));
    set.send(b"{\"event_type\":\"flow\",\"seq\":50}\n");
    let mut buf = vec![0u8; 70_000];
    for i in 0..51 {
        let n = rx.recv(&mut buf).unwrap();
        let (pri, host, app, procid, msgid, msg) =
            parse5424(std::str::from_utf8(&buf[..n]).unwrap());
        assert_eq!(seq_of(&msg), i);
        assert_eq!((host.as_str(), app.as_str()), ("gw-test", "gateward"));
        assert_eq!(procid, std::process::id().to_string());
        if i < 50 {
            // local0 (16) * 8 + err (3): alert severity 2.
            assert_eq!((pri, msgid.as_str()), (131, "alert"));
        } else {
            assert_eq!((pri, msgid.as_str()), (134, "flow"));
        }
    }
    let c = set.shutdown(Duration::from_secs(5));
    assert_eq!((c[0].sent, c[0].dropped, c[0].truncated), (51, 0, 0));
}

#[test]
fn syslog_udp_truncates_oversized_messages_and_counts_them() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut c = syslog_sink(rx.local_addr().unwrap().to_string(), SyslogProtocol::Udp);
    c.common.when_full = Some(WhenFull::Block);
    let set = SinkSet::from_config(&[SinkConfig::Syslog(c)]).unwrap();
    let big = format!(
        "{{\"event_type\":\"flow\",\"pad\":\"{}\"}}\n",
        "x".repeat(70_000)
    );
    set.send(big.as_bytes());
    let mut buf = vec![0u8; 70_000];
    let n = rx.recv(&mut buf).unwrap();
    assert_eq!(n, gateward::sink::syslog::MAX_UDP_MESSAGE);
    let c = set.shutdown(Duration::from_secs(5));
    assert_eq!((c[0].sent, c[0].truncated), (1, 1));
}

#[test]
fn syslog_tcp_uses_octet_counting() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        read_octet_frames(&mut s, usize::MAX)
    });
    let mut c = syslog_sink(addr, SyslogProtocol::Tcp);
    c.facility = Some(gateward::sink::syslog::Facility::Daemon);
    let set = SinkSet::from_config(&[SinkConfig::Syslog(c)]).unwrap();
    set.send(&lines(0, 200));
    let c = set.shutdown(Duration::from_secs(5));
    assert_eq!((c[0].sent, c[0].dropped), (200, 0));
    let frames = server.join().unwrap();
    let seqs: Vec<usize> = frames
        .iter()
        .map(|f| {
            let (pri, _, _, _, msgid, msg) = parse5424(f);
            assert_eq!((pri, msgid.as_str()), (3 * 8 + 3, "alert"));
            seq_of(&msg)
        })
        .collect();
    assert_eq!(seqs, (0..200).collect::<Vec<_>>());
}

/// The peer goes away after 100 lines and comes back on the same port:
/// with `block` every line arrives once, in order.
#[test]
fn syslog_tcp_outage_with_block_loses_nothing() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (closed_tx, closed_rx) = std::sync::mpsc::channel();
    let first = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let got = read_octet_frames(&mut s, 100);
        drop(s);
        drop(listener);
        closed_tx.send(()).unwrap();
        got
    });
    let mut c = syslog_sink(addr.to_string(), SyslogProtocol::Tcp);
    c.common.when_full = Some(WhenFull::Block);
    c.common.queue = 1000;
    let set = SinkSet::from_config(&[SinkConfig::Syslog(c)]).unwrap();
    set.send(&lines(0, 100));
    closed_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    set.send(&lines(100, 300));
    // Let the sink fail to reconnect a few times.
    wait_until("a failed reconnect", Duration::from_secs(10), || {
        set.counters()[0].errors >= 2
    });
    let listener = TcpListener::bind(addr).unwrap();
    let second = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        read_octet_frames(&mut s, usize::MAX)
    });
    let c = set.shutdown(Duration::from_secs(10));
    let mut frames = first.join().unwrap();
    frames.extend(second.join().unwrap());
    let seqs: Vec<usize> = frames.iter().map(|f| seq_of(&parse5424(f).5)).collect();
    // The first peer's 100 lines come again from the resend window (it
    // closed, so what it read cannot be known), counted as `resent`; then
    // the rest, in order.
    let mut want: Vec<usize> = (0..100).collect();
    want.extend(0..300);
    assert_eq!(seqs, want);
    assert_eq!((c[0].sent, c[0].dropped, c[0].resent), (300, 0, 100));
    assert_eq!(seqs.len() as u64, c[0].sent + c[0].resent);
    assert!(c[0].retried >= 1 && c[0].errors >= 2, "{:?}", c[0]);
}

/// Issue 15's outage: the receiver stops reading (its buffers and ours
/// fill), then dies without reading them. Without the resend window every
/// line in those buffers was counted as sent and lost; with it, each line
/// produced arrives at least once, and the duplicates are counted.
#[test]
fn syslog_tcp_receiver_that_freezes_then_dies_loses_nothing() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (froze_tx, froze_rx) = std::sync::mpsc::channel();
    let (kill_tx, kill_rx) = std::sync::mpsc::channel::<()>();
    let first = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let got = read_octet_frames(&mut s, 500);
        froze_tx.send(()).unwrap();
        // Frozen: reads nothing more until killed; closing a socket with
        // unread data sends a reset, as a killed process's would.
        kill_rx.recv().unwrap();
        drop(s);
        drop(listener);
        got
    });
    let mut c = syslog_sink(addr.to_string(), SyslogProtocol::Tcp);
    c.common.when_full = Some(WhenFull::Block);
    c.common.queue = 20_000;
    c.common.retry_min_ms = 10;
    c.common.retry_max_ms = 50;
    let set = SinkSet::from_config(&[SinkConfig::Syslog(c)]).unwrap();
    let total = 10_000;
    set.send(&lines(0, 500));
    froze_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    set.send(&lines(500, total));
    // Let the kernel buffers fill while the receiver is frozen.
    std::thread::sleep(Duration::from_millis(500));
    kill_tx.send(()).unwrap();
    let mut frames = first.join().unwrap();
    let listener = TcpListener::bind(addr).unwrap();
    let second = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        read_octet_frames(&mut s, usize::MAX)
    });
    let c = set.shutdown(Duration::from_secs(20));
    frames.extend(second.join().unwrap());
    let seqs: Vec<usize> = frames.iter().map(|f| seq_of(&parse5424(f).5)).collect();
    let distinct: std::collections::BTreeSet<usize> = seqs.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        total,
        "every line produced arrives: {:?}",
        c[0]
    );
    assert_eq!((c[0].sent, c[0].dropped), (total as u64, 0));
    assert!(c[0].resent > 0, "{:?}", c[0]);
    // Received = sent + the duplicates, and the duplicates are at most the
    // lines resent.
    let duplicates = (seqs.len() - distinct.len()) as u64;
    assert!(
        duplicates <= c[0].resent,
        "{duplicates} duplicates, {:?}",
        c[0]
    );
}

/// A TCP syslog sink with `when_full` and `queue` aimed at a loopback
/// address nobody listens on (bound, then released): a peer that is down.
/// Returns the address, for a test that brings the peer up later.
fn tcp_sink_to_nobody(when_full: WhenFull, queue: usize) -> (std::net::SocketAddr, SinkSet) {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut c = syslog_sink(port.to_string(), SyslogProtocol::Tcp);
    c.common.when_full = Some(when_full);
    c.common.queue = queue;
    (
        port,
        SinkSet::from_config(&[SinkConfig::Syslog(c)]).unwrap(),
    )
}

/// A dead peer and a queue of 10 under `drop_newest`: what is not
/// delivered is counted, exactly.
#[test]
fn syslog_tcp_outage_with_drop_newest_counts_every_drop() {
    let (port, set) = tcp_sink_to_nobody(WhenFull::DropNewest, 10);
    for i in 0..1000 {
        set.send(&lines(i, i + 1));
    }
    // Room for 10 queued lines plus a batch of at most 10 the sink thread
    // took.
    let mid = set.counters()[0].clone();
    assert!(mid.dropped >= 1000 - 20, "{mid:?}");
    let listener = TcpListener::bind(port).unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        read_octet_frames(&mut s, usize::MAX)
    });
    wait_until("the queue to drain", Duration::from_secs(10), || {
        set.counters()[0].queued == 0
    });
    let c = set.shutdown(Duration::from_secs(5));
    let got = server.join().unwrap();
    assert_eq!(c[0].sent + c[0].dropped, 1000, "{:?}", c[0]);
    assert_eq!(got.len() as u64, c[0].sent);
    assert!(c[0].sent >= 10 && c[0].sent <= 20, "{:?}", c[0]);
    // The survivors arrive once each, in order, starting with the first.
    let seqs: Vec<usize> = got.iter().map(|f| seq_of(&parse5424(f).5)).collect();
    assert_eq!(seqs[0], 0);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
}

/// A peer that never comes back: the shutdown deadline turns what is
/// queued into counted drops, and shutdown returns in time.
#[test]
fn shutdown_deadline_counts_undeliverable_lines() {
    let (_, set) = tcp_sink_to_nobody(WhenFull::Block, 100);
    set.send(&lines(0, 50));
    let t = Instant::now();
    let c = set.shutdown(Duration::from_millis(300));
    assert!(t.elapsed() < Duration::from_secs(3));
    assert_eq!((c[0].sent, c[0].dropped), (0, 50));
}

#[test]
fn syslog_tls_verifies_the_server_and_uses_octet_counting() {
    use std::sync::Arc;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_cfg = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let conn = rustls::ServerConnection::new(server_cfg).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, s);
        read_octet_frames(&mut tls, 100)
    });
    let mut c = syslog_sink(addr, SyslogProtocol::Tls);
    c.ca_file = Some(ca);
    c.server_name = Some("localhost".into());
    let set = SinkSet::from_config(&[SinkConfig::Syslog(c)]).unwrap();
    set.send(&lines(0, 100));
    let frames = server.join().unwrap();
    let c = set.shutdown(Duration::from_secs(5));
    assert_eq!((c[0].sent, c[0].dropped), (100, 0));
    let seqs: Vec<usize> = frames.iter().map(|f| seq_of(&parse5424(f).5)).collect();
    assert_eq!(seqs, (0..100).collect::<Vec<_>>());
}

#[test]
fn config_errors_name_the_sink() {
    // The configuration check (`gateward validate`, and every load) names
    // the sink, and so does opening the set directly.
    let text = "[[output.sink]]\ntype = \"stdout\"\n[[output.sink]]\ntype = \"syslog\"\naddress = \"nohost\"\n";
    let e = gateward::config::Config::parse(text, "t")
        .unwrap_err()
        .to_string();
    assert!(e.contains("output.sink[1]:"), "{e}");
    let sinks: Vec<gateward::sink::SinkConfig> = toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|t| t.get("output").cloned())
        .and_then(|o| o.get("sink").cloned())
        .and_then(|v| v.try_into().ok())
        .expect("sink tables deserialise");
    let e = SinkSet::from_config(&sinks).err().unwrap().to_string();
    assert!(e.starts_with("output.sink[1]:"), "{e}");
    let e = gateward::config::Config::parse("[[output.sink]]\ntype = \"file\"\npth = \"x\"\n", "t")
        .unwrap_err()
        .to_string();
    assert!(e.contains("output.sink[0].pth"), "{e}");
    let e = gateward::config::Config::parse("[[output.sink]]\ntype = \"kafka\"\n", "t")
        .unwrap_err()
        .to_string();
    // A known type: refused at validation, with the reason.
    let want = if cfg!(feature = "kafka") {
        "output.sink[0]: `brokers`"
    } else {
        "output.sink[0]: built without Kafka support: rebuild with --features kafka"
    };
    assert!(e.contains(want), "{e}");
    let c = file_sink(Path::new("/nonexistent-dir/eve.json"));
    let e = SinkSet::from_config(&[c]).err().unwrap().to_string();
    assert!(e.starts_with("output.sink[0] (file:/nonexistent-dir/eve.json): cannot open"));
}

// ---- real rsyslog ----------------------------------------------------------

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Rsyslog {
    child: std::process::Child,
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts rsyslogd in the foreground with TCP and UDP inputs on `port`
/// writing `%msgid% %syslogseverity% %msg%` lines to `out`.
fn start_rsyslog(bin: &Path, dir: &Path, port: u16, out: &Path) -> Rsyslog {
    let conf = dir.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{dir}" maxMessageSize="64k")
module(load="imtcp")
module(load="imudp")
input(type="imtcp" address="127.0.0.1" port="{port}")
input(type="imudp" address="127.0.0.1" port="{port}")
template(name="gw" type="string" string="%msgid% %syslogseverity% %app-name% %msg%\n")
*.* action(type="omfile" file="{out}" template="gw")
"#,
            dir = dir.display(),
            out = out.display()
        ),
    )
    .unwrap();
    let child = std::process::Command::new(bin)
        .arg("-n")
        .arg("-f")
        .arg(&conf)
        .arg("-i")
        .arg(dir.join("rsyslog.pid"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("start rsyslogd");
    let r = Rsyslog { child };
    wait_until("rsyslogd to listen", Duration::from_secs(15), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    r
}

/// A real rsyslogd's setup: a fresh directory, a free loopback port and
/// the file it writes what it receives to; both rsyslog tests start with it.
struct RealRsyslog {
    bin: PathBuf,
    dir: tempfile::TempDir,
    out: PathBuf,
    port: u16,
}

impl RealRsyslog {
    /// Starts rsyslogd and a `block` syslog sink of `protocol` aimed at it;
    /// `None`, after reporting the skip, when rsyslogd is not installed.
    fn start(protocol: SyslogProtocol) -> Option<(RealRsyslog, Rsyslog, SinkSet)> {
        let bin = or_skip(tool("rsyslogd"))?;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("received.log");
        let port = free_port();
        let lab = RealRsyslog {
            bin,
            dir,
            out,
            port,
        };
        let rs = lab.restart();
        let mut c = syslog_sink(format!("127.0.0.1:{port}"), protocol);
        c.common.when_full = Some(WhenFull::Block);
        let set = SinkSet::from_config(&[SinkConfig::Syslog(c)]).unwrap();
        Some((lab, rs, set))
    }

    /// Starts rsyslogd (again) on the same port, appending to the same file.
    fn restart(&self) -> Rsyslog {
        start_rsyslog(&self.bin, self.dir.path(), self.port, &self.out)
    }

    /// The sequence numbers received so far, in order.
    fn seqs(&self) -> Vec<usize> {
        rsyslog_seqs(&self.out)
    }
}

fn rsyslog_seqs(out: &Path) -> Vec<usize> {
    let text = std::fs::read_to_string(out).unwrap_or_default();
    // Only whole lines: rsyslogd may be halfway through writing the last.
    let whole = text.rfind('\n').map_or("", |i| &text[..i]);
    whole
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(4, ' ');
            let (msgid, sev, app, msg) = (f.next()?, f.next()?, f.next()?, f.next()?);
            assert_eq!((msgid, sev, app), ("alert", "3", "gateward"), "{l}");
            Some(seq_of(msg.trim_start()))
        })
        .collect()
}

/// Alerts through the TCP sink reach a real rsyslogd with their JSON
/// intact; rsyslogd is then killed while alerts flow and restarted: with
/// `block`, every alert arrives, and the ones that arrive twice are the
/// resend window's (counted in `resent`).
#[test]
fn real_rsyslog_receives_alerts_over_tcp_and_survives_a_restart() {
    let Some((lab, rs, set)) = RealRsyslog::start(SyslogProtocol::Tcp) else {
        return;
    };
    set.send(&lines(0, 100));
    wait_until(
        "100 alerts in rsyslog's file",
        Duration::from_secs(20),
        || lab.seqs().len() >= 100,
    );
    assert_eq!(lab.seqs(), (0..100).collect::<Vec<_>>());
    drop(rs); // SIGKILL
    set.send(&lines(100, 200));
    wait_until("a failed reconnect", Duration::from_secs(10), || {
        set.counters()[0].errors >= 1
    });
    let _rs = lab.restart();
    let distinct = || {
        lab.seqs()
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
    };
    wait_until(
        "200 distinct alerts in rsyslog's file",
        Duration::from_secs(30),
        || distinct().len() >= 200,
    );
    let c = set.shutdown(Duration::from_secs(5));
    assert_eq!(distinct(), (0..200).collect());
    assert_eq!((c[0].sent, c[0].dropped), (200, 0));
    // The killed daemon's lines came again from the resend window: the
    // file holds each line once or twice, the twice ones among `resent`.
    let received = lab.seqs().len() as u64;
    assert!(
        received >= 200 && received <= 200 + c[0].resent,
        "{received} lines, {:?}",
        c[0]
    );
}

/// The UDP sink into a real rsyslogd.
#[test]
fn real_rsyslog_receives_alerts_over_udp() {
    let Some((lab, _rs, set)) = RealRsyslog::start(SyslogProtocol::Udp) else {
        return;
    };
    // Loopback UDP into a listening daemon; paced so its socket buffer
    // never overflows.
    for i in 0..50 {
        set.send(&lines(i, i + 1));
        std::thread::sleep(Duration::from_millis(2));
    }
    wait_until(
        "50 alerts in rsyslog's file",
        Duration::from_secs(20),
        || lab.seqs().len() >= 50,
    );
    let c = set.shutdown(Duration::from_secs(5));
    assert_eq!(lab.seqs(), (0..50).collect::<Vec<_>>());
    assert_eq!(c[0].sent, 50);
}
