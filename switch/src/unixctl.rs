//! The "unixctl" control protocol, as Open vSwitch's `ovs-appctl` speaks it.
//!
//! A client connects to a unix stream socket and sends JSON-RPC 1.0 requests,
//! one JSON object after another with no other framing:
//! `{"id":0,"method":"dpctl/dump-conntrack","params":["zone=1"]}`.
//! The server answers each with `{"id":0,"result":"text","error":null}`, or
//! with `result` null and `error` holding the message. `ovs-appctl` prints the
//! result to stdout, or the error to stderr and exits 2.
//!
//! ```text
//!  ovs-appctl / rvs ctl ──JSON──▶ Server::serve ──▶ Registry::call(method, args) ──▶ handler
//!                       ◀─JSON──                ◀──  Ok(text) | Err(text)
//! ```
//!
//! The registry is plain data: handlers are closures registered by the daemon.
//! `list-commands` and `version` are built in, as in OVS.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

/// A command handler: arguments in, text out (or an error message).
pub type Handler = Box<dyn Fn(&[String]) -> Result<String, String> + Send + Sync>;

struct Command {
    usage: String,
    min_args: usize,
    max_args: usize,
    handler: Handler,
}

/// The set of commands a server answers.
#[derive(Default)]
pub struct Registry {
    commands: BTreeMap<String, Command>,
}

impl Registry {
    pub fn new() -> Self {
        Registry::default()
    }

    /// Registers `name`; calls with fewer than `min_args` or more than
    /// `max_args` arguments are refused with OVS's messages.
    pub fn register(
        &mut self,
        name: &str,
        usage: &str,
        min_args: usize,
        max_args: usize,
        handler: Handler,
    ) {
        self.commands.insert(
            name.to_string(),
            Command {
                usage: usage.to_string(),
                min_args,
                max_args,
                handler,
            },
        );
    }

    /// Runs one command as the server would.
    pub fn call(&self, method: &str, args: &[String]) -> Result<String, String> {
        match method {
            "list-commands" => return Ok(self.list_commands()),
            "version" => {
                return Ok(format!(
                    "rvs (Open vSwitch compatible) {}\n",
                    env!("CARGO_PKG_VERSION")
                ));
            }
            _ => {}
        }
        let Some(cmd) = self.commands.get(method) else {
            return Err(format!(
                "\"{method}\" is not a valid command (use \"list-commands\" to see a list of valid commands)"
            ));
        };
        if args.len() < cmd.min_args {
            return Err(format!(
                "\"{method}\" command requires at least {} arguments",
                cmd.min_args
            ));
        }
        if args.len() > cmd.max_args {
            return Err(format!(
                "\"{method}\" command takes at most {} arguments",
                cmd.max_args
            ));
        }
        (cmd.handler)(args)
    }

    fn list_commands(&self) -> String {
        let mut out = String::from("The available commands are:\n");
        let builtins = [("list-commands", ""), ("version", "")];
        let mut rows: Vec<(&str, &str)> = builtins.to_vec();
        rows.extend(
            self.commands
                .iter()
                .map(|(n, c)| (n.as_str(), c.usage.as_str())),
        );
        rows.sort();
        for (name, usage) in rows {
            if usage.is_empty() {
                out.push_str(&format!("  {name}\n"));
            } else {
                out.push_str(&format!("  {name:<24}{usage}\n"));
            }
        }
        out
    }
}

/// One decoded request.
#[derive(Debug, PartialEq)]
pub struct Request {
    pub id: Value,
    pub method: String,
    pub params: Vec<String>,
}

/// Outcome of looking for one JSON value at the front of a buffer.
#[derive(Debug, PartialEq)]
pub enum Framed {
    /// A complete value and the number of bytes it used.
    Value(Value, usize),
    /// More bytes are needed.
    Incomplete,
    /// The bytes can never become JSON.
    Invalid(String),
}

/// Finds the first complete JSON value in `buf` (leading whitespace allowed).
pub fn frame(buf: &[u8]) -> Framed {
    let mut it = serde_json::Deserializer::from_slice(buf).into_iter::<Value>();
    match it.next() {
        None => Framed::Incomplete,
        Some(Ok(v)) => Framed::Value(v, it.byte_offset()),
        Some(Err(e)) if e.is_eof() => Framed::Incomplete,
        Some(Err(e)) => Framed::Invalid(e.to_string()),
    }
}

/// Turns a JSON-RPC request object into a [`Request`]; non-string params are
/// refused the way OVS refuses them.
pub fn parse_request(v: &Value) -> Result<Request, String> {
    let obj = v.as_object().ok_or("JSON-RPC message is not an object")?;
    let method = obj
        .get("method")
        .and_then(Value::as_str)
        .ok_or("request lacks \"method\"")?
        .to_string();
    let id = obj.get("id").cloned().unwrap_or(Value::Null);
    let params = match obj.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|p| {
                p.as_str()
                    .map(str::to_string)
                    .ok_or("command has non-string argument")
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("\"params\" is not an array".into()),
    };
    Ok(Request { id, method, params })
}

/// Serves `registry` on the unix socket at `path` (mode 0600) until the
/// listener fails. Each connection is handled on its own task.
pub async fn serve(path: &Path, registry: Arc<Registry>) -> io::Result<()> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    set_mode(path, 0o600)?;
    loop {
        let (stream, _) = listener.accept().await?;
        let registry = Arc::clone(&registry);
        tokio::spawn(async move {
            if let Err(e) = handle_connection(stream, &registry).await {
                tracing::debug!("unixctl connection ended: {e}");
            }
        });
    }
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Largest request rvs buffers before giving up on a client.
const MAX_REQUEST_BYTES: usize = 1 << 20;

/// `text` with a final newline, unless it is empty or has one.
fn with_newline(mut text: String) -> String {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

async fn handle_connection(mut stream: UnixStream, registry: &Registry) -> io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match frame(&buf) {
            Framed::Value(v, used) => {
                buf.drain(..used);
                let reply = match parse_request(&v) {
                    Ok(req) => {
                        // As OVS's `unixctl_command_reply__`: a non-empty body gets a
                        // final newline if it has none.
                        let out = match registry.call(&req.method, &req.params) {
                            Ok(t) => Ok(with_newline(t)),
                            Err(t) => Err(with_newline(t)),
                        };
                        match out {
                            Ok(text) => json!({"id": req.id, "result": text, "error": Value::Null}),
                            Err(text) => {
                                json!({"id": req.id, "result": Value::Null, "error": text})
                            }
                        }
                    }
                    Err(text) => {
                        let id = v.get("id").cloned().unwrap_or(Value::Null);
                        json!({"id": id, "result": Value::Null, "error": text})
                    }
                };
                stream.write_all(reply.to_string().as_bytes()).await?;
                continue;
            }
            Framed::Invalid(e) => {
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            Framed::Incomplete => {}
        }
        if buf.len() > MAX_REQUEST_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request too long",
            ));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Client side (`rvs ctl`): sends one command and returns the server's
/// result, or its error text as `Err`.
pub async fn call(
    path: &Path,
    method: &str,
    args: &[String],
) -> io::Result<Result<String, String>> {
    let mut stream = UnixStream::connect(path).await?;
    let req = json!({"id": 0, "method": method, "params": args});
    stream.write_all(req.to_string().as_bytes()).await?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match frame(&buf) {
            Framed::Value(v, _) => {
                let err = v.get("error").cloned().unwrap_or(Value::Null);
                if !err.is_null() {
                    return Ok(Err(err
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| err.to_string())));
                }
                let res = v.get("result").and_then(Value::as_str).unwrap_or_default();
                return Ok(Ok(res.to_string()));
            }
            Framed::Invalid(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
            Framed::Incomplete => {}
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        let mut r = Registry::new();
        r.register(
            "echo/args",
            "[ARG...]",
            0,
            3,
            Box::new(|a| Ok(a.join("|") + "\n")),
        );
        r.register("fail", "", 0, 0, Box::new(|_| Err("it failed".into())));
        r
    }

    #[test]
    fn frames_concatenated_and_partial_json() {
        let two = br#"{"id":0,"method":"a"} {"id":1,"method":"b"}"#;
        let Framed::Value(v, used) = frame(two) else {
            panic!("no value")
        };
        assert_eq!(v["method"], "a");
        let Framed::Value(v2, _) = frame(&two[used..]) else {
            panic!("no second value")
        };
        assert_eq!(v2["id"], 1);
        assert_eq!(frame(br#"{"id":0,"meth"#), Framed::Incomplete);
        assert!(matches!(frame(b"}{"), Framed::Invalid(_)));
    }

    #[test]
    fn calls_check_argument_counts_and_unknown_commands() {
        let r = registry();
        assert_eq!(
            r.call("echo/args", &["x".into(), "y".into()]),
            Ok("x|y\n".into())
        );
        let many: Vec<String> = (0..4).map(|i| i.to_string()).collect();
        assert!(
            r.call("echo/args", &many)
                .unwrap_err()
                .contains("at most 3")
        );
        assert!(
            r.call("nope", &[])
                .unwrap_err()
                .contains("is not a valid command")
        );
        assert_eq!(r.call("fail", &[]), Err("it failed".into()));
        assert!(r.call("list-commands", &[]).unwrap().contains("echo/args"));
    }

    #[test]
    fn non_string_params_are_refused() {
        let v: Value = serde_json::from_str(r#"{"id":3,"method":"x","params":[1]}"#).unwrap();
        assert!(parse_request(&v).is_err());
    }

    #[test]
    fn serves_over_a_unix_socket() {
        let dir = std::env::temp_dir().join(format!("rvs-unixctl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.ctl");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let server = tokio::spawn({
                let path = path.clone();
                async move { serve(&path, Arc::new(registry())).await }
            });
            for _ in 0..100 {
                if path.exists() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            let ok = call(&path, "echo/args", &["a".into()]).await.unwrap();
            assert_eq!(ok, Ok("a\n".into()));
            let err = call(&path, "fail", &[]).await.unwrap();
            // The server ends a reply with a newline, as OVS's does.
            assert_eq!(err, Err("it failed\n".into()));
            // Debian's ovs-appctl is the independent peer for this protocol.
            let appctl = tokio::task::spawn_blocking({
                let path = path.clone();
                move || {
                    std::process::Command::new("ovs-appctl")
                        .arg("-t")
                        .arg(&path)
                        .args(["echo/args", "p", "q"])
                        .output()
                }
            })
            .await
            .unwrap();
            match appctl {
                Ok(out) => {
                    assert!(out.status.success(), "ovs-appctl failed: {out:?}");
                    assert_eq!(String::from_utf8_lossy(&out.stdout), "p|q\n");
                }
                Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
                    panic!("ovs-appctl is required under CI=true: {e}")
                }
                Err(e) => eprintln!("skipping the ovs-appctl check: {e}"),
            }
            server.abort();
        });
        let mode = std::fs::metadata(&path).map(|m| {
            use std::os::unix::fs::PermissionsExt;
            m.permissions().mode() & 0o777
        });
        assert_eq!(mode.unwrap(), 0o600);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
