//! A lean keep-alive HTTP/1.1 connection for the load generator's hot loops.
//!
//! The generator shares the machine's cores with the server, so every
//! microsecond it spends per request is taken from the server's figures. This
//! connection sends request bytes prepared once and reads the answer up to its
//! `Content-Length`: no URL parsing, header maps or connection pool per request.
//! One request is in flight at a time (no pipelining), as a browser does.

use std::net::SocketAddr;

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One keep-alive connection to the server.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// A request's bytes, prepared once and sent many times.
#[derive(Debug, Clone)]
pub struct Request(Vec<u8>);

impl Request {
    /// `method path` with `headers` (name, value) and an empty body.
    pub fn new(method: &str, path: &str, host: &str, headers: &[(&str, &str)]) -> Self {
        let mut text = format!("{method} {path} HTTP/1.1\r\nhost: {host}\r\n");
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("content-length: 0\r\n\r\n");
        Self(text.into_bytes())
    }
}

/// The status and body of one answer.
pub struct Answer<'a> {
    /// The HTTP status code.
    pub status: u16,
    /// The body bytes.
    pub body: &'a [u8],
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The status code and `Content-Length` of a complete header block.
fn parse_head(head: &[u8]) -> anyhow::Result<(u16, usize)> {
    let text = std::str::from_utf8(head).context("answer head is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .context("no status line")?;
    let length = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .context("answer without content-length")?;
    Ok((status, length))
}

impl Conn {
    /// Opens a connection (no Nagle delay).
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(4096),
        })
    }

    /// Sends `request` and reads its whole answer.
    pub async fn send(&mut self, request: &Request) -> anyhow::Result<Answer<'_>> {
        self.stream.write_all(&request.0).await?;
        self.buf.clear();
        let mut chunk = [0u8; 4096];
        let (status, start, length) = loop {
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                bail!("the server closed the connection");
            }
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let (status, length) = parse_head(&self.buf[..end])?;
                break (status, end + 4, length);
            }
        };
        while self.buf.len() < start + length {
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                bail!("the server closed the connection mid-answer");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        Ok(Answer {
            status,
            body: &self.buf[start..start + length],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_and_length_whatever_the_case() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCONTENT-LENGTH: 42";
        assert_eq!(parse_head(head).unwrap(), (200, 42));
        assert!(parse_head(b"HTTP/1.1 204 No Content\r\nx: y").is_err());
    }
}
