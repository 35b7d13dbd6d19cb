use std::process::ExitCode;

fn main() -> ExitCode {
    webshell_hunt::cli::main(webshell_hunt::splunk::NAME, webshell_hunt::splunk::run)
}
