//! `meshcdn origin`.

#[derive(clap::Args, Debug)]
pub struct OriginArgs {}

pub async fn run(_args: OriginArgs) -> anyhow::Result<()> {
    anyhow::bail!("`meshcdn origin` is being built (see the open issues)")
}
