//! `sabaody-server [config-file] [--directive value ...]`, started like `redis-server`.
//! `sabaody-server --check-aof [--fix] FILE` checks an append-only file (or manifest).

use sabaody_server::{Config, Server};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--check-aof") {
        // `--check-aof FILE [--fix]`: FILE is an AOF file or a manifest.
        let fix = args.iter().any(|a| a == "--fix");
        let files: Vec<&String> = args[1..].iter().filter(|a| *a != "--fix").collect();
        let [file] = files[..] else {
            eprintln!("Usage: sabaody-server --check-aof [--fix] <file.aof | file.manifest>");
            std::process::exit(1);
        };
        let code =
            sabaody_server::check_aof(std::path::Path::new(file), fix, &mut std::io::stdout());
        std::process::exit(code);
    }
    if let [flag, file] = args.as_slice()
        && flag == "--check-rdb"
    {
        std::process::exit(check_rdb(file));
    }
    let config = match Config::from_args(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("*** FATAL CONFIG ERROR ***\n{e}");
            std::process::exit(1);
        }
    };
    // Before any thread exists: keeps RSS near `maxmemory` (see `alloc.rs`).
    sabaody_server::alloc::tune_malloc(config.io_threads, config.maxmemory > 0);
    let handle = match Server::start(config) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("sabaody-server: cannot start: {e}");
            std::process::exit(1);
        }
    };
    // SIGTERM / SIGINT start the same graceful shutdown as the SHUTDOWN command.
    let trigger = handle.shutdown_trigger();
    match signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ]) {
        Ok(mut signals) => {
            std::thread::spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    sabaody_server::log::log(
                        sabaody_server::config::LogLevel::Warning,
                        format_args!("Received signal {sig}, scheduling shutdown..."),
                    );
                    trigger.shutdown();
                }
            });
        }
        Err(e) => eprintln!("sabaody-server: cannot install signal handlers: {e}"),
    }
    let clean = handle.wait();
    std::process::exit(if clean { 0 } else { 1 });
}

/// `sabaody-server --check-rdb FILE`: validates a dump without loading it into a server.
fn check_rdb(file: &str) -> i32 {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("Cannot open {file}: {e}");
            return 1;
        }
    };
    match sabaody_core::rdb::check_rdb(&bytes) {
        Ok(summary) => {
            println!("{file}: OK\n{summary}");
            0
        }
        Err(e) => {
            println!("{file}: {e}");
            1
        }
    }
}
