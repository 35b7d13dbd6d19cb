//! One integration-test binary (one link): every module runs the real binaries through real pipes.

mod export;
mod export_formats;
mod man;
mod util;
