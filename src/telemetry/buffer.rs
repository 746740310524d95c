//! The log's writer. Lines go into a buffer shared by every thread, which a thread of its own
//! writes to stderr every few milliseconds: logging a line costs a copy under a short lock, not
//! a system call (unbuffered stderr) or a thread wake-up (a channel to a writer thread), which
//! under load is a fifth of a token request. Nothing is dropped: a buffer that fills up is
//! written out by the thread that filled it.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the buffer is written out, and how much it holds before a logger writes it itself.
const EVERY: Duration = Duration::from_millis(20);
const LIMIT: usize = 1 << 20;

#[derive(Default)]
struct Shared {
    lines: Mutex<Vec<u8>>,
    stopping: AtomicBool,
}

impl Shared {
    fn lines(&self) -> MutexGuard<'_, Vec<u8>> {
        self.lines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes out what is buffered.
    fn write_out(&self) {
        let _ = write_taken(self.lines());
    }
}

/// Takes what is buffered and writes it outside the lock, so that loggers go on meanwhile.
fn write_taken(mut lines: MutexGuard<'_, Vec<u8>>) -> std::io::Result<()> {
    let pending = std::mem::take(&mut *lines);
    drop(lines);
    if pending.is_empty() {
        return Ok(());
    }
    std::io::stderr().lock().write_all(&pending)
}

/// Makes the writers `tracing_subscriber::fmt` writes each line with.
#[derive(Clone)]
pub struct LogBuffer(Arc<Shared>);

/// Writes the buffer out every [`EVERY`] until dropped, and once more then.
pub struct Flusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A buffer and the thread that writes it out.
pub fn start() -> (LogBuffer, Flusher) {
    let shared = Arc::new(Shared::default());
    let flushing = Arc::clone(&shared);
    let thread = std::thread::Builder::new()
        .name("flowgate-log".into())
        .spawn(move || {
            while !flushing.stopping.load(Ordering::Acquire) {
                std::thread::sleep(EVERY);
                flushing.write_out();
            }
        })
        .ok();
    let flusher = Flusher {
        shared: Arc::clone(&shared),
        thread,
    };
    (LogBuffer(shared), flusher)
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.shared.write_out();
    }
}

impl LogBuffer {
    /// Adds what `write` puts at the end of the buffer, under its lock.
    pub fn append_with(&self, write: impl FnOnce(&mut Vec<u8>)) {
        let mut lines = self.0.lines();
        write(&mut lines);
        if lines.len() >= LIMIT {
            let _ = write_taken(lines);
        }
    }
}

/// One line's writer: the buffer borrowed, not its `Arc` cloned (a reference count that every
/// thread's lines would move between the cores).
pub struct LineWriter<'a>(&'a LogBuffer);

impl Write for LineWriter<'_> {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        self.0.append_with(|lines| lines.extend_from_slice(line));
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wait_in_the_buffer_until_written_out() {
        let (buffer, flusher) = start();
        LineWriter(&buffer).write_all(b"one\n").expect("buffered");
        buffer.append_with(|lines| lines.extend_from_slice(b"two\n"));
        assert_eq!(buffer.0.lines().as_slice(), b"one\ntwo\n".as_slice());
        drop(flusher);
        assert!(
            buffer.0.lines().is_empty(),
            "written out when the flusher stops"
        );
    }

    #[test]
    fn a_full_buffer_is_written_out_by_its_logger() {
        let (buffer, _flusher) = start();
        LineWriter(&buffer)
            .write_all(&vec![b'x'; LIMIT])
            .expect("written");
        assert!(buffer.0.lines().len() < LIMIT);
    }
}
