//! `std::sync::mpsc` whose blocking calls let pending threads run (see `thread`).
//!
//! std's receive on an empty channel parks the thread, and wasm32-wasip1's park returns at
//! once, so it would spin until the CPU limit. Here a receive on an empty channel runs
//! the next pending thread (the one that will send, in the patterns build scripts use)
//! and panics with an explanation when none is left. A rendezvous channel
//! (`sync_channel(0)`) holds one message: its sender cannot wait for a receiver that
//! only runs after it.

pub use std::sync::mpsc::{
    RecvError, RecvTimeoutError, SendError, Sender, TryRecvError, TrySendError,
};

use std::fmt;
use std::sync::mpsc as real;
use std::time::Duration;

use crate::thread::{run_pending, wait_for};

/// A channel; see the module's docs.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let (sender, inner) = real::channel();
    (sender, Receiver { inner })
}

/// A bounded channel; a bound of 0 holds one message (see the module's docs).
pub fn sync_channel<T>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
    let (inner, receiver) = real::sync_channel(bound.max(1));
    (SyncSender { inner }, Receiver { inner: receiver })
}

/// The receiving half of a channel.
pub struct Receiver<T> {
    inner: real::Receiver<T>,
}

impl<T> Receiver<T> {
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.inner.try_recv()
    }

    /// The next message, running pending threads while there is none.
    #[track_caller]
    pub fn recv(&self) -> Result<T, RecvError> {
        loop {
            match self.inner.try_recv() {
                Ok(value) => return Ok(value),
                Err(TryRecvError::Disconnected) => return Err(RecvError),
                Err(TryRecvError::Empty) => wait_for("a message on a channel"),
            }
        }
    }

    /// Like [`recv`](Self::recv), except that with no thread left to run it waits out
    /// `timeout` (nothing can send meanwhile) and times out.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        loop {
            match self.inner.try_recv() {
                Ok(value) => return Ok(value),
                Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
                Err(TryRecvError::Empty) if run_pending() => continue,
                Err(TryRecvError::Empty) => {
                    std::thread::sleep(timeout);
                    return Err(RecvTimeoutError::Timeout);
                }
            }
        }
    }

    pub fn iter(&self) -> Iter<'_, T> {
        Iter { receiver: self }
    }

    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { receiver: self }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// Messages until every sender is gone.
#[derive(Debug)]
pub struct Iter<'a, T> {
    receiver: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    #[track_caller]
    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

/// The messages already sent.
#[derive(Debug)]
pub struct TryIter<'a, T> {
    receiver: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.receiver.try_recv().ok()
    }
}

/// Messages until every sender is gone, owning the receiver.
#[derive(Debug)]
pub struct IntoIter<T> {
    receiver: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    #[track_caller]
    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { receiver: self }
    }
}

/// The sending half of a bounded channel.
pub struct SyncSender<T> {
    inner: real::SyncSender<T>,
}

impl<T> SyncSender<T> {
    /// Sends, running pending threads (a receiver among them) while the channel is full.
    #[track_caller]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let mut value = value;
        loop {
            match self.inner.try_send(value) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(back)) => return Err(SendError(back)),
                Err(TrySendError::Full(back)) => {
                    value = back;
                    wait_for("room in a full channel");
                }
            }
        }
    }

    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.inner.try_send(value)
    }
}

impl<T> Clone for SyncSender<T> {
    fn clone(&self) -> Self {
        SyncSender {
            inner: self.inner.clone(),
        }
    }
}

impl<T> fmt::Debug for SyncSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncSender").finish_non_exhaustive()
    }
}
