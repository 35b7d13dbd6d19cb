use std::process::ExitCode;

fn main() -> ExitCode {
    webshell_hunt::cli::main(webshell_hunt::inventory::NAME, webshell_hunt::inventory::run)
}
