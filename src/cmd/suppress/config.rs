//! `suppress config`: the options kept in the store, so that every later run (from cron,
//! say) uses them without repeating them.

use anyhow::{Result, bail};

use super::ConfigArgs;
use crate::exit::Exit;
use crate::store::Store;

pub fn run(args: ConfigArgs, store: &Store) -> Result<Exit> {
    match (args.name, args.value) {
        (None, _) => {
            for (name, value) in store.settings()? {
                println!("{name} = {value}");
            }
        }
        (Some(name), None) if args.unset => store.set_setting(&name, None)?,
        (Some(name), None) => match store.setting(&name)? {
            Some(value) => println!("{value}"),
            None => println!("(not set: {})", default_of(&name)),
        },
        (Some(name), Some(value)) => {
            parse_setting(&name, &value)?;
            store.set_setting(&name, Some(value.trim()))?;
        }
    }
    Ok(Exit::Success)
}

fn default_of(name: &str) -> &'static str {
    match name {
        "soft-limit" => "default 5",
        _ => "default: never",
    }
}

/// A setting's value: a whole number of at least 1 (bounces for soft-limit, days for
/// soft-window).
pub fn parse_setting(name: &str, value: &str) -> Result<u32> {
    match value.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => bail!("{name} must be a whole number of at least 1, not {value:?}"),
    }
}
