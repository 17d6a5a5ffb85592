/* The fast upstream of the benchmark's proxy cases (bench/harness.py,
 * proxy-1k-c64, gzip-proxy-100k-c64 and the proxied idle test): an HTTP/1.1
 * keep-alive server that answers every request, whatever its method and
 * target, with the same body. It does so little per request that the proxy
 * in front of it, not the application, is what the case measures.
 *
 *   fast_upstream PORT [THREADS [BODY_FILE]]
 *                     listens on 127.0.0.1:PORT (1 thread); answers with
 *                     BODY_FILE's bytes, as text/html, read once at start
 *
 * Without BODY_FILE the body is byte for byte bench/work/www/index.html as
 * bench/run.sh makes it (1 KiB), so the harness checks a proxied answer
 * against that file; gzip-proxy-100k-c64 names 100k.html instead. Each thread
 * has its own epoll and shares the one listening socket (EPOLLEXCLUSIVE:
 * a connection wakes one thread). Level-triggered: a readable connection is
 * read once per wake-up, every complete request head in its buffer answered
 * (pipelining works), and while an answer is still queued the connection
 * waits for writable only, so a client that does not read cannot make it
 * queue without bound. A request body announced by Content-Length is read
 * and dropped; chunked bodies are not supported (the benchmark sends none).
 * `Connection: close` or HTTP/1.0 closes after the answer. No timeouts: an
 * idle connection stays open until its client closes it.
 *
 * Built by bench/run.sh: cc -O2 -pthread -o fast_upstream fast_upstream.c
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

#define INDEX_LEN 1024     /* the built-in body: index.html */
#define IN_CAP 16384        /* the longest request head accepted */
#define OUT_HIGH (64 * 1024) /* stop answering pipelined requests above this */
#define MAX_EVENTS 256

static char *keep_response;
static size_t keep_len;
static char *close_response;
static size_t close_len;
static size_t body_size;
static int listener;

struct conn {
    int fd;
    int closing;          /* close once `out` is written */
    size_t in_len;
    size_t body_left;     /* request body bytes still to drop */
    char *out;
    size_t out_pos, out_len, out_cap;
    char in[IN_CAP];
};

static void die(const char *what) {
    perror(what);
    exit(1);
}

/* The 1 KiB page bench/run.sh writes as index.html (malloc'd). */
static char *index_page(size_t *len) {
    const char *head = "<!doctype html>\n<html><head><title>wired benchmark</title></head>\n<body><p>";
    const char *tail = "</p></body>\n</html>\n";
    char *body = malloc(INDEX_LEN);
    if (body == NULL) die("malloc");
    size_t h = strlen(head), t = strlen(tail);
    memcpy(body, head, h);
    memset(body + h, 'x', INDEX_LEN - h - t);
    memcpy(body + INDEX_LEN - t, tail, t);
    *len = INDEX_LEN;
    return body;
}

/* The whole of a file (malloc'd), for BODY_FILE. */
static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) die(path);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (buf == NULL) die("malloc");
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (buf == NULL) die("realloc");
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0) break;
        n += r;
    }
    if (ferror(f)) die(path);
    fclose(f);
    *len = n;
    return buf;
}

/* The two answers, head and body in one buffer each, made once. */
static char *make_response(const char *body, size_t body_len, const char *extra, size_t *len) {
    const char *fmt = "HTTP/1.1 200 OK\r\nServer: fast-upstream\r\nContent-Type: text/html\r\n"
                      "Content-Length: %zu\r\n%s\r\n";
    char head[256];
    int h = snprintf(head, sizeof head, fmt, body_len, extra);
    char *out = malloc((size_t)h + body_len);
    if (out == NULL) die("malloc");
    memcpy(out, head, (size_t)h);
    memcpy(out + h, body, body_len);
    *len = (size_t)h + body_len;
    return out;
}

static void make_responses(const char *body_file) {
    size_t body_len;
    char *body = body_file ? read_file(body_file, &body_len) : index_page(&body_len);
    body_size = body_len;
    keep_response = make_response(body, body_len, "", &keep_len);
    close_response = make_response(body, body_len, "Connection: close\r\n", &close_len);
    free(body);
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

static void queue(struct conn *c, const char *data, size_t len) {
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

/* Answer the complete request heads in c->in, until OUT_HIGH bytes wait to
 * be written. Returns -1 on a head too long to take (the connection is then
 * closed). */
static int answer(struct conn *c) {
    size_t pos = 0;
    int partial = 0;
    while (pos < c->in_len && !c->closing && c->out_len - c->out_pos < OUT_HIGH) {
        if (c->body_left) {
            size_t n = c->in_len - pos < c->body_left ? c->in_len - pos : c->body_left;
            pos += n;
            c->body_left -= n;
            continue;
        }
        char *start = c->in + pos;
        char *end = memmem(start, c->in_len - pos, "\r\n\r\n", 4);
        if (end == NULL) {
            partial = 1;
            break;
        }
        size_t len = (size_t)(end - start) + 4;
        const char *line_end = memmem(start, len, "\r\n", 2);
        int http10 = line_end - start >= 8 && memcmp(line_end - 8, "HTTP/1.0", 8) == 0;
        const char *conn = header(start, len, "connection:");
        const char *cl = header(start, len, "content-length:");
        c->closing = http10 || (conn != NULL && strncasecmp(conn, "close", 5) == 0);
        if (cl != NULL) c->body_left = strtoul(cl, NULL, 10);
        if (c->closing) queue(c, close_response, close_len);
        else queue(c, keep_response, keep_len);
        pos += len;
    }
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
    return partial && c->in_len == IN_CAP ? -1 : 0;
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
        if (answer(c) < 0) return -1;
        if (c->out_len == 0) return 0; /* no complete request waiting */
        if (flush(c) < 0) return -1;
        if (c->out_len != 0) return 0; /* the socket is full: wait for writable */
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
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: %s PORT [THREADS [BODY_FILE]]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    int threads = argc >= 3 ? atoi(argv[2]) : 1;
    const char *body_file = argc == 4 ? argv[3] : NULL;
    if (port <= 0 || port > 65535 || threads < 1 || threads > 64) {
        fprintf(stderr, "%s: bad PORT or THREADS\n", argv[0]);
        return 2;
    }
    /* The proxied idle test holds a thousand connections and more. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    make_responses(body_file);

    listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listener < 0) die("socket");
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(listener, 4096) < 0) die("listen");
    fprintf(stderr, "fast_upstream: 127.0.0.1:%d, %d thread%s, %zu-byte body%s%s\n", port, threads,
            threads > 1 ? "s" : "", body_size,
            body_file ? " from " : "", body_file ? body_file : "");

    pthread_t tids[64];
    for (int i = 1; i < threads; i++)
        if (pthread_create(&tids[i], NULL, worker, NULL) != 0) die("pthread_create");
    worker(NULL);
    return 0;
}
