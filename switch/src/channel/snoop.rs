//! `RUNDIR/BRIDGE.snoop`: a passive OpenFlow socket that shows what the
//! switch and its controller say to each other, as OVS's snoop (`ovs-ofctl
//! snoop BRIDGE`).
//!
//! ```text
//!  controller ◀──▶ Conn ──copy (both directions)──▶ SnoopTaps ──▶ snoop client
//! ```
//!
//! A snoop client connects, exchanges HELLOs (rvs offers OpenFlow 1.3; a
//! client that speaks none of it gets `OFPET_HELLO_FAILED` and is closed),
//! and is then attached to one controller connection: from then on it
//! receives a copy of every message that connection sends or receives
//! after its own HELLO exchange (OVS's vconn layer does not show HELLOs to
//! monitors either), in the order the connection saw them. Anything the
//! client sends is read and discarded. A client that reads too slowly loses
//! the messages that do not fit its queue, as OVS drops a copy its monitor
//! cannot take (`EAGAIN`); the switch never waits for it.
//!
//! Which connection: as OVS, only connections to configured controllers
//! (active `tcp:`, [`ConnKind::Primary`]) are snooped, never `ptcp:` or
//! `BRIDGE.mgmt` ones; with none open, the client is closed at once (OVS
//! logs "no controller connection to snoop"). Two differences from OVS:
//! rvs picks the longest-open controller connection, where OVS prefers by
//! role (primary, then equal, then secondary); and when that connection
//! ends, the snoop connection is closed, where OVS's stays on the
//! reconnecting controller target.
//!
//! [`ConnKind::Primary`]: super::conn::ConnKind::Primary

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ofp_codec::msg::{Frame, Hello, Message, OFP13_VERSION, frame_len, negotiate};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

/// Messages queued per snoop client before copies are dropped.
pub const SNOOP_QUEUE_LEN: usize = 1024;

/// The copies of one bridge's controller traffic, shared by its
/// connections and its snoop clients.
#[derive(Debug, Default)]
pub struct SnoopTaps {
    /// Number of attached clients: the connections' fast path.
    clients: AtomicUsize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Open controller connections, oldest first.
    controllers: Vec<u64>,
    taps: Vec<Tap>,
}

#[derive(Debug)]
struct Tap {
    conn: u64,
    tx: mpsc::Sender<Bytes>,
}

impl SnoopTaps {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A controller connection finished its HELLO exchange.
    pub fn controller_open(&self, conn: u64) {
        let mut g = self.lock();
        if !g.controllers.contains(&conn) {
            g.controllers.push(conn);
        }
    }

    /// Connection `conn` ended: forget it and close its snoop clients.
    pub fn conn_closed(&self, conn: u64) {
        if self.clients.load(Ordering::Relaxed) == 0 && !self.is_controller(conn) {
            return;
        }
        let mut g = self.lock();
        g.controllers.retain(|&c| c != conn);
        g.taps.retain(|t| t.conn != conn);
        self.clients.store(g.taps.len(), Ordering::Relaxed);
    }

    fn is_controller(&self, conn: u64) -> bool {
        self.lock().controllers.contains(&conn)
    }

    /// Copies `msg`, sent or received by connection `conn`, to the clients
    /// snooping it. Never blocks: a full client queue loses the copy.
    pub fn copy(&self, conn: u64, msg: &[u8]) {
        if self.clients.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut g = self.lock();
        let mut copy: Option<Bytes> = None;
        g.taps.retain(|t| {
            if t.conn != conn {
                return true;
            }
            let b = copy
                .get_or_insert_with(|| Bytes::copy_from_slice(msg))
                .clone();
            !matches!(t.tx.try_send(b), Err(mpsc::error::TrySendError::Closed(_)))
        });
        self.clients.store(g.taps.len(), Ordering::Relaxed);
    }

    /// Attaches a new client to the longest-open controller connection;
    /// `None` if there is none.
    pub fn attach(&self) -> Option<mpsc::Receiver<Bytes>> {
        let mut g = self.lock();
        let conn = *g.controllers.first()?;
        let (tx, rx) = mpsc::channel(SNOOP_QUEUE_LEN);
        g.taps.push(Tap { conn, tx });
        self.clients.store(g.taps.len(), Ordering::Relaxed);
        Some(rx)
    }
}

/// Serves snoop clients on `listener` forever.
pub async fn serve(taps: Arc<SnoopTaps>, listener: UnixListener) {
    loop {
        match listener.accept().await {
            Ok((s, _)) => {
                tokio::spawn(serve_client(Arc::clone(&taps), s));
            }
            Err(e) => {
                tracing::warn!("accept on snoop socket failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Reads one whole OpenFlow message into `buf`'s front; `None` at EOF, on
/// an error or on a header that cannot be framed.
async fn read_frame(s: &mut UnixStream, buf: &mut BytesMut) -> Option<BytesMut> {
    loop {
        match frame_len(buf) {
            Ok(Frame::Complete(n)) => return Some(buf.split_to(n)),
            Ok(Frame::Incomplete(_)) => {}
            Err(_) => return None,
        }
        match s.read_buf(buf).await {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

async fn serve_client(taps: Arc<SnoopTaps>, mut s: UnixStream) {
    let ours = 1u32 << OFP13_VERSION;
    let hello = Message::Hello(Hello::with_versions(ours)).encode(0);
    if s.write_all(&hello).await.is_err() {
        return;
    }
    let mut buf = BytesMut::with_capacity(4096);
    let Some(first) = read_frame(&mut s, &mut buf).await else {
        return;
    };
    match Message::decode(&first) {
        Ok((h, Message::Hello(theirs))) => {
            if let Err(e) = negotiate(ours, h.version, &theirs) {
                let _ = s.write_all(&Message::error_reply(e, &first)).await;
                return;
            }
        }
        _ => return,
    }
    let Some(mut rx) = taps.attach() else {
        tracing::info!("no controller connection to snoop");
        return;
    };
    let (mut rd, mut wr) = s.into_split();
    let mut sink = [0u8; 4096];
    loop {
        tokio::select! {
            m = rx.recv() => match m {
                Some(m) => {
                    if wr.write_all(&m).await.is_err() {
                        return;
                    }
                }
                None => return,
            },
            r = rd.read(&mut sink) => match r {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn copies_reach_the_clients_of_their_connection_only() {
        let taps = SnoopTaps::default();
        assert!(taps.attach().is_none(), "no controller: nothing to snoop");
        taps.copy(1, b"dropped: nobody listens");
        taps.controller_open(7);
        taps.controller_open(9);
        let mut rx = taps.attach().unwrap();
        taps.copy(9, b"other connection");
        taps.copy(7, b"one");
        taps.copy(7, b"two");
        assert_eq!(rx.recv().await.unwrap(), Bytes::from_static(b"one"));
        assert_eq!(rx.recv().await.unwrap(), Bytes::from_static(b"two"));
        assert!(rx.try_recv().is_err());
        taps.conn_closed(7);
        assert!(rx.recv().await.is_none(), "closed with its connection");
        let rx2 = taps.attach().unwrap();
        drop(rx2);
        taps.copy(9, b"x");
        assert_eq!(
            taps.clients.load(Ordering::Relaxed),
            0,
            "gone client forgotten"
        );
    }

    #[tokio::test]
    async fn a_slow_client_loses_copies_instead_of_blocking() {
        let taps = SnoopTaps::default();
        taps.controller_open(1);
        let mut rx = taps.attach().unwrap();
        for _ in 0..SNOOP_QUEUE_LEN + 10 {
            taps.copy(1, b"m");
        }
        let mut n = 0;
        while rx.try_recv().is_ok() {
            n += 1;
        }
        assert_eq!(n, SNOOP_QUEUE_LEN);
    }
}
