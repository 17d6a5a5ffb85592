/* ws_load: the WebSocket load generator of the benchmark's WebSocket cases
 * (bench/harness.py). wrk speaks no WebSocket, and no such tool is packaged
 * here, so this one is written small: C and epoll like the benchmark's
 * applications (../upstream/), built by bench/run.sh with the C compiler
 * alone (SHA-1 and base64 for the handshake: ../upstream/ws_accept.h).
 *
 *   ws_load [-c CONNS] [-d SECONDS] [-s BYTES] [-w WINDOW] [-t THREADS]
 *           [-T CONNECT_SECONDS] ws://127.0.0.1:PORT/PATH
 *
 * 1. Opens CONNS connections (256) to 127.0.0.1 only, each with an opening
 *    handshake (RFC 6455 §4.1) that must come back 101 with the right
 *    Sec-WebSocket-Accept; no extension is offered (so no
 *    permessage-deflate) and none may be accepted. Handshakes not done within
 *    CONNECT_SECONDS (10) count as timeouts.
 * 2. Once every thread's connections are open, for SECONDS (10) each
 *    connection keeps WINDOW (1) text messages of BYTES (64) in flight:
 *    every echo received is checked (one unfragmented text frame, unmasked,
 *    the length sent, and the payload of the message it answers: the
 *    connection's message number in hex, then fixed filler) and answered
 *    with the next message. Messages are masked with a fresh random key
 *    each (§5.3), as a browser's are. Latency: from queueing a message to
 *    reading its echo, per message.
 * 3. Then every connection sends Close (1000) and waits up to 2 s for the
 *    server's Close or end of stream (§7.1.2), and is closed.
 *
 * Echoes counted are those received before the SECONDS are up. Prints a
 * short report, then one line: WIRED-BENCH {JSON}, with the counts, the
 * duration and the latency percentiles in µs. Its error counts take wrk's
 * names, so the harness files them in the same columns:
 *   connect   connect() failed
 *   status    the handshake's answer was not 101 with the right accept key
 *   timeout   the handshake was not done within CONNECT_SECONDS
 *   read      a read failed, the server closed or sent Close during the
 *             run, or an echo was wrong (bad_echo counts those alone)
 *   write     a write failed
 * With THREADS above 1 (default 1, as the harness runs wrk), connections
 * are split over threads, each with its own epoll; the measurement starts
 * at one instant for all of them (a barrier).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../upstream/ws_accept.h"

#define IN_CAP 16384          /* a connection's read buffer */
#define MAX_SIZE 4096         /* the largest message (-s) */
#define SEQ_DIGITS 16         /* a payload starts with its message number, in hex */
#define MAX_EVENTS 256
#define HIST_US 1000000       /* latency histogram: 1 µs buckets up to 1 s, then one */
#define CLOSE_WAIT_NS 2000000000ull

static struct {
    int conns, threads, window;
    double seconds, connect_seconds;
    size_t size;
    int port;
    const char *path;
} opt = {256, 1, 1, 10.0, 10.0, 64, 0, NULL};

static char request_head[2048];   /* the handshake, with KEY_AT for the key */
static size_t request_len, key_at;
static unsigned char filler[MAX_SIZE];
static pthread_barrier_t start_line;

enum state { CONNECTING, HANDSHAKE, OPEN, CLOSING, DONE };

struct conn {
    int fd;
    enum state state;
    char accept[WS_ACCEPT_LEN + 1];  /* the Sec-WebSocket-Accept expected */
    uint64_t sent, echoed;           /* messages sent, echoes received */
    uint64_t *sent_at;               /* when message k was queued, at k % window (ns) */
    unsigned char *out;              /* bytes to write: out_pos..out_len of out_cap */
    size_t out_pos, out_len, out_cap;
    size_t in_len;
    unsigned char in[IN_CAP];
};

struct errors {
    uint64_t connect, status, timeout, read, write, bad_echo;
};

struct worker {
    pthread_t tid;
    int ep;
    struct conn *conns;
    int n;
    uint64_t rng;                    /* xorshift64 state: keys and masks */
    int open;                        /* connections whose handshake succeeded */
    uint64_t t0, deadline, t1;       /* the measurement, ns (CLOCK_MONOTONIC) */
    uint64_t messages, bytes;        /* echoes received in time, their payload bytes */
    uint64_t lat_sum_ns, lat_max_ns;
    uint32_t *hist;                  /* HIST_US + 1 buckets, µs */
    struct errors err;
};

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t next_random(struct worker *w) {
    uint64_t x = w->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return w->rng = x;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

/* -- writing ------------------------------------------------------------ */

static void queue(struct conn *c, const void *data, size_t len) {
    if (c->out_pos == c->out_len) c->out_pos = c->out_len = 0;
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap * 2 : 1024;
        while (cap < c->out_len + len) cap *= 2;
        c->out = realloc(c->out, cap);
        if (c->out == NULL) die("realloc");
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
}

/* A client's frame: always masked, with a fresh key (RFC 6455 §5.3). */
static void queue_frame(struct worker *w, struct conn *c, unsigned char first,
                        const unsigned char *payload, size_t len) {
    unsigned char frame[14 + MAX_SIZE];
    size_t n = 0;
    frame[n++] = first;
    if (len < 126) {
        frame[n++] = 0x80 | (unsigned char)len;
    } else {
        frame[n++] = 0x80 | 126;
        frame[n++] = (unsigned char)(len >> 8);
        frame[n++] = (unsigned char)len;
    }
    uint32_t key = (uint32_t)next_random(w);
    unsigned char mask[4];
    memcpy(mask, &key, 4);
    memcpy(frame + n, mask, 4);
    n += 4;
    for (size_t i = 0; i < len; i++) frame[n + i] = payload[i] ^ mask[i & 3];
    queue(c, frame, n + len);
}

/* Message number `seq` of a connection: its number in hex, then filler. */
static void make_payload(unsigned char *p, uint64_t seq) {
    static const char hex[] = "0123456789abcdef";
    for (int i = SEQ_DIGITS - 1; i >= 0; i--, seq >>= 4) p[i] = (unsigned char)hex[seq & 15];
    memcpy(p + SEQ_DIGITS, filler, opt.size - SEQ_DIGITS);
}

static void send_message(struct worker *w, struct conn *c, uint64_t now) {
    unsigned char payload[MAX_SIZE];
    make_payload(payload, c->sent);
    c->sent_at[c->sent % (uint64_t)opt.window] = now;
    c->sent++;
    queue_frame(w, c, 0x81, payload, opt.size);
}

/* Write what is queued. Returns -1 on an error, else 0 (with bytes left
 * when the socket is full: the caller waits for writable). */
static int flush(struct conn *c) {
    while (c->out_pos < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_pos, c->out_len - c->out_pos, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return 0;
            return -1;
        }
        c->out_pos += (size_t)n;
    }
    return 0;
}

static void arm(struct worker *w, struct conn *c, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Flush, then wait for readable, and for writable too while bytes are left. */
static int flush_and_arm(struct worker *w, struct conn *c) {
    if (flush(c) < 0) return -1;
    arm(w, c, c->out_pos < c->out_len ? EPOLLIN | EPOLLOUT : EPOLLIN);
    return 0;
}

static void finish(struct worker *w, struct conn *c) {
    epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->state = DONE;
}

/* -- 1. connect and handshake --------------------------------------------- */

static void start_connect(struct worker *w, struct conn *c) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        w->err.connect++;
        c->state = DONE;
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
        close(c->fd);
        w->err.connect++;
        c->state = DONE;
        return;
    }
    c->state = CONNECTING;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
}

/* Connected: send the handshake with a fresh key, remember its answer. */
static void send_handshake(struct worker *w, struct conn *c) {
    int so_error = 0;
    socklen_t len = sizeof so_error;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) {
        w->err.connect++;
        finish(w, c);
        return;
    }
    unsigned char nonce[16];
    for (int i = 0; i < 16; i += 8) {
        uint64_t r = next_random(w);
        memcpy(nonce + i, &r, 8);
    }
    char key[25];
    ws_base64(nonce, 16, key);
    ws_accept(key, 24, c->accept);
    char head[sizeof request_head];
    memcpy(head, request_head, request_len);
    memcpy(head + key_at, key, 24);
    queue(c, head, request_len);
    c->state = HANDSHAKE;
    if (flush_and_arm(w, c) < 0) {
        w->err.write++;
        finish(w, c);
    }
}

/* The value of header `name` (with its colon, lower case) in a head, or NULL. */
static const char *header(const char *head, size_t len, const char *name) {
    size_t n = strlen(name);
    const char *p = memmem(head, len, "\r\n", 2);
    while (p != NULL && (size_t)(p + 2 - head) + n <= len) {
        p += 2;
        if (strncasecmp(p, name, n) == 0) {
            p += n;
            while (*p == ' ' || *p == '\t') p++;
            return p;
        }
        p = memmem(p, len - (size_t)(p - head), "\r\n", 2);
    }
    return NULL;
}

/* Read the server's answer to the handshake; OPEN once it is right. */
static void read_handshake(struct worker *w, struct conn *c) {
    ssize_t r = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len - 1, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (r <= 0) {
        w->err.status++; /* closed (or failed) before answering 101 */
        finish(w, c);
        return;
    }
    c->in_len += (size_t)r;
    c->in[c->in_len] = '\0';
    const char *head = (const char *)c->in;
    const char *end = memmem(head, c->in_len, "\r\n\r\n", 4);
    if (end == NULL) {
        if (c->in_len == IN_CAP - 1) {
            w->err.status++;
            finish(w, c);
        }
        return;
    }
    size_t len = (size_t)(end - head) + 4;
    const char *accept = header(head, len, "sec-websocket-accept:");
    if (strncmp(head, "HTTP/1.1 101 ", 13) != 0 || accept == NULL
        || strncmp(accept, c->accept, WS_ACCEPT_LEN) != 0
        || strchr("\r\n \t", accept[WS_ACCEPT_LEN]) == NULL
        || header(head, len, "sec-websocket-extensions:") != NULL) {
        w->err.status++;
        finish(w, c);
        return;
    }
    memmove(c->in, c->in + len, c->in_len - len); /* a server's first frame may follow */
    c->in_len -= len;
    c->state = OPEN;
    w->open++;
    arm(w, c, EPOLLIN);
}

static void open_all(struct worker *w) {
    for (int i = 0; i < w->n; i++) start_connect(w, &w->conns[i]);
    uint64_t deadline = now_ns() + (uint64_t)(opt.connect_seconds * 1e9);
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int pending = 0;
        for (int i = 0; i < w->n; i++) pending += w->conns[i].state == CONNECTING || w->conns[i].state == HANDSHAKE;
        uint64_t now = now_ns();
        if (pending == 0 || now >= deadline) break;
        int n = epoll_wait(w->ep, events, MAX_EVENTS, (int)((deadline - now) / 1000000) + 1);
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (c->state == CONNECTING) {
                send_handshake(w, c);
            } else if (c->state == HANDSHAKE) {
                if ((events[i].events & EPOLLOUT) && flush_and_arm(w, c) < 0) {
                    w->err.write++;
                    finish(w, c);
                } else if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                    read_handshake(w, c);
                }
            }
        }
    }
    for (int i = 0; i < w->n; i++) {
        struct conn *c = &w->conns[i];
        if (c->state == CONNECTING || c->state == HANDSHAKE) {
            w->err.timeout++;
            finish(w, c);
        }
    }
}

/* -- 2. the messages ----------------------------------------------------- */

static void record_latency(struct worker *w, uint64_t ns) {
    uint64_t us = ns / 1000;
    w->hist[us < HIST_US ? us : HIST_US]++;
    w->lat_sum_ns += ns;
    if (ns > w->lat_max_ns) w->lat_max_ns = ns;
}

/* Is this the echo of the connection's next message? */
static int echo_is_right(const struct conn *c, unsigned char first, int masked, uint64_t len,
                         const unsigned char *payload) {
    if (first != 0x81 || masked || len != opt.size) return 0;
    unsigned char want[SEQ_DIGITS];
    uint64_t seq = c->echoed;
    static const char hex[] = "0123456789abcdef";
    for (int i = SEQ_DIGITS - 1; i >= 0; i--, seq >>= 4) want[i] = (unsigned char)hex[seq & 15];
    return memcmp(payload, want, SEQ_DIGITS) == 0
        && memcmp(payload + SEQ_DIGITS, filler, opt.size - SEQ_DIGITS) == 0;
}

/* The whole frames in c->in: echoes while OPEN (each answered with the next
 * message until the deadline), pings answered; while CLOSING, data ignored
 * and the server's Close ends it. Returns -1 when the connection is over. */
static int read_frames(struct worker *w, struct conn *c, uint64_t now) {
    size_t pos = 0;
    int result = 0;
    while (result == 0) {
        unsigned char *p = c->in + pos;
        size_t avail = c->in_len - pos;
        if (avail < 2) break;
        int masked = p[1] & 0x80;
        uint64_t len = p[1] & 0x7f;
        size_t head = 2;
        if (len == 126) {
            if (avail < 4) break;
            len = (uint64_t)p[2] << 8 | p[3];
            head = 4;
        } else if (len == 127) {
            w->err.read++; /* nothing this client sends has an echo this long */
            w->err.bad_echo++;
            return -1;
        }
        if (masked) head += 4;
        if (head + len > IN_CAP) {
            w->err.read++;
            w->err.bad_echo++;
            return -1;
        }
        if (avail < head + len) break;
        unsigned char first = p[0], *payload = p + head;
        pos += head + len;
        unsigned opcode = first & 0x0f;
        if (opcode == 0x8) {
            if (c->state == OPEN) w->err.read++; /* the server closed during the run */
            result = -1;
        } else if (opcode == 0x9) {
            queue_frame(w, c, 0x8A, payload, len < 125 ? len : 125);
        } else if (opcode == 0xA) {
            /* an unsolicited pong: nothing to do */
        } else if (c->state == OPEN) {
            if (!echo_is_right(c, first, masked, len, payload)) {
                w->err.read++;
                w->err.bad_echo++;
                return -1;
            }
            if (now < w->deadline) {
                record_latency(w, now - c->sent_at[c->echoed % (uint64_t)opt.window]);
                w->messages++;
                w->bytes += len;
            }
            c->echoed++;
            if (now < w->deadline) send_message(w, c, now);
        }
    }
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
    return result;
}

/* A readable (or writable) connection, OPEN or CLOSING. */
static void on_event(struct worker *w, struct conn *c, uint32_t events) {
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        ssize_t r = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (r <= 0) {
            if (c->state == OPEN) w->err.read++;
            finish(w, c);
            return;
        }
        c->in_len += (size_t)r;
        if (read_frames(w, c, now_ns()) < 0) {
            finish(w, c);
            return;
        }
    }
    if (flush_and_arm(w, c) < 0) {
        if (c->state == OPEN) w->err.write++;
        finish(w, c);
    }
}

static void run(struct worker *w) {
    struct epoll_event events[MAX_EVENTS];
    pthread_barrier_wait(&start_line);
    w->t0 = now_ns();
    w->deadline = w->t0 + (uint64_t)(opt.seconds * 1e9);
    if (w->open == 0) {
        w->t1 = w->t0;
        return;
    }
    for (int i = 0; i < w->n; i++) {
        struct conn *c = &w->conns[i];
        if (c->state != OPEN) continue;
        for (int k = 0; k < opt.window; k++) send_message(w, c, now_ns());
        if (flush_and_arm(w, c) < 0) {
            w->err.write++;
            finish(w, c);
        }
    }
    for (;;) {
        uint64_t now = now_ns();
        if (now >= w->deadline) break;
        int n = epoll_wait(w->ep, events, MAX_EVENTS, (int)((w->deadline - now) / 1000000) + 1);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int i = 0; i < n; i++) on_event(w, events[i].data.ptr, events[i].events);
    }
    w->t1 = now_ns();
}

/* -- 3. the closing handshake -------------------------------------------- */

static void close_all(struct worker *w) {
    static const unsigned char normal[2] = {0x03, 0xE8}; /* 1000 */
    int left = 0;
    for (int i = 0; i < w->n; i++) {
        struct conn *c = &w->conns[i];
        if (c->state != OPEN) continue;
        c->state = CLOSING;
        queue_frame(w, c, 0x88, normal, 2);
        if (flush_and_arm(w, c) < 0) finish(w, c);
        else left++;
    }
    uint64_t deadline = now_ns() + CLOSE_WAIT_NS;
    struct epoll_event events[MAX_EVENTS];
    while (left > 0) {
        uint64_t now = now_ns();
        if (now >= deadline) break;
        int n = epoll_wait(w->ep, events, MAX_EVENTS, (int)((deadline - now) / 1000000) + 1);
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            on_event(w, c, events[i].events);
            if (c->state == DONE) left--;
        }
    }
    for (int i = 0; i < w->n; i++)
        if (w->conns[i].state != DONE) finish(w, &w->conns[i]);
}

static void *worker_main(void *arg) {
    struct worker *w = arg;
    open_all(w);
    run(w);
    close_all(w);
    return NULL;
}

/* -- the command line and the report -------------------------------------- */

static void usage(const char *argv0) {
    fprintf(stderr, "usage: %s [-c CONNS] [-d SECONDS] [-s BYTES] [-w WINDOW] [-t THREADS] "
                    "[-T CONNECT_SECONDS] ws://127.0.0.1:PORT/PATH\n", argv0);
    exit(2);
}

/* ws://127.0.0.1:PORT/PATH (or localhost): this tool talks to loopback only. */
static void parse_url(const char *argv0, const char *url) {
    const char *rest;
    if (strncmp(url, "ws://127.0.0.1:", 15) == 0) rest = url + 15;
    else if (strncmp(url, "ws://localhost:", 15) == 0) rest = url + 15;
    else {
        fprintf(stderr, "%s: the URL must be ws://127.0.0.1:PORT/PATH (loopback only)\n", argv0);
        exit(2);
    }
    char *end;
    long port = strtol(rest, &end, 10);
    if (port <= 0 || port > 65535 || (*end != '/' && *end != '\0')) usage(argv0);
    opt.port = (int)port;
    opt.path = *end ? end : "/";
}

static uint64_t percentile(const uint32_t *hist, uint64_t total, double p) {
    if (total == 0) return 0;
    uint64_t want = (uint64_t)(p * (double)total + 0.999999), seen = 0;
    if (want == 0) want = 1;
    for (uint64_t us = 0; us <= HIST_US; us++) {
        seen += hist[us];
        if (seen >= want) return us;
    }
    return HIST_US;
}

int main(int argc, char **argv) {
    int ch;
    while ((ch = getopt(argc, argv, "c:d:s:w:t:T:")) != -1) {
        switch (ch) {
        case 'c': opt.conns = atoi(optarg); break;
        case 'd': opt.seconds = atof(optarg); break;
        case 's': opt.size = (size_t)atol(optarg); break;
        case 'w': opt.window = atoi(optarg); break;
        case 't': opt.threads = atoi(optarg); break;
        case 'T': opt.connect_seconds = atof(optarg); break;
        default: usage(argv[0]);
        }
    }
    if (optind != argc - 1) usage(argv[0]);
    parse_url(argv[0], argv[optind]);
    if (opt.conns < 1 || opt.seconds <= 0 || opt.seconds > 3600 || opt.connect_seconds <= 0
        || opt.size < SEQ_DIGITS || opt.size > MAX_SIZE || opt.window < 1 || opt.window > 1024
        || opt.threads < 1 || opt.threads > 64 || opt.threads > opt.conns) {
        fprintf(stderr, "%s: -c >= 1, 0 < -d <= 3600, %d <= -s <= %d, 1 <= -w <= 1024, "
                        "1 <= -t <= min(64, -c)\n", argv[0], SEQ_DIGITS, MAX_SIZE);
        return 2;
    }
    if (ws_accept_selftest() != 0) {
        fprintf(stderr, "%s: SHA-1 or base64 disagrees with RFC 6455's example\n", argv[0]);
        return 1;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);

    int n = snprintf(request_head, sizeof request_head,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ", opt.path, opt.port);
    if (n < 0 || (size_t)n + 24 + 4 >= sizeof request_head) usage(argv[0]);
    key_at = (size_t)n;
    memset(request_head + key_at, 'K', 24);
    memcpy(request_head + key_at + 24, "\r\n\r\n", 4);
    request_len = key_at + 28;
    for (size_t i = 0; i < MAX_SIZE; i++) filler[i] = (unsigned char)('a' + i % 26);

    struct worker *workers = calloc((size_t)opt.threads, sizeof *workers);
    struct conn *conns = calloc((size_t)opt.conns, sizeof *conns);
    uint64_t *sent_at = calloc((size_t)opt.conns * (size_t)opt.window, sizeof *sent_at);
    if (workers == NULL || conns == NULL || sent_at == NULL) die("calloc");
    for (int i = 0; i < opt.conns; i++) conns[i].sent_at = sent_at + (size_t)i * (size_t)opt.window;
    pthread_barrier_init(&start_line, NULL, (unsigned)opt.threads);
    uint64_t seed = now_ns() ^ ((uint64_t)getpid() << 32);
    for (int t = 0, first = 0; t < opt.threads; t++) {
        struct worker *w = &workers[t];
        w->n = opt.conns / opt.threads + (t < opt.conns % opt.threads);
        w->conns = conns + first;
        first += w->n;
        w->rng = (seed + 0x9E3779B97F4A7C15ull * (uint64_t)(t + 1)) | 1;
        w->hist = calloc(HIST_US + 1, sizeof *w->hist);
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        if (w->hist == NULL || w->ep < 0) die("worker");
        if (pthread_create(&w->tid, NULL, worker_main, w) != 0) die("pthread_create");
    }

    /* The threads' figures together. */
    struct errors e = {0};
    uint64_t messages = 0, bytes = 0, lat_sum = 0, lat_max = 0, t0 = UINT64_MAX, t1 = 0;
    int open = 0;
    uint32_t *hist = workers[0].hist;
    for (int t = 0; t < opt.threads; t++) {
        struct worker *w = &workers[t];
        pthread_join(w->tid, NULL);
        open += w->open;
        messages += w->messages;
        bytes += w->bytes;
        lat_sum += w->lat_sum_ns;
        if (w->lat_max_ns > lat_max) lat_max = w->lat_max_ns;
        if (w->t0 < t0) t0 = w->t0;
        if (w->t1 > t1) t1 = w->t1;
        e.connect += w->err.connect;
        e.status += w->err.status;
        e.timeout += w->err.timeout;
        e.read += w->err.read;
        e.write += w->err.write;
        e.bad_echo += w->err.bad_echo;
        if (t > 0)
            for (uint64_t us = 0; us <= HIST_US; us++) hist[us] += w->hist[us];
    }
    /* The measurement ends at the deadline: echoes after it are not counted. */
    uint64_t duration_us = (uint64_t)(opt.seconds * 1e6);
    if (t1 > t0 && t1 - t0 < duration_us * 1000) duration_us = (t1 - t0) / 1000;
    double secs = (double)duration_us / 1e6;
    uint64_t p50 = percentile(hist, messages, 0.50), p90 = percentile(hist, messages, 0.90);
    uint64_t p99 = percentile(hist, messages, 0.99), p999 = percentile(hist, messages, 0.999);
    double mean_us = messages ? (double)lat_sum / (double)messages / 1000.0 : 0.0;

    printf("ws_load: ws://127.0.0.1:%d%s, %d connections (%d open), %zu-byte text messages, "
           "%d in flight each, %d thread%s, %.1f s\n",
           opt.port, opt.path, opt.conns, open, opt.size, opt.window, opt.threads,
           opt.threads > 1 ? "s" : "", secs);
    printf("  %llu echoes, %.0f messages/s; latency p50 %llu µs, p90 %llu, p99 %llu, p99.9 %llu, "
           "mean %.1f, max %.0f\n",
           (unsigned long long)messages, secs > 0 ? (double)messages / secs : 0.0,
           (unsigned long long)p50, (unsigned long long)p90, (unsigned long long)p99,
           (unsigned long long)p999, mean_us, (double)lat_max / 1000.0);
    printf("  errors: connect %llu, status %llu, timeout %llu, read %llu (bad echoes %llu), write %llu\n",
           (unsigned long long)e.connect, (unsigned long long)e.status, (unsigned long long)e.timeout,
           (unsigned long long)e.read, (unsigned long long)e.bad_echo, (unsigned long long)e.write);
    printf("WIRED-BENCH {\"messages\":%llu,\"bytes\":%llu,\"duration_us\":%llu,\"connections\":%d,"
           "\"open\":%d,\"size\":%zu,\"window\":%d,"
           "\"connect\":%llu,\"read\":%llu,\"write\":%llu,\"status\":%llu,\"timeout\":%llu,"
           "\"bad_echo\":%llu,\"p50_us\":%llu,\"p90_us\":%llu,\"p99_us\":%llu,\"p999_us\":%llu,"
           "\"mean_us\":%.1f,\"max_us\":%llu}\n",
           (unsigned long long)messages, (unsigned long long)bytes, (unsigned long long)duration_us,
           opt.conns, open, opt.size, opt.window,
           (unsigned long long)e.connect, (unsigned long long)e.read, (unsigned long long)e.write,
           (unsigned long long)e.status, (unsigned long long)e.timeout, (unsigned long long)e.bad_echo,
           (unsigned long long)p50, (unsigned long long)p90, (unsigned long long)p99,
           (unsigned long long)p999, mean_us, (unsigned long long)(lat_max / 1000));
    return open > 0 ? 0 : 1;
}
