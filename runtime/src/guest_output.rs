//! The guest's stdout and stderr as WASI streams: an exec [`CappedOutput`] whose refused
//! write traps the guest.
//!
//! The budget itself lives in `wasm-build-exec`, because the programs the script starts
//! write to the same streams; this module only adapts it to wasmtime's stream traits
//! (which a foreign type cannot implement outside its crate, hence the newtype).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use wasm_build_exec::output::CappedOutput;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// A [`CappedOutput`] the guest writes to through WASI.
#[derive(Clone)]
pub(crate) struct GuestOutput(pub(crate) CappedOutput);

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.0
            .accept(&bytes)
            .map_err(|_| StreamError::Trap(wasmtime::format_err!("output limit exceeded")))
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        // Always accept a write: the budget is enforced in `write`, so that the write
        // that crosses it traps instead of blocking the guest forever.
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for GuestOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(
            self.0
                .accept(buf)
                .map(|()| buf.len())
                .map_err(|_| std::io::Error::other("output limit exceeded")),
        )
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
