/*
 * webhook_sink — a tiny HTTP server for tests/alerts_test.sh, on libevent's
 * evhttp.  Listens on 127.0.0.1, answers the first N requests with 503
 * and later ones with 200, and appends each accepted body as one line to
 * a file; --hang-first N leaves the first N requests unanswered (a client's
 * timeout), before those that fail:
 *
 *   webhook_sink --out FILE [--port P] [--port-file F] [--fail-first N]
 *                [--hang-first N] [--expect M] [--path /hook]
 *                [--timeout-s S]
 *
 * --port 0 (the default) takes a free port and writes it to --port-file.
 * A request that is not a POST of a one-line application/json body with a
 * Host header to --path is refused (4xx) and never accepted, so a client
 * that gets the request wrong never counts as delivered.  Every answer is
 * logged as a line "CODE PATH" on standard output, then a summary.  Exits
 * 0 after M accepted bodies (or at the timeout when M is 0, or on
 * SIGTERM), 1 at the timeout short of M, 2 on bad arguments.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* The server and its counts. */
typedef struct sink {
        struct event_base *base;
        FILE *out;        /* accepted bodies, one a line */
        const char *path; /* the only path served, or NULL for any */
        long hang_first;  /* requests never answered first */
        long fail_first;  /* requests answered 503 next */
        long expect;      /* accepted bodies to exit after, 0 = no limit */
        long requests, hung, failed, accepted, refused;
        int exit_code;
} sink_t;

static int long_arg(const char *name, const char *v, long *out)
{
        char *end;
        errno = 0;
        long x = strtol(v, &end, 10);
        if (errno || end == v || *end || x < 0) {
                fprintf(stderr, "webhook_sink: %s: expected a number >= 0\n",
                        name);
                return -1;
        }
        *out = x;
        return 0;
}

static void answer(struct evhttp_request *req, int code, const char *reason)
{
        struct evbuffer *b = evbuffer_new();
        if (b)
                evbuffer_add_printf(b, "%s\n", reason);
        evhttp_send_reply(req, code, reason, b);
        if (b)
                evbuffer_free(b);
        const char *uri = evhttp_request_get_uri(req);
        printf("%d %s\n", code, uri ? uri : "?");
        fflush(stdout);
}

static void on_request(struct evhttp_request *req, void *arg)
{
        sink_t *s = arg;
        s->requests++;
        if (s->requests <= s->hang_first) {
                /* no reply: freed with the connection the client closes */
                s->hung++;
                printf("hang %s\n", evhttp_request_get_uri(req));
                fflush(stdout);
                return;
        }
        if (s->requests <= s->hang_first + s->fail_first) {
                s->failed++;
                answer(req, 503, "Service Unavailable");
                return;
        }
        struct evkeyvalq *h = evhttp_request_get_input_headers(req);
        const char *ct = evhttp_find_header(h, "Content-Type");
        const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
        const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(in);
        int code = 0;
        const char *why = NULL;
        if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
                code = 405;
                why = "Method Not Allowed";
        } else if (s->path && (!path || strcmp(path, s->path) != 0)) {
                code = 404;
                why = "Not Found";
        } else if (!ct || strcmp(ct, "application/json") != 0) {
                code = 415;
                why = "Unsupported Media Type";
        } else if (!evhttp_find_header(h, "Host") || len == 0 ||
                   evbuffer_search(in, "\n", 1, NULL).pos != -1) {
                code = 400;
                why = "Bad Request";
        }
        if (why) {
                s->refused++;
                answer(req, code, why);
                return;
        }
        unsigned char *body = evbuffer_pullup(in, -1);
        if (fwrite(body, 1, len, s->out) != len || fputc('\n', s->out) < 0 ||
            fflush(s->out) != 0) {
                fprintf(stderr, "webhook_sink: cannot write: %s\n",
                        strerror(errno));
                s->refused++;
                answer(req, 500, "Internal Server Error");
                return;
        }
        s->accepted++;
        answer(req, 200, "OK");
        if (s->expect && s->accepted >= s->expect) {
                /* leave time for the reply to be written */
                struct timeval soon = {0, 200000};
                s->exit_code = 0;
                event_base_loopexit(s->base, &soon);
        }
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
        sink_t *s = arg;
        (void)fd;
        (void)what;
        s->exit_code = 0;
        if (s->expect) {
                fprintf(stderr,
                        "webhook_sink: timed out with %ld of %ld bodies\n",
                        s->accepted, s->expect);
                s->exit_code = 1;
        }
        event_base_loopbreak(s->base);
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
        sink_t *s = arg;
        (void)fd;
        (void)what;
        s->exit_code = 0;
        event_base_loopbreak(s->base);
}

static int write_port(const char *file, int port)
{
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s.tmp", file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0)
                return -1;
        return rename(tmp, file); /* whole or not at all for the reader */
}

int main(int argc, char **argv)
{
        sink_t s = {0};
        const char *out = NULL, *port_file = NULL;
        long port = 0, timeout_s = 120;
        s.exit_code = 1;
        /* options come in pairs: each step takes an option and its value */
        for (int i = 1; i < argc; i += 2) {
                const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                int bad = 0;
                if (!v) {
                        bad = 1;
                } else if (strcmp(o, "--out") == 0) {
                        out = v;
                } else if (strcmp(o, "--port-file") == 0) {
                        port_file = v;
                } else if (strcmp(o, "--path") == 0) {
                        s.path = v;
                } else if (strcmp(o, "--port") == 0) {
                        bad = long_arg(o, v, &port) != 0 || port > 65535;
                } else if (strcmp(o, "--hang-first") == 0) {
                        bad = long_arg(o, v, &s.hang_first) != 0;
                } else if (strcmp(o, "--fail-first") == 0) {
                        bad = long_arg(o, v, &s.fail_first) != 0;
                } else if (strcmp(o, "--expect") == 0) {
                        bad = long_arg(o, v, &s.expect) != 0;
                } else if (strcmp(o, "--timeout-s") == 0) {
                        bad = long_arg(o, v, &timeout_s) != 0;
                } else {
                        bad = 1;
                }
                if (bad) {
                        fprintf(stderr,
                                "usage: webhook_sink --out FILE [--port P] "
                                "[--port-file F] [--fail-first N] "
                                "[--hang-first N] [--expect M] [--path /hook] "
                                "[--timeout-s S]\n");
                        return 2;
                }
        }
        if (!out) {
                fprintf(stderr, "webhook_sink: missing --out\n");
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        if (!(s.out = fopen(out, "a"))) {
                fprintf(stderr, "webhook_sink: cannot open %s\n", out);
                return 1;
        }
        s.base = event_base_new();
        struct evhttp *http = s.base ? evhttp_new(s.base) : NULL;
        struct evhttp_bound_socket *bound =
            http ? evhttp_bind_socket_with_handle(http, "127.0.0.1",
                                                  (unsigned short)port)
                 : NULL;
        struct event *ev_to = NULL, *ev_term = NULL, *ev_int = NULL;
        if (!bound) {
                fprintf(stderr, "webhook_sink: cannot listen on port %ld\n",
                        port);
                goto out_free;
        }
        struct sockaddr_in sin;
        socklen_t sl = sizeof(sin);
        if (getsockname(evhttp_bound_socket_get_fd(bound),
                        (struct sockaddr *)&sin, &sl) != 0) {
                fprintf(stderr, "webhook_sink: getsockname: %s\n",
                        strerror(errno));
                goto out_free;
        }
        if (port_file && write_port(port_file, ntohs(sin.sin_port)) != 0) {
                fprintf(stderr, "webhook_sink: cannot write %s\n", port_file);
                goto out_free;
        }
        evhttp_set_gencb(http, on_request, &s);
        ev_to = evtimer_new(s.base, on_timeout, &s);
        ev_term = evsignal_new(s.base, SIGTERM, on_signal, &s);
        ev_int = evsignal_new(s.base, SIGINT, on_signal, &s);
        struct timeval to = {timeout_s, 0};
        evtimer_add(ev_to, &to);
        event_add(ev_term, NULL);
        event_add(ev_int, NULL);
        event_base_dispatch(s.base);
        printf("webhook_sink: %ld requests, %ld unanswered, %ld answered 503, "
               "%ld accepted, %ld refused\n",
               s.requests, s.hung, s.failed, s.accepted, s.refused);
out_free:
        if (ev_to)
                event_free(ev_to);
        if (ev_term)
                event_free(ev_term);
        if (ev_int)
                event_free(ev_int);
        if (http)
                evhttp_free(http);
        if (s.base)
                event_base_free(s.base);
        fclose(s.out);
        return s.exit_code;
}
