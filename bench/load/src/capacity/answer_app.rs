//! A fast local answer URL for the signalling benchmark: every POST (or
//! GET) gets the same `<MultiPartyCall>` document the built-in app would
//! run, over kept-alive HTTP/1.1 connections, one thread per connection.
//! So the benchmark measures chorusd fetching its call flow, not a slow
//! application.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

/// Serves the answer document on a free port until the process ends;
/// returns the answer URL.
pub fn serve() -> Result<String, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve_connection(stream));
        }
    });
    Ok(format!("http://{addr}/answer"))
}

fn serve_connection(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let Ok(writer) = stream.try_clone() else {
        return;
    };
    let mut writer = writer;
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0usize;
        let mut to = String::new();
        let mut line = String::new();
        // The request line and headers.
        let mut first = true;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                if first {
                    continue;
                }
                break;
            }
            first = false;
            if let Some((name, value)) = trimmed.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        // The room is the called user: `To=sip:<room>@…` in the form body.
        for (name, value) in form_urlencoded::parse(&body) {
            if name == "To" {
                to = value.into_owned();
            }
        }
        let room = to
            .trim_start_matches("sip:")
            .split('@')
            .next()
            .unwrap_or("room")
            .to_string();
        let document = format!(
            "<Response><MultiPartyCall role=\"customer\" stayAlone=\"true\">{room}</MultiPartyCall></Response>"
        );
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{document}",
            document.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}
