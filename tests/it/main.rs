//! One integration-test binary (one link): every module runs the real binaries through real pipes.

mod export;
mod man;
mod splunk;
mod util;
