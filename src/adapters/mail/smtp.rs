//! SMTP through lettre's pooled async transport. TLS is an explicit choice (spec-notify-8
//! M3): none, opportunistic STARTTLS (the default: encrypted when the relay offers it, its
//! certificate not verified, as MTAs do), required STARTTLS (`useTls`), or implicit TLS
//! (`smtps`, port 465); the last two verify certificates against the web PKI roots plus any CA
//! the settings add. AUTH is used when a user and password are set.
//!
//! A server that refuses one recipient (`550 no such user`) ends the whole transaction, so a
//! mail refused for good is tried again one recipient at a time: it counts as sent when any
//! recipient took it (as the old notifier did), and the refusals are logged.

use std::time::Duration;

use async_trait::async_trait;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::{Error as SmtpError, PoolConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::mime::{to_lettre, to_lettre_for};
use crate::domain::notify::mail::MailMessage;
use crate::ports::{MailError, MailTransport};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain SMTP, never TLS (a local relay).
    None,
    /// STARTTLS when the server offers it, its certificate not verified (the old default).
    #[default]
    Opportunistic,
    /// STARTTLS or fail (`useTls = true`).
    Required,
    /// TLS from the first byte (`smtps = true`, usually port 465).
    Implicit,
}

#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub relayhost: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: Option<String>,
    pub password: Option<String>,
    /// For connecting, and for a whole send (lettre's async client has no per-command one).
    pub timeout: Duration,
    /// Connections kept open and used at once.
    pub pool_size: u32,
    /// Extra trusted CA certificates, PEM (a private CA, or a test one).
    pub ca_pem: Vec<Vec<u8>>,
    /// The name the server's certificate must carry; the relay host by default.
    pub tls_name: Option<String>,
}

/// Shows everything but the password.
impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("relayhost", &self.relayhost)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "(set)"))
            .field("timeout", &self.timeout)
            .field("pool_size", &self.pool_size)
            .field("ca_pem", &self.ca_pem.len())
            .field("tls_name", &self.tls_name)
            .finish()
    }
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            relayhost: "localhost".to_owned(),
            port: 25,
            tls: TlsMode::default(),
            user: None,
            password: None,
            timeout: Duration::from_secs(30),
            pool_size: 4,
            ca_pem: Vec::new(),
            tls_name: None,
        }
    }
}

/// Whether `pem` is a certificate the transport can trust (checked when configuration is read).
pub fn check_certificate(pem: &[u8]) -> Result<(), String> {
    Certificate::from_pem(pem).map(|_| ()).map_err(|e| format!("not a PEM certificate: {e}"))
}

pub struct SmtpTransport {
    inner: AsyncSmtpTransport<Tokio1Executor>,
    timeout: Duration,
}

fn classify(e: &SmtpError) -> MailError {
    if e.is_permanent() { MailError::Permanent(e.to_string()) } else { MailError::Temporary(e.to_string()) }
}

impl SmtpTransport {
    /// A transport for `settings`; fails only when a CA certificate does not parse.
    pub fn new(settings: &SmtpSettings) -> Result<Self, MailError> {
        let tls = match settings.tls {
            TlsMode::None => Tls::None,
            mode => {
                let name = settings.tls_name.clone().unwrap_or_else(|| settings.relayhost.clone());
                let mut params = TlsParameters::builder(name.clone());
                if mode == TlsMode::Opportunistic {
                    // As MTAs do (and 0.8 did): a relay that offers STARTTLS with a certificate
                    // we cannot check (often self-signed) is still better encrypted than not.
                    tracing::warn!(
                        "mail to {name}: opportunistic STARTTLS encrypts without verifying the relay's \
                         certificate; smtpTls = \"starttls\" requires a verified one"
                    );
                    params = params.dangerous_accept_invalid_certs(true).dangerous_accept_invalid_hostnames(true);
                }
                for pem in &settings.ca_pem {
                    let cert =
                        Certificate::from_pem(pem).map_err(|e| MailError::Permanent(format!("CA certificate: {e}")))?;
                    params = params.add_root_certificate(cert);
                }
                let params = params.build_rustls().map_err(|e| MailError::Permanent(format!("TLS settings: {e}")))?;
                match mode {
                    TlsMode::Opportunistic => Tls::Opportunistic(params),
                    TlsMode::Required => Tls::Required(params),
                    _ => Tls::Wrapper(params),
                }
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.relayhost.clone())
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout))
            .pool_config(PoolConfig::new().max_size(settings.pool_size.max(1)));
        if let (Some(user), Some(password)) = (&settings.user, &settings.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self { inner: builder.build(), timeout: settings.timeout })
    }
}

impl SmtpTransport {
    async fn transmit(&self, message: lettre::Message) -> Result<(), MailError> {
        match tokio::time::timeout(self.timeout, self.inner.send(message)).await {
            Ok(sent) => sent.map(|_| ()).map_err(|e| classify(&e)),
            Err(_) => Err(MailError::Temporary(format!("no answer from the server within {:?}", self.timeout))),
        }
    }

    /// `message` to each recipient on its own: sent when any took it; else temporary when
    /// any failure was, permanent when all were refused.
    async fn send_apart(&self, message: &MailMessage, refusal: String) -> Result<(), MailError> {
        let (mut accepted, mut failures, mut temporary) = (0usize, Vec::new(), false);
        for rcpt in &message.envelope {
            match self.transmit(to_lettre_for(message, std::slice::from_ref(rcpt))?).await {
                Ok(()) => accepted += 1,
                Err(e) => {
                    temporary |= matches!(e, MailError::Temporary(_));
                    failures.push(format!("{rcpt}: {e}"));
                }
            }
        }
        let failures = failures.join("; ");
        match (accepted, temporary) {
            (1.., _) => {
                tracing::warn!("mail {}: sent to {accepted} recipient(s), not to: {failures}", message.id);
                Ok(())
            }
            (0, true) => Err(MailError::Temporary(failures)),
            (0, false) => Err(MailError::Permanent(format!("{refusal}; one by one: {failures}"))),
        }
    }
}

#[async_trait]
impl MailTransport for SmtpTransport {
    async fn send(&self, message: &MailMessage) -> Result<(), MailError> {
        match self.transmit(to_lettre(message)?).await {
            Err(MailError::Permanent(refusal)) if message.envelope.len() > 1 => self.send_apart(message, refusal).await,
            sent => sent,
        }
    }
}
