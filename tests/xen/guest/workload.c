/*
 * workload.c - /init of the xenmig lab's test guests (static, no libc
 * beyond what -static links in).
 *
 * It proves two things about a save/restore/migration from inside the guest:
 *
 *  1. Memory integrity.  A "dirty" region is rewritten every pass_ms with a
 *     pattern that depends on the pass number, the page and the word, and
 *     checked word by word before each rewrite; a "static" region is written
 *     once and checked every few passes (pages a live migration sends only
 *     in its first iteration).  Any mismatch is counted and the first few
 *     are printed.
 *  2. Guest-visible downtime.  A separate process prints a heartbeat with
 *     CLOCK_BOOTTIME every hb_ms; the largest gap between heartbeats across
 *     an operation is how long the guest stood still (CLOCK_MONOTONIC would
 *     hide the time a domain spends suspended).
 *
 * Every console line starts "WL <id> " where <id> is random per boot, so a
 * guest can be followed across console logs whatever the domain is called.
 * A logger process writes the console; the others never wait for it.
 *
 * The same facts go to a "mailbox" page whose guest frame number is
 * printed at start, for a toolstack that gives the guest no console: dom0
 * maps the page (by gfn, which migration preserves) and reads
 *
 *   word 0        magic "XMIGMBOX" (0x584d49474d424f58)
 *   word 1        boot id
 *   word 2        damaged pages found since boot
 *   words 8..391  heartbeat ring (seq % 384): seq << 40 | CLOCK_BOOTTIME in us
 *   words 392..   pass ring (pass % 60), two words each:
 *                 pass, then total_bad << 40 | CLOCK_BOOTTIME in us
 *
 *   WL <id> start dirty_mb=16 static_mb=16 pass_ms=250 hb_ms=25 t=<s>
 *   WL <id> mailbox <hex gfn>
 *   WL <id> pfns dirty <hex>...      sampled guest frames of each region
 *   WL <id> pfns static <hex>...     (/proc/self/pagemap)
 *   WL <id> hb <seq> <boottime s>
 *   WL <id> pass <n> bad=<n> static_bad=<n> total_bad=<n> ms=<n> t=<s>
 *   WL <id> corrupt <region> page=<i> word=<j> want=<x> got=<x>
 *
 * Parameters come from the kernel command line: wl_dirty_mb=, wl_static_mb=,
 * wl_pass_ms=, wl_hb_ms=.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define WORDS (PAGE / sizeof(uint64_t))
#define SAMPLES 32
#define STATIC_CHECK_EVERY 8
#define MAX_REPORTS 8

#define MBOX_MAGIC 0x584d49474d424f58ULL
#define MBOX_TOTAL_BAD 2
#define MBOX_HB 8
#define MBOX_HB_SLOTS 384
#define MBOX_PASS (MBOX_HB + MBOX_HB_SLOTS)
#define MBOX_PASS_SLOTS ((WORDS - MBOX_PASS) / 2)
#define US_MASK ((1ULL << 40) - 1)

static uint32_t boot_id;
static unsigned reports;
/* Lines go through a pipe to a logger process, the only one that writes
 * the console: a console nobody drains (a domain restored without one)
 * then blocks the logger, never the workload.  Non-blocking writes: when
 * the pipe is full, lines are dropped (the mailbox still has the facts). */
static int log_pipe[2] = {-1, -1};
/* Shared by the heartbeat process and the main one: MAP_SHARED. */
static volatile uint64_t *mailbox;

static void say(const char *fmt, ...)
{
    char line[1024];
    int n = snprintf(line, sizeof(line), "WL %08x ", boot_id);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    /* One write per line, at most PIPE_BUF bytes: atomic, never interleaved. */
    ssize_t w = write(log_pipe[1] >= 0 ? log_pipe[1] : 1, line, n);
    (void)w;
}

/* Copies the log pipe to the console until the end of time. */
static void console_logger(void)
{
    static char buf[4096];
    close(log_pipe[1]);
    for (;;) {
        ssize_t n = read(log_pipe[0], buf, sizeof(buf));
        for (ssize_t off = 0; n > 0 && off < n;) {
            ssize_t w = write(1, buf + off, n - off);
            if (w <= 0)
                break;
            off += w;
        }
    }
}

static double boottime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long param(const char *cmdline, const char *key, long def)
{
    const char *p = strstr(cmdline, key);
    return p ? strtol(p + strlen(key), NULL, 0) : def;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* Word j of page i of a region whose generation is gen. */
static inline uint64_t expected(uint64_t gen, uint64_t i, uint64_t j)
{
    if (j == 0)
        return gen;
    if (j == 1)
        return i;
    return mix64((gen << 32) ^ i) + j * 0x9e3779b97f4a7c15ULL;
}

static void fill(uint64_t *page, uint64_t gen, uint64_t i)
{
    for (uint64_t j = 0; j < WORDS; j++)
        page[j] = expected(gen, i, j);
}

/* Counts damaged pages of a region, printing the first few mismatches. */
static unsigned long check(const char *region, uint8_t *base, size_t pages, uint64_t gen)
{
    unsigned long bad = 0;
    for (size_t i = 0; i < pages; i++) {
        uint64_t *page = (uint64_t *)(base + i * PAGE);
        for (uint64_t j = 0; j < WORDS; j++) {
            if (page[j] != expected(gen, i, j)) {
                bad++;
                if (reports++ < MAX_REPORTS)
                    say("corrupt %s page=%zu word=%llu want=%016llx got=%016llx", region, i,
                        (unsigned long long)j, (unsigned long long)expected(gen, i, j),
                        (unsigned long long)page[j]);
                break;
            }
        }
    }
    return bad;
}

/* The guest frame number of the page at addr, or 0 (/proc/self/pagemap). */
static uint64_t gfn_of(int pagemap, const void *addr)
{
    uint64_t entry = 0;
    off_t off = (off_t)((uintptr_t)addr / PAGE) * 8;
    if (pagemap < 0 || pread(pagemap, &entry, 8, off) != 8 || !(entry >> 63))
        return 0;
    return entry & ((1ULL << 55) - 1);
}

/* Prints SAMPLES guest frame numbers spread over a region. */
static void print_pfns(const char *region, uint8_t *base, size_t pages)
{
    char list[SAMPLES * 12] = "";
    size_t len = 0;
    int fd = open("/proc/self/pagemap", O_RDONLY);
    for (int s = 0; s < SAMPLES && fd >= 0; s++) {
        uint64_t gfn = gfn_of(fd, base + (pages * s / SAMPLES) * PAGE);
        if (gfn)
            len += snprintf(list + len, sizeof(list) - len, " %llx", (unsigned long long)gfn);
    }
    if (fd >= 0)
        close(fd);
    say("pfns %s%s", region, list);
}

static uint64_t boottime_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return ((uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000) & US_MASK;
}

static void heartbeat(long hb_ms)
{
    struct timespec period = {hb_ms / 1000, (hb_ms % 1000) * 1000000L};
    for (unsigned long long seq = 0;; seq++) {
        uint64_t us = boottime_us();
        mailbox[MBOX_HB + seq % MBOX_HB_SLOTS] = (seq & 0xffffff) << 40 | us;
        say("hb %llu %llu.%06llu", seq, (unsigned long long)(us / 1000000),
            (unsigned long long)(us % 1000000));
        nanosleep(&period, NULL);
    }
}

/* A locked region of small pages: the guest frames printed at start stay
 * the region's frames (no huge-page collapse, no reclaim). */
static uint8_t *region(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        say("error mmap of %zu bytes failed", bytes);
        for (;;)
            pause();
    }
    madvise(p, bytes, MADV_NOHUGEPAGE);
    if (mlock(p, bytes) != 0)
        say("error mlock of %zu bytes failed", bytes);
    return p;
}

int main(void)
{
    char cmdline[4096] = "";
    mkdir("/proc", 0755);
    mount("proc", "/proc", "proc", 0, NULL);
    int fd = open("/proc/cmdline", O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, cmdline, sizeof(cmdline) - 1);
        if (n > 0)
            cmdline[n] = 0;
        close(fd);
    }
    fd = open("/dev/console", O_WRONLY);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
    if (getrandom(&boot_id, sizeof(boot_id), GRND_NONBLOCK) != sizeof(boot_id))
        boot_id = (uint32_t)(boottime() * 1e9);
    if (pipe(log_pipe) == 0) {
        if (fork() == 0)
            console_logger();
        close(log_pipe[0]);
        fcntl(log_pipe[1], F_SETFL, O_NONBLOCK);
    }

    long dirty_mb = param(cmdline, "wl_dirty_mb=", 16);
    long static_mb = param(cmdline, "wl_static_mb=", 16);
    long pass_ms = param(cmdline, "wl_pass_ms=", 250);
    long hb_ms = param(cmdline, "wl_hb_ms=", 25);
    say("start dirty_mb=%ld static_mb=%ld pass_ms=%ld hb_ms=%ld t=%.6f", dirty_mb, static_mb,
        pass_ms, hb_ms, boottime());

    mailbox = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mailbox == MAP_FAILED) {
        say("error mmap of the mailbox failed");
        for (;;)
            pause();
    }
    mlock((void *)mailbox, PAGE);
    mailbox[0] = MBOX_MAGIC;
    mailbox[1] = boot_id;
    int pagemap = open("/proc/self/pagemap", O_RDONLY);
    say("mailbox %llx", (unsigned long long)gfn_of(pagemap, (const void *)mailbox));
    close(pagemap);

    /* Fork before allocating: a child sharing the regions would turn every
     * rewrite into a copy-on-write fault. */
    if (fork() == 0)
        heartbeat(hb_ms);

    size_t dirty_pages = ((size_t)dirty_mb << 20) / PAGE;
    size_t static_pages = ((size_t)static_mb << 20) / PAGE;
    uint8_t *dirty = region(dirty_pages * PAGE);
    uint8_t *still = region(static_pages * PAGE);
    const uint64_t static_gen = 0x57a71c;
    for (size_t i = 0; i < static_pages; i++)
        fill((uint64_t *)(still + i * PAGE), static_gen, i);
    print_pfns("dirty", dirty, dirty_pages);
    print_pfns("static", still, static_pages);

    unsigned long long total_bad = 0;
    struct timespec pause_ts = {pass_ms / 1000, (pass_ms % 1000) * 1000000L};
    for (uint64_t pass = 1;; pass++) {
        double t0 = boottime();
        unsigned long bad = pass > 1 ? check("dirty", dirty, dirty_pages, pass - 1) : 0;
        for (size_t i = 0; i < dirty_pages; i++)
            fill((uint64_t *)(dirty + i * PAGE), pass, i);
        unsigned long static_bad = 0;
        if (pass % STATIC_CHECK_EVERY == 0)
            static_bad = check("static", still, static_pages, static_gen);
        total_bad += bad + static_bad;
        double t1 = boottime();
        volatile uint64_t *slot = &mailbox[MBOX_PASS + 2 * (pass % MBOX_PASS_SLOTS)];
        mailbox[MBOX_TOTAL_BAD] = total_bad;
        slot[1] = (total_bad & 0xffffff) << 40 | boottime_us();
        slot[0] = pass;
        say("pass %llu bad=%lu static_bad=%lu total_bad=%llu ms=%.0f t=%.6f",
            (unsigned long long)pass, bad, static_bad, total_bad, (t1 - t0) * 1e3, t1);
        nanosleep(&pause_ts, NULL);
    }
}
