/*
 * test_log — patuhd's log lines (engine/log.h): one line per event in
 * both formats (a message's newlines escaped), JSON lines that parse and
 * hold the message unchanged, the text layout, and the level checked
 * before the arguments are even evaluated.  stderr is redirected to a
 * file for each case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../engine/log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* stderr goes to a fresh file until capture_end, which returns what was
 * written (caller frees). */
static int saved_fd = -1;
static char cap_path[64];

static void capture_begin(void)
{
        snprintf(cap_path, sizeof(cap_path), "/tmp/patuh-log-XXXXXX");
        int fd = mkstemp(cap_path);
        assert_true(fd >= 0);
        saved_fd = dup(STDERR_FILENO);
        assert_true(saved_fd >= 0);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);
        close(fd);
}

static char *capture_end(void)
{
        assert_true(dup2(saved_fd, STDERR_FILENO) >= 0);
        close(saved_fd);
        FILE *f = fopen(cap_path, "r");
        assert_non_null(f);
        char *buf = calloc(1, 1 << 20);
        assert_non_null(buf);
        size_t n = fread(buf, 1, (1 << 20) - 1, f);
        buf[n] = '\0';
        fclose(f);
        unlink(cap_path);
        return buf;
}

static size_t count_lines(const char *s)
{
        size_t n = 0;
        for (; *s; s++)
                n += *s == '\n';
        return n;
}

/* Line I (0-based) of S, without its newline, into a fresh string. */
static char *line_at(const char *s, size_t i)
{
        for (; i > 0; i--) {
                s = strchr(s, '\n');
                assert_non_null(s);
                s++;
        }
        const char *e = strchr(s, '\n');
        assert_non_null(e);
        return strndup(s, (size_t)(e - s));
}

/* 2026-12-01T12:00:00.123Z */
static void assert_stamp(const char *ts)
{
        assert_int_equal(strlen(ts), 24);
        assert_int_equal(ts[4], '-');
        assert_int_equal(ts[10], 'T');
        assert_int_equal(ts[19], '.');
        assert_int_equal(ts[23], 'Z');
}

struct json_case {
        log_level_t level;
        const char *msg;  /* what is logged, as "%s" */
        const char *want; /* the msg field, decoded */
};

static const struct json_case json_cases[] = {
    {LOG_LV_INFO, "plain", "plain"},
    {LOG_LV_ERROR, "PostgreSQL: ERROR:  x\nDETAIL:  y\n",
     "PostgreSQL: ERROR:  x\nDETAIL:  y"},
    {LOG_LV_WARN, "quote \" backslash \\ tab \t cr \r bell \a del \x7f",
     "quote \" backslash \\ tab \t cr \r bell \a del \x7f"},
    {LOG_LV_INFO, "UTF-8 kept: Senin, 6 \xc3\xa9t\xc3\xa9",
     "UTF-8 kept: Senin, 6 \xc3\xa9t\xc3\xa9"},
    {LOG_LV_INFO, "bad byte \xff here", "bad byte \xef\xbf\xbd here"},
    {LOG_LV_INFO, "trailing\r\n\n", "trailing"},
};

static void test_json(void **state)
{
        (void)state;
        log_init(LOG_FMT_JSON, LOG_LV_INFO);
        capture_begin();
        for (size_t i = 0; i < sizeof(json_cases) / sizeof(json_cases[0]); i++)
                log_emit(json_cases[i].level, "%s", json_cases[i].msg);
        char *out = capture_end();
        assert_int_equal(count_lines(out),
                         sizeof(json_cases) / sizeof(json_cases[0]));
        for (size_t i = 0; i < sizeof(json_cases) / sizeof(json_cases[0]);
             i++) {
                char *line = line_at(out, i);
                json_error_t e;
                json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, &e);
                if (!j)
                        fail_msg("line %zu does not parse (%s): %s", i, e.text,
                                 line);
                assert_int_equal(json_object_size(j), 3);
                assert_string_equal(
                    json_string_value(json_object_get(j, "level")),
                    log_level_name(json_cases[i].level));
                assert_string_equal(
                    json_string_value(json_object_get(j, "msg")),
                    json_cases[i].want);
                assert_stamp(json_string_value(json_object_get(j, "ts")));
                json_decref(j);
                free(line);
        }
        free(out);
}

static void test_text(void **state)
{
        (void)state;
        log_init(LOG_FMT_TEXT, LOG_LV_INFO);
        capture_begin();
        LOG_INFO("holding the engine lease as %s (epoch %d)", "B", 2);
        LOG_ERROR("PostgreSQL: ERROR:  x\nDETAIL:  y\n");
        LOG_WARN("tab\there \x01");
        char *out = capture_end();
        assert_int_equal(count_lines(out), 3);
        const char *want[] = {
            " info patuhd: holding the engine lease as B (epoch 2)",
            " error patuhd: PostgreSQL: ERROR:  x\\nDETAIL:  y",
            " warn patuhd: tab\\there \\x01",
        };
        for (size_t i = 0; i < 3; i++) {
                char *line = line_at(out, i);
                char ts[25];
                snprintf(ts, sizeof(ts), "%.24s", line);
                assert_stamp(ts);
                assert_string_equal(line + 24, want[i]);
                free(line);
        }
        free(out);
}

static int evaluated;

static int count_eval(void)
{
        return ++evaluated;
}

static void test_levels(void **state)
{
        (void)state;
        log_init(LOG_FMT_TEXT, LOG_LV_INFO);
        evaluated = 0;
        capture_begin();
        LOG_DEBUG("debug %d", count_eval()); /* not even evaluated */
        LOG_INFO("info %d", count_eval());
        log_set_level(LOG_LV_ERROR);
        LOG_WARN("warn %d", count_eval());
        LOG_INFO("info %d", count_eval());
        LOG_ERROR("error %d", count_eval());
        log_set_level(LOG_LV_DEBUG);
        LOG_DEBUG("debug %d", count_eval());
        char *out = capture_end();
        assert_int_equal(evaluated, 3);
        assert_int_equal(count_lines(out), 3);
        assert_non_null(strstr(out, " info patuhd: info 1\n"));
        assert_non_null(strstr(out, " error patuhd: error 2\n"));
        assert_non_null(strstr(out, " debug patuhd: debug 3\n"));
        assert_null(strstr(out, "warn"));
        free(out);
        assert_true(log_enabled(LOG_LV_DEBUG));
        log_set_level(LOG_LV_WARN);
        assert_false(log_enabled(LOG_LV_INFO));
        assert_true(log_enabled(LOG_LV_WARN));
        assert_true(log_enabled(LOG_LV_ERROR));
}

/* Past the stack buffers: still the whole message, on one line. */
static void test_long(void **state)
{
        (void)state;
        size_t n = 20000;
        char *msg = malloc(n + 1);
        assert_non_null(msg);
        for (size_t i = 0; i < n; i++)
                msg[i] = i % 100 == 99 ? '\n' : (char)('a' + i % 26);
        msg[n - 1] = 'z'; /* a trailing newline is dropped */
        msg[n] = '\0';
        log_init(LOG_FMT_JSON, LOG_LV_INFO);
        capture_begin();
        LOG_INFO("%s", msg);
        char *out = capture_end();
        assert_int_equal(count_lines(out), 1);
        json_t *j = json_loads(out, 0, NULL);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "msg")), msg);
        json_decref(j);
        free(out);
        free(msg);
}

static void test_names(void **state)
{
        (void)state;
        const char *names[] = {"error", "warn", "info", "debug"};
        for (int i = 0; i < 4; i++) {
                log_level_t lv;
                assert_true(log_level_parse(names[i], &lv));
                assert_int_equal(lv, i);
                assert_string_equal(log_level_name(lv), names[i]);
        }
        log_level_t lv;
        log_format_t f;
        assert_false(log_level_parse("WARN", &lv));
        assert_false(log_level_parse("warning", &lv));
        assert_false(log_level_parse("", &lv));
        assert_true(log_format_parse("json", &f) && f == LOG_FMT_JSON);
        assert_true(log_format_parse("text", &f) && f == LOG_FMT_TEXT);
        assert_false(log_format_parse("JSON", &f));
        assert_false(log_format_parse("logfmt", &f));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_json),   cmocka_unit_test(test_text),
            cmocka_unit_test(test_levels), cmocka_unit_test(test_long),
            cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
