#include "policy.h"

#include "jsonv.h"
#include "ptime.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[VK__COUNT] = {
    "late_clock_in",     "early_clock_out", "missing_clock_in",
    "missing_clock_out", "absent",          "wfh_not_permitted",
    "unanswered_call"};

static const char *const position_names[POSITION__COUNT] = {
    "jpt_pratama", "administrator", "pengawas", "pelaksana",
    "fungsional",  "camat",         "lurah"};

static const char *const service_names[SERVICE__COUNT] = {
    "emergency", "public_order", "sanitation", "civil_registry", "licensing",
    "health",    "education",    "revenue",    "public_service", "asri"};

const char *vkind_name(vkind_t k)
{
        return k < VK__COUNT ? kind_names[k] : "?";
}

static int index_of(const char *const *names, int n, const char *name)
{
        for (int i = 0; i < n; i++)
                if (strcmp(names[i], name) == 0)
                        return i;
        return -1;
}

int vkind_from_name(const char *name)
{
        return index_of(kind_names, VK__COUNT, name);
}

int policy_position_from_name(const char *name)
{
        return index_of(position_names, POSITION__COUNT, name);
}

int policy_service_from_name(const char *name)
{
        return index_of(service_names, SERVICE__COUNT, name);
}

const char *policy_position_name(int pos)
{
        return pos >= 0 && pos < POSITION__COUNT ? position_names[pos] : "";
}

const char *policy_service_name(int svc)
{
        return svc >= 0 && svc < SERVICE__COUNT ? service_names[svc] : "";
}

const policy_band_t *policy_band_for(const policy_band_t *bands, size_t n,
                                     int64_t minutes)
{
        for (size_t i = 0; i < n; i++)
                if (minutes >= bands[i].from &&
                    (bands[i].to < 0 || minutes <= bands[i].to))
                        return &bands[i];
        return NULL;
}

static bool copy_str(const jsonv_t *v, const json_t *obj, const char *parent,
                     const char *key, char *dst, size_t n)
{
        const char *s;
        char path[256];
        if (!jsonv_str(v, obj, parent, key, &s))
                return false;
        if (strlen(s) >= n || !*s)
                return jsonv_fail(v, jsonv_key(path, sizeof(path), parent, key),
                                  "must be a non-empty string of at most %zu "
                                  "bytes",
                                  n - 1);
        memcpy(dst, s, strlen(s) + 1);
        return true;
}

/* A list of weekday names into flags; duplicates are refused. */
static bool load_weekdays(const jsonv_t *v, const json_t *root, const char *key,
                          bool out[7])
{
        char path[256];
        const json_t *arr = jsonv_get(v, root, "", key, JSON_ARRAY);
        if (!arr)
                return false;
        size_t i;
        const json_t *e;
        json_array_foreach(arr, i, e)
        {
                jsonv_idx(path, sizeof(path), key, i);
                int wd = json_is_string(e)
                             ? ptime_weekday_from_name(json_string_value(e))
                             : -1;
                if (wd < 0)
                        return jsonv_fail(v, path,
                                          "expected a weekday name "
                                          "(mon..sun)");
                if (out[wd])
                        return jsonv_fail(v, path, "repeated weekday");
                out[wd] = true;
        }
        return true;
}

static bool load_names(const jsonv_t *v, const json_t *root, const char *key,
                       int (*lookup)(const char *), bool *out)
{
        char path[256];
        const json_t *arr = jsonv_get(v, root, "", key, JSON_ARRAY);
        if (!arr)
                return false;
        size_t i;
        const json_t *e;
        json_array_foreach(arr, i, e)
        {
                jsonv_idx(path, sizeof(path), key, i);
                int x = json_is_string(e) ? lookup(json_string_value(e)) : -1;
                if (x < 0)
                        return jsonv_fail(v, path, "unknown value");
                out[x] = true;
        }
        return true;
}

bool policy_parse_hours(const jsonv_t *v, const json_t *obj, const char *path,
                        bool has[7], int hours[7][2])
{
        char p[256], q[256];
        if (!json_is_object(obj))
                return jsonv_fail(v, path, "expected an object");
        const char *key;
        const json_t *val;
        json_object_foreach((json_t *)obj, key, val)
        {
                jsonv_key(p, sizeof(p), path, key);
                int wd = ptime_weekday_from_name(key);
                if (wd < 0)
                        return jsonv_fail(v, p, "not a weekday name");
                if (!json_is_array(val) || json_array_size(val) != 2)
                        return jsonv_fail(v, p,
                                          "expected [\"HH:MM\", \"HH:MM\"]");
                for (size_t i = 0; i < 2; i++) {
                        const json_t *t = json_array_get(val, i);
                        jsonv_idx(q, sizeof(q), p, i);
                        if (!json_is_string(t) ||
                            !ptime_parse_hhmm(json_string_value(t),
                                              &hours[wd][i]))
                                return jsonv_fail(v, q, "expected \"HH:MM\"");
                }
                if (hours[wd][1] <= hours[wd][0])
                        return jsonv_fail(v, p, "end must be after start");
                has[wd] = true;
        }
        return true;
}

static int band_cmp(const void *a, const void *b)
{
        const policy_band_t *x = a, *y = b;
        return x->from < y->from ? -1 : x->from > y->from;
}

static bool load_bands(const jsonv_t *v, const json_t *root, const char *key,
                       policy_band_t **out, size_t *n_out)
{
        char path[256], p2[256];
        const json_t *arr = jsonv_get(v, root, "", key, JSON_ARRAY);
        if (!arr)
                return false;
        size_t n = json_array_size(arr);
        policy_band_t *b = calloc(n ? n : 1, sizeof(*b));
        if (!b)
                return jsonv_fail(v, key, "out of memory");
        *out = b;
        *n_out = n;
        for (size_t i = 0; i < n; i++) {
                const json_t *e = json_array_get(arr, i);
                jsonv_idx(path, sizeof(path), key, i);
                if (!json_is_object(e))
                        return jsonv_fail(v, path, "expected an object");
                if (!copy_str(v, e, path, "band", b[i].name,
                              sizeof(b[i].name)) ||
                    !jsonv_int(v, e, path, "from", 0, INT32_MAX, &b[i].from))
                        return false;
                const json_t *to = json_object_get(e, "to");
                jsonv_key(p2, sizeof(p2), path, "to");
                if (!to)
                        return jsonv_fail(v, p2, "missing");
                if (json_is_null(to)) {
                        b[i].to = -1;
                } else if (json_is_integer(to)) {
                        b[i].to = json_integer_value(to);
                        if (b[i].to < b[i].from)
                                return jsonv_fail(v, p2,
                                                  "must not be less than from");
                } else {
                        return jsonv_fail(v, p2, "expected an integer or null");
                }
                for (size_t j = 0; j < i; j++)
                        if (strcmp(b[j].name, b[i].name) == 0)
                                return jsonv_fail(v, path,
                                                  "repeated band name '%s'",
                                                  b[i].name);
        }
        qsort(b, n, sizeof(*b), band_cmp);
        for (size_t i = 1; i < n; i++)
                if (b[i - 1].to < 0 || b[i - 1].to >= b[i].from)
                        return jsonv_fail(v, key, "bands '%s' and '%s' overlap",
                                          b[i - 1].name, b[i].name);
        return true;
}

/* violations.<kind>.tpp_percent: a number, or for the banded kinds an
 * object giving a number for every band. */
static bool load_kind(const jsonv_t *v, const json_t *viol, vkind_t k,
                      policy_t *p)
{
        char path[256], pp[256], bp[256];
        const char *name = kind_names[k];
        jsonv_key(path, sizeof(path), "violations", name);
        const json_t *o = jsonv_get(v, viol, "violations", name, JSON_OBJECT);
        if (!o)
                return false;
        policy_kind_t *pk = &p->kind[k];
        if (!copy_str(v, o, path, "severity", pk->severity,
                      sizeof(pk->severity)) ||
            !copy_str(v, o, path, "clause", pk->clause, sizeof(pk->clause)))
                return false;
        const json_t *pct = json_object_get(o, "tpp_percent");
        jsonv_key(pp, sizeof(pp), path, "tpp_percent");
        if (!pct)
                return jsonv_fail(v, pp, "missing");
        policy_band_t *bands = k == VK_LATE_CLOCK_IN     ? p->late
                               : k == VK_EARLY_CLOCK_OUT ? p->early
                                                         : NULL;
        size_t nb = k == VK_LATE_CLOCK_IN     ? p->n_late
                    : k == VK_EARLY_CLOCK_OUT ? p->n_early
                                              : 0;
        if (json_is_object(pct) && bands) {
                const char *key;
                const json_t *val;
                json_object_foreach((json_t *)pct, key, val)
                {
                        bool known = false;
                        for (size_t i = 0; i < nb; i++)
                                known |= strcmp(bands[i].name, key) == 0;
                        if (!known)
                                return jsonv_fail(
                                    v, jsonv_key(bp, sizeof(bp), pp, key),
                                    "no band of that name");
                }
                for (size_t i = 0; i < nb; i++) {
                        const json_t *val2 =
                            json_object_get(pct, bands[i].name);
                        jsonv_key(bp, sizeof(bp), pp, bands[i].name);
                        if (!val2)
                                return jsonv_fail(v, bp, "missing");
                        if (!jsonv_num(v, val2, bp, 0, &bands[i].pct))
                                return false;
                        bands[i].pct_u = jsonv_percent_micro(bands[i].pct);
                }
                return true;
        }
        if (!json_is_number(pct))
                return jsonv_fail(v, pp,
                                  bands ? "expected a number or an object of "
                                          "band percentages"
                                        : "expected a number");
        if (!jsonv_num(v, pct, pp, 0, &pk->pct))
                return false;
        pk->pct_u = jsonv_percent_micro(pk->pct);
        for (size_t i = 0; i < nb; i++) {
                bands[i].pct = pk->pct;
                bands[i].pct_u = pk->pct_u;
        }
        return true;
}

static bool load_ladder(const jsonv_t *v, const json_t *disc, const char *key,
                        const char *from_key, policy_ladder_step_t **out,
                        size_t *n_out)
{
        char path[256], p2[256];
        jsonv_key(p2, sizeof(p2), "discipline", key);
        const json_t *arr = jsonv_get(v, disc, "discipline", key, JSON_ARRAY);
        if (!arr)
                return false;
        size_t n = json_array_size(arr);
        policy_ladder_step_t *s = calloc(n ? n : 1, sizeof(*s));
        if (!s)
                return jsonv_fail(v, p2, "out of memory");
        *out = s;
        *n_out = n;
        for (size_t i = 0; i < n; i++) {
                const json_t *e = json_array_get(arr, i);
                jsonv_idx(path, sizeof(path), p2, i);
                if (!json_is_object(e))
                        return jsonv_fail(v, path, "expected an object");
                if (!jsonv_int(v, e, path, from_key, 0, INT32_MAX,
                               &s[i].from) ||
                    !copy_str(v, e, path, "level", s[i].level,
                              sizeof(s[i].level)) ||
                    !copy_str(v, e, path, "sanction", s[i].sanction,
                              sizeof(s[i].sanction)))
                        return false;
                if (i > 0 && s[i].from <= s[i - 1].from)
                        return jsonv_fail(v, path, "steps must ascend by %s",
                                          from_key);
        }
        return true;
}

static bool load_discipline(const jsonv_t *v, const json_t *disc, policy_t *p)
{
        char path[256];
        if (!json_is_object(disc))
                return jsonv_fail(v, "discipline", "expected an object");
        p->has_discipline = true;
        if (!jsonv_int(v, disc, "discipline", "minutes_per_day", 1, 100000,
                       &p->minutes_per_day))
                return false;
        const json_t *m =
            jsonv_get(v, disc, "discipline", "minutes", JSON_OBJECT);
        if (!m)
                return false;
        for (int k = 0; k < VK__COUNT; k++)
                p->discipline_minutes[k] = 0;
        const char *key;
        const json_t *val;
        json_object_foreach((json_t *)m, key, val)
        {
                jsonv_key(path, sizeof(path), "discipline.minutes", key);
                int k = vkind_from_name(key);
                if (k < 0)
                        return jsonv_fail(v, path, "unknown violation kind");
                if (json_is_string(val) &&
                    strcmp(json_string_value(val), "actual") == 0)
                        p->discipline_minutes[k] = -1;
                else if (json_is_integer(val) && json_integer_value(val) >= 0)
                        p->discipline_minutes[k] = json_integer_value(val);
                else
                        return jsonv_fail(v, path,
                                          "expected \"actual\" or an "
                                          "integer >= 0");
        }
        return load_ladder(v, disc, "ladder", "from_days", &p->ladder,
                           &p->n_ladder) &&
               load_ladder(v, disc, "call_ladder", "from_count",
                           &p->call_ladder, &p->n_call_ladder);
}

static bool load_root(const jsonv_t *v, const json_t *root, policy_t *p,
                      char *errstr, size_t errstr_size)
{
        char path[256];
        if (!json_is_object(root))
                return jsonv_fail(v, "", "expected a JSON object");
        const char *id;
        if (!jsonv_str(v, root, "", "policy_id", &id))
                return false;
        if (!jsonv_is_identifier(id, strlen(id)))
                return jsonv_fail(v, "policy_id",
                                  "expected an identifier (1-64 of "
                                  "[A-Za-z0-9._:-])");
        memcpy(p->policy_id, id, strlen(id) + 1);
        if (!jsonv_int(v, root, "", "version", 0, INT32_MAX, &p->version))
                return false;
        snprintf(p->label, sizeof(p->label), "%s/%lld", p->policy_id,
                 (long long)p->version);
        if (!copy_str(v, root, "", "timezone", p->timezone,
                      sizeof(p->timezone)))
                return false;
        char tzerr[256];
        p->tz = tz_load(p->timezone, tzerr, sizeof(tzerr));
        if (!p->tz)
                return jsonv_fail(v, "timezone", "%s", tzerr);
        if (!load_weekdays(v, root, "workdays", p->workday))
                return false;
        const json_t *hours = jsonv_get(v, root, "", "hours", JSON_OBJECT);
        if (!hours ||
            !policy_parse_hours(v, hours, "hours", p->has_hours, p->hours))
                return false;
        for (int wd = 0; wd < 7; wd++)
                if (p->workday[wd] && !p->has_hours[wd])
                        return jsonv_fail(v,
                                          jsonv_key(path, sizeof(path), "hours",
                                                    ptime_weekday_name(wd)),
                                          "missing for a workday");
        if (!load_weekdays(v, root, "wfh_days", p->wfh_day))
                return false;
        const json_t *from = json_object_get(root, "wfh_from");
        if (from && !json_is_null(from)) {
                if (!json_is_string(from) ||
                    !ptime_parse_date(json_string_value(from),
                                      json_string_length(from), &p->wfh_from))
                        return jsonv_fail(v, "wfh_from",
                                          "expected a date YYYY-MM-DD or null");
                p->has_wfh_from = true;
        }
        if (!load_names(v, root, "wfh_exempt_positions",
                        policy_position_from_name, p->exempt_position) ||
            !load_names(v, root, "wfh_exempt_services",
                        policy_service_from_name, p->exempt_service))
                return false;
        if (!load_bands(v, root, "late_bands", &p->late, &p->n_late) ||
            !load_bands(v, root, "early_bands", &p->early, &p->n_early))
                return false;
        if (!jsonv_int(v, root, "", "not_clocked_in_alert_minutes", 0, 1440,
                       &p->not_clocked_in_alert_minutes) ||
            !jsonv_int(v, root, "", "callback_minutes", 0, 1440,
                       &p->callback_minutes) ||
            !jsonv_int(v, root, "", "amend_horizon_days", 0, 3660,
                       &p->amend_horizon_days))
                return false;
        const json_t *viol = jsonv_get(v, root, "", "violations", JSON_OBJECT);
        if (!viol)
                return false;
        const char *key;
        const json_t *val;
        json_object_foreach((json_t *)viol, key, val)
        {
                if (vkind_from_name(key) < 0)
                        return jsonv_fail(
                            v, jsonv_key(path, sizeof(path), "violations", key),
                            "unknown violation kind");
        }
        for (int k = 0; k < VK__COUNT; k++)
                if (!load_kind(v, viol, (vkind_t)k, p))
                        return false;
        const json_t *cap = json_object_get(root, "tpp_monthly_cap_percent");
        if (!cap)
                return jsonv_fail(v, "tpp_monthly_cap_percent", "missing");
        if (!jsonv_num(v, cap, "tpp_monthly_cap_percent", 0, &p->cap_pct))
                return false;
        p->cap_pct_u = jsonv_percent_micro(p->cap_pct);
        const json_t *disc = json_object_get(root, "discipline");
        if (disc && !load_discipline(v, disc, p))
                return false;
        (void)errstr;
        (void)errstr_size;
        return true;
}

policy_t *policy_load_buffer(const char *buf, size_t len, const char *what,
                             char *errstr, size_t errstr_size)
{
        jsonv_t v = {what, errstr, errstr_size};
        const char *text = jsonv_skip_bom(buf, len);
        size_t n = len - (size_t)(text - buf);
        /* A NUL byte is never JSON text.  Read as a C string, a file
         * with one after a valid document loaded with the rest unseen,
         * and jansson does not refuse every raw NUL on its own. */
        const char *nul = memchr(text, '\0', n);
        if (nul) {
                jsonv_fail(&v, "", "a NUL byte at offset %zu (not a text file)",
                           (size_t)(nul - buf));
                return NULL;
        }
        json_error_t jerr;
        json_t *root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                jsonv_fail(&v, "", "not valid JSON (line %d: %s)", jerr.line,
                           jerr.text);
                return NULL;
        }
        policy_t *p = calloc(1, sizeof(*p));
        if (!p) {
                json_decref(root);
                jsonv_fail(&v, "", "out of memory");
                return NULL;
        }
        bool ok = load_root(&v, root, p, errstr, errstr_size);
        json_decref(root);
        if (!ok) {
                policy_free(p);
                return NULL;
        }
        return p;
}

policy_t *policy_load_string(const char *json, const char *what, char *errstr,
                             size_t errstr_size)
{
        return policy_load_buffer(json, strlen(json), what, errstr,
                                  errstr_size);
}

policy_t *policy_load(const char *path, char *errstr, size_t errstr_size)
{
        char what[512];
        snprintf(what, sizeof(what), "policy file %s", path);
        size_t len;
        char *buf = jsonv_slurp(path, &len);
        if (!buf) {
                snprintf(errstr, errstr_size, "%s: cannot read", what);
                return NULL;
        }
        policy_t *p = policy_load_buffer(buf, len, what, errstr, errstr_size);
        free(buf);
        return p;
}

void policy_free(policy_t *p)
{
        if (!p)
                return;
        tz_free(p->tz);
        free(p->late);
        free(p->early);
        free(p->ladder);
        free(p->call_ladder);
        free(p);
}
