//! The program line of `snapshot --trace 'PROG ARGS'`: split like a POSIX shell would, and the
//! program found the way `execvp` would find it, so a bad name is said before anything runs.

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A program ready to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// Where it was found.
    pub path: PathBuf,
    /// Its arguments, `argv[0]` (the name as given) first.
    pub argv: Vec<OsString>,
}

/// Why a program line cannot be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgramError {
    /// Empty, or an unbalanced quote.
    Malformed,
    /// No such file, or no file of that name on `PATH`.
    NotFound(String),
    /// Found, but not an executable file (a directory, no `x` permission).
    NotExecutable(String),
    /// An argument holds a NUL byte, which `execve` cannot pass.
    Nul,
}

impl ProgramError {
    /// The locale key of the message and the name it quotes.
    #[must_use]
    pub fn key_and_name(&self) -> (&'static str, &str) {
        match self {
            Self::Malformed => ("trace.malformed", ""),
            Self::NotFound(name) => ("trace.not_found", name),
            Self::NotExecutable(name) => ("trace.not_executable", name),
            Self::Nul => ("trace.nul", ""),
        }
    }
}

impl Program {
    /// Splits `line` and finds its program.
    pub fn parse(line: &str) -> Result<Self, ProgramError> {
        let words = shlex::split(line).ok_or(ProgramError::Malformed)?;
        let argv: Vec<OsString> = words.into_iter().map(OsString::from).collect();
        Self::from_argv(argv)
    }

    /// `argv[0]` is looked up on `PATH` unless it holds a `/`.
    pub fn from_argv(argv: Vec<OsString>) -> Result<Self, ProgramError> {
        let name = argv.first().ok_or(ProgramError::Malformed)?;
        if name.is_empty() {
            return Err(ProgramError::Malformed);
        }
        let shown = name.to_string_lossy().into_owned();
        let path = if name.as_bytes().contains(&b'/') {
            let path = PathBuf::from(name);
            check(&path, &shown)?;
            path
        } else {
            find_on_path(name).ok_or(ProgramError::NotFound(shown))?
        };
        Ok(Self { path, argv })
    }

    /// The line as it would be typed (for messages).
    #[must_use]
    pub fn shown(&self) -> String {
        self.argv
            .iter()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `path` and `argv` as C strings for `execve`.
    pub fn c_strings(&self) -> Result<(CString, Vec<CString>), ProgramError> {
        let path = CString::new(self.path.as_os_str().as_bytes()).map_err(|_| ProgramError::Nul)?;
        let argv = self
            .argv
            .iter()
            .map(|arg| CString::new(arg.clone().into_vec()).map_err(|_| ProgramError::Nul))
            .collect::<Result<_, _>>()?;
        Ok((path, argv))
    }
}

fn is_executable_file(path: &Path) -> bool {
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

fn check(path: &Path, shown: &str) -> Result<(), ProgramError> {
    match std::fs::metadata(path) {
        Err(_) => Err(ProgramError::NotFound(shown.to_owned())),
        Ok(_) if !is_executable_file(path) => Err(ProgramError::NotExecutable(shown.to_owned())),
        Ok(_) => Ok(()),
    }
}

/// The first executable file named `name` in a `PATH` directory (an empty entry is the current
/// directory, as for `execvp`).
fn find_on_path(name: &OsStr) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| {
            if dir.as_os_str().is_empty() {
                PathBuf::from(".").join(name)
            } else {
                dir.join(name)
            }
        })
        .find(|candidate| is_executable_file(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_like_a_shell_and_programs_are_found_on_path() {
        let program = Program::parse("sh -c 'echo hi there'").expect("sh is on PATH");
        assert!(program.path.is_absolute(), "{:?}", program.path);
        assert_eq!(
            program.argv,
            ["sh", "-c", "echo hi there"].map(OsString::from)
        );
        assert_eq!(Program::parse("sh 'open"), Err(ProgramError::Malformed));
        assert_eq!(Program::parse("  "), Err(ProgramError::Malformed));
        assert_eq!(
            Program::parse("no-such-program-here x"),
            Err(ProgramError::NotFound("no-such-program-here".into()))
        );
        let plain = std::env::temp_dir().join(format!("sockscope-plain-{}", std::process::id()));
        std::fs::write(&plain, "text\n").unwrap();
        std::fs::set_permissions(&plain, PermissionsExt::from_mode(0o644)).unwrap();
        let shown = plain.display().to_string();
        assert_eq!(
            Program::parse(&shown),
            Err(ProgramError::NotExecutable(shown.clone()))
        );
        std::fs::remove_file(&plain).unwrap();
        assert_eq!(
            Program::parse("/"),
            Err(ProgramError::NotExecutable("/".into()))
        );
    }
}
