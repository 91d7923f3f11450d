//! Serves the probe graphs of the LangGraph API transcripts (`simple`, `approval`, `loop`,
//! `nested`) for the Python SDK tests.
//!
//! ```text
//! cargo run -p stategraph-server --example probe_server -- --port 2024 [--db FILE | --memory]
//! ```
//! Prints `listening on http://ADDR` once it accepts connections (port 0 picks a free one).

#[path = "../tests/support/probe_graphs.rs"]
mod probe_graphs;

use stategraph_server::Database;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut config = probe_graphs::config().with_database(Database::Memory);
    config.port = 0;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => config.port = args.next().ok_or("--port needs a value")?.parse()?,
            "--db" => config.database = Database::Sqlite(args.next().ok_or("--db needs a path")?.into()),
            "--memory" => config.database = Database::Memory,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let server = stategraph_server::spawn(config).await?;
    println!("listening on {}", server.url());
    tokio::signal::ctrl_c().await?;
    server.shutdown().await?;
    Ok(())
}
