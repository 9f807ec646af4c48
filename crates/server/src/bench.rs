//! `weft bench`: benchmarks live here (filled in with the benchmark work).

use clap::Args;

#[derive(Args, Debug)]
pub struct BenchArgs {}

pub async fn run(_cfg: &crate::config::Config, _args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet available")
}
