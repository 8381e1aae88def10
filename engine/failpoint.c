#include "failpoint.h"

#include "log.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* The point and its pass count from PATUH_FAILPOINT, read once. */
static struct {
        int state; /* 0 not read yet, 1 armed, 2 off */
        char name[32];
        long left; /* passes until the kill */
} fp;

static void arm(void)
{
        fp.state = 2;
        const char *v = getenv("PATUH_FAILPOINT");
        const char *colon = v ? strchr(v, ':') : NULL;
        if (!colon || colon == v || (size_t)(colon - v) >= sizeof(fp.name))
                return;
        if ((size_t)(colon - v) == 6 && strncmp(v, "record", 6) == 0 &&
            colon[1]) {
                memcpy(fp.name, "record", 7); /* record:EVENT_ID */
                fp.state = 1;
                return;
        }
        char *end;
        long n = strtol(colon + 1, &end, 10);
        if (*end || n < 1)
                return;
        memcpy(fp.name, v, (size_t)(colon - v));
        fp.name[colon - v] = '\0';
        fp.left = n;
        fp.state = 1;
}

void failpoint_record(const char *event_id)
{
        if (fp.state == 0)
                arm();
        if (fp.state != 1 || strcmp(fp.name, "record") != 0)
                return;
        const char *v = getenv("PATUH_FAILPOINT");
        if (!v || !event_id || strcmp(v + 7, event_id) != 0)
                return;
        LOG_WARN("failpoint record:%s: killing this process (PATUH_FAILPOINT)",
                 event_id);
        raise(SIGKILL);
}

void failpoint(const char *name)
{
        if (fp.state == 0)
                arm();
        if (fp.state != 1 || strcmp(name, fp.name) != 0 || --fp.left > 0)
                return;
        LOG_WARN("failpoint %s: killing this process (PATUH_FAILPOINT)", name);
        raise(SIGKILL);
}
