/*
 * streamtap.c - copies stdin to stdout with a 1 MiB buffer, counting the
 * bytes and optionally keeping a copy: the lab puts it in a migration's
 * transport to measure (and capture) what the sender sent.
 *
 *   streamtap [-o CAPTURE] [-n COUNTFILE]
 *
 * COUNTFILE receives "<bytes> <seconds>\n" at the end (seconds from the
 * first byte to EOF).  busybox tee copies in small chunks, which slows a
 * migration under QEMU/TCG by an order of magnitude; this does not.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int write_all(int fd, const char *p, ssize_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= w;
    }
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static char buf[1 << 20];
    const char *capture = NULL, *countfile = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "o:n:")) != -1) {
        if (opt == 'o')
            capture = optarg;
        else if (opt == 'n')
            countfile = optarg;
        else {
            fprintf(stderr, "usage: streamtap [-o CAPTURE] [-n COUNTFILE]\n");
            return 2;
        }
    }
    int cap = -1;
    if (capture && (cap = open(capture, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
        perror(capture);
        return 1;
    }
    unsigned long long total = 0;
    double first = 0;
    int out_ok = 1, rc = 0;
    for (;;) {
        ssize_t n = read(0, buf, sizeof(buf));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("streamtap: read");
            rc = 1;
            break;
        }
        if (n == 0)
            break;
        if (total == 0)
            first = now();
        total += n;
        if (cap >= 0 && write_all(cap, buf, n) < 0) {
            perror("streamtap: write capture");
            rc = 1;
            break;
        }
        if (out_ok && write_all(1, buf, n) < 0)
            out_ok = 0; /* the receiver gave up; keep counting what the sender sends */
    }
    if (cap >= 0)
        close(cap);
    if (countfile) {
        FILE *f = fopen(countfile, "w");
        if (f) {
            fprintf(f, "%llu %.3f\n", total, total ? now() - first : 0.0);
            fclose(f);
        }
    }
    return rc ? rc : (out_ok ? 0 : 1);
}
