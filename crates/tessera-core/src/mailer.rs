//! Outgoing email: real SMTP through lettre when `TESSERA_SMTP_URL` is set,
//! otherwise (development instances only) the message is written to the log.
//!
//! Messages carry a plain-text and an HTML part. Codes never appear in logs
//! unless the log sink *is* the delivery channel (development without SMTP).

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::error::{CoreError, CoreResult};

/// One email ready to send.
#[derive(Debug, Clone)]
pub struct Email {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

/// Where email goes.
#[derive(Clone)]
pub enum Mailer {
    /// A real SMTP server.
    Smtp(Box<Smtp>),
    /// The server log (development without SMTP).
    Log,
}

/// An SMTP transport and the From address.
#[derive(Clone)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Smtp(smtp) => write!(f, "Mailer::Smtp(from {})", smtp.from),
            Self::Log => f.write_str("Mailer::Log"),
        }
    }
}

impl Mailer {
    /// Builds a mailer from an SMTP URL (`smtp://host:port`, `smtps://user:pass@host`,
    /// see lettre's `from_url`) and a From address.
    pub fn smtp(url: &str, from: &str) -> CoreResult<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| CoreError::Config(format!("TESSERA_SMTP_URL is not usable: {e}")))?
            .build();
        let from = from.parse().map_err(|e| {
            CoreError::Config(format!("TESSERA_SMTP_FROM {from:?} is not an address: {e}"))
        })?;
        Ok(Self::Smtp(Box::new(Smtp { transport, from })))
    }

    /// Sends one message.
    pub async fn send(&self, email: Email) -> CoreResult<()> {
        match self {
            Self::Log => {
                tracing::info!(
                    to = %email.to,
                    subject = %email.subject,
                    "email (no SMTP configured; development delivery to the log):\n{}",
                    email.text
                );
                Ok(())
            }
            Self::Smtp(smtp) => {
                let Smtp { transport, from } = smtp.as_ref();
                let to: Mailbox = email
                    .to
                    .parse()
                    .map_err(|e| CoreError::Internal(format!("recipient address: {e}")))?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(email.subject)
                    .multipart(
                        MultiPart::alternative()
                            .singlepart(
                                SinglePart::builder()
                                    .header(ContentType::TEXT_PLAIN)
                                    .body(email.text),
                            )
                            .singlepart(
                                SinglePart::builder()
                                    .header(ContentType::TEXT_HTML)
                                    .body(email.html),
                            ),
                    )
                    .map_err(|e| CoreError::Internal(format!("building email: {e}")))?;
                transport
                    .send(message)
                    .await
                    .map_err(|e| CoreError::Internal(format!("SMTP delivery failed: {e}")))?;
                Ok(())
            }
        }
    }
}

fn escape_html(raw: &str) -> String {
    raw.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The verification-code message (sign-up, adding an address, sign-in, password reset).
pub fn code_email(to: &str, app_name: &str, purpose: CodePurpose, code: &str) -> Email {
    let (subject, line) = match purpose {
        CodePurpose::Verify => (
            format!("{code} is your {app_name} verification code"),
            "Enter this code to verify your email address:",
        ),
        CodePurpose::SignIn => (
            format!("{code} is your {app_name} sign-in code"),
            "Enter this code to sign in:",
        ),
        CodePurpose::ResetPassword => (
            format!("{code} is your {app_name} password reset code"),
            "Enter this code to reset your password:",
        ),
    };
    let text = format!(
        "{line}\n\n    {code}\n\nThe code expires in 10 minutes. If you did not ask for it, ignore this email.\n\n— {app_name}\n"
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><p>{line}</p>\
         <p style=\"font-size:28px;letter-spacing:6px;font-weight:bold\">{code}</p>\
         <p>The code expires in 10 minutes. If you did not ask for it, ignore this email.</p>\
         <p>— {}</p></body></html>",
        escape_html(app_name)
    );
    Email {
        to: to.to_owned(),
        subject,
        text,
        html,
    }
}

/// The URL of an email link: `GET /v1/verify` with the attempt (or
/// identification) it belongs to and its secret.
pub fn link_url(frontend_url: &str, owner: &str, secret: &str) -> String {
    format!(
        "{}/v1/verify?token={owner}.{secret}",
        frontend_url.trim_end_matches('/')
    )
}

/// An email whose one action is a single-use, 10-minute link.
fn link_message(to: &str, app_name: &str, subject: String, action: &str, link: &str) -> Email {
    let note = "The link expires in 10 minutes and works once. If you did not ask for it, ignore this email.";
    Email {
        to: to.to_owned(),
        subject,
        text: format!("{action}:\n    {link}\n\n{note}\n\n— {app_name}\n"),
        html: format!(
            "<!doctype html><html><body style=\"font-family:sans-serif\"><p><a href=\"{}\">{}</a></p>\
             <p>{note}</p><p>— {}</p></body></html>",
            escape_html(link),
            escape_html(action),
            escape_html(app_name)
        ),
    }
}

/// A link that verifies an email address.
pub fn verify_link_email(to: &str, app_name: &str, link: &str) -> Email {
    let subject = format!("Verify your email address for {app_name}");
    link_message(to, app_name, subject, "Verify your email address", link)
}

/// A sign-in link (an email link, "magic link").
pub fn link_email(to: &str, app_name: &str, link: &str) -> Email {
    let subject = format!("Your {app_name} sign-in link");
    link_message(
        to,
        app_name,
        subject,
        &format!("Sign in to {app_name}"),
        link,
    )
}

/// The invitation to join an organization, with its link.
pub fn invitation_email(to: &str, app_name: &str, organization: &str, link: &str) -> Email {
    let subject = format!("You are invited to join {organization} on {app_name}");
    let text = format!(
        "You are invited to join {organization}.\n\nAccept the invitation:\n    {link}\n\nIf you did not expect it, ignore this email.\n\n— {app_name}\n"
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><p>You are invited to join \
         <strong>{}</strong>.</p><p><a href=\"{}\">Accept the invitation</a></p>\
         <p>If you did not expect it, ignore this email.</p><p>— {}</p></body></html>",
        escape_html(organization),
        escape_html(link),
        escape_html(app_name)
    );
    Email {
        to: to.to_owned(),
        subject,
        text,
        html,
    }
}

/// What a one-time code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    /// Verify an email address.
    Verify,
    /// Sign in.
    SignIn,
    /// Reset a password.
    ResetPassword,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_email_has_both_parts_and_the_code() {
        let email = code_email("a@example.com", "Acme <Inc>", CodePurpose::Verify, "123456");
        assert!(email.subject.starts_with("123456"));
        assert!(email.text.contains("123456"));
        assert!(email.html.contains("123456"));
        assert!(email.html.contains("Acme &lt;Inc&gt;"));
    }

    #[test]
    fn bad_smtp_urls_are_configuration_errors() {
        assert!(matches!(
            Mailer::smtp("nonsense", "a@b.c"),
            Err(CoreError::Config(_))
        ));
        assert!(matches!(
            Mailer::smtp("smtp://127.0.0.1:2525", "not an address"),
            Err(CoreError::Config(_))
        ));
    }
}
