//! `meshcdn edge`.

#[derive(clap::Args, Debug)]
pub struct EdgeArgs {}

pub async fn run(_args: EdgeArgs) -> anyhow::Result<()> {
    anyhow::bail!("`meshcdn edge` is being built (see the open issues)")
}
