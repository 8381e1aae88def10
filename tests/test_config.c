/*
 * test_config — loading the reference files: policy (SPEC §2), roster
 * (§1.4) and calendar (§1.5), with the refusals of SPEC §7.
 *
 * A bad file must be refused as a whole, and the message must let an
 * operator find the problem: it names the file (and for the roster the
 * line) and the field.  The policy refusals are mutations of the shipped
 * policy, one change each, so every case differs from a good file in
 * exactly the way it describes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "policy.h"
#include "ptime.h"
#include "roster.h"

#define POLICY_PATH PATUH_SOURCE_DIR "/rules/balikpapan-se737-2026.json"
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static int32_t day_of(const char *s)
{
        int32_t d = 0;
        if (!ptime_parse_date(s, strlen(s), &d))
                fail_msg("fixture date '%s' refused", s);
        return d;
}

static void expect_in(const char *label, const char *msg, const char *needle)
{
        if (needle && !strstr(msg, needle))
                fail_msg("%s: message \"%s\" lacks \"%s\"", label, msg, needle);
}

/* ---- policy -------------------------------------------------------- */

static policy_t *load_shipped(void)
{
        char err[512] = "";
        policy_t *p = policy_load(POLICY_PATH, err, sizeof(err));
        if (!p)
                fail_msg("shipped policy refused: %s", err);
        return p;
}

static void test_policy_shipped(void **state)
{
        (void)state;
        policy_t *p = load_shipped();
        assert_string_equal(p->policy_id, "balikpapan-se737-2026");
        assert_int_equal(p->version, 1);
        assert_string_equal(p->label, "balikpapan-se737-2026/1");
        assert_string_equal(p->timezone, "Asia/Makassar");
        assert_non_null(p->tz);
        static const bool workday[7] = {true, true,  true, true,
                                        true, false, false};
        static const int hours[5][2] = {
            {450, 960}, {450, 960}, {450, 960}, {450, 960}, {450, 990}};
        for (int wd = 0; wd < 7; wd++) {
                assert_int_equal(p->workday[wd], workday[wd]);
                assert_int_equal(p->has_hours[wd], wd < 5);
                assert_int_equal(p->wfh_day[wd], wd == 4);
                if (wd < 5) {
                        assert_int_equal(p->hours[wd][0], hours[wd][0]);
                        assert_int_equal(p->hours[wd][1], hours[wd][1]);
                }
        }
        assert_true(p->has_wfh_from);
        assert_int_equal(p->wfh_from, day_of("2026-04-08"));

        static const char *const exempt_pos[] = {"jpt_pratama", "administrator",
                                                 "camat", "lurah"};
        static const char *const not_exempt_pos[] = {"pengawas", "pelaksana",
                                                     "fungsional"};
        for (size_t i = 0; i < ARRAY_LEN(exempt_pos); i++)
                assert_true(p->exempt_position[policy_position_from_name(
                    exempt_pos[i])]);
        for (size_t i = 0; i < ARRAY_LEN(not_exempt_pos); i++)
                assert_false(p->exempt_position[policy_position_from_name(
                    not_exempt_pos[i])]);
        for (int s = 0; s < SERVICE__COUNT; s++)
                assert_true(p->exempt_service[s]);

        static const struct {
                const char *name;
                int64_t from, to;
                int64_t pct_u;
        } late[] = {{"TL1", 1, 30, 500000},
                    {"TL2", 31, 60, 1000000},
                    {"TL3", 61, 90, 1500000},
                    {"TL4", 91, -1, 2000000}};
        assert_int_equal(p->n_late, ARRAY_LEN(late));
        for (size_t i = 0; i < ARRAY_LEN(late); i++) {
                assert_string_equal(p->late[i].name, late[i].name);
                assert_int_equal(p->late[i].from, late[i].from);
                assert_int_equal(p->late[i].to, late[i].to);
                assert_int_equal(p->late[i].pct_u, late[i].pct_u);
        }
        assert_int_equal(p->n_early, 4);
        assert_string_equal(p->early[1].name, "PSW2");
        assert_int_equal(p->early[1].from, 31);
        assert_int_equal(p->early[1].to, 60);
        assert_int_equal(p->early[0].pct_u, 500000);

        assert_int_equal(p->not_clocked_in_alert_minutes, 30);
        assert_int_equal(p->callback_minutes, 30);
        assert_int_equal(p->amend_horizon_days, 35);

        assert_int_equal(p->kind[VK_MISSING_CLOCK_IN].pct_u, 2000000);
        assert_int_equal(p->kind[VK_ABSENT].pct_u, 4000000);
        assert_int_equal(p->kind[VK_WFH_NOT_PERMITTED].pct_u, 0);
        assert_int_equal(p->kind[VK_UNANSWERED_CALL].pct_u, 1000000);
        assert_string_equal(p->kind[VK_WFH_NOT_PERMITTED].severity, "notice");
        assert_string_equal(p->kind[VK_WFH_NOT_PERMITTED].clause,
                            "SE 737 angka 2 dan 7");
        assert_string_equal(p->kind[VK_UNANSWERED_CALL].clause,
                            "SE 737 angka 5");
        assert_int_equal(p->cap_pct_u, 100000000);

        assert_true(p->has_discipline);
        assert_int_equal(p->minutes_per_day, 450);
        assert_int_equal(p->discipline_minutes[VK_LATE_CLOCK_IN], -1);
        assert_int_equal(p->discipline_minutes[VK_MISSING_CLOCK_OUT], 225);
        assert_int_equal(p->discipline_minutes[VK_ABSENT], 450);
        assert_int_equal(p->n_ladder, 9);
        assert_int_equal(p->ladder[0].from, 3);
        assert_string_equal(p->ladder[8].sanction, "pemberhentian");
        assert_int_equal(p->n_call_ladder, 4);
        assert_string_equal(p->call_ladder[3].level, "sedang");
        policy_free(p);
}

struct band_case {
        int64_t minutes;
        const char *band; /* NULL: no band (grace) */
};

static const struct band_case late_bands[] = {
    {0, NULL},   {1, "TL1"},  {30, "TL1"}, {31, "TL2"},  {60, "TL2"},
    {61, "TL3"}, {90, "TL3"}, {91, "TL4"}, {600, "TL4"}, {-5, NULL},
};

static void test_policy_bands(void **state)
{
        (void)state;
        policy_t *p = load_shipped();
        for (size_t i = 0; i < ARRAY_LEN(late_bands); i++) {
                const policy_band_t *b =
                    policy_band_for(p->late, p->n_late, late_bands[i].minutes);
                const char *got = b ? b->name : NULL;
                const char *want = late_bands[i].band;
                if ((got == NULL) != (want == NULL) ||
                    (got && strcmp(got, want) != 0))
                        fail_msg("%lld minutes late: band %s, expected %s",
                                 (long long)late_bands[i].minutes,
                                 got ? got : "none", want ? want : "none");
        }
        policy_free(p);
}

static json_t *shipped_json(void)
{
        json_error_t jerr;
        json_t *root = json_load_file(POLICY_PATH, 0, &jerr);
        if (!root)
                fail_msg("cannot parse %s: %s", POLICY_PATH, jerr.text);
        return root;
}

/* Sets the member at a '/'-separated path to the JSON text `value`, or
 * removes it when value is NULL.  Array segments are indexes; "-" appends. */
static void mutate(json_t *root, const char *path, const char *value)
{
        char buf[256];
        size_t n = strlen(path);
        assert_true(n < sizeof(buf));
        memcpy(buf, path, n + 1);
        json_t *node = root;
        char *seg = buf;
        for (;;) {
                char *slash = strchr(seg, '/');
                if (!slash)
                        break;
                *slash = '\0';
                json_t *next =
                    json_is_array(node)
                        ? json_array_get(node, strtoul(seg, NULL, 10))
                        : json_object_get(node, seg);
                if (!next)
                        fail_msg("mutation path '%s': no '%s'", path, seg);
                node = next;
                seg = slash + 1;
        }
        if (!value) {
                int rc = json_is_array(node)
                             ? json_array_remove(node, strtoul(seg, NULL, 10))
                             : json_object_del(node, seg);
                if (rc != 0)
                        fail_msg("mutation path '%s': nothing to remove", path);
                return;
        }
        json_error_t jerr;
        json_t *v = json_loads(value, JSON_DECODE_ANY, &jerr);
        if (!v)
                fail_msg("mutation value '%s': %s", value, jerr.text);
        int rc;
        if (json_is_array(node) && strcmp(seg, "-") == 0)
                rc = json_array_append_new(node, v);
        else if (json_is_array(node))
                rc = json_array_set_new(node, strtoul(seg, NULL, 10), v);
        else
                rc = json_object_set_new(node, seg, v);
        if (rc != 0)
                fail_msg("mutation path '%s': cannot set", path);
}

/* The shipped policy with one change, as text. */
static char *mutated_policy(const char *path, const char *value)
{
        json_t *root = shipped_json();
        mutate(root, path, value);
        char *text = json_dumps(root, 0);
        json_decref(root);
        assert_non_null(text);
        return text;
}

struct policy_bad {
        const char *path;  /* NULL: `raw` is the whole file */
        const char *value; /* JSON text; NULL removes the member */
        const char *raw;
        const char *field;   /* the message names the field ... */
        const char *problem; /* ... and says what is wrong */
};

static const struct policy_bad policy_bad[] = {
    {"late_bands/2/from", "\"61\"", NULL, "late_bands[2].from", "integer"},
    {"late_bands/2/from", "60.5", NULL, "late_bands[2].from", "integer"},
    {"late_bands/1/from", "30.5", NULL, "late_bands[1].from", "integer"},
    {"late_bands/1/from", "-1", NULL, "late_bands[1].from", NULL},
    {"late_bands/1/from", "30", NULL, "late_bands", "overlap"},
    {"late_bands/1/to", "null", NULL, "late_bands", "overlap"},
    {"late_bands/3/from", "1", NULL, "late_bands", "overlap"},
    {"late_bands/1/to", "20", NULL, "late_bands[1].to", NULL},
    {"late_bands/1/to", "\"60\"", NULL, "late_bands[1].to", "integer"},
    {"late_bands/1/to", NULL, NULL, "late_bands[1].to", "missing"},
    {"late_bands/1/band", NULL, NULL, "late_bands[1].band", "missing"},
    {"early_bands/1/band", "\"PSW1\"", NULL, "early_bands[1]", "repeated"},
    {"early_bands", "{}", NULL, "early_bands", "array"},
    {"hours/fri", "[\"16:30\", \"07:30\"]", NULL, "hours.fri", "after start"},
    {"hours/fri", "[\"07:30\", \"07:30\"]", NULL, "hours.fri", "after start"},
    {"hours/fri", "[\"7:30\", \"16:30\"]", NULL, "hours.fri[0]", "HH:MM"},
    {"hours/fri", "[\"07:30\", \"24:00\"]", NULL, "hours.fri[1]", "HH:MM"},
    {"hours/fri", "[\"07:30\"]", NULL, "hours.fri", NULL},
    {"hours/jumat", "[\"07:30\", \"16:30\"]", NULL, "hours.jumat", "weekday"},
    {"hours/wed", NULL, NULL, "hours.wed", "missing"},
    {"workdays/2", "\"rabu\"", NULL, "workdays[2]", "weekday"},
    {"workdays/-", "\"mon\"", NULL, "workdays[5]", "repeated"},
    {"workdays", "\"mon\"", NULL, "workdays", "array"},
    {"wfh_days/0", "\"Fri\"", NULL, "wfh_days[0]", "weekday"},
    {"wfh_from", "\"2026-4-8\"", NULL, "wfh_from", "YYYY-MM-DD"},
    {"wfh_from", "\"2026-02-30\"", NULL, "wfh_from", "YYYY-MM-DD"},
    {"wfh_from", "20260408", NULL, "wfh_from", NULL},
    {"timezone", "\"Mars/Olympus\"", NULL, "timezone", "Mars/Olympus"},
    {"timezone", "\"Europe/Amsterdam\"", NULL, "timezone", "daylight saving"},
    {"timezone", NULL, NULL, "timezone", "missing"},
    {"violations/late_clock_in/tpp_percent/TL3", NULL, NULL,
     "violations.late_clock_in.tpp_percent.TL3", "missing"},
    {"violations/late_clock_in/tpp_percent/TL9", "3", NULL,
     "violations.late_clock_in.tpp_percent.TL9", NULL},
    {"violations/late_clock_in/tpp_percent/TL2", "-1", NULL,
     "violations.late_clock_in.tpp_percent.TL2", NULL},
    {"violations/late_clock_in/tpp_percent/TL2", "\"1\"", NULL,
     "violations.late_clock_in.tpp_percent.TL2", "number"},
    {"violations/absent/tpp_percent", "\"4\"", NULL,
     "violations.absent.tpp_percent", "number"},
    {"violations/absent/tpp_percent", "{\"TL1\": 1}", NULL,
     "violations.absent.tpp_percent", "number"},
    {"violations/absent/severity", NULL, NULL, "violations.absent.severity",
     "missing"},
    {"violations/absent", NULL, NULL, "violations.absent", "missing"},
    {"violations/coffee_break",
     "{\"severity\": \"ringan\", \"tpp_percent\": 1, \"clause\": \"x\"}", NULL,
     "violations.coffee_break", "unknown violation kind"},
    {"callback_minutes", NULL, NULL, "callback_minutes", "missing"},
    {"callback_minutes", "30.0", NULL, "callback_minutes", "integer"},
    {"not_clocked_in_alert_minutes", "\"30\"", NULL,
     "not_clocked_in_alert_minutes", "integer"},
    {"amend_horizon_days", "-1", NULL, "amend_horizon_days", NULL},
    {"amend_horizon_days", "35.5", NULL, "amend_horizon_days", "integer"},
    {"tpp_monthly_cap_percent", "\"100\"", NULL, "tpp_monthly_cap_percent",
     "number"},
    {"tpp_monthly_cap_percent", NULL, NULL, "tpp_monthly_cap_percent",
     "missing"},
    {"wfh_exempt_positions/-", "\"menteri\"", NULL, "wfh_exempt_positions[4]",
     "unknown"},
    {"wfh_exempt_services/-", "\"police\"", NULL, "wfh_exempt_services[10]",
     "unknown"},
    {"policy_id", NULL, NULL, "policy_id", "missing"},
    {"policy_id", "\"balikpapan se737\"", NULL, "policy_id", "identifier"},
    {"version", "\"1\"", NULL, "version", "integer"},
    {"discipline/minutes/late_clock_in", "\"sometimes\"", NULL,
     "discipline.minutes.late_clock_in", NULL},
    {"discipline/minutes/overtime", "10", NULL, "discipline.minutes.overtime",
     "unknown violation kind"},
    {"discipline/ladder/1/from_days", "3", NULL, "discipline.ladder[1]",
     "ascend"},
    {NULL, NULL, "this is not a policy", NULL, "not valid JSON"},
    {NULL, NULL, "[{\"policy_id\": \"x\"}]", NULL, "expected a JSON object"},
    {NULL, NULL, "", NULL, "not valid JSON"},
    {NULL, NULL, "{\"policy_id\": \"a\", \"policy_id\": \"b\"}", NULL,
     "not valid JSON"},
};

static void test_policy_refused(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_LEN(policy_bad); i++) {
                const struct policy_bad *c = &policy_bad[i];
                char *text = c->path ? mutated_policy(c->path, c->value) : NULL;
                char label[300];
                snprintf(label, sizeof(label), "%s = %s",
                         c->path ? c->path : "whole file",
                         c->path ? (c->value ? c->value : "(removed)")
                                 : c->raw);
                char err[512] = "";
                policy_t *p =
                    policy_load_string(text ? text : c->raw,
                                       "policy file p.json", err, sizeof(err));
                free(text);
                if (p) {
                        policy_free(p);
                        fail_msg("%s: policy accepted", label);
                }
                expect_in(label, err, "policy file p.json");
                expect_in(label, err, c->field);
                expect_in(label, err, c->problem);
        }
}

struct policy_ok {
        const char *path;
        const char *value;
        bool has_wfh_from;
};

/* Variations SPEC §2/§7 allow. */
static const struct policy_ok policy_ok[] = {
    {"wfh_from", "null", false},
    {"wfh_from", NULL, false},
    {"wfh_from", "\"2026-05-01\"", true},
};

static void test_policy_accepted_variants(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_LEN(policy_ok); i++) {
                const struct policy_ok *c = &policy_ok[i];
                char *text = mutated_policy(c->path, c->value);
                char err[512] = "";
                policy_t *p = policy_load_string(text, "policy file p.json",
                                                 err, sizeof(err));
                free(text);
                if (!p)
                        fail_msg("%s = %s refused: %s", c->path,
                                 c->value ? c->value : "(removed)", err);
                if (p->has_wfh_from != c->has_wfh_from)
                        fail_msg("%s = %s: has_wfh_from %d", c->path,
                                 c->value ? c->value : "(removed)",
                                 p->has_wfh_from);
                policy_free(p);
        }
}

/* A gap between bands is grace: no band, hence no violation. */
static void test_policy_band_gap(void **state)
{
        (void)state;
        char *text = mutated_policy("late_bands/1/from", "41");
        char err[512] = "";
        policy_t *p =
            policy_load_string(text, "policy file p.json", err, sizeof(err));
        free(text);
        if (!p)
                fail_msg("band gap refused: %s", err);
        assert_null(policy_band_for(p->late, p->n_late, 35));
        assert_string_equal(policy_band_for(p->late, p->n_late, 41)->name,
                            "TL2");
        assert_string_equal(policy_band_for(p->late, p->n_late, 30)->name,
                            "TL1");
        policy_free(p);
}

/* ---- roster -------------------------------------------------------- */

#define HEAD_LINE                                                              \
        "{\"employee_id\":\"197002142000031001\",\"name\":\"Muhammad "         \
        "Fauzi\",\"unit_id\":\"diskominfo\",\"unit_name\":\"Dinas "            \
        "Kominfo\",\"service_class\":null,\"position_class\":"                 \
        "\"jpt_pratama\",\"supervisor_id\":\"196805201994031002\","            \
        "\"head_id\":null,\"tpp_monthly\":24000000,\"wfh_exempt\":false,"      \
        "\"active\":false}"
#define STAFF_LINE                                                             \
        "{\"employee_id\":\"198703152010011002\",\"unit_id\":"                 \
        "\"diskominfo\",\"position_class\":\"pelaksana\","                     \
        "\"supervisor_id\":\"197002142000031001\",\"head_id\":"                \
        "\"197002142000031001\",\"service_class\":\"health\","                 \
        "\"tpp_monthly\":4500000}"

static roster_t *load_roster(const char *buf, char *err, size_t n)
{
        return roster_load_buffer(buf, strlen(buf), "roster file r.jsonl", err,
                                  n);
}

static void test_roster_good(void **state)
{
        (void)state;
        char err[512] = "";
        roster_t *r =
            load_roster(HEAD_LINE "\n" STAFF_LINE "\n", err, sizeof(err));
        if (!r)
                fail_msg("good roster refused: %s", err);
        assert_int_equal(r->n, 2);
        int32_t head = roster_find(r, "197002142000031001", 18);
        int32_t staff = roster_find(r, "198703152010011002", 18);
        assert_int_equal(head, 0);
        assert_int_equal(staff, 1);
        assert_int_equal(roster_find(r, "196805201994031002", 18), -1);

        const roster_emp_t *h = &r->emp[head], *s = &r->emp[staff];
        assert_string_equal(h->name, "Muhammad Fauzi");
        assert_string_equal(h->unit_name, "Dinas Kominfo");
        assert_int_equal(h->position, policy_position_from_name("jpt_pratama"));
        assert_int_equal(h->service, -1);
        assert_int_equal(h->tpp_monthly, 24000000);
        assert_false(h->active);
        assert_int_equal(h->wfh_exempt, 0);
        /* a supervisor outside the roster keeps its id, resolves to none */
        assert_string_equal(h->supervisor_id, "196805201994031002");
        assert_int_equal(h->supervisor, -1);
        assert_null(h->head_id);
        assert_int_equal(h->head, -1);

        assert_string_equal(s->name, ""); /* missing name reads as "" */
        assert_int_equal(s->supervisor, head);
        assert_int_equal(s->head, head);
        assert_int_equal(s->service, policy_service_from_name("health"));
        assert_true(s->active);              /* missing active means true */
        assert_int_equal(s->wfh_exempt, -1); /* missing wfh_exempt: null */
        assert_int_equal(s->tpp_monthly, 4500000);
        roster_free(r);
}

/* Blank lines, white-space lines, CRLF and a leading BOM are not records. */
static const char *const roster_layouts[] = {
    HEAD_LINE "\n" STAFF_LINE,
    "\xEF\xBB\xBF" HEAD_LINE "\n" STAFF_LINE "\n",
    "\n\n" HEAD_LINE "\n\n   \t\n" STAFF_LINE "\n\n",
    HEAD_LINE "\r\n\r\n" STAFF_LINE "\r\n",
    "\xEF\xBB\xBF\n" HEAD_LINE "\n" STAFF_LINE,
};

static void test_roster_layouts(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_LEN(roster_layouts); i++) {
                char err[512] = "";
                roster_t *r = load_roster(roster_layouts[i], err, sizeof(err));
                if (!r)
                        fail_msg("layout %zu refused: %s", i, err);
                if (r->n != 2)
                        fail_msg("layout %zu: %zu rows", i, r->n);
                assert_int_equal(roster_find(r, "198703152010011002", 18), 1);
                assert_int_equal(r->emp[1].supervisor, 0);
                roster_free(r);
        }
}

/* A second line built from STAFF_LINE's fields with one changed. */
#define STAFF(id, pos, svc, tpp, extra)                                        \
        "{\"employee_id\":" id ",\"unit_id\":\"diskominfo\","                  \
        "\"position_class\":" pos ",\"service_class\":" svc                    \
        ",\"tpp_monthly\":" tpp extra "}"
#define ID "\"198703152010011002\""
#define PEL "\"pelaksana\""

struct roster_bad {
        const char *buf;
        const char *line;  /* "line N" */
        const char *field; /* the message names the field */
};

static const struct roster_bad roster_bad[] = {
    {HEAD_LINE "\n" HEAD_LINE "\n", "line 2", "employee_id"},
    {HEAD_LINE "\n" STAFF("\"1987 0315\"", PEL, "null", "1", ""), "line 2",
     "employee_id"},
    {HEAD_LINE "\n" STAFF("\"1234567890123456789012345678901234567890"
                          "1234567890123456789012345\"",
                          PEL, "null", "1", ""),
     "line 2", "employee_id"},
    {HEAD_LINE "\n" STAFF("\"\"", PEL, "null", "1", ""), "line 2",
     "employee_id"},
    {HEAD_LINE "\n" STAFF("198703152010011002", PEL, "null", "1", ""), "line 2",
     "employee_id"},
    {HEAD_LINE "\n{\"unit_id\":\"x\",\"position_class\":\"pelaksana\","
               "\"tpp_monthly\":1}",
     "line 2", "employee_id"},
    {HEAD_LINE "\n{\"employee_id\":\"e1\",\"position_class\":"
               "\"pelaksana\",\"tpp_monthly\":1}",
     "line 2", "unit_id"},
    {HEAD_LINE "\n" STAFF(ID, "\"menteri\"", "null", "1", ""), "line 2",
     "position_class"},
    {HEAD_LINE "\n" STAFF(ID, "null", "null", "1", ""), "line 2",
     "position_class"},
    {HEAD_LINE "\n{\"employee_id\":\"e1\",\"unit_id\":\"x\","
               "\"tpp_monthly\":1}",
     "line 2", "position_class"},
    {HEAD_LINE "\n" STAFF(ID, PEL, "null", "-1", ""), "line 2", "tpp_monthly"},
    {HEAD_LINE "\n" STAFF(ID, PEL, "null", "1.5", ""), "line 2", "tpp_monthly"},
    {HEAD_LINE "\n" STAFF(ID, PEL, "null", "4500000.0", ""), "line 2",
     "tpp_monthly"},
    {HEAD_LINE "\n" STAFF(ID, PEL, "null", "\"4500000\"", ""), "line 2",
     "tpp_monthly"},
    {HEAD_LINE "\n" STAFF(ID, PEL, "null", "null", ""), "line 2",
     "tpp_monthly"},
    {HEAD_LINE "\n" STAFF(ID, PEL, "\"police\"", "1", ""), "line 2",
     "service_class"},
    {HEAD_LINE "\n" STAFF(ID, PEL, "\"Health\"", "1", ""), "line 2",
     "service_class"},
    {HEAD_LINE "\n" STAFF(ID, PEL, "null", "1", ",\"active\":\"yes\""),
     "line 2", "active"},
    {HEAD_LINE "\n" STAFF(ID, PEL, "null", "1", ",\"active\":null"), "line 2",
     "active"},
    {HEAD_LINE "\n" STAFF(ID, PEL, "null", "1", ",\"wfh_exempt\":1"), "line 2",
     "wfh_exempt"},
    {HEAD_LINE "\n" STAFF(ID, PEL, "null", "1", ",\"wfh_exempt\":\"true\""),
     "line 2", "wfh_exempt"},
    {HEAD_LINE
     "\n" STAFF(ID, PEL, "null", "1", ",\"supervisor_id\":\"boss man\""),
     "line 2", "supervisor_id"},
    {HEAD_LINE "\n" STAFF(ID, PEL, "null", "1", ",\"head_id\":1970"), "line 2",
     "head_id"},
    {HEAD_LINE "\n" STAFF(ID, PEL, "null", "1", ",\"name\":42"), "line 2",
     "name"},
    {HEAD_LINE "\n{\"employee_id\": \"1987", "line 2", "not valid JSON"},
    {HEAD_LINE "\n[" HEAD_LINE "]", "line 2", "JSON object"},
    {HEAD_LINE "\n\"198703152010011002\"", "line 2", NULL},
    {HEAD_LINE "\n" HEAD_LINE " " HEAD_LINE, "line 2", "not valid JSON"},
    /* a BOM is accepted only at the start of the file */
    {HEAD_LINE "\n\xEF\xBB\xBF" STAFF_LINE, "line 2", NULL},
    /* blank lines count: the bad record is on line 4 */
    {HEAD_LINE "\n\n  \n" STAFF(ID, PEL, "\"police\"", "1", ""), "line 4",
     "service_class"},
    {"not json\n" STAFF_LINE, "line 1", "not valid JSON"},
};

static void test_roster_refused(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_LEN(roster_bad); i++) {
                const struct roster_bad *c = &roster_bad[i];
                char err[512] = "";
                char label[32];
                snprintf(label, sizeof(label), "roster case %zu", i);
                roster_t *r = load_roster(c->buf, err, sizeof(err));
                if (r) {
                        roster_free(r);
                        fail_msg("%s accepted:\n%s", label, c->buf);
                }
                expect_in(label, err, "roster file r.jsonl");
                char where[64];
                snprintf(where, sizeof(where), "r.jsonl %s:", c->line);
                expect_in(label, err, where);
                expect_in(label, err, c->field);
        }
}

struct exempt_case {
        const char *line;
        bool exempt;
};

#define EMP(n, pos, svc, ex)                                                   \
        "{\"employee_id\":\"e" n "\",\"unit_id\":\"u\",\"position_class\":"    \
        "\"" pos "\",\"service_class\":" svc ",\"tpp_monthly\":1" ex "}"

static const struct exempt_case exempt_cases[] = {
    /* the override beats the policy, both ways */
    {EMP("1", "pelaksana", "null", ",\"wfh_exempt\":true"), true},
    {EMP("2", "jpt_pratama", "\"health\"", ",\"wfh_exempt\":false"), false},
    {EMP("3", "camat", "null", ",\"wfh_exempt\":false"), false},
    /* null or missing: position or service decides */
    {EMP("4", "pelaksana", "null", ",\"wfh_exempt\":null"), false},
    {EMP("5", "administrator", "null", ",\"wfh_exempt\":null"), true},
    {EMP("6", "lurah", "null", ""), true},
    {EMP("7", "pelaksana", "\"health\"", ",\"wfh_exempt\":null"), true},
    {EMP("8", "pengawas", "\"asri\"", ""), true},
    {EMP("9", "fungsional", "\"education\"", ""), true},
    {EMP("10", "fungsional", "null", ""), false},
    {EMP("11", "pengawas", "null", ""), false},
};

static void test_roster_wfh_exempt(void **state)
{
        (void)state;
        char buf[8192];
        size_t len = 0;
        for (size_t i = 0; i < ARRAY_LEN(exempt_cases); i++) {
                int w = snprintf(buf + len, sizeof(buf) - len, "%s\n",
                                 exempt_cases[i].line);
                assert_true(w > 0 && (size_t)w < sizeof(buf) - len);
                len += (size_t)w;
        }
        char err[512] = "";
        roster_t *r = roster_load_buffer(buf, len, "roster file r.jsonl", err,
                                         sizeof(err));
        if (!r)
                fail_msg("exempt roster refused: %s", err);
        policy_t *p = load_shipped();
        for (size_t i = 0; i < ARRAY_LEN(exempt_cases); i++)
                if (roster_wfh_exempt(r, p, (int32_t)i) !=
                    exempt_cases[i].exempt)
                        fail_msg("%s: exempt should be %d",
                                 exempt_cases[i].line, exempt_cases[i].exempt);
        policy_free(p);
        roster_free(r);
}

/* ---- calendar ------------------------------------------------------ */

static const char good_calendar[] =
    "{\"holidays\":[{\"date\":\"2026-04-03\",\"name\":\"Wafat Yesus "
    "Kristus\"},{\"date\":\"2026-01-01\",\"name\":\"Tahun Baru\"},"
    "{\"date\":\"2026-12-25\",\"name\":\"Natal\"},"
    "{\"date\":\"2026-03-19\",\"name\":\"Nyepi\"}],"
    "\"wfh_suspended\":[{\"date\":\"2026-04-24\",\"reason\":\"kondisi "
    "kedaruratan\"}],"
    "\"hours_overrides\":["
    "{\"from\":\"2026-04-18\",\"to\":\"2026-04-18\",\"name\":\"Sabtu "
    "kerja\",\"hours\":{\"sat\":[\"08:00\",\"12:00\"]}},"
    "{\"from\":\"2026-02-18\",\"to\":\"2026-03-20\",\"name\":\"Ramadan\","
    "\"hours\":{\"mon\":[\"08:00\",\"15:00\"],\"wed\":[\"08:00\","
    "\"15:00\"],\"fri\":[\"08:00\",\"15:30\"]}}]}";

static calendar_t *load_calendar(const char *json, char *err, size_t n)
{
        return calendar_load_string(json, "calendar file c.json", err, n);
}

struct day_flag {
        const char *date;
        bool holiday;
        bool suspended;
};

static const struct day_flag day_flags[] = {
    {"2026-04-03", true, false},  {"2026-01-01", true, false},
    {"2026-12-25", true, false},  {"2026-03-19", true, false},
    {"2026-04-24", false, true},  {"2026-04-02", false, false},
    {"2026-04-04", false, false}, {"2026-04-23", false, false},
    {"2026-04-25", false, false}, {"2025-12-31", false, false},
    {"2027-01-01", false, false},
};

static void test_calendar_good(void **state)
{
        (void)state;
        char err[512] = "";
        calendar_t *c = load_calendar(good_calendar, err, sizeof(err));
        if (!c)
                fail_msg("good calendar refused: %s", err);
        assert_int_equal(c->n_holidays, 4);
        assert_int_equal(c->n_suspended, 1);
        assert_int_equal(c->n_overrides, 2);
        assert_string_equal(c->suspended[0].name, "kondisi kedaruratan");
        for (size_t i = 0; i < ARRAY_LEN(day_flags); i++) {
                int32_t d = day_of(day_flags[i].date);
                if (calendar_is_holiday(c, d) != day_flags[i].holiday ||
                    calendar_is_wfh_suspended(c, d) != day_flags[i].suspended)
                        fail_msg("%s: holiday %d suspended %d",
                                 day_flags[i].date, calendar_is_holiday(c, d),
                                 calendar_is_wfh_suspended(c, d));
        }
        calendar_free(c);
}

struct hours_case {
        const char *date;
        bool has;
        int start, end;
};

static const struct hours_case hours_cases[] = {
    {"2026-02-17", true, 450, 960}, /* Tue before the override */
    {"2026-02-18", true, 480, 900}, /* Wed, first day (inclusive) */
    {"2026-02-19", true, 450, 960}, /* Thu: not listed, policy hours */
    {"2026-02-20", true, 480, 930}, /* Fri */
    {"2026-02-21", false, 0, 0},    /* Sat: neither gives hours */
    {"2026-03-16", true, 480, 900}, /* Mon */
    {"2026-03-17", true, 450, 960}, /* Tue: not listed */
    {"2026-03-20", true, 480, 930}, /* Fri, last day (inclusive) */
    {"2026-03-23", true, 450, 960}, /* Mon after the override */
    {"2026-03-27", true, 450, 990}, /* Fri after: policy Friday */
    {"2026-04-17", true, 450, 990}, /* Fri before the Saturday entry */
    {"2026-04-18", true, 480, 720}, /* Sat with a one-day override */
    {"2026-04-25", false, 0, 0},    /* an ordinary Saturday */
    {"2026-04-19", false, 0, 0},    /* Sunday */
};

static void test_calendar_hours(void **state)
{
        (void)state;
        char err[512] = "";
        calendar_t *c = load_calendar(good_calendar, err, sizeof(err));
        if (!c)
                fail_msg("good calendar refused: %s", err);
        policy_t *p = load_shipped();
        for (size_t i = 0; i < ARRAY_LEN(hours_cases); i++) {
                const struct hours_case *h = &hours_cases[i];
                int start = -1, end = -1;
                bool has = calendar_hours(c, p, day_of(h->date), &start, &end);
                if (has != h->has ||
                    (has && (start != h->start || end != h->end)))
                        fail_msg("%s: has %d %d-%d, expected %d %d-%d", h->date,
                                 has, start, end, h->has, h->start, h->end);
        }
        calendar_free(c);
        policy_free(p);
}

static void test_calendar_empty(void **state)
{
        (void)state;
        static const char *const empties[] = {
            "{}",
            "{\"holidays\":[],\"wfh_suspended\":[],\"hours_overrides\":[]}",
            "{\"holidays\":[]}",
        };
        policy_t *p = load_shipped();
        for (size_t i = 0; i < ARRAY_LEN(empties); i++) {
                char err[512] = "";
                calendar_t *c = load_calendar(empties[i], err, sizeof(err));
                if (!c)
                        fail_msg("'%s' refused: %s", empties[i], err);
                int32_t fri = day_of("2026-04-10");
                int start = -1, end = -1;
                assert_false(calendar_is_holiday(c, fri));
                assert_false(calendar_is_wfh_suspended(c, fri));
                assert_true(calendar_hours(c, p, fri, &start, &end));
                assert_int_equal(start, 450);
                assert_int_equal(end, 990);
                calendar_free(c);
        }
        policy_free(p);
}

#define OVR(from, to, hours)                                                   \
        "{\"from\":\"" from "\",\"to\":\"" to "\",\"name\":\"" from            \
        "\",\"hours\":" hours "}"
#define FRI_HOURS "{\"fri\":[\"08:00\",\"15:30\"]}"

/* Adjacent, non-overlapping overrides are fine. */
static void test_calendar_adjacent_overrides(void **state)
{
        (void)state;
        char err[512] = "";
        calendar_t *c = load_calendar(
            "{\"hours_overrides\":[" OVR(
                "2026-03-20", "2026-03-27",
                "{\"fri\":[\"09:00\",\"15:00\"]}") "," OVR("2026-02-18",
                                                           "2026-03-19",
                                                           FRI_HOURS) "]}",
            err, sizeof(err));
        if (!c)
                fail_msg("adjacent overrides refused: %s", err);
        policy_t *p = load_shipped();
        int start, end;
        assert_true(calendar_hours(c, p, day_of("2026-03-13"), &start, &end));
        assert_int_equal(start, 480);
        assert_true(calendar_hours(c, p, day_of("2026-03-20"), &start, &end));
        assert_int_equal(start, 540);
        assert_true(calendar_hours(c, p, day_of("2026-03-27"), &start, &end));
        assert_int_equal(end, 900);
        calendar_free(c);
        policy_free(p);
}

struct calendar_bad {
        const char *json;
        const char *field;
        const char *problem;
};

static const struct calendar_bad calendar_bad[] = {
    {"{\"holidays\":[{\"date\":\"2026-02-30\",\"name\":\"x\"}]}",
     "holidays[0].date", "YYYY-MM-DD"},
    {"{\"holidays\":[{\"date\":\"2026-04-03\"},{\"date\":\"2026-4-3\"}]}",
     "holidays[1].date", "YYYY-MM-DD"},
    {"{\"holidays\":[{\"name\":\"no date\"}]}", "holidays[0].date", "missing"},
    {"{\"holidays\":[\"2026-04-03\"]}", "holidays[0]", "object"},
    {"{\"holidays\":{\"date\":\"2026-04-03\"}}", "holidays", "array"},
    {"{\"holidays\":\"2026-04-03\"}", "holidays", "array"},
    {"{\"wfh_suspended\":[{\"date\":\"2026-04-31\"}]}", "wfh_suspended[0].date",
     "YYYY-MM-DD"},
    {"{\"wfh_suspended\":[{\"date\":20260424}]}", "wfh_suspended[0].date",
     NULL},
    {"{\"hours_overrides\":[" OVR("2026-02-18", "2026-03-19",
                                  FRI_HOURS) "," OVR("2026-03-19", "2026-03-25",
                                                     FRI_HOURS) "]}",
     "hours_overrides", "overlap"},
    {"{\"hours_overrides\":[" OVR("2026-03-01", "2026-03-05",
                                  FRI_HOURS) "," OVR("2026-02-18", "2026-03-19",
                                                     FRI_HOURS) "]}",
     "hours_overrides", "overlap"},
    {"{\"hours_overrides\":[" OVR("2026-03-19", "2026-02-18", FRI_HOURS) "]}",
     "hours_overrides[0]", "from is after to"},
    {"{\"hours_overrides\":[" OVR("2026-02-18", "2026-03-19",
                                  "{\"fri\":[\"15:30\",\"15:30\"]}") "]}",
     "hours_overrides[0].hours.fri", "after start"},
    {"{\"hours_overrides\":[" OVR("2026-02-18", "2026-03-19",
                                  "{\"fri\":[\"15:30\",\"08:00\"]}") "]}",
     "hours_overrides[0].hours.fri", "after start"},
    {"{\"hours_overrides\":[" OVR("2026-02-18", "2026-03-19",
                                  "{\"jumat\":[\"08:00\",\"15:30\"]}") "]}",
     "hours_overrides[0].hours.jumat", NULL},
    {"{\"hours_overrides\":[" OVR("2026-02-18", "2026-02-30", FRI_HOURS) "]}",
     "hours_overrides[0].to", "YYYY-MM-DD"},
    {"{\"hours_overrides\":[{\"from\":\"2026-02-18\",\"to\":"
     "\"2026-03-19\"}]}",
     "hours_overrides[0].hours", "missing"},
    {"{\"hours_overrides\":{}}", "hours_overrides", "array"},
    {"not a calendar", NULL, "not valid JSON"},
    {"[]", NULL, "expected a JSON object"},
};

static void test_calendar_refused(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_LEN(calendar_bad); i++) {
                const struct calendar_bad *c = &calendar_bad[i];
                char err[512] = "";
                calendar_t *cal = load_calendar(c->json, err, sizeof(err));
                if (cal) {
                        calendar_free(cal);
                        fail_msg("calendar accepted: %s", c->json);
                }
                expect_in(c->json, err, "calendar file c.json");
                expect_in(c->json, err, c->field);
                expect_in(c->json, err, c->problem);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_policy_shipped),
            cmocka_unit_test(test_policy_bands),
            cmocka_unit_test(test_policy_refused),
            cmocka_unit_test(test_policy_accepted_variants),
            cmocka_unit_test(test_policy_band_gap),
            cmocka_unit_test(test_roster_good),
            cmocka_unit_test(test_roster_layouts),
            cmocka_unit_test(test_roster_refused),
            cmocka_unit_test(test_roster_wfh_exempt),
            cmocka_unit_test(test_calendar_good),
            cmocka_unit_test(test_calendar_hours),
            cmocka_unit_test(test_calendar_empty),
            cmocka_unit_test(test_calendar_adjacent_overrides),
            cmocka_unit_test(test_calendar_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
