//! The byte movers under the sinks: a file opened for append, standard
//! output, Unix stream and datagram sockets, UDP, TCP and TLS over TCP. Each
//! connects lazily, reports errors to the sink thread (which backs off and
//! retries) and can tell whether a stream's peer has gone away before data
//! is written into a dead connection.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How long a connect or a blocked write may take before it counts as a
/// failure (and the sink reconnects).
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// One destination.
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
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// For streams: false when the peer has closed or reset the connection,
    /// so nothing is written into a dead socket.
    fn alive(&mut self) -> bool {
        true
    }
}

/// A file opened for append (mode 0640 when created); reopened by path
/// after [`Transport::close`], which is how SIGHUP follows logrotate.
pub struct FileOut {
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl FileOut {
    /// A file sink for `path` (not opened yet).
    pub fn new(path: PathBuf) -> Self {
        FileOut { path, file: None }
    }
}

impl Transport for FileOut {
    fn connect(&mut self) -> io::Result<()> {
        if self.file.is_none() {
            let f = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o640)
                .open(&self.path)?;
            self.file = Some(f);
        }
        Ok(())
    }
    fn is_open(&self) -> bool {
        self.file.is_some()
    }
    fn close(&mut self) {
        self.file = None;
    }
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(io::Error::new(io::ErrorKind::NotConnected, "file not open")),
        }
    }
}

/// Standard output.
pub struct StdoutOut;

impl Transport for StdoutOut {
    fn connect(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn is_open(&self) -> bool {
        true
    }
    fn close(&mut self) {}
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::stdout().lock().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        io::stdout().lock().flush()
    }
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
pub struct UnixStreamOut {
    path: PathBuf,
    sock: Option<UnixStream>,
}

impl UnixStreamOut {
    /// Connects to `path` lazily.
    pub fn new(path: PathBuf) -> Self {
        UnixStreamOut { path, sock: None }
    }
}

impl Transport for UnixStreamOut {
    fn connect(&mut self) -> io::Result<()> {
        if self.sock.is_none() {
            let s = UnixStream::connect(&self.path)?;
            s.set_write_timeout(Some(IO_TIMEOUT))?;
            self.sock = Some(s);
        }
        Ok(())
    }
    fn is_open(&self) -> bool {
        self.sock.is_some()
    }
    fn close(&mut self) {
        self.sock = None;
    }
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.sock {
            Some(s) => s.write(buf),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }
    fn alive(&mut self) -> bool {
        let Some(s) = &self.sock else { return false };
        if s.set_nonblocking(true).is_err() {
            return false;
        }
        // `UnixStream::peek` is unstable: read instead (the reader of a log
        // socket sends nothing worth keeping).
        let mut r: &UnixStream = s;
        let alive = peer_alive(|b| r.read(b));
        alive && s.set_nonblocking(false).is_ok()
    }
}

/// A Unix datagram socket (one line per datagram).
pub struct UnixDgramOut {
    path: PathBuf,
    sock: Option<UnixDatagram>,
}

impl UnixDgramOut {
    /// Sends to `path`.
    pub fn new(path: PathBuf) -> Self {
        UnixDgramOut { path, sock: None }
    }
}

impl Transport for UnixDgramOut {
    fn connect(&mut self) -> io::Result<()> {
        if self.sock.is_none() {
            let s = UnixDatagram::unbound()?;
            s.connect(&self.path)?;
            s.set_write_timeout(Some(IO_TIMEOUT))?;
            self.sock = Some(s);
        }
        Ok(())
    }
    fn is_open(&self) -> bool {
        self.sock.is_some()
    }
    fn close(&mut self) {
        self.sock = None;
    }
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &self.sock {
            Some(s) => s.send(buf),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

/// Resolves `host:port` (at every connect, so DNS changes are followed).
fn resolve(address: &str) -> io::Result<Vec<std::net::SocketAddr>> {
    let addrs: Vec<_> = address.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{address}: no address"),
        ));
    }
    Ok(addrs)
}

/// UDP to one host (one message per datagram).
pub struct UdpOut {
    address: String,
    sock: Option<UdpSocket>,
}

impl UdpOut {
    /// Sends to `address` (`host:port`).
    pub fn new(address: String) -> Self {
        UdpOut {
            address,
            sock: None,
        }
    }
}

impl Transport for UdpOut {
    fn connect(&mut self) -> io::Result<()> {
        if self.sock.is_none() {
            let mut last = None;
            for a in resolve(&self.address)? {
                let bind = if a.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
                match UdpSocket::bind(bind).and_then(|s| s.connect(a).map(|_| s)) {
                    Ok(s) => {
                        self.sock = Some(s);
                        return Ok(());
                    }
                    Err(e) => last = Some(e),
                }
            }
            return Err(last.unwrap_or_else(|| io::ErrorKind::NotFound.into()));
        }
        Ok(())
    }
    fn is_open(&self) -> bool {
        self.sock.is_some()
    }
    fn close(&mut self) {
        self.sock = None;
    }
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &self.sock {
            Some(s) => s.send(buf),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

fn tcp_connect(address: &str) -> io::Result<TcpStream> {
    let mut last = None;
    for a in resolve(address)? {
        match TcpStream::connect_timeout(&a, IO_TIMEOUT) {
            Ok(s) => {
                s.set_write_timeout(Some(IO_TIMEOUT))?;
                s.set_read_timeout(Some(IO_TIMEOUT))?;
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::ErrorKind::NotFound.into()))
}

/// TCP (the caller frames: octet counting for syslog).
pub struct TcpOut {
    address: String,
    sock: Option<TcpStream>,
}

impl TcpOut {
    /// Connects to `address` (`host:port`) lazily.
    pub fn new(address: String) -> Self {
        TcpOut {
            address,
            sock: None,
        }
    }
}

impl Transport for TcpOut {
    fn connect(&mut self) -> io::Result<()> {
        if self.sock.is_none() {
            self.sock = Some(tcp_connect(&self.address)?);
        }
        Ok(())
    }
    fn is_open(&self) -> bool {
        self.sock.is_some()
    }
    fn close(&mut self) {
        self.sock = None;
    }
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.sock {
            Some(s) => s.write(buf),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }
    fn alive(&mut self) -> bool {
        let Some(s) = &self.sock else { return false };
        if s.set_nonblocking(true).is_err() {
            return false;
        }
        let alive = peer_alive(|b| s.peek(b));
        alive && s.set_nonblocking(false).is_ok()
    }
}

/// TLS over TCP (RFC 5425) with rustls; the server certificate is checked
/// against `ca_file` or, without one, the Mozilla roots.
pub struct TlsOut {
    address: String,
    server_name: rustls::pki_types::ServerName<'static>,
    config: Arc<rustls::ClientConfig>,
    conn: Option<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>,
}

impl TlsOut {
    /// Connects to `address`, verifying the certificate for `server_name`.
    pub fn new(
        address: String,
        server_name: rustls::pki_types::ServerName<'static>,
        config: Arc<rustls::ClientConfig>,
    ) -> Self {
        TlsOut {
            address,
            server_name,
            config,
            conn: None,
        }
    }
}

/// The client configuration: roots from `ca_file` (PEM), or the Mozilla
/// roots when `None`.
pub fn tls_config(ca_file: Option<&std::path::Path>) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(p) => {
            let certs = CertificateDer::pem_file_iter(p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            for c in certs {
                let c = c.map_err(|e| format!("{}: {e}", p.display()))?;
                roots
                    .add(c)
                    .map_err(|e| format!("{}: bad certificate: {e}", p.display()))?;
            }
            if roots.is_empty() {
                return Err(format!("{}: no PEM certificate found", p.display()));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

impl Transport for TlsOut {
    fn connect(&mut self) -> io::Result<()> {
        if self.conn.is_none() {
            let mut sock = tcp_connect(&self.address)?;
            let mut c =
                rustls::ClientConnection::new(self.config.clone(), self.server_name.clone())
                    .map_err(io::Error::other)?;
            while c.is_handshaking() {
                c.complete_io(&mut sock)?;
            }
            self.conn = Some(rustls::StreamOwned::new(c, sock));
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
        let Some(s) = &mut self.conn else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        let n = s.write(buf)?;
        // Only bytes on the wire count as written.
        s.flush()?;
        Ok(n)
    }
    fn alive(&mut self) -> bool {
        let Some(s) = &mut self.conn else {
            return false;
        };
        if s.sock.set_nonblocking(true).is_err() {
            return false;
        }
        // Session tickets and close_notify arrive here; anything else the
        // server sends is read and ignored.
        let alive = loop {
            match s.conn.read_tls(&mut s.sock) {
                Ok(0) => break false,
                Ok(_) => {
                    if s.conn.process_new_packets().is_err() {
                        break false;
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
                Err(e) => break e.kind() == io::ErrorKind::WouldBlock,
            }
        };
        alive && s.sock.set_nonblocking(false).is_ok()
    }
}
