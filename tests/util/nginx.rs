//! A real nginx on loopback for differential and end-to-end tests, and a byte-exact HTTP/1.1
//! client for it.
//!
//! Owns: finding the nginx binary (and failing loudly when it is missing), writing a
//! throw-away config into a temp dir, running nginx in the foreground as a child process with
//! one `server` per test config on `127.0.0.1:<free port>`, stopping it on drop (also when a
//! test panics) or on request (gracefully, so its files can be read afterwards), rotating its
//! logs (`kill -USR1`), and a keep-alive HTTP/1.1 client that sends header lines exactly as
//! given, from a chosen loopback source address.
//! Does not own: what the servers are configured to do (the caller passes the http- and
//! server-level directives) or what the answers should be (`tests/nginx_oracle.rs`,
//! `tests/audit.rs`).

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tempfile::TempDir;

/// How long nginx gets to start listening before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long nginx gets to exit after SIGQUIT before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a single response may take.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The nginx binary: `/usr/sbin/nginx`, else `nginx` on `PATH`.
pub fn nginx_binary() -> Option<PathBuf> {
    let sbin = PathBuf::from("/usr/sbin/nginx");
    if sbin.is_file() {
        return Some(sbin);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("nginx"))
        .find(|p| p.is_file())
}

/// The nginx binary, or `None` after a loud message when it is missing outside CI.
///
/// Panics when it is missing and `CI=true`: the differential test must never be skipped
/// silently in CI.
pub fn require_nginx() -> Option<PathBuf> {
    if let Some(bin) = nginx_binary() {
        return Some(bin);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("nginx not found; CI=true requires it (apt-get install -y nginx)");
    }
    eprintln!(
        "\n\
         *************************************************************************\n\
         * SKIPPED: nginx not found (/usr/sbin/nginx or PATH).                   *\n\
         * The differential test against real nginx did NOT run.                 *\n\
         * Install it (apt-get install -y nginx); with CI=true this is an error. *\n\
         *************************************************************************\n"
    );
    None
}

/// The installed nginx version, e.g. `1.22.1`, from `nginx -v`.
///
/// Panics when nginx is missing or prints something unexpected.
pub fn nginx_version() -> String {
    let bin = nginx_binary().expect("nginx not found");
    let out = Command::new(&bin).arg("-v").output().expect("run nginx -v");
    // `nginx -v` writes `nginx version: nginx/1.22.1` (maybe with a distro suffix) to stderr.
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let rest = text
        .split_once("nginx/")
        .unwrap_or_else(|| panic!("unexpected `{} -v` output: {text:?}", bin.display()))
        .1;
    let version: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    assert!(
        !version.is_empty(),
        "no version in `{} -v` output: {text:?}",
        bin.display()
    );
    version
}

/// In directives given to [`Nginx::start_with`], replaced by nginx's own temp dir (no trailing
/// slash), so that files nginx writes (access logs) stay inside it: `access_log {dir}/a.log;`.
pub const DIR: &str = "{dir}";

/// A running nginx with one `server` per config; stopped when dropped.
pub struct Nginx {
    child: Child,
    ports: Vec<u16>,
    dir: TempDir,
}

impl Nginx {
    /// Starts nginx with one `server` per entry of `servers`, each listening on its own free
    /// port of 127.0.0.1 and answering every request with
    /// `200 "$remote_addr|$remote_port\n"`. Each entry is inserted verbatim at server level
    /// (so realip directives there apply in POST_READ, before `return`).
    ///
    /// Returns `None` (after a loud message) when nginx is not installed and `CI` is not
    /// `true`; panics when it is missing under `CI=true` or does not start.
    pub fn start(servers: &[String]) -> Option<Nginx> {
        Nginx::start_with("", servers)
    }

    /// Like [`Nginx::start`], with `http` inserted verbatim at http level (e.g. `log_format`).
    /// Both `http` and `servers` may name files inside nginx's temp dir with [`DIR`]
    /// (e.g. `access_log {dir}/access.log realip;` in a server, overriding the http-level
    /// `access_log off`); read them with [`Nginx::read`].
    pub fn start_with(http: &str, servers: &[String]) -> Option<Nginx> {
        let bin = require_nginx()?;
        // A free port found by binding port 0 can be taken by someone else before nginx binds
        // it; retry with fresh ports in that (rare) case.
        let mut last_error = String::new();
        for _ in 0..3 {
            match Nginx::try_start(&bin, http, servers) {
                Ok(nginx) => return Some(nginx),
                Err(log) if log.contains("Address already in use") => last_error = log,
                Err(log) => panic!("nginx did not start:\n{log}"),
            }
        }
        panic!("nginx did not start (ports kept being taken):\n{last_error}");
    }

    fn try_start(bin: &Path, http: &str, servers: &[String]) -> Result<Nginx, String> {
        let dir = tempfile::Builder::new()
            .prefix("realip-nginx-")
            .tempdir()
            .expect("temp dir");
        let ports = free_ports(servers.len());
        let conf = config(dir.path(), http, servers, &ports);
        let conf_path = dir.path().join("nginx.conf");
        fs::write(&conf_path, conf).expect("write nginx.conf");
        let error_log = dir.path().join("error.log");
        let child = Command::new(bin)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(&error_log)
            .stdin(Stdio::null())
            .stdout(fs::File::create(dir.path().join("stdout.txt")).expect("stdout file"))
            .stderr(fs::File::create(dir.path().join("stderr.txt")).expect("stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
        let mut nginx = Nginx { child, ports, dir };
        let deadline = Instant::now() + START_TIMEOUT;
        for &port in &nginx.ports {
            loop {
                if let Some(status) = nginx.child.try_wait().expect("try_wait nginx") {
                    return Err(format!("nginx exited with {status}\n{}", nginx.logs()));
                }
                // The port must be listened on by *this* nginx: a free port can be taken by
                // another test's server between `free_ports` and nginx's bind, and a connect
                // alone would then talk to that stranger while this nginx retries its bind.
                if listens_on(nginx.child.id(), port) {
                    break;
                }
                if Instant::now() > deadline {
                    // Dropping `nginx` stops the child.
                    panic!(
                        "nginx did not listen on 127.0.0.1:{port} within {START_TIMEOUT:?}\n{}",
                        nginx.logs()
                    );
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(nginx)
    }

    /// The port of the `i`-th server, in the order given to [`Nginx::start`].
    pub fn port(&self, i: usize) -> u16 {
        self.ports[i]
    }

    /// nginx's temp dir (what [`DIR`] stands for in directives).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A file inside nginx's temp dir, e.g. an access log. nginx may write a request's log
    /// line just after the client has read the response, so read logs after [`Nginx::stop`]
    /// (everything, buffered logs included) or, for the rotated file, after
    /// [`Nginx::rotate_log`].
    pub fn read(&self, name: &str) -> Vec<u8> {
        let path = self.dir.path().join(name);
        fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}\n{}", path.display(), self.logs()))
    }

    /// Stops nginx gracefully (SIGQUIT: it finishes in-flight requests, flushes and closes its
    /// logs, and exits) and waits for it; panics when it does not exit cleanly in time. The
    /// temp dir stays until `self` is dropped.
    pub fn stop(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("nginx had already exited with {status}\n{}", self.logs());
        }
        self.signal("QUIT");
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait nginx") {
                assert!(
                    status.success(),
                    "nginx exited with {status}\n{}",
                    self.logs()
                );
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "nginx did not stop within {STOP_TIMEOUT:?}\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Rotates a log the way logrotate does (create + move): renames `name` to `rotated`
    /// inside the temp dir, sends SIGUSR1, and waits until nginx has reopened (re-created)
    /// `name`. Lines of requests answered before the call are in `rotated` (nginx handles the
    /// signal only after finishing the event that logged them), later ones in `name`.
    pub fn rotate_log(&self, name: &str, rotated: &str) {
        let live = self.dir.path().join(name);
        fs::rename(&live, self.dir.path().join(rotated))
            .unwrap_or_else(|e| panic!("rename {}: {e}", live.display()));
        self.signal("USR1");
        let deadline = Instant::now() + STOP_TIMEOUT;
        while !live.exists() {
            if Instant::now() > deadline {
                panic!(
                    "nginx did not reopen {} within {STOP_TIMEOUT:?} of SIGUSR1\n{}",
                    live.display(),
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends `SIG<name>` to nginx with kill(1) (no libc in the tests).
    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} nginx failed: {status}");
    }

    /// The generated config, error log and nginx's own stderr, for failure messages.
    pub fn logs(&self) -> String {
        let read = |name: &str| {
            fs::read_to_string(self.dir.path().join(name))
                .unwrap_or_else(|e| format!("(cannot read {name}: {e})"))
        };
        format!(
            "--- nginx.conf\n{}\n--- error.log\n{}\n--- stderr\n{}",
            read("nginx.conf"),
            read("error.log"),
            read("stderr.txt")
        )
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // Already stopped (and reaped): its pid may belong to someone else by now.
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // Graceful stop first (SIGQUIT), then SIGKILL; always reap the child so no nginx is
        // left behind, also when the test is unwinding from a panic.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill")
            .args(["-QUIT", &pid])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => break,
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether process `pid` holds a socket listening on 127.0.0.1:`port` (Linux: the listening
/// socket's inode in `/proc/net/tcp`, found among the process's open descriptors).
fn listens_on(pid: u32, port: u16) -> bool {
    let local = format!("0100007F:{port:04X}");
    let Ok(table) = fs::read_to_string("/proc/net/tcp") else {
        return false;
    };
    let inodes: Vec<String> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st ... inode (column 9); st 0A = LISTEN
            (cols.len() > 9 && cols[1] == local && cols[3] == "0A")
                .then(|| format!("socket:[{}]", cols[9]))
        })
        .collect();
    if inodes.is_empty() {
        return false;
    }
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        fs::read_link(fd.path())
            .map(|target| inodes.iter().any(|i| target.as_os_str() == i.as_str()))
            .unwrap_or(false)
    })
}

/// A port of 127.0.0.1 that was free a moment ago.
/// `n` distinct free ports. Every listener is held until all are chosen: a port released at
/// once may come back from the next `bind` to port 0, and two servers on one port would both
/// be served by the first (nginx accepts the same `listen` twice, as name-based virtual
/// hosts), so one server's requests would silently get another's answers.
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local_addr").port())
        .collect()
}

/// The whole nginx.conf: everything nginx writes stays inside `dir`.
fn config(dir: &Path, http: &str, servers: &[String], ports: &[u16]) -> String {
    let d = dir.display().to_string();
    assert!(
        !d.contains(['"', '\\', '$', ' ', ';']),
        "temp dir path {d:?} would need escaping in nginx.conf"
    );
    let mut conf = format!(
        "daemon off;\n\
         master_process off;\n\
         worker_processes 1;\n\
         error_log \"{d}/error.log\";\n\
         pid \"{d}/nginx.pid\";\n\
         events {{\n    worker_connections 256;\n}}\n\
         http {{\n\
         \x20   client_body_temp_path \"{d}/client_body\";\n\
         \x20   proxy_temp_path \"{d}/proxy\";\n\
         \x20   fastcgi_temp_path \"{d}/fastcgi\";\n\
         \x20   uwsgi_temp_path \"{d}/uwsgi\";\n\
         \x20   scgi_temp_path \"{d}/scgi\";\n\
         \x20   access_log off;\n\
         \x20   keepalive_requests 1000000;\n\
         \x20   large_client_header_buffers 4 64k;\n"
    );
    if !http.is_empty() {
        conf.push_str(&format!("    {}\n", http.replace(DIR, &d)));
    }
    for (directives, port) in servers.iter().zip(ports) {
        let directives = directives.replace(DIR, &d);
        conf.push_str(&format!(
            "    server {{\n\
             \x20       listen 127.0.0.1:{port};\n\
             \x20       {directives}\n\
             \x20       return 200 \"$remote_addr|$remote_port\\n\";\n\
             \x20   }}\n"
        ));
    }
    conf.push_str("}\n");
    conf
}

/// One answer from nginx.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body, exactly as sent.
    pub body: Vec<u8>,
    /// The client socket's local port for this request (nginx's `$remote_port` when realip
    /// did not apply).
    pub local_port: u16,
}

/// A keep-alive HTTP/1.1 client bound to one loopback source address, talking to one port.
pub struct Client {
    source: Ipv4Addr,
    port: u16,
    conn: Option<Conn>,
}

struct Conn {
    reader: BufReader<TcpStream>,
    local_port: u16,
    /// Whether a response has been read on this connection (a failure on a reused connection
    /// is retried once on a fresh one: the server may have closed it between requests).
    used: bool,
}

impl Client {
    /// A client whose connections come from `source` (any 127.0.0.0/8 address works on Linux
    /// loopback) and go to 127.0.0.1:`port`.
    pub fn new(source: Ipv4Addr, port: u16) -> Client {
        Client {
            source,
            port,
            conn: None,
        }
    }

    /// Sends `GET / HTTP/1.1`, `Host: t`, then `header_lines` byte for byte (each line must
    /// end with CRLF), then the empty line; reads the response. Reconnects when the server
    /// closed the connection.
    pub fn get(&mut self, header_lines: &[u8]) -> Response {
        let mut request = Vec::with_capacity(header_lines.len() + 32);
        request.extend_from_slice(b"GET / HTTP/1.1\r\nHost: t\r\n");
        request.extend_from_slice(header_lines);
        request.extend_from_slice(b"\r\n");
        for _attempt in 0..2 {
            if self.conn.is_none() {
                self.conn = Some(self.connect());
            }
            let conn = self.conn.as_mut().expect("connection");
            match exchange(conn, &request) {
                Ok((response, keep_alive)) => {
                    conn.used = true;
                    if !keep_alive {
                        self.conn = None;
                    }
                    return response;
                }
                Err(_) if conn.used => {
                    // Closed between requests: retry once on a new connection.
                    self.conn = None;
                }
                Err(e) => panic!(
                    "HTTP exchange with 127.0.0.1:{} from {} failed on a fresh connection: {e}",
                    self.port, self.source
                ),
            }
        }
        panic!("HTTP exchange with 127.0.0.1:{} failed twice", self.port);
    }

    fn connect(&self) -> Conn {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("socket");
        socket
            .bind(&SockAddr::from(SocketAddr::from((self.source, 0))))
            .unwrap_or_else(|e| panic!("bind {}:0: {e}", self.source));
        let server = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        socket
            .connect(&SockAddr::from(server))
            .unwrap_or_else(|e| panic!("connect {server} from {}: {e}", self.source));
        let stream = TcpStream::from(socket);
        stream.set_nodelay(true).expect("nodelay");
        stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .expect("read timeout");
        stream
            .set_write_timeout(Some(IO_TIMEOUT))
            .expect("write timeout");
        let local = stream.local_addr().expect("local_addr");
        assert_eq!(
            local.ip(),
            IpAddr::V4(self.source),
            "socket not bound to its source"
        );
        Conn {
            local_port: local.port(),
            reader: BufReader::new(stream),
            used: false,
        }
    }
}

/// Writes one request and reads one response; returns it and whether the connection stays
/// open.
fn exchange(conn: &mut Conn, request: &[u8]) -> io::Result<(Response, bool)> {
    conn.reader.get_mut().write_all(request)?;
    let mut line = Vec::new();
    if conn.reader.read_until(b'\n', &mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "closed before the status line",
        ));
    }
    let status_line = String::from_utf8_lossy(&line).into_owned();
    let mut parts = status_line.split(' ');
    let version = parts.next().unwrap_or("");
    let status: u16 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    if !version.starts_with("HTTP/1.") || status == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad status line {status_line:?}"),
        ));
    }
    let mut content_length = None;
    let mut keep_alive = version == "HTTP/1.1";
    loop {
        line.clear();
        if conn.reader.read_until(b'\n', &mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed inside headers",
            ));
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            break;
        }
        let Some((name, value)) = text.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("connection") {
            keep_alive = !value.eq_ignore_ascii_case("close");
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "chunked response",
            ));
        }
    }
    let len = content_length.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "response without Content-Length",
        )
    })?;
    let mut body = vec![0; len];
    conn.reader.read_exact(&mut body)?;
    Ok((
        Response {
            status,
            body,
            local_port: conn.local_port,
        },
        keep_alive,
    ))
}

/// The ports of one nginx are distinct, however many are asked for at once.
#[test]
fn free_ports_are_distinct() {
    let mut ports = free_ports(64);
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 64);
}
