/* LD_PRELOAD for wrk: every TLS connection makes a full handshake.
 *
 * wrk keeps one SSL object per connection slot and, when it reconnects,
 * calls SSL_shutdown and SSL_clear on it and then SSL_connect again. OpenSSL
 * keeps the last session in a cleared SSL object, so the next SSL_connect
 * offers it and the server resumes (a TLS 1.3 ticket: no certificate, no
 * signature). With `Connection: close` that turns a handshake benchmark into
 * a resumption benchmark. This drops the kept session before each
 * SSL_connect, so the client offers none.
 *
 * Built by bench/run.sh: cc -shared -fPIC -O2 -o no_resume.so no_resume.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

typedef struct ssl_st SSL;
typedef struct ssl_session_st SSL_SESSION;
extern int SSL_set_session(SSL *ssl, SSL_SESSION *session);
extern int SSL_in_before(const SSL *ssl);

int SSL_connect(SSL *ssl) {
    static int (*real)(SSL *) = NULL;
    if (real == NULL) {
        real = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_connect");
        if (real == NULL) return -1;
    }
    /* wrk calls SSL_connect again each time a non-blocking handshake step
     * wants more input: drop the session only before the first step.
     * SSL_set_session(ssl, NULL) only releases what the object holds. */
    if (SSL_in_before(ssl)) SSL_set_session(ssl, NULL);
    return real(ssl);
}
