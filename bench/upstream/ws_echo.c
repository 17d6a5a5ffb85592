/* The WebSocket echo application of the benchmark's WebSocket cases
 * (bench/harness.py, ws-proxy-c256, ws-echo-c256 and the idle WebSocket
 * test): a WebSocket server (RFC 6455) that sends every data frame back as
 * it came. It does so little per message that the proxy in front of it
 * (wired --ws-proxy, or nginx), not the application, is what the proxied
 * case measures; alone, it is the peer of wired's built-in --ws-echo.
 *
 *   ws_echo PORT [THREADS]      listens on 127.0.0.1:PORT (1 thread)
 *
 * The shape of fast_upstream.c: each thread has its own epoll and shares
 * the one listening socket (EPOLLEXCLUSIVE); level-triggered, one read per
 * wake-up, everything complete in the buffer answered, and while an answer
 * is still queued the connection waits for writable only, so a client that
 * does not read cannot make it queue without bound.
 *
 * A connection is first an HTTP request: any GET with a Sec-WebSocket-Key
 * gets 101 and its Sec-WebSocket-Accept, whatever the path (wired strips
 * the --ws-proxy prefix, nginx does not); anything else gets 400 and is
 * closed. No subprotocol and no extension is ever accepted, so
 * permessage-deflate is off whatever the client offers. Then frames:
 *   text, binary, continuation   echoed frame by frame, FIN and opcode kept
 *                                (so a fragmented message comes back
 *                                fragmented the same way), unmasked;
 *   ping                         answered with a pong of the same payload;
 *   pong                         dropped;
 *   close                        echoed (RFC 6455 §5.5.1), then closed;
 *   an unmasked frame, an unknown opcode, or a frame longer than
 *   MAX_FRAME                    close 1002 or 1009, then closed.
 * A frame is echoed only once it is whole in the buffer: the benchmark's
 * messages are 64 bytes, and streaming large ones is not needed here. No
 * timeouts: an idle connection stays open until its client closes it.
 *
 * Built by bench/run.sh: cc -O2 -pthread -o ws_echo ws_echo.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ws_accept.h"

#define IN_CAP 16384                /* the longest request head, and frame */
#define MAX_FRAME (IN_CAP - 14)     /* a frame's payload, with its longest header */
#define OUT_HIGH (64 * 1024)        /* stop echoing above this many bytes queued */
#define MAX_EVENTS 256

static int listener;

struct conn {
    int fd;
    int upgraded;         /* 101 sent: frames from here on */
    int closing;          /* close once `out` is written */
    size_t in_len;
    char *out;
    size_t out_pos, out_len, out_cap;
    unsigned char in[IN_CAP];
};

static void die(const char *what) {
    perror(what);
    exit(1);
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

static void queue(struct conn *c, const void *data, size_t len) {
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap * 2 : 4096;
        while (cap < c->out_len + len) cap *= 2;
        c->out = realloc(c->out, cap);
        if (c->out == NULL) die("realloc");
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
}

/* A server's frame: never masked (RFC 6455 §5.1). */
static void queue_frame(struct conn *c, unsigned char first, const unsigned char *payload, size_t len) {
    unsigned char head[10];
    size_t n = 0;
    head[n++] = first;
    if (len < 126) {
        head[n++] = (unsigned char)len;
    } else if (len < 65536) {
        head[n++] = 126;
        head[n++] = (unsigned char)(len >> 8);
        head[n++] = (unsigned char)len;
    } else {
        head[n++] = 127;
        for (int i = 7; i >= 0; i--) head[n++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    queue(c, head, n);
    queue(c, payload, len);
}

/* Close with a status code (RFC 6455 §7.4.1) after what is queued. */
static void fail(struct conn *c, unsigned code) {
    unsigned char payload[2] = {(unsigned char)(code >> 8), (unsigned char)code};
    queue_frame(c, 0x88, payload, 2);
    c->closing = 1;
}

/* The opening handshake, once the head is whole. Returns the bytes used,
 * or 0 while the head is incomplete. */
static size_t handshake(struct conn *c) {
    const char *start = (const char *)c->in;
    const char *end = memmem(start, c->in_len, "\r\n\r\n", 4);
    if (end == NULL) {
        if (c->in_len == IN_CAP) c->closing = 1; /* a head too long to take */
        return 0;
    }
    size_t len = (size_t)(end - start) + 4;
    const char *key = header(start, len, "sec-websocket-key:");
    if (strncmp(start, "GET ", 4) != 0 || key == NULL) {
        static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        queue(c, bad, sizeof bad - 1);
        c->closing = 1;
        return len;
    }
    size_t key_len = strcspn(key, " \t\r");
    char accept[WS_ACCEPT_LEN + 1];
    if (ws_accept(key, key_len, accept) < 0) {
        static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        queue(c, bad, sizeof bad - 1);
        c->closing = 1;
        return len;
    }
    char answer[256];
    int n = snprintf(answer, sizeof answer,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
    queue(c, answer, (size_t)n);
    c->upgraded = 1;
    return len;
}

/* Echo the whole frames at in[*pos..]; stops at an incomplete frame, at
 * OUT_HIGH bytes queued, or when closing. */
static void echo(struct conn *c, size_t *pos) {
    while (!c->closing && c->out_len - c->out_pos < OUT_HIGH) {
        unsigned char *p = c->in + *pos;
        size_t avail = c->in_len - *pos;
        if (avail < 2) return;
        unsigned char first = p[0];
        int masked = p[1] & 0x80;
        uint64_t len = p[1] & 0x7f;
        size_t head = 2;
        if (len == 126) {
            if (avail < 4) return;
            len = (uint64_t)p[2] << 8 | p[3];
            head = 4;
        } else if (len == 127) {
            if (avail < 10) return;
            len = 0;
            for (int i = 0; i < 8; i++) len = len << 8 | p[2 + i];
            head = 10;
        }
        if (!masked) {
            fail(c, 1002); /* a client's frames are always masked (§5.1) */
            return;
        }
        if (len > MAX_FRAME) {
            fail(c, 1009);
            return;
        }
        if (avail < head + 4 + len) return;
        const unsigned char *mask = p + head;
        unsigned char *payload = p + head + 4;
        for (size_t i = 0; i < len; i++) payload[i] ^= mask[i & 3];
        *pos += head + 4 + len;
        switch (first & 0x0f) {
        case 0x0: case 0x1: case 0x2:
            queue_frame(c, first, payload, len);
            break;
        case 0x8:
            queue_frame(c, 0x88, payload, len > 125 ? 125 : len);
            c->closing = 1;
            break;
        case 0x9:
            queue_frame(c, 0x8A, payload, len);
            break;
        case 0xA:
            break;
        default:
            fail(c, 1002);
            return;
        }
    }
}

/* Answer what is complete in c->in, then keep what is left for later. */
static void answer(struct conn *c) {
    size_t pos = 0;
    if (!c->upgraded) pos = handshake(c);
    if (c->upgraded) echo(c, &pos);
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
}

static void drop(int ep, struct conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->out);
    free(c);
}

/* Write what is queued; returns -1 when the connection is to be dropped. */
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
    c->out_pos = c->out_len = 0;
    return c->closing ? -1 : 0;
}

/* Answer and write in turn until everything read is answered or the socket
 * is full; returns -1 when the connection is to be dropped. */
static int pump(struct conn *c) {
    for (;;) {
        size_t before = c->in_len;
        answer(c);
        if (c->out_len == 0) return c->closing ? -1 : 0;
        if (flush(c) < 0) return -1;
        if (c->out_len != 0) return 0;        /* the socket is full: wait for writable */
        if (c->in_len == before) return 0;    /* nothing more was complete */
    }
}

static void arm(int ep, struct conn *c) {
    struct epoll_event ev = {.events = c->out_pos < c->out_len ? EPOLLOUT : EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void accept_all(int ep) {
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return; /* EAGAIN, or out of descriptors: try at the next wake-up */
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = calloc(1, sizeof *c);
        if (c == NULL) die("calloc");
        c->fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(c);
        }
    }
}

static void *worker(void *arg) {
    (void)arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev) < 0) die("epoll_ctl listener");
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (c == NULL) {
                accept_all(ep);
                continue;
            }
            if (events[i].events & EPOLLIN) {
                ssize_t r = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                    drop(ep, c);
                    continue;
                }
                if (r > 0) c->in_len += (size_t)r;
            } else if (!(events[i].events & EPOLLOUT)) {
                drop(ep, c); /* EPOLLERR or EPOLLHUP alone */
                continue;
            }
            if (pump(c) < 0) {
                drop(ep, c);
                continue;
            }
            arm(ep, c);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s PORT [THREADS]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    int threads = argc == 3 ? atoi(argv[2]) : 1;
    if (port <= 0 || port > 65535 || threads < 1 || threads > 64) {
        fprintf(stderr, "%s: bad PORT or THREADS\n", argv[0]);
        return 2;
    }
    if (ws_accept_selftest() != 0) {
        fprintf(stderr, "%s: SHA-1 or base64 disagrees with RFC 6455's example\n", argv[0]);
        return 1;
    }
    /* The idle WebSocket test holds thousands of connections. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);

    listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listener < 0) die("socket");
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(listener, 4096) < 0) die("listen");
    fprintf(stderr, "ws_echo: 127.0.0.1:%d, %d thread%s\n", port, threads, threads > 1 ? "s" : "");

    pthread_t tids[64];
    for (int i = 1; i < threads; i++)
        if (pthread_create(&tids[i], NULL, worker, NULL) != 0) die("pthread_create");
    worker(NULL);
    return 0;
}
