//! File-system calls std does not offer: opening beneath a directory fd
//! (`openat2`, `openat`), `fstatat`, reading a directory from an fd, and the
//! open-file limit. Used by the static file handler; each wrapper is one
//! call, and each `unsafe` block says why it is sound.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;

/// Take ownership of the fd a successful open returned.
fn owned(fd: libc::c_int) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned `fd` from an open call; nothing else
    // owns it, so wrapping it closes it exactly once.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `openat2(dir, path, {flags, mode: 0, resolve})`. Fails with `ENOSYS` on
/// kernels before 5.6 (or under a seccomp filter that does not know it).
pub fn openat2(dir: BorrowedFd<'_>, path: &CStr, flags: libc::c_int, resolve: u64) -> io::Result<OwnedFd> {
    // SAFETY: `open_how` is plain old data (three integers), so all-zero
    // bytes are a valid value; libc marks it non-exhaustive, hence no literal.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    // The kernel takes the flags as u64; they are a non-negative bit set.
    how.flags = flags as u64;
    how.resolve = resolve;
    // SAFETY: `path` is NUL-terminated and `how` is a fully initialised
    // `open_how` whose exact size is passed; both outlive the call and the
    // kernel only reads them. A bad fd is EBADF, not undefined behaviour.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            path.as_ptr(),
            &how as *const libc::open_how,
            size_of::<libc::open_how>(),
        )
    };
    // An fd always fits in c_int; anything else is the -1 error return.
    owned(libc::c_int::try_from(ret).unwrap_or(-1))
}

/// `openat(dir, path, flags)` (never creates, so no mode).
pub fn openat(dir: BorrowedFd<'_>, path: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: `path` is NUL-terminated and outlives the call; the kernel only
    // reads it.
    owned(unsafe { libc::openat(dir.as_raw_fd(), path.as_ptr(), flags) })
}

/// `fstatat(dir, path, flags)`: the status of `path` relative to `dir`.
pub fn fstatat(dir: BorrowedFd<'_>, path: &CStr, flags: libc::c_int) -> io::Result<libc::stat> {
    // SAFETY: `stat` is plain old data, so all-zero bytes are a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated, `st` is a valid, writable `stat` and
    // both outlive the call.
    let ret = unsafe { libc::fstatat(dir.as_raw_fd(), path.as_ptr(), &mut st, flags) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

/// One directory entry: its name (without NUL) and `d_type` (`DT_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The name's bytes.
    pub name: Vec<u8>,
    /// The entry type as `readdir` reports it; `DT_UNKNOWN` on file systems
    /// that do not say.
    pub kind: u8,
}

/// An open directory stream (`fdopendir`), closed on drop.
pub struct Dir {
    stream: NonNull<libc::DIR>,
}

impl Dir {
    /// Read the directory open as `fd` (which must have been opened for
    /// reading, not `O_PATH`). The stream takes over the fd.
    pub fn from_fd(fd: OwnedFd) -> io::Result<Dir> {
        let raw = fd.as_raw_fd();
        // SAFETY: `raw` is a valid open fd. On success the stream owns it,
        // so ownership is given up below; on failure `fd` still owns it and
        // closes it when dropped.
        let stream = unsafe { libc::fdopendir(raw) };
        let stream = NonNull::new(stream).ok_or_else(io::Error::last_os_error)?;
        std::mem::forget(fd);
        Ok(Dir { stream })
    }

    /// The directory's fd, for `fstatat` on its entries.
    pub fn fd(&self) -> BorrowedFd<'_> {
        // SAFETY: `stream` is a live stream owned by `self`.
        let raw = unsafe { libc::dirfd(self.stream.as_ptr()) };
        // SAFETY: the stream keeps the fd open for as long as `self` lives,
        // which bounds the borrow.
        unsafe { BorrowedFd::borrow_raw(raw) }
    }

    /// The next entry, `None` at the end. `.` and `..` are included.
    pub fn next_entry(&mut self) -> Option<io::Result<DirEntry>> {
        // SAFETY: errno is thread-local; readdir(3) leaves it untouched at
        // the end of the stream, so clearing it first tells end from error.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: `stream` is a live stream owned by `self`, used by one
        // thread at a time through `&mut self`.
        let entry = unsafe { libc::readdir(self.stream.as_ptr()) };
        let Some(entry) = NonNull::new(entry) else {
            let error = io::Error::last_os_error();
            return (error.raw_os_error() != Some(0)).then_some(Err(error));
        };
        // SAFETY: readdir returned a valid entry that stays valid until the
        // next call on this stream; `d_name` is NUL-terminated within it.
        // The name is copied out before `&mut self` is released.
        let (name, kind) = unsafe {
            let entry = entry.as_ref();
            (CStr::from_ptr(entry.d_name.as_ptr()), entry.d_type)
        };
        Some(Ok(DirEntry { name: name.to_bytes().to_vec(), kind }))
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: `stream` came from fdopendir and is closed only here, once;
        // closedir also closes the fd the stream took over.
        unsafe { libc::closedir(self.stream.as_ptr()) };
    }
}

/// `pread(2)` of up to `want` bytes at `offset`, appended to `out` without
/// zero-filling the room first (as `Vec::resize` and `read_at` would: a
/// second pass over every byte of a file body sent over HTTP/2).
pub fn pread_append(file: &impl AsRawFd, out: &mut Vec<u8>, want: usize, offset: u64) -> io::Result<usize> {
    let off = libc::off_t::try_from(offset).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    out.reserve(want);
    let spare = out.spare_capacity_mut();
    let want = want.min(spare.len());
    // SAFETY: `spare` is the vector's reserved, unused capacity, at least
    // `want` bytes, valid for writes for the call; the kernel writes at most
    // `want` bytes there and reads nothing from it.
    let ret = unsafe { libc::pread(file.as_raw_fd(), spare.as_mut_ptr().cast(), want, off) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    let got = (ret as usize).min(want);
    // SAFETY: the kernel initialised the first `got` bytes of the spare
    // capacity (pread returns how many it wrote, never more than `want`).
    unsafe { out.set_len(out.len() + got) };
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    fn dir_fd(path: &std::path::Path) -> OwnedFd {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_DIRECTORY).open(path).unwrap();
        OwnedFd::from(file)
    }

    #[test]
    fn pread_append_adds_only_what_was_read() {
        let path = std::env::temp_dir().join(format!("wired-sys-pread-{}", std::process::id()));
        std::fs::write(&path, b"0123456789").unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let mut out = b"head:".to_vec();
        assert_eq!(pread_append(&file, &mut out, 4, 3).unwrap(), 4);
        assert_eq!(out, b"head:3456");
        // Past the end: fewer bytes than asked, then none.
        assert_eq!(pread_append(&file, &mut out, 100, 8).unwrap(), 2);
        assert_eq!(out, b"head:345689");
        assert_eq!(pread_append(&file, &mut out, 100, 10).unwrap(), 0);
        assert_eq!(out.len(), 11);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn open_stat_and_list() {
        let tmp = std::env::temp_dir().join(format!("wired-sys-fs-{}", std::process::id()));
        std::fs::create_dir_all(tmp.join("sub")).unwrap();
        std::fs::write(tmp.join("a.txt"), b"hello").unwrap();
        let root = dir_fd(&tmp);

        let fd = openat(root.as_fd(), c"a.txt", libc::O_RDONLY | libc::O_CLOEXEC).unwrap();
        let meta = std::fs::File::from(fd).metadata().unwrap();
        assert_eq!(meta.len(), 5);
        let st = fstatat(root.as_fd(), c"a.txt", 0).unwrap();
        assert_eq!(st.st_size, 5);
        let missing = openat(root.as_fd(), c"nope", libc::O_RDONLY).unwrap_err();
        assert_eq!(missing.raw_os_error(), Some(libc::ENOENT));

        match openat2(root.as_fd(), c"a.txt", libc::O_RDONLY, libc::RESOLVE_BENEATH) {
            Ok(_) => {
                let escape = openat2(root.as_fd(), c"../", libc::O_RDONLY, libc::RESOLVE_BENEATH);
                assert_eq!(escape.unwrap_err().raw_os_error(), Some(libc::EXDEV));
            }
            Err(e) => assert_eq!(e.raw_os_error(), Some(libc::ENOSYS)),
        }

        let mut dir = Dir::from_fd(dir_fd(&tmp)).unwrap();
        let mut names = Vec::new();
        while let Some(entry) = dir.next_entry() {
            names.push(entry.unwrap().name);
        }
        names.sort();
        assert_eq!(names, [&b"."[..], b"..", b"a.txt", b"sub"]);
        assert!(fstatat(dir.fd(), c"sub", 0).is_ok());
        drop(dir);

        assert!(crate::sys::nofile_limit().is_ok_and(|(soft, hard)| soft > 0 && soft <= hard));
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
