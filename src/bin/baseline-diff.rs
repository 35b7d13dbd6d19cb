use std::process::ExitCode;

fn main() -> ExitCode {
    webshell_hunt::cli::main(webshell_hunt::diff::NAME, webshell_hunt::diff::run)
}
