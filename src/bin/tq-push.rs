use std::process::ExitCode;

fn main() -> ExitCode {
    webshell_hunt::cli::main(webshell_hunt::tq::NAME, webshell_hunt::tq::run)
}
