#include "httpd.h"

#include "config.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct httpd {
        struct evhttp *http; /* owned: the server and its listener */
        httpd_handlers_t h;  /* the daemon's answers */
};

/* The path of the request, without its query. */
static const char *req_path(struct evhttp_request *req)
{
        const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
        const char *p = u ? evhttp_uri_get_path(u) : NULL;
        return p && *p ? p : "/";
}

static void reply(struct evhttp_request *req, int code, const char *reason,
                  const char *type, struct evbuffer *body)
{
        struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
        evhttp_add_header(hdr, "Content-Type", type);
        evhttp_add_header(hdr, "Cache-Control", "no-store");
        evhttp_send_reply(req, code, reason, body);
}

static void reply_text(struct evhttp_request *req, int code, const char *reason,
                       const char *text)
{
        struct evbuffer *b = evbuffer_new();
        if (!b) {
                evhttp_send_error(req, HTTP_INTERNAL, NULL);
                return;
        }
        evbuffer_add(b, text, strlen(text));
        reply(req, code, reason, "text/plain; charset=utf-8", b);
        evbuffer_free(b);
}

static void serve_metrics(httpd_t *hd, struct evhttp_request *req)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        int rc = f ? hd->h.metrics(hd->h.ud, f) : -1;
        if (f && fclose(f) != 0)
                rc = -1;
        struct evbuffer *b = rc == 0 ? evbuffer_new() : NULL;
        if (!b || evbuffer_add(b, text, len) != 0) {
                free(text);
                if (b)
                        evbuffer_free(b);
                reply_text(req, HTTP_INTERNAL, "Internal Server Error",
                           "cannot render the metrics (out of memory)\n");
                return;
        }
        free(text);
        reply(req, HTTP_OK, "OK", "text/plain; version=0.0.4; charset=utf-8",
              b);
        evbuffer_free(b);
}

/* A JSON string (the details are ours, but may quote a topic name). */
static void json_str(struct evbuffer *b, const char *s)
{
        evbuffer_add(b, "\"", 1);
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\')
                        evbuffer_add_printf(b, "\\%c", c);
                else if (c < 0x20)
                        evbuffer_add_printf(b, "\\u%04x", c);
                else
                        evbuffer_add(b, s, 1);
        }
        evbuffer_add(b, "\"", 1);
}

static void serve_ready(httpd_t *hd, struct evhttp_request *req)
{
        metrics_reason_t r[HTTPD_MAX_REASONS];
        size_t n = hd->h.readiness(hd->h.ud, r, HTTPD_MAX_REASONS);
        struct evbuffer *b = evbuffer_new();
        if (!b) {
                evhttp_send_error(req, HTTP_INTERNAL, NULL);
                return;
        }
        if (n == 0) {
                evbuffer_add_printf(b, "{\"ready\":true}\n");
        } else {
                evbuffer_add_printf(b, "{\"ready\":false,\"reasons\":[");
                for (size_t i = 0; i < n; i++) {
                        evbuffer_add_printf(b, "%s{\"check\":", i ? "," : "");
                        json_str(b, r[i].check);
                        evbuffer_add_printf(b, ",\"detail\":");
                        json_str(b, r[i].detail);
                        evbuffer_add(b, "}", 1);
                }
                evbuffer_add_printf(b, "]}\n");
        }
        reply(req, n == 0 ? HTTP_OK : 503,
              n == 0 ? "OK" : "Service Unavailable", "application/json", b);
        evbuffer_free(b);
}

static void on_request(struct evhttp_request *req, void *arg)
{
        httpd_t *hd = arg;
        enum evhttp_cmd_type m = evhttp_request_get_command(req);
        if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
                evhttp_add_header(evhttp_request_get_output_headers(req),
                                  "Allow", "GET, HEAD");
                reply_text(req, 405, "Method Not Allowed",
                           "only GET and HEAD\n");
                return;
        }
        const char *p = req_path(req);
        if (strcmp(p, "/metrics") == 0)
                serve_metrics(hd, req);
        else if (strcmp(p, "/healthz") == 0)
                reply_text(req, HTTP_OK, "OK", "ok\n");
        else if (strcmp(p, "/readyz") == 0)
                serve_ready(hd, req);
        else
                reply_text(req, HTTP_NOTFOUND, "Not Found",
                           "not found: /metrics, /healthz, /readyz\n");
}

/* A listening socket on HOST:PORT ("" host: every interface), or -1 with
 * errstr set.  Made here rather than by evhttp_bind_socket so that the
 * reason (EADDRINUSE, ...) reaches the message. */
static evutil_socket_t listen_on(const char *host, int port, char *errstr,
                                 size_t errstr_size)
{
        char ps[8];
        snprintf(ps, sizeof(ps), "%d", port);
        struct addrinfo hints, *ai = NULL;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        int gai = getaddrinfo(*host ? host : NULL, ps, &hints, &ai);
        if (gai != 0) {
                snprintf(errstr, errstr_size, "%s", gai_strerror(gai));
                return -1;
        }
        evutil_socket_t fd = -1;
        int err = 0;
        for (struct addrinfo *a = ai; a; a = a->ai_next) {
                fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
                if (fd < 0) {
                        err = errno;
                        continue;
                }
                /* a restart may bind while the previous instance's
                 * connections linger in TIME_WAIT; a live listener
                 * still refuses the second one (EADDRINUSE) */
                int one = 1;
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 &&
                    listen(fd, 64) == 0 &&
                    evutil_make_socket_nonblocking(fd) == 0 &&
                    evutil_make_socket_closeonexec(fd) == 0)
                        break;
                err = errno;
                close(fd);
                fd = -1;
        }
        freeaddrinfo(ai);
        if (fd < 0)
                snprintf(errstr, errstr_size, "%s", strerror(err));
        return fd;
}

httpd_t *httpd_new(struct event_base *base, const char *listen,
                   const httpd_handlers_t *h, char *errstr, size_t errstr_size)
{
        char host[256], why[256];
        int port;
        if (!config_listen(listen, host, sizeof(host), &port)) {
                snprintf(errstr, errstr_size,
                         "expected host:port, [address]:port or off");
                return NULL;
        }
        httpd_t *hd = calloc(1, sizeof(*hd));
        if (!hd || !(hd->http = evhttp_new(base))) {
                free(hd);
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        hd->h = *h;
        evutil_socket_t fd = listen_on(host, port, why, sizeof(why));
        if (fd < 0) {
                snprintf(errstr, errstr_size, "cannot listen: %s", why);
                httpd_free(hd);
                return NULL;
        }
        if (!evhttp_accept_socket_with_handle(hd->http, fd)) {
                close(fd);
                snprintf(errstr, errstr_size, "cannot listen");
                httpd_free(hd);
                return NULL;
        }
        /* a request is a line and a few headers: nothing bigger is
         * read, and a slow client is dropped */
        evhttp_set_timeout(hd->http, HTTPD_TIMEOUT_S);
        evhttp_set_max_headers_size(hd->http, 8192);
        evhttp_set_max_body_size(hd->http, 1024);
        /* every method reaches on_request, which answers 405 itself
         * (evhttp would say 501 for a method it filtered) */
        evhttp_set_allowed_methods(
            hd->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                          EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                          EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
        evhttp_set_gencb(hd->http, on_request, hd);
        return hd;
}

void httpd_free(httpd_t *hd)
{
        if (!hd)
                return;
        if (hd->http)
                evhttp_free(hd->http);
        free(hd);
}
