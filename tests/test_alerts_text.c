/*
 * patuh alerts: the chat message of each alert kind (Bahasa Indonesia
 * date, local time and zone) and the refusals of alerts and webhook URLs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../engine/cli_alerts.h"

#include <stdio.h>
#include <string.h>

#define ALERT(kind, key, date, at, text)                                       \
        "{\"alert_id\":\"a1\",\"kind\":\"" kind "\",\"key\":\"" key            \
        "\",\"employee_id\":\"e1\",\"supervisor_id\":\"s1\",\"unit_id\":"      \
        "\"u1\",\"date\":\"" date "\",\"violation_id\":null,\"text\":\"" text  \
        "\",\"at\":\"" at "\"}"

typedef struct message_case {
        const char *name;
        const char *json;
        const char *want; /* the whole message, or NULL for a refusal */
        const char *err;  /* part of the refusal */
} message_case_t;

static const message_case_t message_cases[] = {
    {"violation, WITA",
     ALERT("violation", "198405172009032006", "2026-04-17",
           "2026-04-17T07:43:04+08:00", "Dewi terlambat masuk 12 menit."),
     "[Pelanggaran] Kepada: 198405172009032006\n"
     "Tanggal: Jumat, 17 April 2026\n"
     "Waktu: 07:43 WITA\n"
     "Dewi terlambat masuk 12 menit.",
     NULL},
    {"not clocked in, WIB",
     ALERT("not_clocked_in", "s2", "2026-04-20", "2026-04-20T08:00:00+07:00",
           "Belum."),
     "[Belum presensi] Kepada: s2\nTanggal: Senin, 20 April 2026\n"
     "Waktu: 08:00 WIB\nBelum.",
     NULL},
    {"operators, raised the next day",
     ALERT("no_presence_data", "operators", "2026-04-17",
           "2026-04-18T00:05:00.250+08:00", "Tidak ada data."),
     "[Operator: data presensi tidak ada]\nTanggal: Jumat, 17 April 2026\n"
     "Waktu: Sabtu, 18 April 2026 00:05 WITA\nTidak ada data.",
     NULL},
    {"unknown kind, WIT",
     ALERT("something_new", "s3", "2026-12-31", "2026-12-31T23:59:59+09:00",
           "Baru."),
     "[Pemberitahuan] Kepada: s3\nTanggal: Kamis, 31 Desember 2026\n"
     "Waktu: 23:59 WIT\nBaru.",
     NULL},
    {"UTC",
     ALERT("violation", "s4", "2026-04-17", "2026-04-17T01:02:03Z", "T."),
     "[Pelanggaran] Kepada: s4\nTanggal: Jumat, 17 April 2026\n"
     "Waktu: 01:02 UTC\nT.",
     NULL},
    {"other offset",
     ALERT("violation", "s5", "2024-02-29", "2024-02-29T10:00:00+05:30", "T."),
     "[Pelanggaran] Kepada: s5\nTanggal: Kamis, 29 Februari 2024\n"
     "Waktu: 10:00 UTC+05:30\nT.",
     NULL},
    {"not JSON", "{\"kind\":", NULL, "not valid JSON"},
    {"not an object", "[1,2]", NULL, "not a JSON object"},
    {"no text",
     "{\"alert_id\":\"a\",\"kind\":\"violation\",\"key\":\"k\",\"date\":"
     "\"2026-04-17\",\"at\":\"2026-04-17T07:43:04+08:00\"}",
     NULL, "text: missing"},
    {"bad date",
     ALERT("violation", "k", "2026-02-30", "2026-04-17T07:43:04+08:00", "T."),
     NULL, "date: not YYYY-MM-DD"},
    {"at without offset",
     ALERT("violation", "k", "2026-04-17", "2026-04-17T07:43:04", "T."), NULL,
     "at: not an RFC 3339 time"},
};

static void test_messages(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(message_cases) / sizeof(*message_cases);
             i++) {
                const message_case_t *c = &message_cases[i];
                char buf[1024], err[256] = "";
                int rc = cli_alerts_message(c->json, strlen(c->json), buf,
                                            sizeof(buf), err, sizeof(err));
                if (c->want) {
                        if (rc != 0)
                                fail_msg("%s: refused: %s", c->name, err);
                        if (strcmp(buf, c->want) != 0)
                                fail_msg("%s:\n got: %s\nwant: %s", c->name,
                                         buf, c->want);
                } else {
                        if (rc == 0)
                                fail_msg("%s: accepted", c->name);
                        if (!strstr(err, c->err))
                                fail_msg("%s: '%s' lacks '%s'", c->name, err,
                                         c->err);
                }
        }
}

/* A message never comes out cut (in the middle of a UTF-8 character). */
static void test_message_too_long(void **state)
{
        (void)state;
        const char *json = message_cases[0].json;
        char buf[40], err[256];
        assert_int_equal(cli_alerts_message(json, strlen(json), buf,
                                            sizeof(buf), err, sizeof(err)),
                         -1);
        assert_non_null(strstr(err, "too long"));
}

typedef struct url_case {
        const char *url;
        int rc;
        const char *host, *host_header, *hostport, *path; /* when rc == 0 */
        int port;
        const char *err; /* when rc == -1 */
} url_case_t;

static const url_case_t url_cases[] = {
    {"http://127.0.0.1:8080/hook?token=s3cr3t", 0, "127.0.0.1",
     "127.0.0.1:8080", "127.0.0.1:8080", "/hook?token=s3cr3t", 8080, NULL},
    {"http://chat.example.org", 0, "chat.example.org", "chat.example.org",
     "chat.example.org:80", "/", 80, NULL},
    {"HTTP://bot.example.org/a/b", 0, "bot.example.org", "bot.example.org",
     "bot.example.org:80", "/a/b", 80, NULL},
    {"http://[::1]:9000/x", 0, "::1", "[::1]:9000", "[::1]:9000", "/x", 9000,
     NULL},
    {"https://chat.example.org/hook/s3cr3t", -1, NULL, NULL, NULL, NULL, 0,
     "only http://"},
    {"ftp://chat.example.org/s3cr3t", -1, NULL, NULL, NULL, NULL, 0,
     "only http://"},
    {"chat.example.org/s3cr3t", -1, NULL, NULL, NULL, NULL, 0, ""},
    {"http://bot:s3cr3t@chat.example.org/", -1, NULL, NULL, NULL, NULL, 0,
     "user:password@"},
    {"http:///s3cr3t", -1, NULL, NULL, NULL, NULL, 0, ""},
    {"http://chat.example.org:0/s3cr3t", -1, NULL, NULL, NULL, NULL, 0, "port"},
};

static void test_urls(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(url_cases) / sizeof(*url_cases); i++) {
                const url_case_t *c = &url_cases[i];
                cli_alerts_url_t u;
                char err[256] = "";
                int rc = cli_alerts_parse_url(c->url, &u, err, sizeof(err));
                if (rc != c->rc)
                        fail_msg("%s: rc %d, want %d (%s)", c->url, rc, c->rc,
                                 err);
                if (rc != 0) {
                        /* the message never repeats a token */
                        if (strstr(err, "s3cr3t") || !*err ||
                            !strstr(err, c->err))
                                fail_msg("%s: message '%s'", c->url, err);
                        continue;
                }
                assert_string_equal(u.host, c->host);
                assert_string_equal(u.host_header, c->host_header);
                assert_string_equal(u.hostport, c->hostport);
                assert_string_equal(u.path, c->path);
                assert_int_equal(u.port, c->port);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_messages),
            cmocka_unit_test(test_message_too_long),
            cmocka_unit_test(test_urls),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
