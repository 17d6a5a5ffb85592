//! The per-worker open-file cache, and the confined opening it is built on.
//!
//! A hot file should cost no system call and no formatting: an entry keeps
//! the open file (shared with in-flight responses through `Rc`), its length,
//! and the header lines of its responses ready to copy. An entry also holds
//! the precompressed siblings found beside the file (`FILE.br`, `FILE.zst`,
//! `FILE.gz`), so choosing a coding needs no `open` either.
//!
//! Freshness: an entry is trusted for one second of the worker's clock, then
//! the next request re-opens the file by path and compares device, inode,
//! length and modification time. A file replaced by `rename` (new inode),
//! modified in place, or deleted is therefore seen within about a second.
//!
//! Bounds: at most [`MAX_ENTRIES`] entries and a budget of open fds derived
//! from `RLIMIT_NOFILE`; beyond them the CLOCK algorithm evicts an entry that
//! was not used since the hand last passed it. Evicting drops the cache's
//! `Rc`, so the fd closes when the last response using it is done. Files up
//! to [`MEMORY_MAX`] are also read into memory while the worker's
//! [`MEMORY_BUDGET`] lasts; past it, new entries are served from the file.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::rc::Rc;

use wired_parser::values::accept_encoding::{AcceptEncoding, Coding};
use wired_parser::values::date::{HTTP_DATE_LEN, format_http_date};

use super::conditional::Validators;
use super::mime::{MimeTable, extension};
use crate::config::CacheControl;
use crate::response::FileSlice;
use crate::sys::fs;

/// Most entries one worker keeps.
pub const MAX_ENTRIES: usize = 1024;

/// Flags for opening a file to serve. `O_NONBLOCK` makes opening a FIFO
/// return at once instead of waiting for a writer; `O_NOCTTY` keeps a
/// terminal device from becoming ours. Neither changes reads of a regular
/// file.
pub const FILE_FLAGS: libc::c_int = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;

/// Flags for opening a directory to list it.
pub const DIR_FLAGS: libc::c_int = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NONBLOCK | libc::O_CLOEXEC;

/// How paths are resolved beneath the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolve {
    /// `openat2` with `RESOLVE_BENEATH`: the kernel refuses any step,
    /// symbolic link or not, that leaves the root.
    Beneath,
    /// Kernels without `openat2`: one `openat(O_NOFOLLOW)` per component, so
    /// every symbolic link is refused, even one that stays inside.
    Walk,
    /// `--follow-symlinks`: plain `openat`, links go wherever they point.
    Follow,
}

/// The document root, open as a directory fd that every path is resolved
/// beneath.
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
    resolve: Resolve,
}

impl Root {
    /// Open `path` as the root, and find out whether `openat2` works here.
    pub fn open(path: &Path, follow_symlinks: bool) -> io::Result<Root> {
        let dir =
            std::fs::OpenOptions::new().read(true).custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC).open(path)?;
        let fd = OwnedFd::from(dir);
        let resolve = if follow_symlinks {
            Resolve::Follow
        } else {
            // Old kernels say ENOSYS; some container seccomp profiles say
            // EPERM for system calls they do not know.
            match fs::openat2(fd.as_fd(), c".", DIR_FLAGS, beneath_flags()) {
                Ok(_) => Resolve::Beneath,
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
                    log::warn!("openat2 is unavailable ({e}); symbolic links will not be followed");
                    Resolve::Walk
                }
                Err(e) => return Err(e),
            }
        };
        Ok(Root { fd, resolve })
    }

    /// How this root resolves paths.
    #[cfg(test)]
    pub fn resolve(&self) -> Resolve {
        self.resolve
    }

    /// Force a resolution mode (tests of the fallback).
    #[cfg(test)]
    pub fn set_resolve(&mut self, resolve: Resolve) {
        self.resolve = resolve;
    }

    /// Open `rel` (relative to the root, no leading `/`; `.` for the root).
    pub fn open_at(&self, rel: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
        match self.resolve {
            Resolve::Beneath => fs::openat2(self.fd.as_fd(), rel, flags, beneath_flags()),
            Resolve::Follow => fs::openat(self.fd.as_fd(), rel, flags),
            Resolve::Walk => self.walk(rel, flags),
        }
    }

    /// Open `rel` one component at a time, refusing symbolic links.
    fn walk(&self, rel: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
        let mut components = rel.to_bytes().split(|&b| b == b'/').filter(|c| !c.is_empty()).peekable();
        let mut dir: Option<OwnedFd> = None;
        while let Some(component) = components.next() {
            let name = CString::new(component).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
            let at = dir.as_ref().map_or(self.fd.as_fd(), AsFd::as_fd);
            if components.peek().is_none() {
                return fs::openat(at, &name, flags | libc::O_NOFOLLOW);
            }
            let step = libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
            dir = Some(fs::openat(at, &name, step)?);
        }
        fs::openat(self.fd.as_fd(), c".", flags)
    }
}

fn beneath_flags() -> u64 {
    libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS
}

/// What identifies one version of a file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: i64,
    mtime_nsec: i64,
}

impl FileId {
    /// One number for this version of the file, to match a compression
    /// thread's result with the file it was made from.
    fn stamp(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        std::hash::Hash::hash(&(self.dev, self.ino, self.len, self.mtime, self.mtime_nsec), &mut h);
        std::hash::Hasher::finish(&h)
    }
}

/// One servable form of a file: the file itself or a precompressed sibling.
#[derive(Debug)]
pub struct Variant {
    file: Rc<File>,
    /// The file's bytes, when it is small (see [`MEMORY_MAX`]).
    memory: Option<Rc<[u8]>>,
    id: FileId,
    /// `Last-Modified`, Unix seconds.
    last_modified: u64,
    /// Header lines, in the order: ETag, Last-Modified, Cache-Control, Vary
    /// (all a 304 repeats, RFC 9110 §15.4.5), then Accept-Ranges,
    /// Content-Encoding, then Content-Type (left out of a multipart 206).
    head: Vec<u8>,
    not_modified_end: usize,
    type_start: usize,
    /// Where the entity tag's opaque bytes and the media type are in `head`.
    etag: (usize, usize),
    content_type: (usize, usize),
}

impl Variant {
    /// All header lines of a 200 or single-range 206.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// The header lines a 304 carries.
    pub fn not_modified_head(&self) -> &[u8] {
        self.head.get(..self.not_modified_end).unwrap_or_default()
    }

    /// All header lines but Content-Type (a multipart body has its own).
    pub fn head_without_type(&self) -> &[u8] {
        self.head.get(..self.type_start).unwrap_or_default()
    }

    /// The `Content-Type` value, for the parts of a multipart body.
    pub fn content_type(&self) -> &[u8] {
        self.head.get(self.content_type.0..self.content_type.1).unwrap_or_default()
    }

    /// The validators that preconditions compare against.
    pub fn validators(&self) -> Validators<'_> {
        Validators {
            etag: self.head.get(self.etag.0..self.etag.1).unwrap_or_default(),
            last_modified: self.last_modified,
        }
    }

    /// The whole file as a body.
    pub fn slice(&self) -> FileSlice {
        FileSlice { file: Rc::clone(&self.file), offset: 0, len: self.id.len, memory: self.memory.clone() }
    }
}

/// A cached path: the file and its precompressed siblings.
#[derive(Debug)]
pub struct Entry {
    identity: Variant,
    /// In the server's order of preference: br, zstd, gzip.
    encoded: Vec<(Coding, Variant)>,
    /// Forms compressed here, on the fly, in memory (`compress.rs`).
    made: Vec<(Coding, Variant)>,
    /// Forms sent to the compression thread (each once per version).
    sent: Vec<Coding>,
    /// The file may be compressed on the fly: compression is on, it has
    /// no precompressed sibling, its type compresses and its size fits.
    compressible: bool,
    checked: u64,
}

/// Which form of a file a request gets.
pub enum Choice<'a> {
    /// This one, ready.
    Ready(&'a Variant),
    /// A form to compress first (`FileCache::compress`).
    Compress(Coding),
}

impl Entry {
    /// The form for this `Accept-Encoding`: a precompressed sibling, a form
    /// compressed here before, one to compress now, or the file itself.
    /// `whole`: the whole file is asked for (a range never is compressed).
    pub fn choose(&self, accept_encoding: Option<&[u8]>, whole: bool) -> Choice<'_> {
        if !self.compressible || !whole {
            return Choice::Ready(self.variant(accept_encoding));
        }
        match super::compress::choose(accept_encoding) {
            None => Choice::Ready(&self.identity),
            Some(coding) => match self.made.iter().find(|(c, _)| *c == coding) {
                Some((_, variant)) => Choice::Ready(variant),
                None => Choice::Compress(coding),
            },
        }
    }

    /// The form to send for this `Accept-Encoding` value (RFC 9110 §12.5.3).
    /// No field means no coding: some clients that cannot decode omit it.
    pub fn variant(&self, accept_encoding: Option<&[u8]>) -> &Variant {
        let (Some(value), false) = (accept_encoding, self.encoded.is_empty()) else {
            return &self.identity;
        };
        let accept = AcceptEncoding::parse(value);
        let mut available = [Coding::Identity; 4];
        for (slot, (coding, _)) in available.iter_mut().zip(&self.encoded) {
            *slot = *coding;
        }
        // Identity last: it loses ties, and wins when weighted higher.
        let count = self.encoded.len() + 1;
        let chosen = accept.preferred(available.get(..count).unwrap_or_default());
        self.encoded.iter().find(|(coding, _)| Some(*coding) == chosen).map_or(&self.identity, |(_, variant)| variant)
    }

    fn fds(&self) -> usize {
        1 + self.encoded.len()
    }

    /// Read the small variants into memory, up to `room` bytes in all.
    ///
    /// A hot small file then costs no system call of its own, and pipelined
    /// responses share one write. This happens when an entry is made or its
    /// files changed, never when a revalidation finds them the same.
    fn load_memory(&mut self, mut room: u64) {
        let variants = std::iter::once(&mut self.identity).chain(self.encoded.iter_mut().map(|(_, v)| v));
        for variant in variants {
            let len = variant.id.len;
            if len > MEMORY_MAX || len > room {
                continue;
            }
            let mut bytes = vec![0u8; len as usize];
            if std::os::unix::fs::FileExt::read_exact_at(&*variant.file, &mut bytes, 0).is_ok() {
                variant.memory = Some(Rc::from(bytes));
                room -= len;
            }
        }
    }

    /// Bytes of file content held in memory, over all variants.
    fn memory(&self) -> u64 {
        let held = |v: &Variant| v.memory.as_ref().map_or(0, |m| m.len() as u64);
        let forms = self.encoded.iter().chain(&self.made);
        held(&self.identity) + forms.map(|(_, v)| held(v)).sum::<u64>()
    }
}

/// Why a path is not a cacheable file.
#[derive(Debug)]
pub enum Miss {
    /// It names a directory.
    Directory,
    /// It is a FIFO, socket or device: never served.
    NotRegular,
    /// Opening or inspecting it failed.
    Error(io::Error),
}

/// What a new entry's header lines are made from.
pub struct Describe<'a> {
    /// Media types.
    pub mime: &'a MimeTable,
    /// `--cache-control` rules.
    pub cache_control: &'a [CacheControl],
    /// Compression on the fly.
    pub compress: &'a crate::config::CompressSettings,
}

/// Precompressed siblings looked for, in the server's order of preference.
const SIBLINGS: [(Coding, &str); 3] = [(Coding::Br, ".br"), (Coding::Zstd, ".zst"), (Coding::Gzip, ".gz")];

struct Slot {
    key: Box<[u8]>,
    entry: Entry,
    referenced: bool,
}

/// The cache. One per worker thread; never shared.
pub struct FileCache {
    map: HashMap<Box<[u8]>, usize>,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    hand: usize,
    fds: usize,
    /// Bytes of file content the entries hold in memory.
    memory: u64,
    max_entries: usize,
    max_fds: usize,
    /// Where the compression thread sends this worker's results.
    done: (std::sync::mpsc::Sender<super::compress::Done>, std::sync::mpsc::Receiver<super::compress::Done>),
}

impl FileCache {
    /// An empty cache whose entries may hold up to `max_fds` open files.
    pub fn new(max_entries: usize, max_fds: usize) -> FileCache {
        FileCache {
            map: HashMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            hand: 0,
            fds: 0,
            memory: 0,
            max_entries: max_entries.max(1),
            max_fds: max_fds.max(4),
            done: std::sync::mpsc::channel(),
        }
    }

    /// The entry for `key` (the request path), opening `rel` (the file, as a
    /// path under the root) on a miss or when the entry is over a second old.
    pub fn get(
        &mut self,
        root: &Root,
        key: &[u8],
        rel: &CStr,
        now: u64,
        describe: &Describe<'_>,
    ) -> Result<&Entry, Miss> {
        let cached = self.map.get(key).copied();
        let index = match cached {
            Some(index) if self.is_fresh(index, now) => index,
            Some(index) => self.revalidate(root, index, key, rel, now, describe)?,
            None => {
                let entry = self.open_with_retry(root, rel, now, describe)?;
                self.insert(key, entry)
            }
        };
        match self.slots.get_mut(index).and_then(Option::as_mut) {
            Some(slot) => {
                slot.referenced = true;
                Ok(&slot.entry)
            }
            None => Err(Miss::Error(io::Error::other("open-file cache slot vanished"))),
        }
    }

    fn is_fresh(&self, index: usize, now: u64) -> bool {
        self.slots.get(index).and_then(Option::as_ref).is_some_and(|slot| now < slot.entry.checked.saturating_add(1))
    }

    /// Check an old entry against the disk: keep it if nothing changed,
    /// replace it if the file did, drop it if the file is gone. Returns the
    /// entry's slot.
    fn revalidate(
        &mut self,
        root: &Root,
        index: usize,
        key: &[u8],
        rel: &CStr,
        now: u64,
        describe: &Describe<'_>,
    ) -> Result<usize, Miss> {
        let mut fresh = match self.open_with_retry(root, rel, now, describe) {
            Ok(entry) => entry,
            Err(miss) => {
                self.remove(index);
                return Err(miss);
            }
        };
        // Running out of fds above may have evicted this very entry.
        let Some(slot) = self.slots.get_mut(index).and_then(Option::as_mut) else {
            return Ok(self.insert(key, fresh));
        };
        if same_files(&slot.entry, &fresh) {
            // Dropping `fresh` closes the fds just opened.
            slot.entry.checked = now;
        } else {
            self.fds -= slot.entry.fds();
            self.memory -= slot.entry.memory();
            fresh.load_memory(MEMORY_BUDGET.saturating_sub(self.memory));
            self.fds += fresh.fds();
            self.memory += fresh.memory();
            slot.entry = fresh;
        }
        Ok(index)
    }

    /// Open a file, and on running out of fds give some back and try again.
    fn open_with_retry(&mut self, root: &Root, rel: &CStr, now: u64, describe: &Describe<'_>) -> Result<Entry, Miss> {
        match open_entry(root, rel, now, describe) {
            Err(Miss::Error(e)) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                log::warn!("out of file descriptors; shrinking the open-file cache");
                let target = self.map.len() / 2;
                while self.map.len() > target && self.evict_one() {}
                open_entry(root, rel, now, describe)
            }
            other => other,
        }
    }

    fn insert(&mut self, key: &[u8], mut entry: Entry) -> usize {
        while !self.map.is_empty() && (self.map.len() >= self.max_entries || self.fds + entry.fds() > self.max_fds) {
            if !self.evict_one() {
                break;
            }
        }
        entry.load_memory(MEMORY_BUDGET.saturating_sub(self.memory));
        self.fds += entry.fds();
        self.memory += entry.memory();
        let slot = Slot { key: key.into(), entry, referenced: false };
        let index = match self.free.pop() {
            Some(index) => {
                if let Some(free) = self.slots.get_mut(index) {
                    *free = Some(slot);
                }
                index
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        };
        self.map.insert(key.into(), index);
        index
    }

    /// CLOCK: sweep from the hand, sparing (once) entries used since the
    /// last sweep, and evict the first one that was not. False if empty.
    fn evict_one(&mut self) -> bool {
        let len = self.slots.len();
        for _ in 0..2 * len {
            let index = self.hand % len.max(1);
            self.hand = index + 1;
            match self.slots.get_mut(index) {
                Some(Some(slot)) if slot.referenced => slot.referenced = false,
                Some(Some(_)) => {
                    self.remove(index);
                    return true;
                }
                _ => {}
            }
        }
        false
    }

    fn remove(&mut self, index: usize) {
        if let Some(slot) = self.slots.get_mut(index).and_then(Option::take) {
            self.map.remove(&slot.key);
            self.fds -= slot.entry.fds();
            self.memory -= slot.entry.memory();
            self.free.push(index);
        }
    }

    /// Compress the file `key` names into `coding`, whole, and keep the
    /// result with it. False when it cannot be (the entry is gone, memory
    /// is short, the file cannot be read, or it is large and goes to the
    /// compression thread instead): the file is then sent as it is.
    pub fn compress(&mut self, key: &[u8], coding: Coding, now: u64, describe: &Describe<'_>) -> bool {
        let Some(&index) = self.map.get(key) else { return false };
        let Some(slot) = self.slots.get_mut(index).and_then(Option::as_mut) else { return false };
        let identity = &slot.entry.identity;
        if self.memory + identity.id.len / 2 > MEMORY_BUDGET {
            return false;
        }
        if identity.id.len > super::compress::INLINE_MAX {
            self.compress_later(index, coding, describe);
            return false;
        }
        let bytes = match &identity.memory {
            Some(m) => super::compress::encode_all(coding, m, describe.compress),
            None => {
                let mut data = vec![0u8; identity.id.len as usize];
                match std::os::unix::fs::FileExt::read_exact_at(&*identity.file, &mut data, 0) {
                    Ok(()) => super::compress::encode_all(coding, &data, describe.compress),
                    Err(e) => Err(e),
                }
            }
        };
        let Ok(bytes) = bytes else { return false };
        self.keep_made(index, coding, bytes, now, describe);
        true
    }

    /// Send a large file to the compression thread, once per form.
    fn compress_later(&mut self, index: usize, coding: Coding, describe: &Describe<'_>) {
        let Some(slot) = self.slots.get_mut(index).and_then(Option::as_mut) else { return };
        if slot.entry.sent.contains(&coding) {
            return;
        }
        let identity = &slot.entry.identity;
        let Ok(file) = identity.file.try_clone() else { return };
        let reply = self.done.0.clone();
        let job = super::compress::Job {
            key: slot.key.clone(),
            stamp: identity.id.stamp(),
            file,
            len: identity.id.len,
            coding,
            settings: describe.compress.clone(),
            reply,
        };
        if super::compress::submit(job) {
            slot.entry.sent.push(coding);
        }
    }

    /// Keep what the compression thread has finished since the last call,
    /// with the files it belongs to if they have not changed meanwhile.
    pub fn take_compressed(&mut self, now: u64, describe: &Describe<'_>) {
        while let Ok(done) = self.done.1.try_recv() {
            let Ok(bytes) = done.bytes else { continue };
            let Some(&index) = self.map.get(&done.key) else { continue };
            let Some(slot) = self.slots.get(index).and_then(Option::as_ref) else { continue };
            let entry = &slot.entry;
            if entry.identity.id.stamp() != done.stamp || entry.made.iter().any(|(c, _)| *c == done.coding) {
                continue;
            }
            if self.memory + bytes.len() as u64 > MEMORY_BUDGET {
                continue;
            }
            self.keep_made(index, done.coding, bytes, now, describe);
        }
    }

    /// Keep `bytes`, the file of slot `index` compressed into `coding`.
    fn keep_made(&mut self, index: usize, coding: Coding, bytes: Vec<u8>, now: u64, describe: &Describe<'_>) {
        let Some(slot) = self.slots.get_mut(index).and_then(Option::as_mut) else { return };
        let name = slot.key.clone();
        let entry = &mut slot.entry;
        let identity = &entry.identity;
        let mut variant =
            describe_variant(Rc::clone(&identity.file), identity.id, Some(coding), true, true, &name, now, describe);
        variant.id.len = bytes.len() as u64;
        variant.memory = Some(Rc::from(bytes));
        self.memory += variant.id.len;
        entry.made.push((coding, variant));
    }

    /// How many entries are cached.
    #[cfg(test)]
    pub fn entries(&self) -> usize {
        self.map.len()
    }

    /// How many bytes of file content the entries hold in memory.
    #[cfg(test)]
    pub fn memory_bytes(&self) -> u64 {
        self.memory
    }

    /// How many fds the entries hold.
    #[cfg(test)]
    pub fn open_fds(&self) -> usize {
        self.fds
    }
}

/// Whether two entries describe the same files on disk.
fn same_files(a: &Entry, b: &Entry) -> bool {
    a.identity.id == b.identity.id
        && a.encoded.len() == b.encoded.len()
        && a.encoded.iter().zip(&b.encoded).all(|((ca, va), (cb, vb))| ca == cb && va.id == vb.id)
}

/// Open `rel` and its precompressed siblings and describe them.
fn open_entry(root: &Root, rel: &CStr, now: u64, describe: &Describe<'_>) -> Result<Entry, Miss> {
    let (file, id) = open_regular(root, rel)?;
    let mut encoded = Vec::new();
    let mut sibling = Vec::with_capacity(rel.to_bytes().len() + 5);
    for (coding, suffix) in SIBLINGS {
        sibling.clear();
        sibling.extend_from_slice(rel.to_bytes());
        sibling.extend_from_slice(suffix.as_bytes());
        let Ok(name) = CString::new(sibling.as_slice()) else {
            continue;
        };
        // A sibling that is missing, a directory or unreadable is not used.
        if let Ok((file, id)) = open_regular(root, &name) {
            encoded.push((coding, (file, id)));
        }
    }
    let name = rel.to_bytes();
    let compressible =
        encoded.is_empty() && (describe.compress.min_length..=super::compress::WHOLE_MAX).contains(&id.len) && {
            let mut media = Vec::with_capacity(64);
            describe.mime.content_type(name, &mut media);
            super::compress::compressible(&media, describe.compress)
        };
    let vary = !encoded.is_empty() || compressible;
    let identity = describe_variant(Rc::new(file), id, None, vary, false, name, now, describe);
    let encoded = encoded
        .into_iter()
        .map(|(coding, (file, id))| {
            (coding, describe_variant(Rc::new(file), id, Some(coding), vary, false, name, now, describe))
        })
        .collect();
    Ok(Entry { identity, encoded, made: Vec::new(), sent: Vec::new(), compressible, checked: now })
}

/// Open a path and make sure it is a regular file.
fn open_regular(root: &Root, rel: &CStr) -> Result<(File, FileId), Miss> {
    let fd = root.open_at(rel, FILE_FLAGS).map_err(Miss::Error)?;
    let file = File::from(fd);
    let meta = file.metadata().map_err(Miss::Error)?;
    let kind = meta.file_type();
    if kind.is_dir() {
        return Err(Miss::Directory);
    }
    if !kind.is_file() {
        return Err(Miss::NotRegular);
    }
    let id = FileId {
        dev: meta.dev(),
        ino: meta.ino(),
        len: meta.len(),
        mtime: meta.mtime(),
        mtime_nsec: meta.mtime_nsec(),
    };
    Ok((file, id))
}

/// Files up to this size are also held in memory.
///
/// Measured on loopback (docs/benchmarks.md): a 100 KiB file written from
/// memory with its head in one `sendmsg` costs the worker about 20 µs of CPU,
/// against 25 µs as a `send` of the head and then a `sendfile`.
pub const MEMORY_MAX: u64 = 128 * 1024;

/// The most file content one worker's cache holds in memory.
pub const MEMORY_BUDGET: u64 = 32 * 1024 * 1024;

/// Build a variant's header lines. `weak`: a form compressed here, whose
/// entity tag is weak (its bytes depend on the encoder, RFC 9110 §8.8.1).
#[allow(clippy::too_many_arguments)]
fn describe_variant(
    file: Rc<File>,
    id: FileId,
    coding: Option<Coding>,
    vary: bool,
    weak: bool,
    name: &[u8],
    now: u64,
    describe: &Describe<'_>,
) -> Variant {
    use std::io::Write;
    let mtime = u64::try_from(id.mtime).unwrap_or(0);
    // A Last-Modified in the future is replaced by the current time
    // (RFC 9110 §8.8.2.1).
    let last_modified = mtime.min(now.max(1));
    let mut head = Vec::with_capacity(256);
    // nginx's strong entity tag, modification time and length in hex
    // (RFC 9110 §8.8.3), plus the nanoseconds when the file system keeps
    // them: a strong tag must change with the content, and two writes of the
    // same length within one second differ only there. A coded form gets its
    // own tag, since its bytes differ (RFC 9110 §8.8.3.3).
    head.extend_from_slice(if weak { b"ETag: W/\"" } else { b"ETag: \"" });
    let etag_start = head.len();
    let _ = write!(head, "{mtime:x}");
    if id.mtime_nsec != 0 {
        let _ = write!(head, ".{:x}", id.mtime_nsec);
    }
    let _ = write!(head, "-{:x}", id.len);
    if let Some(coding) = coding {
        let _ = write!(head, "-{}", coding.as_str());
    }
    let etag = (etag_start, head.len());
    head.extend_from_slice(b"\"\r\n");
    let mut date = [0; HTTP_DATE_LEN];
    format_http_date(last_modified, &mut date);
    push_field(&mut head, "Last-Modified", &date);
    if let Some(value) = cache_control(describe.cache_control, name) {
        push_field(&mut head, "Cache-Control", value.as_bytes());
    }
    // The response depends on Accept-Encoding whenever a coded form exists,
    // also when the identity form is sent (RFC 9110 §12.5.5).
    if vary {
        push_field(&mut head, "Vary", b"Accept-Encoding");
    }
    let not_modified_end = head.len();
    push_field(&mut head, "Accept-Ranges", b"bytes");
    if let Some(coding) = coding {
        push_field(&mut head, "Content-Encoding", coding.as_str().as_bytes());
    }
    let type_start = head.len();
    let mut media = Vec::with_capacity(64);
    describe.mime.content_type(name, &mut media);
    let value_start = type_start + "Content-Type: ".len();
    let content_type =
        if push_field(&mut head, "Content-Type", &media) { (value_start, value_start + media.len()) } else { (0, 0) };
    Variant { file, memory: None, id, last_modified, head, not_modified_end, type_start, etag, content_type }
}

/// The `--cache-control` value for a file: the rule for its extension, else
/// the rule for every file.
fn cache_control<'a>(rules: &'a [CacheControl], name: &[u8]) -> Option<&'a str> {
    let ext = extension(name);
    let by_extension = rules.iter().find(|rule| {
        rule.extension.as_ref().is_some_and(|want| ext.is_some_and(|ext| ext.eq_ignore_ascii_case(want.as_bytes())))
    });
    by_extension.or_else(|| rules.iter().find(|rule| rule.extension.is_none())).map(|rule| rule.value.as_str())
}

/// Append `name: value` CRLF unless the value could split the head
/// (RFC 9110 §5.5); says whether it did.
fn push_field(head: &mut Vec<u8>, name: &str, value: &[u8]) -> bool {
    if value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
        log::warn!("dropped header field {name} with a control byte in its value");
        return false;
    }
    head.extend_from_slice(name.as_bytes());
    head.extend_from_slice(b": ");
    head.extend_from_slice(value);
    head.extend_from_slice(b"\r\n");
    true
}
