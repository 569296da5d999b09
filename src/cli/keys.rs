//! `meshcdn keys …` and `meshcdn token …`.

#[derive(clap::Subcommand, Debug)]
pub enum KeysCommand {}

#[derive(clap::Subcommand, Debug)]
pub enum TokenCommand {}

pub async fn run_keys(cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {}
}

pub async fn run_token(cmd: TokenCommand) -> anyhow::Result<()> {
    match cmd {}
}
