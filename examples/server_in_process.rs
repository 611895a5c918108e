//! Starts the Sabaody server inside this process (the server crate is also a library) on an
//! ephemeral loopback port, talks to it with the `redis` crate like any Redis client, then shuts
//! it down gracefully.
//!
//! ```sh
//! cargo run --example server_in_process
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use redis::Commands;
use sabaody_server::{Config, Server};

fn main() -> redis::RedisResult<()> {
    let mut config = Config::default();
    config.set("port", &["0"]).expect("port 0 is valid");
    config.set("loglevel", &["warning"]).expect("valid level");
    let server = Server::start(config).expect("the server starts");
    let addr = server.local_addr();
    println!("sabaody-server listening on {addr}");

    let client = redis::Client::open(format!("redis://{addr}/"))?;
    let mut con = client.get_connection()?;

    let _: () = con.set("greeting", "hello from an in-process server")?;
    let greeting: String = con.get("greeting")?;
    println!("GET greeting -> {greeting}");

    let visits: i64 = con.incr("visits", 1)?;
    println!("INCR visits -> {visits}");

    let _: () = con.set_ex("session", "token", 60)?;
    let ttl: i64 = con.ttl("session")?;
    println!("TTL session -> {ttl}");

    // MULTI/EXEC through a pipeline.
    let (a, b): (i64, i64) = redis::pipe()
        .atomic()
        .incr("visits", 10)
        .incr("visits", 100)
        .query(&mut con)?;
    println!("MULTI INCR x2 -> {a}, {b}");

    let info: redis::InfoDict = redis::cmd("INFO").arg("server").query(&mut con)?;
    println!(
        "server reports redis_version {}",
        info.get::<String>("redis_version").unwrap_or_default()
    );

    drop(con);
    server.shutdown();
    println!("server stopped");
    Ok(())
}
