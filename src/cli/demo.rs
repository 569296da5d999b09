//! `meshcdn demo`.

#[derive(clap::Args, Debug)]
pub struct DemoArgs {}

pub async fn run(_args: DemoArgs) -> anyhow::Result<()> {
    anyhow::bail!("`meshcdn demo` is being built (see the open issues)")
}
