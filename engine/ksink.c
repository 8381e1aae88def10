#include "ksink.h"

#include "kin.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ksink {
        rd_kafka_t *prod;                   /* owned: the producer */
        struct event *ev_ack;               /* owned: the 1 ms look */
        ksink_done_fn *done;                /* told how a write ended */
        void *ud;                           /* its argument */
        char topics[BATCH_OUT__COUNT][256]; /* prefixed topic names */
        const batch_t *b;                   /* borrowed: being written */
        size_t next;                        /* next output of b to produce */
        long failed;                        /* outputs not delivered */
        char err[512];                      /* the first failure */
};

static bool kconf(rd_kafka_conf_t *c, const char *k, const char *v, char *err,
                  size_t n)
{
        return rd_kafka_conf_set(c, k, v, err, n) == RD_KAFKA_CONF_OK;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque)
{
        (void)opaque;
        ksink_t *ks = rd_kafka_opaque(rk);
        if (m->err) {
                if (!ks->failed)
                        snprintf(ks->err, sizeof(ks->err),
                                 "delivery to %s failed: %s",
                                 rd_kafka_topic_name(m->rkt),
                                 rd_kafka_err2str(m->err));
                ks->failed++;
        }
}

static void on_ack(evutil_socket_t fd, short what, void *arg);

/* Start-up only (blocking, bounded): learns the output topics' leaders
 * now, while the idempotent producer gets its producer id, instead of in
 * the first batch (bench/live: ~0.8 s of acknowledgements for each of the
 * first two batches).  A topic that does not answer is not an error
 * here: its first batch waits for it, as before. */
static void warm_up(ksink_t *ks)
{
        for (int o = 0; o < BATCH_OUT__COUNT; o++) {
                rd_kafka_topic_t *t =
                    rd_kafka_topic_new(ks->prod, ks->topics[o], NULL);
                const struct rd_kafka_metadata *md = NULL;
                if (t && rd_kafka_metadata(ks->prod, 0, t, &md, 5000) ==
                             RD_KAFKA_RESP_ERR_NO_ERROR)
                        rd_kafka_metadata_destroy(md);
                if (t)
                        rd_kafka_topic_destroy(t);
        }
}

ksink_t *ksink_new(const config_t *cfg, struct event_base *base,
                   ksink_done_fn *done, void *ud, char *errstr,
                   size_t errstr_size)
{
        ksink_t *ks = calloc(1, sizeof(*ks));
        if (!ks) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        ks->done = done;
        ks->ud = ud;
        for (int o = 0; o < BATCH_OUT__COUNT; o++)
                snprintf(ks->topics[o], sizeof(ks->topics[o]), "%s%s",
                         cfg->topic_prefix, batch_out_name((batch_out_t)o));
        rd_kafka_conf_t *pc = kin_conf_new(cfg, errstr, errstr_size);
        if (!pc ||
            !kconf(pc, "enable.idempotence", "true", errstr, errstr_size) ||
            !kconf(pc, "linger.ms", "5", errstr, errstr_size)) {
                if (pc)
                        rd_kafka_conf_destroy(pc);
                goto out_free;
        }
        rd_kafka_conf_set_dr_msg_cb(pc, on_delivery);
        rd_kafka_conf_set_opaque(pc, ks);
        if (!(ks->prod =
                  rd_kafka_new(RD_KAFKA_PRODUCER, pc, errstr, errstr_size)))
                goto out_free;
        if (!(ks->ev_ack = evtimer_new(base, on_ack, ks))) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out_free;
        }
        warm_up(ks);
        return ks;
out_free:
        ksink_free(ks);
        return NULL;
}

void ksink_free(ksink_t *ks)
{
        if (!ks)
                return;
        if (ks->prod) {
                rd_kafka_flush(ks->prod, 10000);
                rd_kafka_destroy(ks->prod);
        }
        if (ks->ev_ack)
                event_free(ks->ev_ack);
        free(ks);
}

/* Produces from ks->next on; stops at a full queue (the next look goes
 * on from there). */
static void produce(ksink_t *ks)
{
        const batch_t *b = ks->b;
        for (; ks->next < b->n_outs; ks->next++) {
                const out_item_t *o = &b->outs[ks->next];
                rd_kafka_resp_err_t err = rd_kafka_producev(
                    ks->prod, RD_KAFKA_V_TOPIC(ks->topics[o->out]),
                    RD_KAFKA_V_KEY(o->key, o->key_len),
                    RD_KAFKA_V_VALUE(o->json, o->len),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        break;
                if (err) {
                        if (!ks->failed)
                                snprintf(ks->err, sizeof(ks->err),
                                         "produce: %s", rd_kafka_err2str(err));
                        ks->failed++;
                }
        }
        rd_kafka_poll(ks->prod, 0);
}

static void look_soon(ksink_t *ks)
{
        /* acknowledgements come within milliseconds: look again soon
         * rather than at the next tick */
        struct timeval tv = {0, 1000};
        evtimer_add(ks->ev_ack, &tv);
}

void ksink_write(ksink_t *ks, const batch_t *b)
{
        ks->b = b;
        ks->next = 0;
        ks->failed = 0;
        ks->err[0] = '\0';
        produce(ks);
        look_soon(ks);
}

static void on_ack(evutil_socket_t fd, short what, void *arg)
{
        ksink_t *ks = arg;
        (void)fd;
        (void)what;
        if (!ks->b)
                return;
        rd_kafka_poll(ks->prod, 0);
        if (ks->next < ks->b->n_outs)
                produce(ks); /* the queue was full: on from there */
        if (ks->next < ks->b->n_outs || rd_kafka_outq_len(ks->prod) > 0) {
                look_soon(ks);
                return;
        }
        ks->b = NULL;
        if (ks->failed) {
                char msg[600];
                snprintf(msg, sizeof(msg), "%ld not acknowledged (first: %s)",
                         ks->failed, ks->err);
                ks->done(ks->ud, false, msg);
                return;
        }
        ks->done(ks->ud, true, "");
}

void ksink_poll(ksink_t *ks)
{
        rd_kafka_poll(ks->prod, 0);
}

int ksink_queue_len(const ksink_t *ks)
{
        return rd_kafka_outq_len(ks->prod);
}
