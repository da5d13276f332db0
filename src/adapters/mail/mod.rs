//! Mail delivery on lettre: a [`MailMessage`] becomes a MIME message (`mime.rs`) and goes out
//! through SMTP (`smtp.rs`: plain, STARTTLS opportunistic or required, implicit TLS; AUTH;
//! a connection pool; timeouts; rustls with verified certificates) or the local `sendmail`
//! program (`sendmail.rs`). Errors are sorted into temporary (4xx, network, timeouts) and
//! permanent (5xx, a message that cannot be expressed).
//!
//! Tests (`tests/it/peers/mail.rs`) start aiosmtpd on a free loopback port, plain and with STARTTLS +
//! AUTH (a test CA and a separate server certificate), and read the messages it received.

mod mime;
mod sendmail;
mod smtp;

pub use mime::to_lettre;
pub use sendmail::SendmailTransport;
pub use smtp::{SmtpSettings, SmtpTransport, TlsMode, check_certificate};
