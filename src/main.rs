//! `wired`: the command line, the listeners, the worker threads and signals.
//! The flags are read into a `Config` by `config/flags.rs`; everything that
//! happens per request lives in the workers (`worker.rs`).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use wired::config::Config;
use wired::config::flags::{self, Failure, Parsed, USAGE, Usage, options};
use wired::control::Control;
use wired::{conn, sys, tls, token, worker};

/// The command line read (`config::flags`), with the parser's field limit
/// capped to the slots `conn` parses a head into: a `conn` constant, which
/// `config`, below `conn` in the module layers, cannot name.
fn parse_config(args: &[String]) -> Result<Option<Parsed>, Failure> {
    let mut parsed = flags::parse_config(args)?;
    if let Some((c, ..)) = &mut parsed {
        c.limits.max_headers = c.limits.max_headers.min(conn::HEADER_SLOTS);
    }
    Ok(parsed)
}

fn init_logging(verbosity: i32) {
    let level = match verbosity {
        i32::MIN..=-1 => "error",
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level)).init();
}

/// A line on stderr from the signal thread, which must never panic: if it
/// did, nothing would take SIGINT or SIGTERM again and wired could not be
/// stopped. `eprintln!` panics when stderr is a closed pipe (the process
/// that started wired has gone); this ignores the error.
fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "wired: {line}");
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut config, verbosity, tls_settings, check) = match parse_config(&args) {
        Ok(Some(c)) => c,
        Ok(None) => return ExitCode::SUCCESS,
        Err(Failure::Usage(Usage(msg))) => {
            eprintln!("wired: {msg}");
            eprint!("{}", options().usage(USAGE));
            return ExitCode::from(2);
        }
        Err(Failure::Config(msg)) => {
            eprintln!("wired: {msg}");
            return ExitCode::from(2);
        }
    };
    init_logging(verbosity);
    if let Some(settings) = tls_settings {
        // A certificate problem is a setup mistake: said in plain words, exit 2.
        match tls::server_config_with_alpn(&settings, tls::alpn_for(config.http2)) {
            Ok((tls_config, warnings)) => {
                for w in warnings {
                    log::warn!("{w}");
                }
                config.tls = Some(tls_config);
            }
            Err(e) => {
                eprintln!("wired: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if check {
        // What serving would find first; then the routes, in match order.
        if !config.root.is_dir() {
            eprintln!("wired: the document root {} is not a directory", config.root.display());
            return ExitCode::from(2);
        }
        print!("{}", config.describe_routes());
        return ExitCode::SUCCESS;
    }
    match serve(config, &args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("wired: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// What SIGHUP reads: the same command line (and so the same file, read
/// again), checked whole, certificates included. `first` is the running
/// configuration: what only a restart can change (addresses, workers, the
/// connection limit) is kept from it, and said.
fn reload(args: &[String], first: &Config, requested: &(Vec<SocketAddr>, Vec<SocketAddr>)) -> Result<Config, String> {
    let (mut c, _, tls_settings, _) = match parse_config(args) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => return Err("the command line asks for no server".into()),
        Err(Failure::Usage(Usage(msg)) | Failure::Config(msg)) => return Err(msg),
    };
    if let Some(settings) = tls_settings {
        c.tls = Some(tls::server_config_with_alpn(&settings, tls::alpn_for(c.http2)).map_err(|e| e.to_string())?.0);
    }
    if !c.root.is_dir() {
        return Err(format!("the document root {} is not a directory", c.root.display()));
    }
    if (&c.listen, &c.listen_tls) != (&requested.0, &requested.1) {
        say(format_args!("SIGHUP: listening addresses change only with a restart; the old ones stay"));
    }
    if c.workers != first.workers || c.max_connections != first.max_connections {
        say(format_args!("SIGHUP: workers and max_connections change only with a restart"));
    }
    (c.listen, c.listen_tls, c.workers, c.max_connections) =
        (first.listen.clone(), first.listen_tls.clone(), first.workers, first.max_connections);
    Ok(c)
}

fn serve(mut config: Config, args: &[String]) -> Result<(), String> {
    if !config.root.is_dir() {
        return Err(format!("the document root {} is not a directory", config.root.display()));
    }
    // Room for every connection, plus files and pipes, like nginx's worker_rlimit_nofile.
    if let Ok((soft, _)) = sys::nofile_limit()
        && (soft as usize) < config.max_connections * 2 + 64
    {
        let _ = sys::raise_nofile_limit();
    }
    // Who to become, looked up before anything is bound, so a typo fails
    // at once; the change itself comes once the workers are ready.
    let become_user = match (&config.user, &config.group) {
        (None, None) => None,
        (user, group) => {
            let (uid, user_gid) = match user {
                Some(u) => sys::user::lookup_user(u).map_err(|e| format!("--user {u}: {e}"))?,
                None => (0, 0),
            };
            let gid = match group {
                Some(g) => sys::user::lookup_group(g).map_err(|e| format!("--group {g}: {e}"))?,
                None => user_gid,
            };
            if sys::user::is_root() {
                Some((uid, gid))
            } else if sys::user::current() == (uid, gid) {
                // Already that user: the new process of a SIGUSR2 upgrade,
                // started by one that dropped root, its sockets passed.
                None
            } else {
                return Err("--user and --group need wired to start as root (to bind low ports first)".into());
            }
        }
    };
    let (listeners, bound) = wired::listen::bind_all(&config)?;
    // Copies of the sockets for a SIGUSR2 upgrade, made before the workers
    // take them.
    let upgrade = match wired::upgrade::Upgrade::new(&listeners) {
        Ok(u) => Some(u),
        Err(e) => {
            log::warn!("no binary upgrade on SIGUSR2: {e}");
            None
        }
    };
    // Signals are blocked here, before any thread starts, so that every
    // thread inherits the mask and the signal thread alone takes them.
    sys::block_signals().map_err(|e| format!("cannot block signals: {e}"))?;

    let requested = (config.listen.clone(), config.listen_tls.clone());
    // The ports actually bound (port 0 picks one), for --redirect-https.
    config.listen_tls = bound.iter().filter(|(_, tls)| *tls).map(|(a, _)| *a).collect();
    let config = Arc::new(config);
    let control = Control::new(Arc::clone(&config));
    let mut wakers = Vec::new();
    let mut threads = Vec::new();
    let (ready_tx, ready) = std::sync::mpsc::channel::<bool>();
    for (id, listeners) in listeners.into_iter().enumerate() {
        let poll = mio::Poll::new().map_err(|e| format!("cannot create poll: {e}"))?;
        let waker = mio::Waker::new(poll.registry(), token::WAKER).map_err(|e| e.to_string())?;
        wakers.push(waker);
        let (config, control, ready_tx) = (Arc::clone(&config), Arc::clone(&control), ready_tx.clone());
        // The worker is built on its own thread: its state is not Send (it
        // holds Rc-shared open files) and never needs to be.
        let thread = std::thread::Builder::new()
            .name(format!("wired-worker-{id}"))
            .spawn(move || {
                let worker = worker::Worker::new(id, poll, listeners, config, control);
                let _ = ready_tx.send(worker.is_ok());
                worker?.run()
            })
            .map_err(|e| e.to_string())?;
        threads.push(thread);
    }
    // Each worker has opened what it needs as root (its access log); then
    // the whole process becomes the user, before the first request.
    drop(ready_tx);
    let started = ready.iter().take(config.workers).filter(|ok| *ok).count();
    if let Some((uid, gid)) = become_user {
        // Never serve as root by accident: a worker that failed to start,
        // or a change that did not take, stops the server.
        let dropped = if started == config.workers {
            sys::user::drop_privileges(uid, gid).map_err(|e| format!("cannot become uid {uid}, gid {gid}: {e}"))
        } else {
            Err("a worker could not start".to_string())
        };
        if let Err(e) = dropped {
            control.shutdown.store(worker::stop::ABORT, Ordering::Relaxed);
            wakers.iter().for_each(|w| drop(w.wake()));
            return Err(e);
        }
    }
    for (addr, tls) in &bound {
        println!(
            "wired {} listening on {}://{addr} ({} workers, root {})",
            env!("CARGO_PKG_VERSION"),
            if *tls { "https" } else { "http" },
            config.workers,
            config.root.display()
        );
    }
    let _ = std::io::Write::flush(&mut std::io::stdout());
    // sd_notify(3): a Type=notify unit is started once this arrives.
    if let Err(e) = sys::systemd::notify("READY=1") {
        log::warn!("NOTIFY_SOCKET: {e}");
    }

    // The signal thread. SIGUSR1 reopens the logs; SIGHUP reads the
    // configuration again and, if it is sound, hands it to the workers (a
    // bad one is refused and the old one keeps serving); SIGUSR2 starts a
    // new binary on the same sockets, then drains (src/upgrade.rs). SIGINT and
    // SIGTERM: the first drains, the second aborts. The workers do the
    // closing (a CGI program's group dies with its connection); if they
    // have not stopped a second after an abort, the process exits anyway.
    let args = args.to_vec();
    let signals = Arc::clone(&control);
    let load = move |running: &Config| reload(&args, running, &requested);
    std::thread::Builder::new()
        .name("wired-signals".into())
        .spawn(move || wired::control::signal_loop(&signals, &wakers, load, upgrade, say))
        .map_err(|e| e.to_string())?;

    let mut failed = None;
    for t in threads {
        match t.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failed = Some(format!("worker failed: {e}")),
            Err(_) => failed = Some("a worker panicked".to_string()),
        }
    }
    if control.shutdown.load(Ordering::Relaxed) == worker::stop::ABORT {
        failed = failed.or(Some("stopped by a second signal".to_string()));
    }
    failed.map_or(Ok(()), Err)
}
