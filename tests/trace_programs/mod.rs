//! C programs the trace tests run, compiled once per test binary with the system's C compiler.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A server that listens with a backlog of 3 on 127.0.0.1:PORT (argv[1], 0 for any), says which
/// descriptor and port it got, and serves one connection at a time: it accepts, then echoes what
/// it reads until the peer closes. Clients that never send keep it in its first `read`, so the
/// rest wait in the accept queue.
pub const SERVER: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[1]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("bind"); return 1; }
    if (listen(fd, 3) != 0) { perror("listen"); return 1; }
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    printf("fd=%d port=%d\n", fd, ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        int c = accept(fd, NULL, NULL);
        char buf[64];
        ssize_t n;
        while ((n = read(c, buf, sizeof buf)) > 0) write(c, buf, n);
        close(c);
    }
}
"#;

/// Compiles `source` once per test run with `cc`.
pub fn compiled(name: &str, source: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    });
    let binary = dir.join(name);
    if !binary.exists() {
        // Tests run in parallel: each compiles to a file of its own, then renames it into place
        // (atomic), so no test runs a half-written binary.
        let unique = format!("{name}-{:?}", std::thread::current().id()).replace(['(', ')'], "");
        let source_path = dir.join(format!("{unique}.c"));
        std::fs::write(&source_path, source).expect("source written");
        let output = dir.join(&unique);
        let status = Command::new("cc")
            .arg("-O1")
            .arg("-o")
            .arg(&output)
            .arg(&source_path)
            .status()
            .expect("the system C compiler (cc) runs");
        assert!(status.success(), "cc {name}.c failed");
        std::fs::rename(&output, &binary).expect("rename");
    }
    binary
}
