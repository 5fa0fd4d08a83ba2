//! The byte movers under the sinks: a file opened for append, standard
//! output, Unix stream and datagram sockets, UDP, TCP and TLS over TCP.
//!
//! The plumbing they share (open lazily, write only when open, close so the
//! next attempt reconnects, ask a stream whether its peer is still there)
//! is [`Reconnecting`], once; each destination is only a [`Connect`]: how
//! to open it and how to write to what was opened. Errors go to the sink
//! thread, which backs off and retries.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How long a connect or a blocked write may take before it counts as a
/// failure (and the sink reconnects).
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// One destination as the sink thread drives it.
pub trait Transport: Send {
    /// Opens or connects when not already done.
    fn connect(&mut self) -> io::Result<()>;
    /// Whether a connection or file is open.
    fn is_open(&self) -> bool;
    /// Closes (the next write reconnects or reopens).
    fn close(&mut self);
    /// Writes some of `buf` (streams) or all of it as one datagram.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize>;
    /// Pushes buffered bytes out.
    fn flush(&mut self) -> io::Result<()>;
    /// For streams: false when the peer has closed or reset the connection,
    /// so nothing is written into a dead socket.
    fn alive(&mut self) -> bool;
}

/// What differs between destinations: how to open one, and how to use
/// what was opened. [`Reconnecting`] does the rest.
pub trait Connect: Send {
    /// An open file, socket or TLS session.
    type Conn: Send;
    /// Opens a new connection (called whenever none is open).
    fn connect(&mut self) -> io::Result<Self::Conn>;
    /// Writes some of `buf` (streams) or all of it as one datagram.
    fn write(conn: &mut Self::Conn, buf: &[u8]) -> io::Result<usize>;
    /// Pushes buffered bytes out (default: nothing is buffered).
    fn flush(_conn: &mut Self::Conn) -> io::Result<()> {
        Ok(())
    }
    /// False when the peer has gone (default: datagrams and files cannot
    /// tell, so true).
    fn alive(_conn: &mut Self::Conn) -> bool {
        true
    }
}

/// A destination opened on demand and reopened after [`Transport::close`]:
/// the one [`Transport`], generic over how to connect.
pub struct Reconnecting<C: Connect> {
    connector: C,
    conn: Option<C::Conn>,
}

impl<C: Connect> Reconnecting<C> {
    /// Not connected yet: the first write connects.
    pub fn new(connector: C) -> Self {
        Reconnecting {
            connector,
            conn: None,
        }
    }
}

impl<C: Connect> Transport for Reconnecting<C> {
    fn connect(&mut self) -> io::Result<()> {
        if self.conn.is_none() {
            self.conn = Some(self.connector.connect()?);
        }
        Ok(())
    }
    fn is_open(&self) -> bool {
        self.conn.is_some()
    }
    fn close(&mut self) {
        self.conn = None;
    }
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.conn {
            Some(c) => C::write(c, buf),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.conn.as_mut().map_or(Ok(()), C::flush)
    }
    fn alive(&mut self) -> bool {
        self.conn.as_mut().is_some_and(C::alive)
    }
}

/// A file opened for append (mode 0640 when created); reopened by path
/// after a close, which is how SIGHUP follows logrotate.
pub struct FileOut(pub PathBuf);

impl Connect for FileOut {
    type Conn = std::fs::File;
    fn connect(&mut self) -> io::Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .open(&self.0)
    }
    fn write(f: &mut std::fs::File, buf: &[u8]) -> io::Result<usize> {
        f.write(buf)
    }
}

/// Standard output (nothing to open).
pub struct StdoutOut;

impl Connect for StdoutOut {
    type Conn = ();
    fn connect(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn write(_: &mut (), buf: &[u8]) -> io::Result<usize> {
        io::stdout().lock().write(buf)
    }
    fn flush(_: &mut ()) -> io::Result<()> {
        io::stdout().lock().flush()
    }
}

/// Runs `check` on `s` switched to non-blocking (by `set`); false when
/// the switch fails either way.
fn nonblocking<S>(
    s: &mut S,
    set: impl Fn(&S, bool) -> io::Result<()>,
    check: impl FnOnce(&mut S) -> bool,
) -> bool {
    if set(s, true).is_err() {
        return false;
    }
    check(s) && set(s, false).is_ok()
}

/// Checks a stream socket without blocking: `Ok(0)` from a peek means the
/// peer closed; data waiting is left alone (syslog servers send none).
fn peer_alive(peek: impl FnOnce(&mut [u8]) -> io::Result<usize>) -> bool {
    let mut b = [0u8; 1];
    match peek(&mut b) {
        Ok(0) => false,
        Ok(_) => true,
        Err(e) => e.kind() == io::ErrorKind::WouldBlock,
    }
}

/// A Unix stream socket (newline-framed lines).
pub struct UnixStreamOut(pub PathBuf);

impl Connect for UnixStreamOut {
    type Conn = UnixStream;
    fn connect(&mut self) -> io::Result<UnixStream> {
        let s = UnixStream::connect(&self.0)?;
        s.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(s)
    }
    fn write(s: &mut UnixStream, buf: &[u8]) -> io::Result<usize> {
        s.write(buf)
    }
    fn alive(s: &mut UnixStream) -> bool {
        // `UnixStream::peek` is unstable: read instead (the reader of a log
        // socket sends nothing worth keeping).
        nonblocking(s, UnixStream::set_nonblocking, |s| {
            peer_alive(|b| s.read(b))
        })
    }
}

/// A Unix datagram socket (one line per datagram).
pub struct UnixDgramOut(pub PathBuf);

impl Connect for UnixDgramOut {
    type Conn = UnixDatagram;
    fn connect(&mut self) -> io::Result<UnixDatagram> {
        let s = UnixDatagram::unbound()?;
        s.connect(&self.0)?;
        s.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(s)
    }
    fn write(s: &mut UnixDatagram, buf: &[u8]) -> io::Result<usize> {
        s.send(buf)
    }
}

/// Resolves `host:port` (at every connect, so DNS changes are followed)
/// and returns the first address `open` succeeds with, or the last error.
fn connect_any<T>(
    address: &str,
    mut open: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let addrs: Vec<_> = address.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{address}: no address"),
        ));
    }
    let mut last = None;
    for a in addrs {
        match open(a) {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::ErrorKind::NotFound.into()))
}

/// UDP to one host `host:port` (one message per datagram).
pub struct UdpOut(pub String);

impl Connect for UdpOut {
    type Conn = UdpSocket;
    fn connect(&mut self) -> io::Result<UdpSocket> {
        connect_any(&self.0, |a| {
            let bind = if a.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
            let s = UdpSocket::bind(bind)?;
            s.connect(a)?;
            Ok(s)
        })
    }
    fn write(s: &mut UdpSocket, buf: &[u8]) -> io::Result<usize> {
        s.send(buf)
    }
}

/// A TCP connection with the sink's timeouts and no Nagle delay.
fn tcp_connect(address: &str) -> io::Result<TcpStream> {
    connect_any(address, |a| {
        let s = TcpStream::connect_timeout(&a, IO_TIMEOUT)?;
        s.set_write_timeout(Some(IO_TIMEOUT))?;
        s.set_read_timeout(Some(IO_TIMEOUT))?;
        s.set_nodelay(true)?;
        Ok(s)
    })
}

/// TCP to `host:port` (the caller frames: octet counting for syslog).
pub struct TcpOut(pub String);

impl Connect for TcpOut {
    type Conn = TcpStream;
    fn connect(&mut self) -> io::Result<TcpStream> {
        tcp_connect(&self.0)
    }
    fn write(s: &mut TcpStream, buf: &[u8]) -> io::Result<usize> {
        s.write(buf)
    }
    fn alive(s: &mut TcpStream) -> bool {
        nonblocking(s, TcpStream::set_nonblocking, |s| peer_alive(|b| s.peek(b)))
    }
}

/// TLS over TCP (RFC 5425) with rustls; the server certificate is checked
/// against `ca_file` or, without one, the Mozilla roots.
pub struct TlsOut {
    /// `host:port`.
    pub address: String,
    /// The name the server certificate must carry.
    pub server_name: rustls::pki_types::ServerName<'static>,
    /// Roots and protocol versions ([`tls_config`]).
    pub config: Arc<rustls::ClientConfig>,
}

/// Why a TLS client configuration could not be made (a bad `ca_file`).
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// `ca_file`.
        path: PathBuf,
        /// The reader's error.
        source: rustls::pki_types::pem::Error,
    },
    /// A PEM section could not be decoded.
    #[error("{}: {source}", path.display())]
    Pem {
        /// `ca_file`.
        path: PathBuf,
        /// The decoder's error.
        source: rustls::pki_types::pem::Error,
    },
    /// A certificate the root store refuses.
    #[error("{}: bad certificate: {source}", path.display())]
    BadCertificate {
        /// `ca_file`.
        path: PathBuf,
        /// rustls's reason.
        source: rustls::Error,
    },
    /// The file holds no certificate.
    #[error("{}: no PEM certificate found", path.display())]
    Empty {
        /// `ca_file`.
        path: PathBuf,
    },
    /// rustls refused the protocol versions.
    #[error("{0}")]
    Versions(rustls::Error),
}

/// The client configuration: roots from `ca_file` (PEM), or the Mozilla
/// roots when `None`.
pub fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, TlsConfigError> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(p) => {
            let path = || p.to_path_buf();
            let certs =
                CertificateDer::pem_file_iter(p).map_err(|source| TlsConfigError::Read {
                    path: path(),
                    source,
                })?;
            for c in certs {
                let c = c.map_err(|source| TlsConfigError::Pem {
                    path: path(),
                    source,
                })?;
                roots
                    .add(c)
                    .map_err(|source| TlsConfigError::BadCertificate {
                        path: path(),
                        source,
                    })?;
            }
            if roots.is_empty() {
                return Err(TlsConfigError::Empty { path: path() });
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsConfigError::Versions)?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// An established TLS session over its TCP socket.
type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

impl Connect for TlsOut {
    type Conn = TlsStream;
    fn connect(&mut self) -> io::Result<TlsStream> {
        let mut sock = tcp_connect(&self.address)?;
        let mut c = rustls::ClientConnection::new(self.config.clone(), self.server_name.clone())
            .map_err(io::Error::other)?;
        while c.is_handshaking() {
            c.complete_io(&mut sock)?;
        }
        Ok(rustls::StreamOwned::new(c, sock))
    }
    fn write(s: &mut TlsStream, buf: &[u8]) -> io::Result<usize> {
        let n = s.write(buf)?;
        // Only bytes on the wire count as written.
        s.flush()?;
        Ok(n)
    }
    fn alive(s: &mut TlsStream) -> bool {
        nonblocking(s, |s, nb| s.sock.set_nonblocking(nb), tls_peer_alive)
    }
}

/// Reads what the server sent without blocking: session tickets and
/// close_notify arrive here; anything else is read and ignored.
fn tls_peer_alive(s: &mut TlsStream) -> bool {
    loop {
        match s.conn.read_tls(&mut s.sock) {
            Ok(0) => return false,
            Ok(_) => {
                if s.conn.process_new_packets().is_err() {
                    return false;
                }
                let mut scratch = [0u8; 512];
                loop {
                    match s.conn.reader().read(&mut scratch) {
                        Ok(0) => return false, // close_notify
                        Ok(_) => continue,
                        Err(_) => break,
                    }
                }
            }
            Err(e) => return e.kind() == io::ErrorKind::WouldBlock,
        }
    }
}
