use std::process::ExitCode;

fn main() -> ExitCode {
    webshell_hunt::cli::main(webshell_hunt::export::NAME, webshell_hunt::export::run)
}
