#include "kin.h"

#include "cli_live.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Where a record stands in the merge of the partitions (kin.h).  Records
 * of one partition are never compared: they go in offset order. */
typedef struct merge_key {
        ptime_t t;    /* greatest arrival time of the partition so far */
        bool has_seq; /* patuh produce numbered it: */
        uint64_t run; /* its run (start time, µs) ... */
        uint64_t seq; /* ... and the record's place among its lines */
} merge_key_t;

/*
 * The copies of held records, carved from 16 KiB chunks.  Every consumed
 * record was one malloc and one free, and glibc's free of ~300 bytes that
 * lived among 100,000 others cost ~4 % of the loop's thread (perf,
 * bench/live): its per-thread cache keeps seven blocks a size, and the
 * rest are consolidated with their neighbours.  A chunk counts the records
 * still in it and goes back to malloc when the last one is released.
 * Records come from the consumer in runs of one partition and leave each
 * partition in order, so a chunk empties soon after it fills: the memory
 * follows what is held, as it did with a malloc a record.
 */
#define POOL_CHUNK (16 * 1024) /* bytes a chunk carves out */

typedef struct pool_chunk {
        size_t used; /* bytes carved */
        size_t cap;  /* bytes in data */
        size_t live; /* blocks not released yet */
        _Alignas(max_align_t) char data[];
} pool_chunk_t;

/* Before each block: its chunk (a max_align_t, so the block stays aligned). */
typedef union pool_head {
        pool_chunk_t *chunk;
        max_align_t align;
} pool_head_t;

typedef struct pool {
        pool_chunk_t *cur; /* owned: the one carved from, or NULL */
} pool_t;

static size_t pool_round(size_t n)
{
        size_t a = _Alignof(max_align_t);
        return (n + a - 1) / a * a;
}

static void *pool_get(pool_t *pl, size_t n)
{
        size_t need = sizeof(pool_head_t) + pool_round(n);
        pool_chunk_t *ch = pl->cur;
        if (!ch || ch->cap - ch->used < need) {
                size_t cap = need > POOL_CHUNK ? need : POOL_CHUNK;
                pool_chunk_t *nc = malloc(sizeof(*nc) + cap);
                if (!nc)
                        return NULL;
                *nc = (pool_chunk_t){0, cap, 0};
                /* the full one goes once its last block does */
                if (ch && ch->live == 0)
                        free(ch);
                pl->cur = ch = nc;
        }
        pool_head_t *h = (pool_head_t *)(ch->data + ch->used);
        ch->used += need;
        ch->live++;
        h->chunk = ch;
        return h + 1;
}

static void pool_put(pool_t *pl, void *b)
{
        pool_chunk_t *ch = ((pool_head_t *)b - 1)->chunk;
        if (--ch->live > 0)
                return;
        if (ch == pl->cur)
                ch->used = 0; /* carved again from the start */
        else
                free(ch);
}

/* Every block was released (kin_free releases the held ones first). */
static void pool_free(pool_t *pl)
{
        free(pl->cur);
        pl->cur = NULL;
}

/* A polled record waiting for its turn. */
typedef struct held {
        kin_msg_t *m;    /* owned until released */
        merge_key_t key; /* its place in the merge */
        bool has_ts;     /* the arrival time (kin_rec_t) */
        ptime_t ts;
} held_t;

/* One input partition and how far it has been read (SPEC §4.2). */
typedef struct part {
        rec_topic_t topic;   /* which input topic */
        int32_t partition;   /* Kafka partition */
        bool assigned;       /* ours (every partition, by assign_all) */
        bool at_end;         /* consumed to its end (EOF, nothing newer) */
        bool fetching;       /* a fetch answered: an EOF or a record */
        ptime_t max_t;       /* greatest merge time so far (merge_key_t) */
        int64_t next_offset; /* offset after the last record released */
        int64_t closed;      /* next_offset when the last batch closed */
        held_t *q;           /* owned ring: polled, not released yet */
        size_t q_head, q_len, q_cap;
        size_t hpos; /* its place in kin's heap, or NOT_IN_HEAP */
        bool paused; /* fetching paused: its ring is full enough */
} part_t;

#define NOT_IN_HEAP SIZE_MAX

/* Records a partition may hold before its fetching is paused (resumed at
 * half): the merge holds a partition's records until every other one has
 * given one, and librdkafka's pre-fetch bound no longer counts what was
 * polled, so without this a partition read ahead of the slowest one
 * grows without bound (the records themselves are copies, see kin_msg_t). */
#define HOLD_MAX 2048

struct kin {
        const config_t *cfg;               /* borrowed */
        rd_kafka_t *cons;                  /* owned: the consumer */
        rd_kafka_queue_t *cq;              /* owned: its queue */
        int pipefd[2];                     /* owned: queue → loop */
        struct event *ev_queue;            /* owned: reads pipefd[0] */
        kin_ready_fn *ready;               /* the daemon's consume step */
        kin_status_fn *status;             /* start-up messages, or NULL */
        void *ud;                          /* their argument */
        char in_topics[TOPIC__COUNT][256]; /* prefixed topic names */
        part_t *parts;                     /* owned: every partition */
        size_t n_parts, cap_parts;         /* used and allocated */
        size_t last_part;                  /* the part part_get found last:
                                              messages come in runs */
        int expected_parts;                /* of the input topics */
        int topic_parts[TOPIC__COUNT];     /* partitions of each */
        kin_start_fn *start;               /* group mode: where to read
                                              from; NULL: committed */
        void *start_ud;                    /* its argument */
        int assigned;                      /* in the last assignment */
        size_t held;                       /* records in the rings */
        /* The merge's bookkeeping, so that a release costs log(partitions)
         * rather than a look at every partition: the partitions with a
         * record held, as a binary heap by their head's merge key (part
         * indices), and how many assigned partitions hold nothing and are
         * not at their end (the merge waits while any does). */
        size_t *heap, heap_n, heap_cap;
        long waiting;
        pool_t pool; /* owned: the held records' copies (kin_msg_t) */
};

/* A partition the merge waits for: assigned, nothing held, not at its
 * end (it may be about to deliver an earlier record). */
static bool waits(const part_t *p)
{
        return p->assigned && p->q_len == 0 && !p->at_end;
}

static bool kconf(rd_kafka_conf_t *c, const char *k, const char *v, char *err,
                  size_t n)
{
        return rd_kafka_conf_set(c, k, v, err, n) == RD_KAFKA_CONF_OK;
}

rd_kafka_conf_t *kin_conf_new(const config_t *cfg, char *errstr,
                              size_t errstr_size)
{
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        bool ok = kconf(c, "bootstrap.servers", cfg->kafka_bootstrap, errstr,
                        errstr_size);
        for (size_t i = 0; ok && i < cfg->n_kafka; i++)
                ok = kconf(c, cfg->kafka[i].key, cfg->kafka[i].value, errstr,
                           errstr_size);
        if (!ok) {
                rd_kafka_conf_destroy(c);
                return NULL;
        }
        return c;
}

/* Whether the configuration sets kafka.<key> itself. */
static bool user_set(const config_t *cfg, const char *key)
{
        for (size_t i = 0; i < cfg->n_kafka; i++)
                if (strcmp(cfg->kafka[i].key, key) == 0)
                        return true;
        return false;
}

static part_t *part_get(kin_t *k, rec_topic_t topic, int32_t partition)
{
        if (k->last_part < k->n_parts &&
            k->parts[k->last_part].topic == topic &&
            k->parts[k->last_part].partition == partition)
                return &k->parts[k->last_part];
        for (size_t i = 0; i < k->n_parts; i++)
                if (k->parts[i].topic == topic &&
                    k->parts[i].partition == partition) {
                        k->last_part = i;
                        return &k->parts[i];
                }
        if (k->n_parts == k->cap_parts) {
                size_t nc = k->cap_parts ? k->cap_parts * 2 : 64;
                part_t *np = realloc(k->parts, nc * sizeof(*np));
                if (!np)
                        return NULL;
                k->parts = np;
                k->cap_parts = nc;
        }
        part_t *p = &k->parts[k->n_parts++];
        memset(p, 0, sizeof(*p));
        p->hpos = NOT_IN_HEAP;
        p->topic = topic;
        p->partition = partition;
        p->next_offset = p->closed = -1;
        p->max_t = PTIME_NEVER;
        return p;
}

static int topic_index(const kin_t *k, const char *name)
{
        for (int t = 0; t < TOPIC__COUNT; t++)
                if (strcmp(k->in_topics[t], name) == 0)
                        return t;
        return -1;
}

int kin_topic_partitions(rd_kafka_t *rk, const char *topic)
{
        int parts = 0;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        if (rkt &&
            rd_kafka_metadata(rk, 0, rkt, &md, 5000) ==
                RD_KAFKA_RESP_ERR_NO_ERROR &&
            md->topic_cnt == 1 && !md->topics[0].err)
                parts = md->topics[0].partition_cnt;
        if (md)
                rd_kafka_metadata_destroy(md);
        if (rkt)
                rd_kafka_topic_destroy(rkt);
        return parts;
}

/*
 * Every partition of the input topics, from the committed offsets.  The
 * engine lease already makes this instance the only one evaluating, so it
 * takes the partitions directly instead of through group rebalances: a
 * restarted instance consumes at once, with no session of a killed member
 * to wait out.  (Sharing partitions between instances is the scale-out
 * step; offsets are still committed to kafka.group.)  Start-up only: the
 * topic metadata is read with a timeout before the loop runs; a topic not
 * there yet is waited for, up to 30 s.
 */
static int assign_all(kin_t *k, char *err, size_t n)
{
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new(64);
        for (int t = 0; t < TOPIC__COUNT; t++) {
                int parts = 0;
                for (int tries = 0; tries < 60 && parts == 0; tries++) {
                        parts = kin_topic_partitions(k->cons, k->in_topics[t]);
                        if (parts == 0) {
                                if (tries == 0 && k->status) {
                                        char msg[300];
                                        snprintf(msg, sizeof(msg),
                                                 "waiting for topic %s",
                                                 k->in_topics[t]);
                                        k->status(k->ud, msg);
                                }
                                struct timespec ts = {0, 500 * 1000000};
                                nanosleep(&ts, NULL);
                        }
                }
                if (parts == 0) {
                        snprintf(err, n, "topic %s: not found",
                                 k->in_topics[t]);
                        rd_kafka_topic_partition_list_destroy(list);
                        return -1;
                }
                k->topic_parts[t] = parts;
                for (int p = 0; p < parts; p++) {
                        rd_kafka_topic_partition_list_add(list, k->in_topics[t],
                                                          p)
                            ->offset =
                            k->start ? k->start(k->start_ud, (rec_topic_t)t, p)
                                     : RD_KAFKA_OFFSET_STORED;
                        part_t *pt = part_get(k, (rec_topic_t)t, p);
                        if (!pt) {
                                rd_kafka_topic_partition_list_destroy(list);
                                snprintf(err, n, "out of memory");
                                return -1;
                        }
                        bool before = waits(pt);
                        pt->assigned = true;
                        k->waiting += (long)waits(pt) - (long)before;
                        pt->next_offset = pt->closed = -1;
                }
                k->expected_parts += parts;
        }
        rd_kafka_resp_err_t e = rd_kafka_assign(k->cons, list);
        if (e)
                snprintf(err, n, "assign: %s", rd_kafka_err2str(e));
        else
                k->assigned = list->cnt;
        rd_kafka_topic_partition_list_destroy(list);
        return e ? -1 : 0;
}

static void on_queue(evutil_socket_t fd, short what, void *arg)
{
        kin_t *k = arg;
        char buf[256];
        (void)what;
        while (read(fd, buf, sizeof(buf)) > 0)
                ;
        k->ready(k->ud);
}

kin_t *kin_new(const config_t *cfg, struct event_base *base,
               kin_ready_fn *ready, kin_status_fn *status, void *ud,
               char *errstr, size_t errstr_size)
{
        return kin_new_at(cfg, base, ready, status, ud, NULL, NULL, errstr,
                          errstr_size);
}

int kin_committed(const config_t *cfg, kin_offset_fn *fn, void *ud,
                  char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *cc = kin_conf_new(cfg, errstr, errstr_size);
        if (!cc ||
            !kconf(cc, "group.id", cfg->kafka_group, errstr, errstr_size)) {
                if (cc)
                        rd_kafka_conf_destroy(cc);
                return -1;
        }
        kin_t k = {0};
        k.cfg = cfg;
        if (!(k.cons =
                  rd_kafka_new(RD_KAFKA_CONSUMER, cc, errstr, errstr_size)))
                return -1;
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new(64);
        int rc = 0;
        for (int t = 0; t < TOPIC__COUNT && rc == 0; t++) {
                snprintf(k.in_topics[t], sizeof(k.in_topics[t]), "%s%s",
                         cfg->topic_prefix, rec_topic_name((rec_topic_t)t));
                int parts = kin_topic_partitions(k.cons, k.in_topics[t]);
                if (parts == 0) {
                        snprintf(errstr, errstr_size, "topic %s: not found",
                                 k.in_topics[t]);
                        rc = -1;
                }
                for (int p = 0; p < parts; p++)
                        rd_kafka_topic_partition_list_add(list, k.in_topics[t],
                                                          p);
        }
        rd_kafka_resp_err_t e = rc ? RD_KAFKA_RESP_ERR_NO_ERROR
                                   : rd_kafka_committed(k.cons, list, 10000);
        if (e) {
                snprintf(errstr, errstr_size, "committed offsets: %s",
                         rd_kafka_err2str(e));
                rc = -1;
        }
        for (int i = 0; rc == 0 && i < list->cnt; i++) {
                const rd_kafka_topic_partition_t *x = &list->elems[i];
                int t = topic_index(&k, x->topic);
                if (t >= 0)
                        fn(ud, (rec_topic_t)t, x->partition,
                           x->offset >= 0 ? x->offset
                                          : RD_KAFKA_OFFSET_BEGINNING);
        }
        rd_kafka_topic_partition_list_destroy(list);
        rd_kafka_destroy(k.cons);
        return rc;
}

int kin_partitions(const kin_t *k, rec_topic_t topic)
{
        return k->topic_parts[topic];
}

kin_t *kin_new_at(const config_t *cfg, struct event_base *base,
                  kin_ready_fn *ready, kin_status_fn *status, void *ud,
                  kin_start_fn *start, void *start_ud, char *errstr,
                  size_t errstr_size)
{
        kin_t *k = calloc(1, sizeof(*k));
        if (!k) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        k->start = start;
        k->start_ud = start_ud;
        k->cfg = cfg;
        k->ready = ready;
        k->status = status;
        k->ud = ud;
        k->pipefd[0] = k->pipefd[1] = -1;
        for (int t = 0; t < TOPIC__COUNT; t++)
                snprintf(k->in_topics[t], sizeof(k->in_topics[t]), "%s%s",
                         cfg->topic_prefix, rec_topic_name((rec_topic_t)t));
        rd_kafka_conf_t *cc = kin_conf_new(cfg, errstr, errstr_size);
        /* offsets are stored by us once a batch is durable */
        if (!cc ||
            !kconf(cc, "group.id", cfg->kafka_group, errstr, errstr_size) ||
            !kconf(cc, "enable.auto.offset.store", "false", errstr,
                   errstr_size) ||
            !kconf(cc, "enable.auto.commit", start ? "false" : "true", errstr,
                   errstr_size) ||
            !kconf(cc, "auto.commit.interval.ms", "500", errstr, errstr_size) ||
            !kconf(cc, "auto.offset.reset", "earliest", errstr, errstr_size) ||
            !kconf(cc, "enable.partition.eof", "true", errstr, errstr_size) ||
            /* a deep pre-fetch in messages (a shallow one starves the
             * loop: 20,000 made bench/live four times slower) bounded in
             * bytes.  Each MiB of it is 3-4 MiB resident (librdkafka's
             * per-message overhead): 12 MiB keeps patuhd's peak within
             * 250 MiB on a slower machine of this kind, where 16 cost
             * 11 MiB more for a gain inside the run-to-run spread and 8
             * was a quarter slower (bench/README.md); kafka.* overrides
             * both */
            (!user_set(cfg, "queued.min.messages") &&
             !kconf(cc, "queued.min.messages", "1000000", errstr,
                    errstr_size)) ||
            (!user_set(cfg, "queued.max.messages.kbytes") &&
             !kconf(cc, "queued.max.messages.kbytes", "12288", errstr,
                    errstr_size)) ||
            /* a fetch that finds nothing waits at most 10 ms, not 500: the
             * sandbox (librdkafka's mock) holds it that long even when
             * data comes, and a late clock-in's alert would wait with it
             * (bench/latency); kafka.fetch.wait.max.ms overrides */
            (!user_set(cfg, "fetch.wait.max.ms") &&
             !kconf(cc, "fetch.wait.max.ms", "10", errstr, errstr_size))) {
                if (cc)
                        rd_kafka_conf_destroy(cc);
                goto out_free;
        }
        if (!(k->cons =
                  rd_kafka_new(RD_KAFKA_CONSUMER, cc, errstr, errstr_size)))
                goto out_free;
        rd_kafka_poll_set_consumer(k->cons);
        if (assign_all(k, errstr, errstr_size) != 0)
                goto out_free;
        /* librdkafka writes to the pipe when the queue turns non-empty:
         * the loop wakes on data instead of polling */
        if (pipe(k->pipefd) != 0) {
                snprintf(errstr, errstr_size, "pipe: %s", strerror(errno));
                goto out_free;
        }
        fcntl(k->pipefd[0], F_SETFL, O_NONBLOCK);
        fcntl(k->pipefd[1], F_SETFL, O_NONBLOCK);
        k->ev_queue =
            event_new(base, k->pipefd[0], EV_READ | EV_PERSIST, on_queue, k);
        if (!k->ev_queue || event_add(k->ev_queue, NULL) != 0) {
                snprintf(errstr, errstr_size, "cannot watch the queue");
                goto out_free;
        }
        k->cq = rd_kafka_queue_get_consumer(k->cons);
        rd_kafka_queue_io_event_enable(k->cq, k->pipefd[1], "1", 1);
        return k;
out_free:
        kin_free(k);
        return NULL;
}

void kin_close(kin_t *k)
{
        if (!k->start)
                rd_kafka_commit(k->cons, NULL, 0); /* stored offsets, sync */
        rd_kafka_consumer_close(k->cons);
}

void kin_free(kin_t *k)
{
        if (!k)
                return;
        /* records held back go first: rd_kafka_destroy waits until every
         * message it handed out is destroyed (they were not processed:
         * their offsets were not stored, a restart reads them again) */
        for (size_t i = 0; i < k->n_parts; i++) {
                part_t *p = &k->parts[i];
                for (size_t j = 0; j < p->q_len; j++)
                        kin_release(k, p->q[(p->q_head + j) % p->q_cap].m);
                free(p->q);
                p->q = NULL;
                p->q_len = 0;
        }
        free(k->heap);
        if (k->cq) {
                rd_kafka_queue_io_event_enable(k->cq, -1, NULL, 0);
                rd_kafka_queue_destroy(k->cq);
        }
        if (k->cons)
                rd_kafka_destroy(k->cons);
        if (k->ev_queue)
                event_free(k->ev_queue);
        if (k->pipefd[0] >= 0) {
                close(k->pipefd[0]);
                close(k->pipefd[1]);
        }
        free(k->parts);
        pool_free(&k->pool);
        free(k);
}

void kin_release(kin_t *k, kin_msg_t *m)
{
        if (m)
                pool_put(&k->pool, m);
}

int kin_assigned(const kin_t *k)
{
        return k->assigned;
}

int kin_fetching(const kin_t *k)
{
        int n = 0;
        for (size_t i = 0; i < k->n_parts; i++)
                n += k->parts[i].assigned && k->parts[i].fetching;
        return n;
}

int kin_expected(const kin_t *k)
{
        return k->expected_parts;
}

void kin_lag(kin_t *k, kin_lag_fn *fn, void *ud)
{
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new((int)k->n_parts + 1);
        if (!list)
                return;
        for (size_t i = 0; i < k->n_parts; i++)
                if (k->parts[i].assigned)
                        rd_kafka_topic_partition_list_add(
                            list, k->in_topics[k->parts[i].topic],
                            k->parts[i].partition);
        /* the position is the offset after the last message polled: what
         * is still held back in the rings is behind it */
        if (rd_kafka_position(k->cons, list) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                rd_kafka_topic_partition_list_destroy(list);
                return;
        }
        for (int j = 0; j < list->cnt; j++) {
                const rd_kafka_topic_partition_t *tp = &list->elems[j];
                int t = topic_index(k, tp->topic);
                part_t *p =
                    t >= 0 ? part_get(k, (rec_topic_t)t, tp->partition) : NULL;
                if (!p)
                        continue;
                int64_t lo, hi;
                bool known = rd_kafka_get_watermark_offsets(
                                 k->cons, tp->topic, tp->partition, &lo, &hi) ==
                                 RD_KAFKA_RESP_ERR_NO_ERROR &&
                             hi >= 0 && tp->offset >= 0;
                if (known)
                        fn(ud, p->topic, p->partition,
                           (hi > tp->offset ? hi - tp->offset : 0) +
                               (int64_t)p->q_len);
                else if (p->at_end && p->q_len == 0)
                        fn(ud, p->topic, p->partition, 0);
        }
        rd_kafka_topic_partition_list_destroy(list);
}

const char *kin_topic_name(const kin_t *k, rec_topic_t topic)
{
        return k->in_topics[topic];
}

void kin_wake(kin_t *k)
{
        if (k)
                event_active(k->ev_queue, EV_READ, 0);
}

/* The arrival time: patuh produce's exact ts header, its "no ts" header
 * (replay semantics), or the Kafka message timestamp. */
static bool arrival(const rd_kafka_message_t *m, ptime_t *ts)
{
        rd_kafka_headers_t *h = NULL;
        const void *v;
        size_t n;
        if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                if (rd_kafka_header_get_last(h, PATUH_HDR_NO_TS, &v, &n) ==
                    RD_KAFKA_RESP_ERR_NO_ERROR)
                        return false;
                if (rd_kafka_header_get_last(h, PATUH_HDR_TS, &v, &n) ==
                        RD_KAFKA_RESP_ERR_NO_ERROR &&
                    v && ptime_parse_rfc3339(v, n, ts))
                        return true;
        }
        rd_kafka_timestamp_type_t tt;
        int64_t ms = rd_kafka_message_timestamp(m, &tt);
        if (ms < 0)
                return false;
        ts->sec = ptime_floordiv(ms, 1000);
        ts->nsec = (int32_t)(ptime_floormod(ms, 1000) * 1000000);
        return true;
}

/* A decimal number of at most 19 digits from v[0..n); false if none. */
static bool decimal(const char *v, size_t n, uint64_t *x)
{
        if (n == 0 || n > 19)
                return false;
        *x = 0;
        for (size_t i = 0; i < n; i++) {
                if (v[i] < '0' || v[i] > '9')
                        return false;
                *x = *x * 10 + (uint64_t)(v[i] - '0');
        }
        return true;
}

/* patuh produce's sequence header, "RUN:N": which run sent the record,
 * and its place among the lines that run sent. */
static bool sequence(const rd_kafka_message_t *m, merge_key_t *key)
{
        rd_kafka_headers_t *h = NULL;
        const void *v;
        size_t n;
        if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
            rd_kafka_header_get_last(h, PATUH_HDR_SEQ, &v, &n) !=
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            !v)
                return false;
        const char *s = v, *colon = memchr(s, ':', n);
        return colon && decimal(s, (size_t)(colon - s), &key->run) &&
               decimal(colon + 1, n - (size_t)(colon - s) - 1, &key->seq);
}

/* The time replay's watermark takes from a record (replay.c handle_line):
 * its arrival time, or without one its own time when it decodes, else
 * none (it does not move the watermark). */
static ptime_t merge_time(rec_topic_t topic, const rd_kafka_message_t *m,
                          bool has_ts, ptime_t ts)
{
        if (has_ts)
                return ts;
        record_t rec;
        char detail[256];
        if (record_decode_bytes(topic, m->payload ? m->payload : "", m->len,
                                &rec, detail, sizeof(detail)) == DLQ_NONE)
                return record_time(&rec);
        return PTIME_NEVER;
}

static bool heap_room(kin_t *k);

/* Pauses or resumes fetching P (a failure only costs memory or time:
 * logged through the status callback, not fatal). */
static void set_paused(kin_t *k, part_t *p, bool pause)
{
        rd_kafka_topic_partition_list_t *l =
            rd_kafka_topic_partition_list_new(1);
        if (!l)
                return;
        rd_kafka_topic_partition_list_add(l, k->in_topics[p->topic],
                                          p->partition);
        rd_kafka_resp_err_t e = pause ? rd_kafka_pause_partitions(k->cons, l)
                                      : rd_kafka_resume_partitions(k->cons, l);
        rd_kafka_topic_partition_list_destroy(l);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
                p->paused = pause;
        else if (k->status) {
                char msg[512];
                snprintf(msg, sizeof(msg), "%s %s[%d]: %s",
                         pause ? "pause" : "resume", k->in_topics[p->topic],
                         (int)p->partition, rd_kafka_err2str(e));
                k->status(k->ud, msg);
        }
}
static void heap_push(kin_t *k, size_t part);

/* Holds a consumed record at the tail of its partition's ring. */
static bool hold(kin_t *k, part_t *p, rd_kafka_message_t *m)
{
        if (p->q_len == 0 && !heap_room(k))
                return false;
        if (p->q_len == p->q_cap) {
                size_t nc = p->q_cap ? p->q_cap * 2 : 16;
                held_t *nq = malloc(nc * sizeof(*nq));
                if (!nq)
                        return false;
                for (size_t j = 0; j < p->q_len; j++)
                        nq[j] = p->q[(p->q_head + j) % p->q_cap];
                free(p->q);
                p->q = nq;
                p->q_cap = nc;
                p->q_head = 0;
        }
        held_t *hd = &p->q[(p->q_head + p->q_len) % p->q_cap];
        hd->ts = PTIME_NEVER;
        hd->has_ts = arrival(m, &hd->ts);
        /* the partition's greatest time so far: a record stamped before
         * one already read in its partition is, like in replay, read at
         * the watermark that one set */
        ptime_t t = merge_time(p->topic, m, hd->has_ts, hd->ts);
        if (ptime_cmp(t, p->max_t) > 0)
                p->max_t = t;
        hd->key.t = p->max_t;
        hd->key.has_seq = sequence(m, &hd->key);
        /* the bytes, not librdkafka's message: that goes back now */
        size_t klen = m->key ? m->key_len : 0, vlen = m->payload ? m->len : 0;
        kin_msg_t *c = pool_get(&k->pool, sizeof(*c) + vlen + klen + 1);
        if (!c)
                return false;
        char *bytes = (char *)(c + 1);
        memcpy(bytes, m->payload ? m->payload : "", vlen);
        memcpy(bytes + vlen, m->key ? m->key : "", klen);
        bytes[vlen + klen] = '\0';
        *c = (kin_msg_t){m->payload ? bytes : NULL,
                         vlen,
                         m->key ? bytes + vlen : NULL,
                         klen,
                         m->partition,
                         m->offset};
        hd->m = c;
        rd_kafka_message_destroy(m);
        bool before = waits(p);
        p->q_len++;
        k->held++;
        p->at_end = false; /* a record came after its end */
        p->fetching = true;
        k->waiting += (long)waits(p) - (long)before;
        if (p->q_len == 1)
                heap_push(k, (size_t)(p - k->parts));
        if (p->q_len >= HOLD_MAX && !p->paused)
                set_paused(k, p, true);
        return true;
}

kin_poll_t kin_poll(kin_t *k, char *errstr, size_t errstr_size)
{
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(k->cons, 0);
        if (!msg)
                return KIN_EMPTY;
        int t = topic_index(k, rd_kafka_topic_name(msg->rkt));
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                part_t *p =
                    t >= 0 ? part_get(k, (rec_topic_t)t, msg->partition) : NULL;
                if (p) {
                        bool before = waits(p);
                        p->at_end = true;
                        p->fetching = true;
                        k->waiting += (long)waits(p) - (long)before;
                }
                rd_kafka_message_destroy(msg);
                return KIN_EOF;
        }
        if (msg->err || t < 0) {
                /* (a topic not ours is never assigned: not read) */
                snprintf(errstr, errstr_size, "%s",
                         msg->err ? rd_kafka_message_errstr(msg)
                                  : "a message of a topic not assigned");
                rd_kafka_message_destroy(msg);
                return KIN_ERROR;
        }
        part_t *p = part_get(k, (rec_topic_t)t, msg->partition);
        if (!p || !hold(k, p, msg)) {
                rd_kafka_message_destroy(msg);
                return KIN_NOMEM;
        }
        return KIN_RECORD;
}

/*
 * The order of two heads.  What patuh produce sent goes in the order of
 * its runs and lines: a replay file's lines are in arrival order (SPEC
 * §6), whatever their ts say, and the partitions lose that order between
 * keys.  Other records go by arrival time — the partition's greatest so
 * far, so that a record stamped before one its partition already gave is
 * read, as in replay, at the watermark that one set — then by topic and
 * partition; against a numbered record too (the two kinds mixed is a
 * backfill's test, not a deployment).
 */
static int key_cmp(const merge_key_t *a, const part_t *pa, const merge_key_t *b,
                   const part_t *pb)
{
        if (a->has_seq && b->has_seq) {
                if (a->run != b->run)
                        return a->run < b->run ? -1 : 1;
                if (a->seq != b->seq)
                        return a->seq < b->seq ? -1 : 1;
        }
        int c = ptime_cmp(a->t, b->t);
        if (c != 0)
                return c;
        if (pa->topic != pb->topic)
                return pa->topic < pb->topic ? -1 : 1;
        return pa->partition < pb->partition   ? -1
               : pa->partition > pb->partition ? 1
                                               : 0;
}

/* ---- the heap of partitions with a record held ---------------------- */

static bool heap_less(const kin_t *k, size_t a, size_t b)
{
        const part_t *pa = &k->parts[a], *pb = &k->parts[b];
        return key_cmp(&pa->q[pa->q_head].key, pa, &pb->q[pb->q_head].key, pb) <
               0;
}

static void heap_set(kin_t *k, size_t pos, size_t part)
{
        k->heap[pos] = part;
        k->parts[part].hpos = pos;
}

static void heap_up(kin_t *k, size_t pos)
{
        size_t part = k->heap[pos];
        while (pos > 0) {
                size_t up = (pos - 1) / 2;
                if (!heap_less(k, part, k->heap[up]))
                        break;
                heap_set(k, pos, k->heap[up]);
                pos = up;
        }
        heap_set(k, pos, part);
}

static void heap_down(kin_t *k, size_t pos)
{
        size_t part = k->heap[pos];
        for (;;) {
                size_t c = 2 * pos + 1;
                if (c >= k->heap_n)
                        break;
                if (c + 1 < k->heap_n &&
                    heap_less(k, k->heap[c + 1], k->heap[c]))
                        c++;
                if (!heap_less(k, k->heap[c], part))
                        break;
                heap_set(k, pos, k->heap[c]);
                pos = c;
        }
        heap_set(k, pos, part);
}

/* Room for one more partition in the heap (before its first record is
 * held, so that holding cannot fail half-way). */
static bool heap_room(kin_t *k)
{
        if (k->heap_n < k->heap_cap)
                return true;
        size_t nc = k->heap_cap ? k->heap_cap * 2 : 64;
        size_t *nh = realloc(k->heap, nc * sizeof(*nh));
        if (!nh)
                return false;
        k->heap = nh;
        k->heap_cap = nc;
        return true;
}

static void heap_push(kin_t *k, size_t part)
{
        k->heap[k->heap_n++] = part;
        heap_up(k, k->heap_n - 1);
}

static void heap_remove_root(kin_t *k)
{
        k->parts[k->heap[0]].hpos = NOT_IN_HEAP;
        if (--k->heap_n > 0) {
                heap_set(k, 0, k->heap[k->heap_n]);
                heap_down(k, 0);
        }
}

/* The merge: the earliest head goes once no partition can still bring an
 * earlier record — every other one has a record held or is at its end (a
 * partition not at its end with nothing held may be about to deliver
 * one; when it has data, the fetch brings it or its end at once, so this
 * waits no longer than SPEC §4.2's frontier does).  The result depends
 * only on what each partition holds, not on how the consumer interleaved
 * the partitions: the same input gives the same order on every run. */
bool kin_next(kin_t *k, kin_rec_t *out)
{
        if (k->held == 0 || k->assigned < k->expected_parts || k->waiting > 0 ||
            k->heap_n == 0)
                return false;
        part_t *best = &k->parts[k->heap[0]];
        held_t *hd = &best->q[best->q_head];
        out->m = hd->m;
        out->topic = best->topic;
        out->has_ts = hd->has_ts;
        out->ts = hd->ts;
        bool before = waits(best);
        best->q_head = (best->q_head + 1) % best->q_cap;
        best->q_len--;
        k->held--;
        k->waiting += (long)waits(best) - (long)before;
        best->next_offset = out->m->offset + 1;
        if (best->paused && best->q_len <= HOLD_MAX / 2)
                set_paused(k, best, false);
        /* its next record (later in its partition) or out of the heap */
        if (best->q_len == 0)
                heap_remove_root(k);
        else
                heap_down(k, 0);
        return true;
}

size_t kin_held(const kin_t *k)
{
        return k->held;
}

bool kin_all_at_end(const kin_t *k)
{
        int assigned = 0;
        for (size_t i = 0; i < k->n_parts; i++) {
                if (!k->parts[i].assigned)
                        continue;
                assigned++;
                if (!k->parts[i].at_end)
                        return false;
        }
        return assigned > 0 && assigned >= k->expected_parts;
}

bool kin_take_offsets(kin_t *k, batch_t *b)
{
        for (size_t i = 0; i < k->n_parts; i++) {
                part_t *p = &k->parts[i];
                if (!p->assigned || p->next_offset <= p->closed)
                        continue;
                if (!batch_add_offset(b, p->topic, p->partition,
                                      p->next_offset))
                        return false;
                p->closed = p->next_offset;
        }
        return true;
}

int kin_store_offsets(kin_t *k, const batch_t *b, char *errstr,
                      size_t errstr_size)
{
        if (k->start)
                return 0; /* group mode: the checkpoints hold positions */
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new((int)b->n_offs + 1);
        for (size_t i = 0; i < b->n_offs; i++) {
                const off_item_t *o = &b->offs[i];
                part_t *p = part_get(k, (rec_topic_t)o->topic, o->partition);
                if (!p || !p->assigned)
                        continue; /* revoked meanwhile: its new owner
                                     reads the batch again (idempotent) */
                rd_kafka_topic_partition_list_add(list, k->in_topics[o->topic],
                                                  o->partition)
                    ->offset = o->offset;
        }
        int rc = 0;
        if (list->cnt > 0) {
                rd_kafka_resp_err_t err = rd_kafka_offsets_store(k->cons, list);
                if (err) {
                        snprintf(errstr, errstr_size, "%s",
                                 rd_kafka_err2str(err));
                        rc = -1;
                }
        }
        rd_kafka_topic_partition_list_destroy(list);
        return rc;
}
