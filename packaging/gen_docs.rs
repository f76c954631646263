//! Generates the manual pages and shell completions under `packaging/`
//! from the applets' clap definitions plus the hand-written roff in
//! `packaging/man/src/`. Run `cargo run --example gen-docs` after changing
//! a command line; `tests/generated_docs.rs` fails while they are stale.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap_complete::Shell;
use smtpbox::registry::{APPLETS, Applet};

/// Every generated file: its path below the project root and its bytes.
pub fn render_all(root: &Path) -> std::io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files = Vec::new();
    for applet in APPLETS {
        let page = applet_page(root, applet)?;
        let name = format!("{}.{}", applet.name, applet.man_section);
        files.push((PathBuf::from("packaging/man").join(name), page));
    }
    files.push((
        PathBuf::from("packaging/man/smtpbox.1"),
        multicall_page(root)?,
    ));
    let mut commands: Vec<clap::Command> = APPLETS.iter().map(|a| (a.command)()).collect();
    commands.push(multicall_command());
    for command in commands {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            files.push(completion(command.clone(), shell));
        }
    }
    Ok(files)
}

/// NAME, SYNOPSIS, hand-written DESCRIPTION, generated OPTIONS, then the
/// hand-written EXIT STATUS, EXAMPLES, FILES, ENVIRONMENT, SEE ALSO.
fn applet_page(root: &Path, applet: &Applet) -> std::io::Result<Vec<u8>> {
    let src = root.join("packaging/man/src");
    let man = clap_mangen::Man::new((applet.command)())
        .section(applet.man_section.to_string())
        .source(format!("smtpbox {}", env!("CARGO_PKG_VERSION")))
        .manual("smtpbox manual");
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    page.extend(std::fs::read(
        src.join(format!("{}.description.roff", applet.name)),
    )?);
    man.render_options_section(&mut page)?;
    page.extend(std::fs::read(
        src.join(format!("{}.extra.roff", applet.name)),
    )?);
    man.render_version_section(&mut page)?;
    Ok(page)
}

/// smtpbox(1): hand-written, with the applet list from the registry.
fn multicall_page(root: &Path) -> std::io::Result<Vec<u8>> {
    let version = env!("CARGO_PKG_VERSION");
    let mut page = Vec::new();
    writeln!(
        page,
        ".TH SMTPBOX 1 \"\" \"smtpbox {version}\" \"smtpbox manual\""
    )?;
    writeln!(
        page,
        ".SH NAME\nsmtpbox \\- SMTP tools for mail administrators"
    )?;
    writeln!(page, ".SH SYNOPSIS")?;
    writeln!(
        page,
        "\\fBsmtpbox\\fR \\fIAPPLET\\fR [\\fIARGS\\fR...]\n.br"
    )?;
    writeln!(page, "\\fIAPPLET\\fR [\\fIARGS\\fR...]\n.br")?;
    writeln!(
        page,
        "\\fBsmtpbox\\fR \\fB\\-\\-list\\fR | \\fB\\-\\-list\\-full\\fR\n.br"
    )?;
    writeln!(
        page,
        "\\fBsmtpbox\\fR \\fB\\-\\-install\\fR [\\fB\\-s\\fR] [\\fIDIR\\fR]"
    )?;
    page.extend(std::fs::read(root.join("packaging/man/src/smtpbox.roff"))?);
    writeln!(page, ".SH APPLETS")?;
    for applet in APPLETS {
        writeln!(page, ".TP\n.BR {} ({})", applet.name, applet.man_section)?;
        writeln!(page, "{}", applet.summary)?;
    }
    writeln!(page, ".SH SEE ALSO")?;
    let refs: Vec<String> = APPLETS
        .iter()
        .map(|a| format!(".BR {} ({})", a.name, a.man_section))
        .collect();
    writeln!(page, "{}", refs.join(",\n"))?;
    Ok(page)
}

/// The multicall entry as a clap command, for completion only (the
/// dispatcher itself is hand-written).
fn multicall_command() -> clap::Command {
    use clap::{Arg, ArgAction};
    let flags = ["list", "list-full", "version"]
        .map(|name| Arg::new(name).long(name).action(ArgAction::SetTrue));
    clap::Command::new("smtpbox")
        .disable_version_flag(true)
        .args(flags)
        .arg(
            Arg::new("install")
                .long("install")
                .value_name("DIR")
                .num_args(0..=1),
        )
        .subcommands(APPLETS.iter().map(|a| (a.command)()))
}

fn completion(mut command: clap::Command, shell: Shell) -> (PathBuf, Vec<u8>) {
    let name = command.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, name.clone(), &mut script);
    let file = match shell {
        Shell::Zsh => format!("_{name}"),
        Shell::Fish => format!("{name}.fish"),
        _ => format!("{name}.bash"),
    };
    (PathBuf::from("packaging/completions").join(file), script)
}

#[allow(dead_code)] // used when built as the example, not when included by a test
fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (path, bytes) in render_all(root)? {
        let path = root.join(path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, bytes)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
