use sidewinder_shell::cli::{self, Mode};

fn main() {
    let cli = match cli::parse(std::env::args_os().skip(1)) {
        Ok(cli) => cli,
        Err(message) => {
            eprintln!("error: {message}\n\nRun `sidewinder --help` for usage.");
            std::process::exit(2);
        }
    };
    let status = match cli.mode {
        Mode::Help | Mode::Version => sidewinder_shell::run(cli),
        _ => sidewinder_shell::run_on_large_stack(cli),
    };
    std::process::exit(status);
}
