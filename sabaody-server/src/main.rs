//! Placeholder until the server issue fills it in.
fn main() {
    eprintln!("sabaody-server: not built yet");
    std::process::exit(1);
}
