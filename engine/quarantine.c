#include "quarantine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define QUARANTINE_MAGIC 0x70617475684d4b31ULL /* "patuhMK1" */

/* The file's content.  The record in hand (`busy` written last when one
 * is taken, first when it is put down, so that a death between the stores
 * leaves either no mark or a complete one); the suspect, the record in
 * hand at the last deaths, and how many in a row; and the record put
 * aside, skipped again if it is read again before its batch is durable.
 * A clean stop clears all but the magic. */
typedef struct rec3 {
        int64_t offset;
        int32_t partition;
        int32_t topic;
} rec3_t;

typedef struct mark {
        uint64_t magic;
        volatile rec3_t hand;
        volatile int32_t busy;
        volatile int32_t deaths;
        volatile rec3_t suspect;
        volatile rec3_t skip;
        volatile int32_t has_skip;
        int32_t pad;
} mark_t;

struct quarantine {
        mark_t *m;  /* the mapped file */
        long after; /* deaths that quarantine */
};

static bool same(const volatile rec3_t *r, int topic, int32_t partition,
                 int64_t offset)
{
        return r->topic == topic && r->partition == partition &&
               r->offset == offset;
}

quarantine_t *quarantine_open(const char *path, long after, char *errstr,
                              size_t errstr_size)
{
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
                snprintf(errstr, errstr_size, "quarantine file %s: %s", path,
                         strerror(errno));
                return NULL;
        }
        if (ftruncate(fd, sizeof(mark_t)) != 0) {
                snprintf(errstr, errstr_size, "quarantine file %s: %s", path,
                         strerror(errno));
                close(fd);
                return NULL;
        }
        void *p = mmap(NULL, sizeof(mark_t), PROT_READ | PROT_WRITE, MAP_SHARED,
                       fd, 0);
        close(fd);
        quarantine_t *q = calloc(1, sizeof(*q));
        if (p == MAP_FAILED || !q) {
                snprintf(errstr, errstr_size, "quarantine file %s: %s", path,
                         p == MAP_FAILED ? strerror(errno) : "out of memory");
                if (p != MAP_FAILED)
                        munmap(p, sizeof(mark_t));
                free(q);
                return NULL;
        }
        q->m = p;
        q->after = after;
        mark_t *m = q->m;
        if (m->magic != QUARANTINE_MAGIC) {
                memset(m, 0, sizeof(*m)); /* new, or not ours: start clean */
                m->magic = QUARANTINE_MAGIC;
        } else if (m->busy) {
                /* a death with a record in hand: count it against it */
                if (m->deaths > 0 && same(&m->suspect, m->hand.topic,
                                          m->hand.partition, m->hand.offset))
                        m->deaths = m->deaths + 1;
                else
                        m->deaths = 1;
                m->suspect.topic = m->hand.topic;
                m->suspect.partition = m->hand.partition;
                m->suspect.offset = m->hand.offset;
                if (m->deaths >= after) {
                        m->skip.topic = m->suspect.topic;
                        m->skip.partition = m->suspect.partition;
                        m->skip.offset = m->suspect.offset;
                        m->has_skip = 1;
                }
        }
        /* a death with no record in hand (in a write, say) neither counts
         * nor clears: it says nothing about the suspect */
        m->busy = 0;
        return q;
}

long quarantine_deaths(const quarantine_t *q, int *topic, int32_t *partition,
                       int64_t *offset)
{
        *topic = q->m->suspect.topic;
        *partition = q->m->suspect.partition;
        *offset = q->m->suspect.offset;
        return q->m->deaths;
}

bool quarantine_is(const quarantine_t *q, int topic, int32_t partition,
                   int64_t offset)
{
        return q->m->has_skip && same(&q->m->skip, topic, partition, offset);
}

void quarantine_begin(quarantine_t *q, int topic, int32_t partition,
                      int64_t offset)
{
        mark_t *m = q->m;
        m->hand.topic = topic;
        m->hand.partition = partition;
        m->hand.offset = offset;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        m->busy = 1;
}

void quarantine_end(quarantine_t *q)
{
        q->m->busy = 0;
}

void quarantine_close(quarantine_t *q, bool clean)
{
        if (!q)
                return;
        if (clean) {
                uint64_t magic = q->m->magic;
                memset((void *)q->m, 0, sizeof(*q->m));
                q->m->magic = magic;
        }
        munmap(q->m, sizeof(mark_t));
        free(q);
}
