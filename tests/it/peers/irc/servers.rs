//! The IRC servers the bot's tests talk to, started on 127.0.0.1 with configurations the tests
//! write: ngircd (Debian `ngircd`), and InspIRCd (Debian `inspircd`) linked to Atheme services
//! (Debian `atheme-services`) over the server protocol. Each is killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Waits until something listens on `port` (or panics naming `what`).
pub fn wait_listening(port: u16, what: &str) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "{what} does not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A server process, killed when dropped.
pub struct Process {
    child: Option<Child>,
    pub log: PathBuf,
}

impl Process {
    fn spawn(command: &mut Command, log: PathBuf, what: &str) -> Self {
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("{what} cannot start ({e}): is it installed? scripts/test installs it"));
        Self { child: Some(child), log }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (`STOP`, `CONT`) to the process.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let status = Command::new("kill").arg(format!("-{signal}")).arg(pid).status().expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

/// ngircd on `port`, with a server `password` if given and channel `#secret` keyed `k3y`.
pub struct Ngircd {
    pub port: u16,
    dir: PathBuf,
    pub process: Process,
}

impl Ngircd {
    pub fn start(dir: &Path, port: u16, password: Option<&str>) -> Self {
        let conf = dir.join("ngircd.conf");
        let password = password.map(|p| format!("Password = {p}\n")).unwrap_or_default();
        std::fs::write(
            &conf,
            format!(
                "[Global]\nName = irc.test\nInfo = buildstatus test\nListen = 127.0.0.1\nPorts = {port}\n{password}\
                 MotdPhrase = test\n\
                 [Limits]\nMaxNickLength = 30\nPingTimeout = 120\nPongTimeout = 20\n\
                 [Options]\nPAM = no\nDNS = no\nIdent = no\n\
                 [Channel]\nName = #secret\nModes = tnk k3y\n"
            ),
        )
        .expect("config");
        let mut ngircd = Self { port, dir: dir.to_owned(), process: Self::spawn(&conf, dir) };
        ngircd.wait();
        ngircd
    }

    fn spawn(conf: &Path, dir: &Path) -> Process {
        Process::spawn(Command::new("/usr/sbin/ngircd").arg("-n").arg("-f").arg(conf), dir.join("ngircd.log"), "ngircd")
    }

    fn wait(&mut self) {
        wait_listening(self.port, "ngircd");
    }

    /// Kills the server (every connection drops).
    pub fn kill(&mut self) {
        self.process.stop();
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.process = Self::spawn(&self.dir.join("ngircd.conf"), &self.dir);
        self.wait();
    }
}

/// InspIRCd 3 with a plain and a TLS port for clients, linked to Atheme (NickServ, SASL).
pub struct InspircdAtheme {
    pub port: u16,
    pub tls_port: u16,
    pub ca: PathBuf,
    pub inspircd: Process,
    /// Kept to be killed with the rest.
    _atheme: Process,
}

impl InspircdAtheme {
    /// `flood`: the clients' connect class's `threshold` and `commandrate` (InspIRCd's Excess
    /// Flood limit: fewer than `threshold` commands a second beyond the rate are tolerated).
    pub fn start(dir: &Path, flood: (u32, u32)) -> Self {
        let (port, tls_port, link) = (free_port(), free_port(), free_port());
        let (ca, cert, key) = crate::common::tls::certificates(dir);
        let d = dir.display();
        let (threshold, rate) = flood;
        std::fs::write(
            dir.join("inspircd.conf"),
            format!(
                r#"<server name="irc.test" description="buildstatus test" network="TestNet" id="001">
<admin name="Test" nick="test" email="test@example.org">
<module name="ssl_gnutls">
<sslprofile name="clients" provider="gnutls" certfile="{cert}" keyfile="{key}" hash="sha256" priority="NORMAL">
<bind address="127.0.0.1" port="{port}" type="clients">
<bind address="127.0.0.1" port="{tls_port}" type="clients" sslprofile="clients">
<bind address="127.0.0.1" port="{link}" type="servers">
<power diepass="" restartpass="">
<connect name="main" allow="*" timeout="60" pingfreq="120" sendq="4194304" recvq="16384" threshold="{threshold}" commandrate="{rate}" fakelag="no" localmax="100" globalmax="100" useident="no" resolvehostnames="no">
<pid file="{d}/inspircd.pid">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="{d}/inspircd-file.log">
<module name="cap">
<module name="spanningtree">
<module name="services_account">
<module name="sasl">
<link name="services.test" ipaddr="127.0.0.1" port="{link}" allowmask="127.0.0.1" sendpass="linkpass" recvpass="linkpass" timeout="30">
<uline server="services.test" silent="yes">
<sasl target="services.test">
"#,
                cert = cert.display(),
                key = key.display(),
            ),
        )
        .expect("inspircd config");
        let inspircd = Process::spawn(
            Command::new("/usr/sbin/inspircd")
                .arg(format!("--config={d}/inspircd.conf"))
                .args(["--nofork", "--runasroot"]),
            dir.join("inspircd.log"),
            "inspircd",
        );
        wait_listening(port, "inspircd");
        std::fs::create_dir_all(dir.join("atheme-data")).expect("data dir");
        std::fs::write(dir.join("atheme.conf"), atheme_conf(link)).expect("atheme config");
        let atheme = Process::spawn(
            Command::new("atheme-services")
                .arg("-n")
                .arg("-c")
                .arg(dir.join("atheme.conf"))
                .arg("-l")
                .arg(dir.join("atheme-file.log"))
                .arg("-p")
                .arg(dir.join("atheme.pid"))
                .arg("-D")
                .arg(dir.join("atheme-data")),
            dir.join("atheme.log"),
            "atheme-services",
        );
        let ready = Instant::now();
        while !std::fs::read_to_string(dir.join("atheme.log"))
            .unwrap_or_default()
            .contains("finished synching with uplink")
        {
            assert!(ready.elapsed() < Duration::from_secs(20), "Atheme did not link to InspIRCd");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { port, tls_port, ca, inspircd, _atheme: atheme }
    }
}

fn atheme_conf(link: u16) -> String {
    format!(
        r##"loadmodule "modules/protocol/inspircd";
loadmodule "modules/backend/opensex";
loadmodule "modules/crypto/pbkdf2v2";
loadmodule "modules/nickserv/main";
loadmodule "modules/nickserv/register";
loadmodule "modules/nickserv/identify";
loadmodule "modules/saslserv/main";
loadmodule "modules/saslserv/plain";
serverinfo {{
  name = "services.test"; desc = "Atheme IRC Services"; numeric = "00A"; recontime = 2;
  netname = "TestNet"; hidehostsuffix = "users.test"; adminname = "Test"; adminemail = "test@example.org";
  mta = "/bin/true"; loglevel = {{ all; }}; maxlogins = 5; maxusers = 5; mdlimit = 30;
  emaillimit = 10; emailtime = 300; auth = none; casemapping = rfc1459;
}};
uplink "irc.test" {{ host = "127.0.0.1"; port = {link}; send_password = "linkpass"; receive_password = "linkpass"; }};
nickserv {{ nick = "NickServ"; user = "NickServ"; host = "services.test"; real = "Nickname Services"; }};
saslserv {{ nick = "SaslServ"; user = "SaslServ"; host = "services.test"; real = "SASL Authentication Agent"; }};
general {{
  helpchan = "#help"; join_chans; leave_chans; uflags = {{ hidemail; }}; cflags = {{ verbose; guard; }};
  flood_msgs = 100; flood_time = 10; ratelimit_uses = 100; ratelimit_period = 60; kline_time = 7; commit_interval = 1;
}};
database {{ }};
"##
    )
}
