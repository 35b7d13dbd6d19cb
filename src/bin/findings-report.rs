use std::process::ExitCode;

fn main() -> ExitCode {
    webshell_hunt::cli::main(webshell_hunt::report::NAME, webshell_hunt::report::run)
}
