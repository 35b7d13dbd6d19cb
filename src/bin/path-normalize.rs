use std::process::ExitCode;

fn main() -> ExitCode {
    webshell_hunt::cli::main(webshell_hunt::normalize::NAME, webshell_hunt::normalize::run)
}
