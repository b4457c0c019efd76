//! `bouncekit generate`: writes the man pages and shell completions from the clap definitions,
//! so they can never drift from `--help` (a test compares the committed files with these).

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, GenerateArgs};
use crate::exit::Exit;

pub fn run(args: GenerateArgs) -> Result<Exit> {
    write_man_pages(&args.man_dir)?;
    write_completions(&args.completions_dir)?;
    Ok(Exit::Success)
}

/// The man pages as (file name, contents): `bouncekit.1` and one `bouncekit-<sub>.1` for
/// every visible subcommand, nested ones included (`bouncekit-suppress-add.1`).
pub fn man_pages() -> Result<Vec<(String, Vec<u8>)>> {
    let cmd = Cli::command();
    let mut pages = Vec::new();
    let mut top = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut top)?;
    pages.push(("bouncekit.1".to_string(), top));
    add_sub_pages(&cmd, "bouncekit", &mut pages)?;
    Ok(pages)
}

fn add_sub_pages(
    cmd: &clap::Command,
    prefix: &str,
    pages: &mut Vec<(String, Vec<u8>)>,
) -> Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("{prefix}-{}", sub.get_name());
        let page_cmd = sub.clone().name(name.clone().leak() as &'static str);
        let mut page = Vec::new();
        clap_mangen::Man::new(page_cmd).render(&mut page)?;
        pages.push((format!("{name}.1"), page));
        add_sub_pages(sub, &name, pages)?;
    }
    Ok(())
}

/// The completions as (file name, contents) for bash, zsh and fish.
pub fn completions() -> Vec<(String, Vec<u8>)> {
    [Shell::Bash, Shell::Zsh, Shell::Fish]
        .into_iter()
        .map(|shell| {
            let mut cmd = Cli::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "bouncekit", &mut out);
            let name = match shell {
                Shell::Bash => "bouncekit.bash".to_string(),
                Shell::Zsh => "_bouncekit".to_string(),
                _ => "bouncekit.fish".to_string(),
            };
            (name, out)
        })
        .collect()
}

fn write_man_pages(dir: &Path) -> Result<()> {
    write_all(dir, man_pages()?)
}

fn write_completions(dir: &Path) -> Result<()> {
    write_all(dir, completions())
}

fn write_all(dir: &Path, files: Vec<(String, Vec<u8>)>) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, contents) in files {
        let path = dir.join(name);
        fs::write(&path, contents).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
