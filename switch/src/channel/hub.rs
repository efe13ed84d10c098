//! The tokio side of the channel: runs [`Conn`]s over byte streams and fans
//! bridge events out to them.
//!
//! ```text
//!   stream ──read──▶ frame_len ──▶ Conn::handle_frame ─┐   (under the Shared lock)
//!   stream ◀─write── Conn::poll_transmit ◀──────────────┘
//!   Hub::publish(ev) ──broadcast (bounded)──▶ every Conn::deliver_event
//! ```
//!
//! Events travel on a bounded broadcast channel: a connection whose peer
//! reads slowly falls behind and loses the oldest events (counted) instead of
//! blocking the bridge or the datapath.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ofp_codec::msg::{Frame, frame_len};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::broadcast;

use super::bridge::{Bridge, BridgeEvent};
use super::conn::{Conn, ConnConfig, ConnKind, ConnStats, Shared};

/// Events buffered per connection before the oldest are dropped.
pub const EVENT_QUEUE_LEN: usize = 1024;

/// How a connection ended.
#[derive(Debug)]
pub struct ConnEnd {
    pub reason: String,
    pub stats: ConnStats,
}

/// One bridge's connections.
pub struct Hub<B> {
    shared: Mutex<Shared<B>>,
    events: broadcast::Sender<Arc<BridgeEvent>>,
    start: Instant,
    primaries_open: AtomicUsize,
    conns_open: AtomicUsize,
}

impl<B: Bridge> Hub<B> {
    pub fn new(bridge: B) -> Arc<Self> {
        let (events, _) = broadcast::channel(EVENT_QUEUE_LEN);
        Arc::new(Hub {
            shared: Mutex::new(Shared::new(bridge)),
            events,
            start: Instant::now(),
            primaries_open: AtomicUsize::new(0),
            conns_open: AtomicUsize::new(0),
        })
    }

    /// The copies of controller traffic its `BRIDGE.snoop` clients read.
    pub fn snoop_taps(&self) -> Arc<super::snoop::SnoopTaps> {
        Arc::clone(&self.lock().snoop)
    }

    /// Milliseconds since the hub started: the `now_ms` of every call.
    pub fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn lock(&self) -> MutexGuard<'_, Shared<B>> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the bridge, then publishes the events it queued.
    pub fn with_bridge<R>(&self, f: impl FnOnce(&mut B, u64) -> R) -> R {
        let now = self.now_ms();
        let (r, evs) = {
            let mut sh = self.lock();
            let r = f(&mut sh.bridge, now);
            (r, sh.bridge.take_events())
        };
        for ev in evs {
            self.publish(ev);
        }
        r
    }

    /// Sends an event to every connection (never blocks).
    pub fn publish(&self, ev: BridgeEvent) {
        // No receivers is fine: nobody is connected.
        let _ = self.events.send(Arc::new(ev));
    }

    /// Primary (controller) connections that completed HELLO.
    pub fn primaries_open(&self) -> usize {
        self.primaries_open.load(Ordering::Relaxed)
    }

    /// All connections that completed HELLO.
    pub fn conns_open(&self) -> usize {
        self.conns_open.load(Ordering::Relaxed)
    }

    /// Periodic bridge work (flow expiry) every `period`; runs forever.
    pub async fn tick(self: Arc<Self>, period: Duration) {
        let mut iv = tokio::time::interval(period);
        loop {
            iv.tick().await;
            let evs = {
                let now = self.now_ms();
                let mut sh = self.lock();
                let mut evs = sh.bridge.run(now);
                evs.extend(sh.bridge.take_events());
                evs
            };
            for ev in evs {
                self.publish(ev);
            }
        }
    }

    /// Serves one OpenFlow connection until it ends.
    pub async fn serve<S>(self: Arc<Self>, stream: S, cfg: ConnConfig) -> ConnEnd
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (mut rd, mut wr) = tokio::io::split(stream);
        let mut rx = self.events.subscribe();
        let mut conn = Conn::new(cfg, &mut self.lock(), self.now_ms());
        let mut buf = BytesMut::with_capacity(1 << 16);
        let mut counted_open = false;
        let mut lagged: u64 = 0;
        let reason = loop {
            if let Err(e) = flush(&mut conn, &mut wr).await {
                break format!("write failed: {e}");
            }
            if !counted_open && conn.is_open() {
                counted_open = true;
                self.count(cfg.kind, 1);
            }
            if conn.is_closed() {
                break conn.close_reason().unwrap_or("closed").to_string();
            }
            let deadline = conn.poll_timeout();
            let sleep = async {
                match deadline {
                    Some(d) => {
                        tokio::time::sleep(Duration::from_millis(d.saturating_sub(self.now_ms())))
                            .await
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = rd.read_buf(&mut buf) => {
                    match r {
                        Ok(0) => break "connection closed by peer".to_string(),
                        Ok(_) => {}
                        Err(e) => break format!("read failed: {e}"),
                    }
                    if let Err(reason) = self.feed(&mut conn, &mut buf) {
                        let _ = flush(&mut conn, &mut wr).await;
                        break reason;
                    }
                }
                ev = rx.recv() => match ev {
                    Ok(ev) => {
                        let sh = self.lock();
                        conn.deliver_event(&ev, &sh, self.now_ms());
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        lagged += n;
                        tracing::warn!(conn = conn.id(), dropped = n, "slow OpenFlow peer: dropped asynchronous messages");
                    }
                    Err(broadcast::error::RecvError::Closed) => break "bridge closed".to_string(),
                },
                _ = sleep => conn.handle_timeout(self.now_ms()),
            }
        };
        conn.detach(&mut self.lock());
        if counted_open {
            self.count(cfg.kind, -1);
        }
        let mut stats = conn.stats();
        stats.packet_ins_dropped += lagged;
        tracing::debug!(conn = conn.id(), %reason, "OpenFlow connection ended");
        ConnEnd { reason, stats }
    }

    fn count(&self, kind: ConnKind, delta: isize) {
        let upd = |a: &AtomicUsize| {
            if delta > 0 {
                a.fetch_add(1, Ordering::Relaxed);
            } else {
                a.fetch_sub(1, Ordering::Relaxed);
            }
        };
        upd(&self.conns_open);
        if kind == ConnKind::Primary {
            upd(&self.primaries_open);
        }
    }

    /// Splits and handles every complete message in `buf`. Err: the stream
    /// can no longer be framed.
    fn feed(&self, conn: &mut Conn, buf: &mut BytesMut) -> Result<(), String> {
        loop {
            match frame_len(buf) {
                Ok(Frame::Complete(n)) => {
                    let frame = buf.split_to(n);
                    let evs = {
                        let now = self.now_ms();
                        let mut sh = self.lock();
                        conn.handle_frame(&frame, &mut sh, now);
                        sh.bridge.take_events()
                    };
                    for ev in evs {
                        self.publish(ev);
                    }
                    if conn.is_closed() {
                        return Ok(());
                    }
                }
                Ok(Frame::Incomplete(need)) => {
                    buf.reserve(need.saturating_sub(buf.len()));
                    // End of the batch: the changes it made take effect.
                    self.with_bridge(|b, now| b.sync(now));
                    return Ok(());
                }
                Err(_) => {
                    return Err("message with length below 8 bytes, cannot frame the stream".into());
                }
            }
        }
    }
}

async fn flush<W: AsyncWrite + Unpin>(conn: &mut Conn, wr: &mut W) -> io::Result<()> {
    let mut wrote = false;
    while let Some(m) = conn.poll_transmit() {
        wr.write_all(&m).await?;
        wrote = true;
    }
    if wrote {
        wr.flush().await?;
    }
    Ok(())
}
