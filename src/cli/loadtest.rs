//! `meshcdn loadtest`.

#[derive(clap::Args, Debug)]
pub struct LoadtestArgs {}

pub async fn run(_args: LoadtestArgs) -> anyhow::Result<()> {
    anyhow::bail!("`meshcdn loadtest` is being built (see the open issues)")
}
