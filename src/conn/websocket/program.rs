//! `--ws-program`: a WebSocket served by a program of the user's, one
//! process per connection, as websocketd does: each text message from the
//! client is written to the program's stdin as a line, each line the
//! program writes to stdout goes to the client as a text message. Its exit
//! closes the socket (1000 when it succeeded, 1011 when it failed or
//! crashed), and a client that closes ends the program.
//!
//! The pipes are non-blocking and registered under the connection's slot,
//! like a CGI program's (`conn/cgi/`), so backpressure is the kernel's: a
//! client that does not read leaves stdout unread and the program blocks on
//! its next write; a program that does not read leaves frames undecoded in
//! the input buffer and the client's sends stall.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};

use mio::unix::SourceFd;
use mio::unix::pipe::{Receiver, Sender};

use super::WebSocket;
use crate::services::Services;
use crate::sys;

/// Bytes read from the program's stdout at a time.
const READ_CHUNK: usize = 16 * 1024;

/// A program serving one WebSocket.
pub struct Program {
    /// The process, until it is reaped or handed to the worker to reap.
    child: Option<Child>,
    /// Its PID, which is also its process group's ID.
    pid: u32,
    stdin: Option<Sender>,
    stdout: Option<Receiver>,
    stderr: Option<Receiver>,
    pidfd: Option<OwnedFd>,
    /// How it ended, once known.
    pub status: Option<ExitStatus>,
    /// Lines for its stdin, not yet taken by the pipe (from `stdin_pos`).
    to_stdin: Vec<u8>,
    stdin_pos: usize,
    /// The start of a stdout line whose newline has not come yet.
    line: Vec<u8>,
    stderr_line: Vec<u8>,
    /// For the error log.
    pub name: String,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program").field("pid", &self.pid).field("name", &self.name).finish_non_exhaustive()
    }
}

impl Program {
    /// Start `command` (its environment and directory set by the caller)
    /// in a process group of its own, pipes registered under `slot`.
    pub fn spawn(mut command: Command, name: String, slot: usize, svc: &mut Services) -> std::io::Result<Program> {
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        command.process_group(0);
        let mut child = command.spawn()?;
        let pid = child.id();
        let pipes = match crate::conn::cgi::register_child(&mut child, slot, svc) {
            Ok(p) => p,
            Err(e) => {
                sys::kill_group(pid);
                svc.zombies.push(child);
                return Err(e);
            }
        };
        Ok(Program {
            child: Some(child),
            pid,
            stdin: pipes.stdin,
            stdout: pipes.stdout,
            stderr: pipes.stderr,
            pidfd: Some(pipes.pidfd),
            status: None,
            to_stdin: Vec::new(),
            stdin_pos: 0,
            line: Vec::new(),
            stderr_line: Vec::new(),
            name,
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Bytes written for the program that it has not read yet.
    pub fn stdin_pending(&self) -> usize {
        self.to_stdin.len() - self.stdin_pos
    }

    /// A text message from the client, as a line for the program.
    pub fn give(&mut self, message: &[u8]) {
        if self.stdin.is_some() {
            self.to_stdin.extend_from_slice(message);
            self.to_stdin.push(b'\n');
        }
    }

    /// The client is gone or closed: the program's stdin ends.
    pub fn end_input(&mut self, svc: &mut Services) {
        if let Some(mut pipe) = self.stdin.take() {
            let _ = svc.registry.deregister(&mut pipe);
        }
        self.to_stdin = Vec::new();
        self.stdin_pos = 0;
    }

    /// Move bytes between the program and the socket's state: lines in,
    /// lines out (while `ws` has room for them), stderr to the log, and its
    /// exit. `true` when something moved.
    pub fn pump(&mut self, ws: &mut WebSocket, svc: &mut Services) -> bool {
        let mut progress = self.write_stdin();
        if !ws.output_full() {
            progress |= self.read_stdout(ws, svc);
        }
        progress |= self.read_stderr();
        progress |= self.reap(svc);
        progress
    }

    /// Its output is over and its exit collected.
    pub fn finished(&self) -> bool {
        self.stdout.is_none() && self.status.is_some()
    }

    fn write_stdin(&mut self) -> bool {
        let Some(pipe) = self.stdin.as_mut() else { return false };
        let mut progress = false;
        while self.stdin_pos < self.to_stdin.len() {
            match pipe.write(self.to_stdin.get(self.stdin_pos..).unwrap_or_default()) {
                Ok(n) => {
                    self.stdin_pos += n;
                    progress = true;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                // EPIPE: it closed its stdin; what the client says now goes nowhere.
                Err(_) => {
                    self.stdin = None;
                    self.to_stdin = Vec::new();
                    self.stdin_pos = 0;
                    return true;
                }
            }
        }
        if self.stdin_pos == self.to_stdin.len() {
            self.to_stdin.clear();
            self.stdin_pos = 0;
            if self.to_stdin.capacity() > 64 * 1024 {
                self.to_stdin = Vec::new();
            }
        }
        progress
    }

    fn read_stdout(&mut self, ws: &mut WebSocket, svc: &mut Services) -> bool {
        let Some(pipe) = self.stdout.as_mut() else { return false };
        let mut chunk = [0u8; READ_CHUNK];
        match pipe.read(&mut chunk) {
            Ok(0) => {
                if let Some(mut p) = self.stdout.take() {
                    let _ = svc.registry.deregister(&mut p);
                }
                // A last line without its newline is still a message.
                if !self.line.is_empty() {
                    let line = std::mem::take(&mut self.line);
                    ws.send_line(&line);
                }
                true
            }
            Ok(n) => {
                let max = ws.max_message();
                for piece in chunk.get(..n).unwrap_or_default().split_inclusive(|&b| b == b'\n') {
                    match piece.strip_suffix(b"\n") {
                        Some(end) => {
                            self.line.extend_from_slice(end);
                            let line = std::mem::take(&mut self.line);
                            ws.send_line(line.strip_suffix(b"\r").unwrap_or(&line));
                        }
                        None => self.line.extend_from_slice(piece),
                    }
                    // A line longer than a message may be goes out in pieces
                    // rather than growing without bound.
                    if self.line.len() >= max {
                        let line = std::mem::take(&mut self.line);
                        ws.send_line(&line);
                    }
                }
                true
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => false,
            Err(e) if e.kind() == ErrorKind::Interrupted => true,
            Err(_) => {
                self.stdout = None;
                true
            }
        }
    }

    fn read_stderr(&mut self) -> bool {
        let Some(pipe) = self.stderr.as_mut() else { return false };
        let mut buf = [0u8; 4096];
        match pipe.read(&mut buf) {
            Ok(0) => {
                self.stderr = None;
                self.flush_stderr_line();
                true
            }
            Ok(n) => {
                for &b in buf.get(..n).unwrap_or_default() {
                    if b == b'\n' || self.stderr_line.len() >= 4096 {
                        self.flush_stderr_line();
                    } else {
                        self.stderr_line.push(b);
                    }
                }
                true
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => false,
            Err(e) if e.kind() == ErrorKind::Interrupted => true,
            Err(_) => {
                self.stderr = None;
                true
            }
        }
    }

    fn flush_stderr_line(&mut self) {
        if !self.stderr_line.is_empty() {
            log::warn!("ws-program {}: {}", self.name, String::from_utf8_lossy(&self.stderr_line));
            self.stderr_line.clear();
        }
    }

    /// Collect the exit status once its output is over and it has ended.
    fn reap(&mut self, svc: &mut Services) -> bool {
        if self.status.is_some() || self.stdout.is_some() {
            return false;
        }
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(Some(status))) => {
                self.status = Some(status);
                self.child = None;
                if let Some(fd) = self.pidfd.take() {
                    let _ = svc.registry.deregister(&mut SourceFd(&fd.as_raw_fd()));
                }
                if !status.success() {
                    log::info!("ws-program {}: exited with {status}", self.name);
                }
                true
            }
            _ => false,
        }
    }

    /// The socket is closing: stop the program's whole group, and leave the
    /// process to the worker to reap.
    pub fn stop(&mut self, svc: &mut Services) {
        self.end_input(svc);
        if let Some(child) = self.child.take() {
            sys::kill_group(self.pid);
            svc.zombies.push(child);
        }
        self.flush_stderr_line();
    }
}

impl Drop for Program {
    /// The safety net, as for CGI: a program still running when its
    /// connection is dropped without `stop` must not outlive the server.
    fn drop(&mut self) {
        if self.child.is_some() {
            sys::kill_group(self.pid);
        }
    }
}
