#include "lease.h"

#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void lease_init(lease_t *ls, const char *conninfo, const char *instance_id,
                long ttl_ms)
{
        memset(ls, 0, sizeof(*ls));
        ls->conninfo = conninfo;
        ls->ttl_ms = ttl_ms;
        if (instance_id) {
                snprintf(ls->holder, sizeof(ls->holder), "%s", instance_id);
        } else {
                char host[128] = "patuhd";
                gethostname(host, sizeof(host) - 1);
                snprintf(ls->holder, sizeof(ls->holder), "%s:%ld", host,
                         (long)getpid());
        }
        snprintf(ls->ttl_s, sizeof(ls->ttl_s), "%ld", ttl_ms);
}

static volatile sig_atomic_t standby_stop;

static void on_standby_signal(int sig)
{
        (void)sig;
        standby_stop = 1;
}

int lease_acquire(lease_t *ls, lease_status_fn *status, void *ud, char *errstr,
                  size_t errstr_size)
{
        struct sigaction sa, old_term, old_int;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_standby_signal;
        sigaction(SIGTERM, &sa, &old_term);
        sigaction(SIGINT, &sa, &old_int);
        const char *keys[] = {"dbname", "connect_timeout", "options", NULL};
        const char *vals[] = {ls->conninfo, "3", "-c statement_timeout=5000",
                              NULL};
        char said[256] = "";
        int rc = 1;
        while (!standby_stop) {
                PGconn *pg = PQconnectdbParams(keys, vals, 1);
                char now[256] = "";
                if (PQstatus(pg) != CONNECTION_OK) {
                        snprintf(now, sizeof(now),
                                 "PostgreSQL unreachable, waiting");
                } else {
                        const char *p[2] = {ls->holder, ls->ttl_s};
                        PGresult *r = PQexecParams(
                            pg, "SELECT patuh_lease_acquire($1, $2::int)", 2,
                            NULL, p, NULL, NULL, 0);
                        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                                snprintf(errstr, errstr_size, "%s",
                                         PQerrorMessage(pg));
                                PQclear(r);
                                PQfinish(pg);
                                rc = -1;
                                break;
                        }
                        if (!PQgetisnull(r, 0, 0)) {
                                ls->epoch =
                                    strtoll(PQgetvalue(r, 0, 0), NULL, 10);
                                PQclear(r);
                                PQfinish(pg);
                                rc = 0;
                                break;
                        }
                        PQclear(r);
                        r = PQexec(pg, "SELECT holder, epoch FROM "
                                       "patuh_lease_holder()");
                        if (PQresultStatus(r) == PGRES_TUPLES_OK &&
                            PQntuples(r) == 1)
                                snprintf(now, sizeof(now),
                                         "standing by: %s holds the engine "
                                         "lease (epoch %s)",
                                         PQgetvalue(r, 0, 0),
                                         PQgetvalue(r, 0, 1));
                        PQclear(r);
                }
                PQfinish(pg);
                if (strcmp(now, said) != 0) {
                        if (status)
                                status(ud, now);
                        memcpy(said, now, sizeof(said));
                }
                if (ls->wait) {
                        ls->wait(ls->wait_ud, 250);
                } else {
                        struct timespec ts = {0, 250 * 1000000};
                        nanosleep(&ts, NULL); /* a signal cuts it short */
                }
        }
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGINT, &old_int, NULL);
        if (rc == 0)
                snprintf(ls->epoch_s, sizeof(ls->epoch_s), "%lld", ls->epoch);
        return rc;
}

void lease_renew_params(const lease_t *ls, const char *params[3])
{
        params[0] = ls->holder;
        params[1] = ls->work ? ls->ws_s : ls->epoch_s;
        params[2] = ls->work ? ls->eps_s : ls->ttl_s;
}

const char *lease_renew_sql(const lease_t *ls)
{
        return ls->work ? WORK_CHECK_SQL : LEASE_RENEW_SQL;
}

/* "{a,b,c}" of N integers; false when it does not fit. */
static bool pg_array(char *buf, size_t size, const int32_t *i32,
                     const long long *i64, size_t n)
{
        size_t at = 0;
        buf[at++] = '{';
        for (size_t k = 0; k < n; k++) {
                int w = snprintf(buf + at, size - at, "%s%lld", k ? "," : "",
                                 i32 ? (long long)i32[k] : i64[k]);
                if (w < 0 || (size_t)w >= size - at)
                        return false;
                at += (size_t)w;
        }
        if (at + 2 > size)
                return false;
        buf[at++] = '}';
        buf[at] = '\0';
        return true;
}

int lease_acquire_work(lease_t *ls, const int32_t *ws, size_t n,
                       const long long *floors, long long *epochs, char *errstr,
                       size_t errstr_size)
{
        char floors_s[sizeof(ls->eps_s)];
        if (!pg_array(floors_s, sizeof(floors_s), NULL, floors, n)) {
                snprintf(errstr, errstr_size, "too many work partitions");
                return -1;
        }
        ls->work = true;
        if (!pg_array(ls->ws_s, sizeof(ls->ws_s), ws, NULL, n)) {
                snprintf(errstr, errstr_size, "too many work partitions");
                return -1;
        }
        const char *keys[] = {"dbname", "connect_timeout", "options", NULL};
        const char *vals[] = {ls->conninfo, "3", "-c statement_timeout=10000",
                              NULL};
        PGconn *pg = PQconnectdbParams(keys, vals, 1);
        const char *p[3] = {ls->holder, ls->ws_s, floors_s};
        PGresult *r = PQstatus(pg) == CONNECTION_OK
                          ? PQexecParams(pg,
                                         "SELECT array_to_string("
                                         "patuh_work_acquire($1, $2::int[], "
                                         "$3::bigint[]), ',')",
                                         3, NULL, p, NULL, NULL, 0)
                          : NULL;
        int rc = -1;
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
                snprintf(errstr, errstr_size, "%s", PQerrorMessage(pg));
        } else {
                const char *v = PQgetvalue(r, 0, 0);
                size_t k = 0;
                while (k < n && *v) {
                        char *end;
                        epochs[k++] = strtoll(v, &end, 10);
                        v = *end == ',' ? end + 1 : end;
                }
                if (k == n &&
                    pg_array(ls->eps_s, sizeof(ls->eps_s), NULL, epochs, n))
                        rc = 0;
                else
                        snprintf(errstr, errstr_size,
                                 "patuh_work_acquire: unexpected answer");
        }
        PQclear(r);
        PQfinish(pg);
        return rc;
}

void lease_renewed(lease_t *ls)
{
        ls->renewed_ms = mono_ms();
}

bool lease_due(const lease_t *ls)
{
        if (ls->work)
                return false; /* the group keeps ownership, not a TTL */
        return mono_ms() - ls->renewed_ms > ls->ttl_ms / 3;
}

int lease_release(const lease_t *ls, char *errstr, size_t errstr_size)
{
        const char *keys[] = {"dbname", "connect_timeout", "options", NULL};
        const char *vals[] = {ls->conninfo, "3", "-c statement_timeout=5000",
                              NULL};
        PGconn *pg = PQconnectdbParams(keys, vals, 1);
        const char *p[2] = {ls->holder, ls->epoch_s};
        PGresult *r = PQstatus(pg) == CONNECTION_OK
                          ? PQexecParams(pg,
                                         "SELECT patuh_lease_release($1, "
                                         "$2::bigint)",
                                         2, NULL, p, NULL, NULL, 0)
                          : NULL;
        int rc = 0;
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                snprintf(errstr, errstr_size, "%s", PQerrorMessage(pg));
                rc = -1;
        }
        PQclear(r);
        PQfinish(pg);
        return rc;
}
