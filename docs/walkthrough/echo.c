/* A learner's echo server, one system call at a time (docs/trace-walkthrough.md).
 *
 *   cc -DSTEP=1 -o echo echo.c   # stops after socket()
 *   cc -DSTEP=2 -o echo echo.c   # ... after bind()
 *   cc -DSTEP=3 -o echo echo.c   # ... after listen()
 *   cc -o echo echo.c            # the whole server: accept() and echo, one client at a time
 *
 *   sockscope trace -- ./echo 8080
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef STEP
#define STEP 4
#endif

/* Where a step ends: wait forever, so the dashboard shows the program at this point. */
static void stop_here(void) {
    poll(NULL, 0, -1);
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 8080;

    /* 1. A socket: a new descriptor (the lowest free one: 3, after stdin, stdout, stderr). */
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) { perror("socket"); return 1; }
    if (STEP == 1) stop_here();

    /* 2. An address: 127.0.0.1:port. Nobody can connect yet. */
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0) { perror("bind"); return 1; }
    if (STEP == 2) stop_here();

    /* 3. Listening, with an accept queue of 3: the kernel now completes handshakes by itself. */
    if (listen(listener, 3) < 0) { perror("listen"); return 1; }
    printf("listening on 127.0.0.1:%d\n", port);
    fflush(stdout);
    if (STEP == 3) stop_here();

    /* 4. accept() takes the oldest connection out of the queue, as a new descriptor. */
    for (;;) {
        int connection = accept(listener, NULL, NULL);
        if (connection < 0) { perror("accept"); continue; }
        char buffer[512];
        ssize_t n;
        while ((n = read(connection, buffer, sizeof buffer)) > 0)
            write(connection, buffer, n);
        close(connection);
    }
}
