//! Becoming another user after the ports are bound (`--user`, `--group`):
//! name lookups through the C library's reentrant calls, and the three
//! system calls that drop privileges, in the order that leaves no way back
//! (supplementary groups, then the group, then the user).

use std::ffi::CString;
use std::io;

/// The uid and primary gid of a user name (`getpwnam_r(3)`).
pub fn lookup_user(name: &str) -> io::Result<(u32, u32)> {
    let cname = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: passwd is plain data that getpwnam_r fills; zeroed is a valid start.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is to a live local, `buf` with its true length;
    // getpwnam_r writes only into them and sets `found` to `&pwd` or null.
    let ret = unsafe { libc::getpwnam_r(cname.as_ptr(), &mut pwd, buf.as_mut_ptr().cast(), buf.len(), &mut found) };
    if ret != 0 {
        return Err(io::Error::from_raw_os_error(ret));
    }
    if found.is_null() {
        return Err(io::Error::new(io::ErrorKind::NotFound, format!("no user named {name}")));
    }
    Ok((pwd.pw_uid, pwd.pw_gid))
}

/// The gid of a group name (`getgrnam_r(3)`).
pub fn lookup_group(name: &str) -> io::Result<u32> {
    let cname = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut buf = vec![0u8; 64 * 1024];
    // SAFETY: group is plain data that getgrnam_r fills; zeroed is a valid start.
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::group = std::ptr::null_mut();
    // SAFETY: as for getpwnam_r above.
    let ret = unsafe { libc::getgrnam_r(cname.as_ptr(), &mut grp, buf.as_mut_ptr().cast(), buf.len(), &mut found) };
    if ret != 0 {
        return Err(io::Error::from_raw_os_error(ret));
    }
    if found.is_null() {
        return Err(io::Error::new(io::ErrorKind::NotFound, format!("no group named {name}")));
    }
    Ok(grp.gr_gid)
}

/// Become `uid`:`gid` with no other groups. glibc applies each call to
/// every thread of the process. Checked afterwards: a process that is
/// still root is an error, not a warning.
pub fn drop_privileges(uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: one gid from a live local, its count 1.
    if unsafe { libc::setgroups(1, &gid) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: setgid and setuid take plain integers.
    if unsafe { libc::setgid(gid) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::setuid(uid) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: getuid and getgid take nothing and cannot fail.
    let (now_uid, now_gid) = unsafe { (libc::getuid(), libc::getgid()) };
    if (now_uid, now_gid) != (uid, gid) {
        return Err(io::Error::other("the user or group did not change"));
    }
    Ok(())
}

/// Whether the process runs as root (the only one that can change user).
pub fn is_root() -> bool {
    // SAFETY: geteuid takes nothing and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The real user and group ids of the process.
pub fn current() -> (u32, u32) {
    // SAFETY: getuid and getgid take nothing and cannot fail.
    unsafe { (libc::getuid(), libc::getgid()) }
}
