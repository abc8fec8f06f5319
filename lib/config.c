#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "doc.h"
#include "duration.h"

static const char *const rfc1918[] = { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16" };
/* what upstream adds for --nomasq-all-reserved-ranges */
static const char *const more_reserved[] = {
        "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24",
        "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4",
};

enum config_key {
        KEY_NOMASQ_DST,
        KEY_NOMASQ_SRC,
        KEY_MASQ_LINK_LOCAL,
        KEY_MASQ_LINK_LOCAL_IPV6,
        KEY_RESYNC_INTERVAL,
        KEY_CIDR_LIMIT,
        _KEY_COUNT,
};

/* The exact spellings are upstream's JSON tags (and ours for the TKE source key). */
static const char *const key_names[_KEY_COUNT] = {
        [KEY_NOMASQ_DST] = "nonMasqueradeCIDRs",
        [KEY_NOMASQ_SRC] = "nonMasqueradeSrcCIDRs",
        [KEY_MASQ_LINK_LOCAL] = "masqLinkLocal",
        [KEY_MASQ_LINK_LOCAL_IPV6] = "masqLinkLocalIPv6",
        [KEY_RESYNC_INTERVAL] = "resyncInterval",
        [KEY_CIDR_LIMIT] = "cidrLimit",
};

struct ima_config *ima_config_free(struct ima_config *c)
{
        if (c) {
                free(c->nomasq_dst);
                free(c->nomasq_src);
                free(c);
        }
        return NULL;
}

static int cidrs_from_strings(const char *const *list, size_t n, struct ima_cidr **ret)
{
        struct ima_cidr *v = calloc(n, sizeof(*v));

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int r = ima_cidr_parse(list[i], strlen(list[i]), &v[i], NULL);

                if (r < 0) {
                        free(v);
                        return r;
                }
        }
        *ret = v;
        return 0;
}

int ima_config_new_defaults(const struct ima_config_options *o, struct ima_config **ret)
{
        _cleanup_(ima_config_freep) struct ima_config *c = calloc(1, sizeof(*c));
        const char *list[ARRAY_SIZE(rfc1918) + ARRAY_SIZE(more_reserved)];
        size_t n = 0;
        int r;

        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < ARRAY_SIZE(rfc1918); i++)
                list[n++] = rfc1918[i];
        for (size_t i = 0; o->nomasq_all_reserved_ranges && i < ARRAY_SIZE(more_reserved); i++)
                list[n++] = more_reserved[i];
        r = cidrs_from_strings(list, n, &c->nomasq_dst);
        if (r < 0)
                return r;
        c->n_nomasq_dst = n;
        c->source = IMA_CONFIG_SOURCE_DEFAULTS;
        c->resync_interval_nsec = IMA_CONFIG_DEFAULT_RESYNC_NSEC;
        c->cidr_limit = IMA_CONFIG_DEFAULT_CIDR_LIMIT;
        *ret = TAKE_PTR(c);
        return 0;
}

/* Go's encoding/json: the exact field name, else an ASCII case-insensitive match. */
static int match_key(const struct ima_doc_entry *e)
{
        if (strlen(e->key) != e->key_len)
                return -1;
        for (int k = 0; k < _KEY_COUNT; k++)
                if (strcmp(e->key, key_names[k]) == 0)
                        return k;
        for (int k = 0; k < _KEY_COUNT; k++)
                if (strcasecmp(e->key, key_names[k]) == 0)
                        return k;
        return -1;
}

static unsigned edit_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        unsigned row[64];

        if (lb >= ARRAY_SIZE(row) || la >= 64)
                return 99;
        for (size_t j = 0; j <= lb; j++)
                row[j] = (unsigned)j;
        for (size_t i = 1; i <= la; i++) {
                unsigned diag = row[0];

                row[0] = (unsigned)i;
                for (size_t j = 1; j <= lb; j++) {
                        unsigned up = row[j];
                        unsigned cost = (a[i - 1] | 0x20) == (b[j - 1] | 0x20) ? 0 : 1;
                        unsigned best = diag + cost;

                        if (up + 1 < best)
                                best = up + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        row[j] = best;
                        diag = up;
                }
        }
        return row[lb];
}

/* Ignores case, '_' and '-': "non_masquerade_cidrs" is then nonMasqueradeCIDRs. */
static bool loosely_equal(const char *a, const char *b)
{
        for (;;) {
                while (*a == '_' || *a == '-')
                        a++;
                while (*b == '_' || *b == '-')
                        b++;
                if ((*a | 0x20) != (*b | 0x20))
                        return false;
                if (!*a)
                        return true;
                a++;
                b++;
        }
}

static int warn_unknown_key(struct ima_diag *diag, const struct ima_doc_entry *e)
{
        const char *best = NULL;
        unsigned best_d = 4;

        for (int k = 0; k < _KEY_COUNT; k++) {
                unsigned d = loosely_equal(e->key, key_names[k]) ? 0 : edit_distance(e->key, key_names[k]);

                if (d < best_d) {
                        best_d = d;
                        best = key_names[k];
                }
        }
        if (best)
                return ima_diag_warn(diag, e->key_pos, e->key, NULL, "unknown key ignored; did you mean %s?", best);
        return ima_diag_warn(diag, e->key_pos, e->key, NULL, "unknown key ignored");
}

struct parse_state {
        const struct ima_config_options *opts;
        struct ima_diag *diag;
        struct ima_config *config;
};

static int parse_cidr_item(struct parse_state *s, const char *key, size_t index,
                           const struct ima_doc_node *item, struct ima_cidr *ret)
{
        char name[64], aligned[IMA_ADDR_STRLEN + 4];
        const char *reason = NULL;
        struct ima_cidr c, fixed;

        snprintf(name, sizeof(name), "%s[%zu]", key, index);
        if (item->type != IMA_DOC_STRING)
                return ima_diag_error(s->diag, item->pos, name, item->text,
                                      "expected a CIDR string, got %s", ima_doc_type_name(item->type));
        if (item->text_len == 0)
                return ima_diag_error(s->diag, item->pos, name, item->text, "empty CIDR");
        if (ima_cidr_parse(item->text, item->text_len, &c, &reason) < 0)
                return ima_diag_error(s->diag, item->pos, name, item->text, "invalid CIDR: %s", reason);
        if (!ima_cidr_is_aligned(&c)) {
                fixed = c;
                fixed.addr = ima_cidr_first(&c);
                ima_cidr_format(&fixed, aligned);
                return ima_diag_error(s->diag, item->pos, name, item->text,
                                      "host bits are set; the network is %s", aligned);
        }
        if (ima_cidr_is_v4mapped(&c))
                return ima_diag_error(s->diag, item->pos, name, item->text,
                                      "IPv4-mapped IPv6 prefixes are not supported; write the IPv4 CIDR instead");
        if (c.family == IMA_FAMILY_IPV6 && !s->opts->enable_ipv6)
                return ima_diag_error(s->diag, item->pos, name, item->text,
                                      "IPv6 CIDR given but IPv6 is not enabled; pass --enable-ipv6");
        *ret = c;
        return 0;
}

static int parse_cidr_list(struct parse_state *s, const struct ima_doc_entry *e, enum config_key k,
                           struct ima_cidr **list, size_t *n_list)
{
        const struct ima_doc_node *v = e->value;
        _cleanup_free_ struct ima_cidr *out = NULL;
        size_t n = 0;
        int r = 0;

        if (v->type == IMA_DOC_NULL) { /* JSON null into a Go slice: empty */
                free(*list);
                *list = NULL;
                *n_list = 0;
                return 0;
        }
        if (v->type != IMA_DOC_SEQ)
                return ima_diag_error(s->diag, v->pos, e->key, v->text, "expected a list of CIDR strings, got %s",
                                      ima_doc_type_name(v->type));
        out = calloc(v->n ? v->n : 1, sizeof(*out));
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < v->n; i++) {
                int q = parse_cidr_item(s, key_names[k], i, v->items[i], &out[n]);

                if (q == -ENOMEM)
                        return q;
                if (q < 0)
                        r = q; /* keep going: report every bad item */
                else
                        n++;
        }
        if (r < 0)
                return r;
        free(*list);
        *list = TAKE_PTR(out);
        *n_list = n;
        return 0;
}

static int parse_bool(struct parse_state *s, const struct ima_doc_entry *e, bool *ret)
{
        if (e->value->type == IMA_DOC_NULL)
                return 0; /* Go leaves a bool untouched on null */
        if (e->value->type != IMA_DOC_BOOL)
                return ima_diag_error(s->diag, e->value->pos, e->key, e->value->text,
                                      "expected true or false, got %s", ima_doc_type_name(e->value->type));
        *ret = e->value->boolean;
        return 0;
}

static int parse_cidr_limit(struct parse_state *s, const struct ima_doc_entry *e)
{
        const struct ima_doc_node *v = e->value;
        char *end;
        long long n;

        if (v->type == IMA_DOC_NULL)
                return 0;
        if (v->type != IMA_DOC_NUMBER)
                return ima_diag_error(s->diag, v->pos, e->key, v->text, "expected an integer, got %s",
                                      ima_doc_type_name(v->type));
        errno = 0;
        n = strtoll(v->text, &end, 10);
        if (*end != '\0' || errno == ERANGE)
                return ima_diag_error(s->diag, v->pos, e->key, v->text, "expected an integer");
        s->config->cidr_limit = n;
        return 0;
}

static int parse_resync(struct parse_state *s, const struct ima_doc_entry *e)
{
        const struct ima_doc_node *v = e->value;
        char text[IMA_DURATION_STRLEN];
        const char *reason = NULL;
        int64_t nsec;

        if (v->type != IMA_DOC_STRING)
                return ima_diag_error(s->diag, v->pos, e->key, v->text,
                                      "expected a duration string such as \"1m0s\", got %s",
                                      ima_doc_type_name(v->type));
        if (ima_duration_parse(v->text, v->text_len, &nsec, &reason) < 0)
                return ima_diag_error(s->diag, v->pos, e->key, v->text, "invalid duration: %s", reason);
        if (nsec <= 0) {
                ima_duration_format(nsec, text);
                return ima_diag_error(s->diag, v->pos, e->key, v->text,
                                      "must be positive (got %s); upstream would spin re-applying rules", text);
        }
        s->config->resync_interval_nsec = nsec;
        return 0;
}

static int apply_entry(struct parse_state *s, const struct ima_doc_entry *e, enum config_key k)
{
        struct ima_config *c = s->config;

        switch (k) {
        case KEY_NOMASQ_DST:
                return parse_cidr_list(s, e, k, &c->nomasq_dst, &c->n_nomasq_dst);
        case KEY_NOMASQ_SRC:
                return parse_cidr_list(s, e, k, &c->nomasq_src, &c->n_nomasq_src);
        case KEY_MASQ_LINK_LOCAL:
                return parse_bool(s, e, &c->masq_link_local);
        case KEY_MASQ_LINK_LOCAL_IPV6:
                return parse_bool(s, e, &c->masq_link_local_ipv6);
        case KEY_RESYNC_INTERVAL:
                return parse_resync(s, e);
        case KEY_CIDR_LIMIT:
                return parse_cidr_limit(s, e);
        case _KEY_COUNT:
                break;
        }
        return -EINVAL;
}

static int check_limit(struct parse_state *s, const struct ima_doc_entry *e, size_t n)
{
        if (!e || (int64_t)n <= s->config->cidr_limit)
                return 0;
        return ima_diag_error(s->diag, e->key_pos, e->key, NULL,
                              "%zu CIDRs given but CidrLimit is %" PRId64 " (raise CidrLimit if this is intended)",
                              n, s->config->cidr_limit);
}

static int config_from_doc(struct parse_state *s, const struct ima_doc_node *root)
{
        const struct ima_doc_entry *winner[_KEY_COUNT] = { 0 };
        int r = 0, q;

        if (!root)
                return 0;
        if (root->type != IMA_DOC_MAP)
                return ima_diag_error(s->diag, root->pos, NULL, root->text,
                                      "the configuration must be a mapping of keys, got %s",
                                      ima_doc_type_name(root->type));
        for (size_t i = 0; i < root->n; i++) {
                const struct ima_doc_entry *e = &root->entries[i];
                int k = match_key(e);

                if (k < 0) {
                        q = warn_unknown_key(s->diag, e);
                        if (q < 0)
                                return q;
                        continue;
                }
                winner[k] = e; /* the last one wins, as in Go */
                q = apply_entry(s, e, (enum config_key)k);
                if (q == -ENOMEM)
                        return q;
                if (q < 0)
                        r = q;
        }
        if (r < 0)
                return r;
        if (winner[KEY_NOMASQ_DST] && s->config->n_nomasq_dst == 0) {
                q = ima_diag_warn(s->diag, winner[KEY_NOMASQ_DST]->key_pos, winner[KEY_NOMASQ_DST]->key, NULL,
                                  "empty list: all pod traffic except link-local will be masqueraded");
                if (q < 0)
                        return q;
        }
        r = check_limit(s, winner[KEY_NOMASQ_DST], s->config->n_nomasq_dst);
        q = check_limit(s, winner[KEY_NOMASQ_SRC], s->config->n_nomasq_src);
        return r < 0 ? r : q;
}

int ima_config_parse(const char *buf, size_t len, const struct ima_config_options *o,
                     struct ima_diag *diag, struct ima_config **ret)
{
        _cleanup_(ima_config_freep) struct ima_config *c = NULL;
        _cleanup_(ima_doc_freep) struct ima_doc_node *root = NULL;
        struct parse_state s;
        int r;

        r = ima_config_new_defaults(o, &c);
        if (r < 0)
                return r;
        c->source = IMA_CONFIG_SOURCE_FILE;
        r = ima_doc_parse(buf, len, diag, &root);
        if (r < 0)
                return r;
        s = (struct parse_state){ .opts = o, .diag = diag, .config = c };
        r = config_from_doc(&s, root);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

static int read_file(const char *path, struct ima_diag *diag, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct ima_pos nowhere = { 0, 0 };
        struct stat st;
        size_t len = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return errno == ENOENT ? -ENOENT
                                       : ima_diag_error(diag, nowhere, NULL, NULL, "cannot open: %m");
        if (fstat(fd, &st) < 0)
                return ima_diag_error(diag, nowhere, NULL, NULL, "cannot stat: %m");
        if (!S_ISREG(st.st_mode))
                return ima_diag_error(diag, nowhere, NULL, NULL, "not a regular file");
        if (st.st_size > (off_t)IMA_CONFIG_MAX_BYTES)
                return ima_diag_error(diag, nowhere, NULL, NULL, "file is %jd bytes; the limit is %u",
                                      (intmax_t)st.st_size, IMA_CONFIG_MAX_BYTES);
        buf = malloc(IMA_CONFIG_MAX_BYTES + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + len, IMA_CONFIG_MAX_BYTES + 1 - len);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return ima_diag_error(diag, nowhere, NULL, NULL, "cannot read: %m");
                if (k == 0)
                        break;
                len += (size_t)k;
                if (len > IMA_CONFIG_MAX_BYTES) /* grew after fstat */
                        return ima_diag_error(diag, nowhere, NULL, NULL, "file is larger than %u bytes",
                                              IMA_CONFIG_MAX_BYTES);
        }
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

int ima_config_load(const char *path, const struct ima_config_options *o, struct ima_diag *diag,
                    struct ima_config **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r;

        r = read_file(path, diag, &buf, &len);
        if (r == -ENOENT)
                return ima_config_new_defaults(o, ret);
        if (r < 0)
                return r;
        return ima_config_parse(buf, len, o, diag, ret);
}

static json_t *cidr_array(const struct ima_cidr *v, size_t n)
{
        json_t *a = json_array();

        for (size_t i = 0; a && i < n; i++) {
                char text[IMA_ADDR_STRLEN + 4];

                ima_cidr_format(&v[i], text);
                if (json_array_append_new(a, json_string(text)) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

char *ima_config_to_json(const struct ima_config *c)
{
        char interval[IMA_DURATION_STRLEN];
        json_t *o;
        char *text, *out;

        ima_duration_format(c->resync_interval_nsec, interval);
        o = json_pack("{s:o?, s:o?, s:I, s:b, s:b, s:s}",
                      "nonMasqueradeCIDRs", cidr_array(c->nomasq_dst, c->n_nomasq_dst),
                      "nonMasqueradeSrcCIDRs", cidr_array(c->nomasq_src, c->n_nomasq_src),
                      "cidrLimit", (json_int_t)c->cidr_limit,
                      "masqLinkLocal", c->masq_link_local,
                      "masqLinkLocalIPv6", c->masq_link_local_ipv6,
                      "resyncInterval", interval);
        if (!o)
                return NULL;
        text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
        json_decref(o);
        if (!text)
                return NULL;
        if (asprintf(&out, "%s\n", text) < 0)
                out = NULL;
        free(text);
        return out;
}
