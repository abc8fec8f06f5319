#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "config.h"
#include "doc.h"
#include "duration.h"
#include "goconv.h"
#include "json-text.h"
#include "model.h"

/* doc.h sizes the bound on alias expansion by the largest file */
_Static_assert(IMA_DOC_MAX_ALIAS_BYTES == IMA_CONFIG_MAX_BYTES, "IMA_DOC_MAX_ALIAS_BYTES follows the file bound");

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

static char ascii_lower(char c)
{
        return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Longest key that can fold into one of ours: 21 letters of at most 3 bytes each, and a NUL. */
#define FOLDED_KEY_MAX 64

/* The key as Go's encoding/json compares it with our ASCII names, case aside: since Go 1.21 it
 * folds each non-ASCII rune r as ToUpper(ToLower(r)), and four letters fold into ASCII that way:
 * U+017F long s (S), U+212A Kelvin sign (K), U+0131 dotless i and U+0130 dotted I (I). false if
 * the key is too long to be one of ours. */
static bool go_fold_to_ascii(const char *key, char out[static FOLDED_KEY_MAX])
{
        static const struct {
                const char *utf8;
                char ascii;
        } folds[] = { { "\xc5\xbf", 's' }, { "\xe2\x84\xaa", 'k' }, { "\xc4\xb1", 'i' }, { "\xc4\xb0", 'i' } };
        size_t n = 0;

        if (strlen(key) >= FOLDED_KEY_MAX)
                return false;
        while (*key) {
                size_t i;

                for (i = 0; i < ARRAY_SIZE(folds); i++)
                        if (strncmp(key, folds[i].utf8, strlen(folds[i].utf8)) == 0)
                                break;
                if (i < ARRAY_SIZE(folds)) {
                        out[n++] = folds[i].ascii;
                        key += strlen(folds[i].utf8);
                } else {
                        out[n++] = *key++;
                }
        }
        out[n] = '\0';
        return true;
}

/* Go's encoding/json: the exact field name, else a case-insensitive match as Go folds names. */
static int match_key(const struct ima_doc_entry *e)
{
        char folded[FOLDED_KEY_MAX];

        if (strlen(e->key) != e->key_len)
                return -1;
        for (int k = 0; k < _KEY_COUNT; k++)
                if (strcmp(e->key, key_names[k]) == 0)
                        return k;
        if (!go_fold_to_ascii(e->key, folded))
                return -1;
        for (int k = 0; k < _KEY_COUNT; k++)
                if (strcasecmp(folded, key_names[k]) == 0)
                        return k;
        return -1;
}

/* Levenshtein distance ignoring ASCII case; 99 for keys too long to be a typo of ours. */
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
                        unsigned cost = ascii_lower(a[i - 1]) == ascii_lower(b[j - 1]) ? 0 : 1;
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

/* Equal ignoring case, '_' and '-': "non_masquerade_cidrs" is then nonMasqueradeCIDRs. */
static bool loosely_equal(const char *a, const char *b)
{
        for (;;) {
                while (*a == '_' || *a == '-')
                        a++;
                while (*b == '_' || *b == '-')
                        b++;
                if (ascii_lower(*a) != ascii_lower(*b))
                        return false;
                if (!*a) /* both ended */
                        return true;
                a++;
                b++;
        }
}

/* How many characters a and b end alike, ASCII case aside. */
static size_t common_suffix(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b), n = 0;

        while (n < la && n < lb && tolower((unsigned char)a[la - 1 - n]) == tolower((unsigned char)b[lb - 1 - n]))
                n++;
        return n;
}

static int warn_unknown_key(struct ima_diag *diag, const struct ima_doc_entry *e)
{
        /* settings people put in the file that are command-line flags of the agent */
        static const char *const flags[] = { "enable-ipv6", "masq-chain", "to-ports", "random-fully",
                                             "nomasq-all-reserved-ranges" };
        char folded[FOLDED_KEY_MAX];
        const char *best = NULL, *key;
        unsigned best_d = 4;

        /* "masqLinkLocal\u0000x" would read as masqLinkLocal below, a puzzling "did you mean" */
        if (strlen(e->key) != e->key_len)
                return ima_diag_warn(diag, e->key_pos, e->key, NULL,
                                     "unknown key ignored: a NUL character (\\u0000) follows the text shown");
        /* compared as Go would have read it: maſq_link_local is a typo of masqLinkLocal too */
        key = go_fold_to_ascii(e->key, folded) ? folded : e->key;
        for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
                if (loosely_equal(key, flags[i]))
                        return ima_diag_warn(diag, e->key_pos, e->key, NULL,
                                             "unknown key ignored; this is a command-line flag (--%s), not a "
                                             "configuration key", flags[i]);
        for (int k = 0; k < _KEY_COUNT; k++) {
                unsigned d = loosely_equal(key, key_names[k]) ? 0 : edit_distance(key, key_names[k]);

                /* at a tie the key that ends alike: masqLinkLocalV6 means masqLinkLocalIPv6 */
                if (d < best_d || (d == best_d && best && common_suffix(key, key_names[k]) >
                                                          common_suffix(key, best))) {
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
        bool json;
        /* per key: every occurrence in decoding order (the last one decides, as in Go) */
        const struct ima_doc_entry **seen[_KEY_COUNT];
        size_t n_seen[_KEY_COUNT];
};

static void parse_state_done(struct parse_state *s)
{
        for (int k = 0; k < _KEY_COUNT; k++)
                free(s->seen[k]);
}

static const char *a_type(enum ima_doc_type t)
{
        static const char *const names[] = {
                [IMA_DOC_NULL] = "null", [IMA_DOC_BOOL] = "a boolean", [IMA_DOC_NUMBER] = "a number",
                [IMA_DOC_STRING] = "a string", [IMA_DOC_SEQ] = "a list", [IMA_DOC_MAP] = "a mapping",
                [IMA_DOC_INVALID] = "an invalid value",
        };
        return names[t];
}

/* The value as the file wrote it, for messages: "yes" rather than true, "0x40" rather than 64. */
static const char *value_text(const struct ima_doc_node *v)
{
        if (v->source)
                return v->source;
        if (v->type == IMA_DOC_BOOL)
                return v->boolean ? "true" : "false";
        return v->text; /* strings and numbers; NULL for the rest */
}

/* An error about value v (NULL: none) under key: v is quoted as the file wrote it, whole, NULs
 * included. */
static int _printf_(5, 6) node_error(struct parse_state *s, struct ima_pos pos, const char *key,
                                     const struct ima_doc_node *v, const char *fmt, ...)
{
        const char *text = v && !(v->type == IMA_DOC_NULL && !(v->source && *v->source)) ? value_text(v) : NULL;
        size_t len = !text ? 0 : text == v->text ? v->text_len : strlen(text);
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return ima_diag_error_n(s->diag, pos, key, text, len, "%s", msg);
}

/* The checks Go's decoder makes while it decodes one occurrence of a list key: type errors are
 * errors even when a later occurrence replaces the value. */
static int check_list_types(struct parse_state *s, const struct ima_doc_entry *e)
{
        const struct ima_doc_node *v = e->value;
        char name[256];
        int r = 0;

        if (v->type == IMA_DOC_NULL) /* null into a Go slice: empty list */
                return 0;
        if (v->type == IMA_DOC_INVALID) /* reported by the YAML reader */
                return -EINVAL;
        if (v->type == IMA_DOC_STRING) {
                /* the hint in the file's own syntax: JSON needs the quotes, and so does an IPv6
                 * CIDR in a YAML flow list, where a ':' would not read as part of it */
                bool quote = s->json || strchr(v->text, ':');

                return node_error(s, v->pos, e->key, v,
                                  "expected a list of CIDR strings, got a single string; write it as a "
                                  "list: [%s%s%s]", quote ? "\"" : "", v->text, quote ? "\"" : "");
        }
        if (v->type != IMA_DOC_SEQ)
                return node_error(s, v->pos, e->key, v,
                                  "expected a list of CIDR strings, got %s", a_type(v->type));
        for (size_t i = 0; i < v->n; i++) {
                const struct ima_doc_node *item = v->items[i];
                int q;

                if (item->type == IMA_DOC_STRING || item->type == IMA_DOC_NULL)
                        continue;
                if (item->type == IMA_DOC_INVALID) {
                        r = -EINVAL;
                        continue;
                }
                snprintf(name, sizeof(name), "%s[%zu]", e->key, i);
                q = node_error(s, item->pos, name, item,
                               "expected a CIDR string, got %s", a_type(item->type));
                if (q == -ENOMEM)
                        return q;
                r = q;
        }
        return r;
}

static int check_bool(struct parse_state *s, const struct ima_doc_entry *e, bool *ret)
{
        const struct ima_doc_node *v = e->value;

        if (v->type == IMA_DOC_NULL)
                return 0; /* Go leaves a bool untouched on null */
        if (v->type == IMA_DOC_INVALID)
                return -EINVAL;
        if (v->type == IMA_DOC_BOOL) {
                *ret = v->boolean;
                return 0;
        }
        /* the hint must give a file both syntaxes accept: JSON knows only lower-case true */
        if (v->type == IMA_DOC_STRING && (strcasecmp(v->text, "true") == 0 || strcasecmp(v->text, "false") == 0)) {
                bool t = strcasecmp(v->text, "true") == 0;

                /* In YAML a plain tRUE is a string too: no quotes to remove. YAML 1.1 spells the
                 * word as a boolean only true, True or TRUE (false, False, FALSE); any of those
                 * that is a string was quoted (or tagged). */
                if (!s->json && strcmp(v->text, t ? "true" : "false") != 0 &&
                    strcmp(v->text, t ? "True" : "False") != 0 && strcmp(v->text, t ? "TRUE" : "FALSE") != 0)
                        return node_error(s, v->pos, e->key, v,
                                          "expected true or false, got a string; YAML spells it only as %s: "
                                          "write %s", t ? "true, True or TRUE" : "false, False or FALSE",
                                          t ? "true" : "false");
                return node_error(s, v->pos, e->key, v,
                                  "expected true or false, got a string; write %s without quotes",
                                  t ? "true" : "false");
        }
        return node_error(s, v->pos, e->key, v, "expected true or false, got %s",
                          a_type(v->type));
}

/* Go's strconv.ParseInt(text, 10, 64) on the JSON literal: no fraction, no exponent. */
static int check_cidr_limit(struct parse_state *s, const struct ima_doc_entry *e)
{
        const struct ima_doc_node *v = e->value;
        int64_t n;
        uint64_t u;

        if (v->type == IMA_DOC_NULL)
                return 0; /* Go leaves an int untouched on null */
        if (v->type == IMA_DOC_INVALID)
                return -EINVAL;
        /* "+64" or "064" would not read back as 64 in both syntaxes: suggest the plain decimal */
        if (v->type == IMA_DOC_STRING && ima_go_parse_int(v->text, 10, &n, &u) == IMA_GO_INT)
                return node_error(s, v->pos, e->key, v,
                                  "expected an integer, got a string; write %" PRId64 " without quotes", n);
        if (v->type != IMA_DOC_NUMBER)
                return node_error(s, v->pos, e->key, v, "expected an integer, got %s",
                                  a_type(v->type));
        if (v->text[strcspn(v->text, ".eE")] != '\0')
                return node_error(s, v->pos, e->key, v,
                                  "expected an integer, got a number with a fraction or exponent%s",
                                  s->json ? " (JSON numbers for CidrLimit must be written as integers)" : "");
        if (ima_go_parse_int(v->text, 10, &n, &u) != IMA_GO_INT)
                return node_error(s, v->pos, e->key, v, "integer out of range");
        s->config->cidr_limit = n;
        return 0;
}

static int check_resync(struct parse_state *s, const struct ima_doc_entry *e)
{
        const struct ima_doc_node *v = e->value;
        const char *reason = NULL;
        int64_t nsec;

        if (v->type == IMA_DOC_INVALID)
                return -EINVAL;
        if (v->type == IMA_DOC_NULL) /* upstream parses null as the empty duration */
                return ima_diag_error(s->diag, v->pos, e->key, NULL,
                                      "null is not a duration; give one such as \"1m0s\", or remove the key "
                                      "for the default of 1m0s");
        if (v->type != IMA_DOC_STRING)
                return node_error(s, v->pos, e->key, v,
                                  "expected a duration string such as \"60s\" or \"1m0s\", got %s%s",
                                  a_type(v->type), v->type == IMA_DOC_NUMBER ? "; add a unit" : "");
        if (ima_duration_parse(v->text, v->text_len, &nsec, &reason) < 0)
                return node_error(s, v->pos, e->key, v,
                                  "invalid duration (%s); write decimal numbers each followed by a unit "
                                  "(ns, us, µs, ms, s, m, h), such as \"90s\", \"1m30s\" or \"1.5h\"",
                                  reason);
        s->config->resync_interval_nsec = nsec;
        return 0;
}

/* One occurrence of a known key, checked as Go's decoder would check it at that point. */
static int decode_entry(struct parse_state *s, const struct ima_doc_entry *e, enum config_key k)
{
        struct ima_config *c = s->config;

        switch (k) {
        case KEY_NOMASQ_DST:
        case KEY_NOMASQ_SRC:
                return check_list_types(s, e);
        case KEY_MASQ_LINK_LOCAL:
                return check_bool(s, e, &c->masq_link_local);
        case KEY_MASQ_LINK_LOCAL_IPV6:
                return check_bool(s, e, &c->masq_link_local_ipv6);
        case KEY_RESYNC_INTERVAL:
                return check_resync(s, e);
        case KEY_CIDR_LIMIT:
                return check_cidr_limit(s, e);
        case _KEY_COUNT:
                break;
        }
        return -EINVAL;
}

/* An error about list item KEY[INDEX]; the name is formatted only here, since a list may hold
 * 100,000 good items. */
static int _printf_(5, 6) item_error(struct parse_state *s, const char *key, size_t index,
                                     const struct ima_doc_node *item, const char *fmt, ...)
{
        char name[256], msg[512];
        va_list ap;

        snprintf(name, sizeof(name), "%s[%zu]", key, index);
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return node_error(s, item->pos, name, item, "%s", msg);
}

static int check_cidr_text(struct parse_state *s, const char *key, size_t index, const struct ima_doc_node *item,
                           struct ima_cidr *ret)
{
        char aligned[IMA_ADDR_STRLEN + 4], single[IMA_ADDR_STRLEN + 4];
        const char *reason = NULL, *t = item->text;
        struct ima_cidr c, fixed;

        if (item->type == IMA_DOC_NULL || item->text_len == 0)
                return item_error(s, key, index, item,
                                  "empty list item; remove it or write a CIDR such as 10.0.0.0/8");
        if (isspace((unsigned char)t[0]) || isspace((unsigned char)t[item->text_len - 1]))
                return item_error(s, key, index, item, "invalid CIDR: remove the spaces around it");
        /* the CIDR parser would stop at the NUL; the message shows it as \x00 */
        if (memchr(t, '\0', item->text_len))
                return item_error(s, key, index, item, "invalid CIDR: remove the NUL character (\\u0000)");
        if (ima_cidr_parse(t, item->text_len, &c, &reason) < 0)
                return item_error(s, key, index, item, "invalid CIDR: %s", reason);
        /* before the host bits: the form to suggest for these is IPv4, aligned. A prefix shorter
         * than /96 at a mapped address is no mapped prefix but one with host bits set (the ffff
         * bits): ::ffff:0:0/95 is ::fffe:0:0/95 misaligned, which is accepted, and upstream too
         * reports it as not aligned. The host-bits message below says how to write it. */
        if (ima_cidr_is_v4mapped(&c) && c.prefix_len >= 96) {
                fixed = (struct ima_cidr){ .family = IMA_FAMILY_IPV4, .addr = ima_cidr_first(&c) & UINT32_MAX,
                                           .prefix_len = c.prefix_len - 96 };
                ima_cidr_format_go(&fixed, aligned);
                return item_error(s, key, index, item,
                                  "IPv4-mapped IPv6 prefixes are not supported; write the IPv4 CIDR %s instead",
                                  aligned);
        }
        if (!ima_cidr_is_aligned(&c)) {
                fixed = c;
                fixed.addr = ima_cidr_first(&c);
                ima_cidr_format_go(&fixed, aligned);
                fixed = (struct ima_cidr){ .family = c.family, .addr = c.addr, .prefix_len = ima_family_bits(c.family) };
                ima_cidr_format_go(&fixed, single);
                return item_error(s, key, index, item,
                                  "host bits are set: write %s for the network, or %s for the single address",
                                  aligned, single);
        }
        if (c.family == IMA_FAMILY_IPV6 && !s->opts->enable_ipv6)
                return item_error(s, key, index, item,
                                  "IPv6 CIDR given but IPv6 is not enabled; pass --enable-ipv6 to the agent "
                                  "(or remove this entry)");
        *ret = c;
        return 0;
}

/* The list that decides (the last occurrence) into the config: every item validated, every
 * bad item reported. */
static int take_cidr_list(struct parse_state *s, enum config_key k, struct ima_cidr **list, size_t *n_list)
{
        const struct ima_doc_entry *e = s->seen[k][s->n_seen[k] - 1];
        const struct ima_doc_node *v = e->value;
        _cleanup_free_ struct ima_cidr *out = NULL;
        size_t n = 0;
        int r = 0;

        if (v->type != IMA_DOC_SEQ && v->type != IMA_DOC_NULL)
                return -EINVAL; /* reported by check_list_types() */
        out = calloc(v->type == IMA_DOC_SEQ && v->n ? v->n : 1, sizeof(*out));
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; v->type == IMA_DOC_SEQ && i < v->n; i++) {
                const struct ima_doc_node *item = v->items[i];
                int q;

                if (item->type != IMA_DOC_STRING && item->type != IMA_DOC_NULL) {
                        r = -EINVAL; /* reported by check_list_types() */
                        continue;
                }
                q = check_cidr_text(s, e->key, i, item, &out[n]);
                if (q == -ENOMEM)
                        return q;
                if (q < 0)
                        r = q;
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

static int64_t count_items(const struct parse_state *s, enum config_key k, size_t fallback)
{
        const struct ima_doc_node *v;

        if (s->n_seen[k] == 0)
                return (int64_t)fallback;
        v = s->seen[k][s->n_seen[k] - 1]->value;
        return v->type == IMA_DOC_SEQ ? (int64_t)v->n : 0;
}

/* Upstream compares the number of NonMasqueradeCIDRs entries as written (duplicates and both
 * families included, link-local not) with CidrLimit; NonMasqueradeSrcCIDRs is held to the same
 * limit on its own. */
static int check_limits(struct parse_state *s)
{
        size_t n_limit = s->n_seen[KEY_CIDR_LIMIT];
        const struct ima_doc_entry *limit = n_limit ? s->seen[KEY_CIDR_LIMIT][n_limit - 1] : NULL;
        int64_t max = s->config->cidr_limit;
        struct ima_pos nowhere = { 0, 0 };
        int r = 0;

        if (max < 0) {
                assert(limit); /* the default is positive */
                return node_error(s, limit->value->pos, limit->key, limit->value,
                                  "must not be negative: a negative limit rejects every configuration, even "
                                  "an empty list");
        }
        for (enum config_key k = KEY_NOMASQ_DST; k <= KEY_NOMASQ_SRC; k++) {
                size_t fallback = k == KEY_NOMASQ_DST ? s->config->n_nomasq_dst : 0;
                int64_t n = count_items(s, k, fallback);
                const struct ima_doc_entry *e = s->n_seen[k] ? s->seen[k][s->n_seen[k] - 1] : limit;
                int q;

                if (n <= max)
                        continue;
                if (s->n_seen[k])
                        q = ima_diag_error(s->diag, e->key_pos, e->key, NULL,
                                           "%" PRId64 " CIDRs given, but CidrLimit allows %" PRId64
                                           "%s; raise CidrLimit to at least %" PRId64
                                           " or merge entries", n, max,
                                           /* link-local joins the destinations only */
                                           k == KEY_NOMASQ_DST ? " (the automatic link-local exemption "
                                                                 "is not counted)" : "", n);
                else
                        q = ima_diag_error(s->diag, e ? e->value->pos : nowhere, e ? e->key : NULL, NULL,
                                           "the default NonMasqueradeCIDRs has %" PRId64 " CIDRs, but CidrLimit "
                                           "allows %" PRId64, n, max);
                if (q == -ENOMEM)
                        return q;
                r = q;
        }
        return r;
}

/* Whether null leaves key k as it was: Go does so for a bool or an int, and empties a list. */
static bool null_keeps(enum config_key k, const struct ima_doc_entry *e)
{
        return e->value->type == IMA_DOC_NULL &&
               (k == KEY_MASQ_LINK_LOCAL || k == KEY_MASQ_LINK_LOCAL_IPV6 || k == KEY_CIDR_LIMIT);
}

/* The same setting spelled twice (JSON: any repeat; YAML: case variants, as the YAML reader has
 * already collapsed exact repeats). The last one applied wins, unless it is a null that changes
 * nothing: then the last one before it that is not. */
static int warn_repeats(struct parse_state *s)
{
        for (int k = 0; k < _KEY_COUNT; k++) {
                const struct ima_doc_entry *w = NULL;

                if (s->n_seen[k] < 2)
                        continue;
                for (size_t i = s->n_seen[k]; i > 0 && !w; i--)
                        if (!null_keeps(k, s->seen[k][i - 1]))
                                w = s->seen[k][i - 1];
                if (!w)
                        w = s->seen[k][s->n_seen[k] - 1];
                for (size_t i = 0; i < s->n_seen[k]; i++) {
                        const struct ima_doc_entry *e = s->seen[k][i];
                        int q = 0;

                        if (e == w)
                                continue;
                        if (null_keeps(k, e))
                                q = ima_diag_warn(s->diag, e->key_pos, e->key, NULL,
                                                  "ignored: null leaves the setting unchanged");
                        else
                                q = ima_diag_warn(s->diag, e->key_pos, e->key, NULL,
                                                  "ignored: %s at line %u sets the same field and wins%s", w->key,
                                                  w->key_pos.line,
                                                  s->json ? " (the last one in the file wins)"
                                                          : " (YAML keys are applied in sorted order, as upstream does)");
                        if (q < 0)
                                return q;
                }
        }
        return 0;
}

static int note_key(struct parse_state *s, enum config_key k, const struct ima_doc_entry *e)
{
        if (IMA_ARRAY_RESERVE_POW2(s->seen[k], s->n_seen[k], 1) < 0)
                return -ENOMEM;
        s->seen[k][s->n_seen[k]++] = e;
        return 0;
}

/* The result of two checks: running out of memory outweighs an invalid value, which says
 * nothing about the checks that could not run. */
static int worse(int r, int q)
{
        return r == -ENOMEM || q == 0 ? r : q;
}

/* After every occurrence is decoded: what only the final values decide. */
static int finish(struct parse_state *s)
{
        struct ima_config *c = s->config;
        int r = 0, q;

        if (s->n_seen[KEY_NOMASQ_DST])
                r = worse(r, take_cidr_list(s, KEY_NOMASQ_DST, &c->nomasq_dst, &c->n_nomasq_dst));
        if (s->n_seen[KEY_NOMASQ_SRC])
                r = worse(r, take_cidr_list(s, KEY_NOMASQ_SRC, &c->nomasq_src, &c->n_nomasq_src));
        if (r == -ENOMEM)
                return r;
        if (s->n_seen[KEY_RESYNC_INTERVAL] && c->resync_interval_nsec <= 0) {
                const struct ima_doc_entry *e = s->seen[KEY_RESYNC_INTERVAL][s->n_seen[KEY_RESYNC_INTERVAL] - 1];
                char text[IMA_DURATION_STRLEN];

                ima_duration_format(c->resync_interval_nsec, text);
                r = worse(r, node_error(s, e->value->pos, e->key, e->value,
                                        "must be positive, got %s; upstream would re-apply the rules in a "
                                        "busy loop", text));
        }
        r = worse(r, check_limits(s));
        if (r == 0 && s->n_seen[KEY_NOMASQ_DST] && c->n_nomasq_dst == 0) {
                const struct ima_doc_entry *e = s->seen[KEY_NOMASQ_DST][s->n_seen[KEY_NOMASQ_DST] - 1];

                q = ima_diag_warn(s->diag, e->key_pos, e->key, NULL,
                                  "empty list: all pod traffic%s to non-local destinations%s will be masqueraded; "
                                  "remove the key if you meant the defaults",
                                  c->n_nomasq_src ? " (but from nonMasqueradeSrcCIDRs)" : "",
                                  c->masq_link_local ? "" : " (but link-local ones)");
                if (q < 0)
                        return q;
        }
        return r;
}

static int config_from_doc(struct parse_state *s, const struct ima_doc_node *root)
{
        int r = 0, q;

        if (!root)
                return 0;
        if (root->type == IMA_DOC_INVALID)
                return -EINVAL;
        if (root->type != IMA_DOC_MAP)
                return node_error(s, root->pos, NULL, root,
                                  "the configuration must be a mapping of keys such as "
                                  "nonMasqueradeCIDRs, got %s", a_type(root->type));
        for (size_t i = 0; i < root->n; i++) {
                const struct ima_doc_entry *e = &root->entries[i];
                int k = match_key(e);

                if (k < 0) {
                        q = warn_unknown_key(s->diag, e);
                        if (q < 0)
                                return q;
                        continue;
                }
                q = note_key(s, (enum config_key)k, e);
                if (q == 0)
                        q = decode_entry(s, e, (enum config_key)k);
                if (q == -ENOMEM)
                        return q;
                if (q < 0)
                        r = q; /* keep going: report every problem */
        }
        q = warn_repeats(s);
        if (q < 0)
                return q;
        return worse(r, finish(s));
}

int ima_config_parse(const char *buf, size_t len, const struct ima_config_options *o,
                     struct ima_diag *diag, struct ima_config **ret)
{
        _cleanup_(ima_config_freep) struct ima_config *c = NULL;
        _cleanup_(ima_doc_freep) struct ima_doc_node *root = NULL;
        size_t errors_before = diag->n_errors;
        struct parse_state s;
        int r;

        r = ima_config_new_defaults(o, &c);
        if (r < 0)
                return r;
        c->source = IMA_CONFIG_SOURCE_FILE;
        r = ima_doc_parse(buf, len, diag, &root);
        if (r < 0)
                return diag->lost ? -ENOMEM : r;
        s = (struct parse_state){ .opts = o, .diag = diag, .config = c, .json = ima_doc_is_json(buf, len) };
        r = config_from_doc(&s, root);
        parse_state_done(&s);
        if (diag->lost) /* a problem that could not be recorded may be an error: no verdict */
                return -ENOMEM;
        if (r < 0)
                return r;
        if (diag->n_errors > errors_before) /* a YAML value under a key no check looked at */
                return -EINVAL;
        *ret = TAKE_PTR(c);
        return 0;
}

int ima_config_read_file(const char *path, struct ima_diag *diag, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct ima_pos nowhere = { 0, 0 };
        struct stat st;
        size_t len = 0, cap;

        /* O_NONBLOCK: a FIFO put in place of the file must not hang the agent */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        /* out of descriptors or memory says nothing about the file: the caller tries again */
        if (fd < 0 && (errno == ENOENT || errno == EMFILE || errno == ENFILE || errno == ENOMEM))
                return -errno;
        if (fd < 0)
                return ima_diag_error(diag, nowhere, NULL, NULL, "cannot open the file: %m");
        if (fstat(fd, &st) < 0)
                return ima_diag_error(diag, nowhere, NULL, NULL, "cannot stat the file: %m");
        if (!S_ISREG(st.st_mode))
                return ima_diag_error(diag, nowhere, NULL, NULL, "not a regular file (a %s)",
                                      S_ISDIR(st.st_mode) ? "directory" : "device, socket or FIFO");
        if (st.st_size > (off_t)IMA_CONFIG_MAX_BYTES)
                return ima_diag_error(diag, nowhere, NULL, NULL,
                                      "file too large: %jd bytes, the limit is %u (16 MiB)",
                                      (intmax_t)st.st_size, IMA_CONFIG_MAX_BYTES);
        cap = (size_t)st.st_size + 1; /* + 1: notices a file that grows while it is read */
        buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k;

                if (len == cap) {
                        char *p;

                        if (cap > IMA_CONFIG_MAX_BYTES)
                                return ima_diag_error(diag, nowhere, NULL, NULL,
                                                      "file too large: more than %u bytes (16 MiB)",
                                                      IMA_CONFIG_MAX_BYTES);
                        cap = cap * 2 > IMA_CONFIG_MAX_BYTES + 1 ? IMA_CONFIG_MAX_BYTES + 1 : cap * 2;
                        p = realloc(buf, cap);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                }
                k = read(fd, buf + len, cap - len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return ima_diag_error(diag, nowhere, NULL, NULL, "cannot read the file: %m");
                if (k == 0)
                        break;
                len += (size_t)k;
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

        r = ima_config_read_file(path, diag, &buf, &len);
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

                ima_cidr_format_go(&v[i], text);
                if (json_array_append_new(a, json_string(text)) < 0)
                        a = (json_decref(a), NULL);
        }
        return a;
}

static json_t *ipset_array(const struct ima_ipset *s)
{
        json_t *a = json_array();

        for (size_t i = 0; a && i < s->n; i++) {
                char text[IMA_RANGE_STRLEN];

                ima_interval_format(s->family, &s->v[i], text);
                if (json_array_append_new(a, json_string(text)) < 0)
                        a = (json_decref(a), NULL);
        }
        return a;
}

/* {"ip": {"nomasq-dst": [...], "nomasq-src": [...]}, "ip6": ...} for the tables present. */
static json_t *sets_object(const struct ima_model *m)
{
        json_t *o = json_object();

        for (int f = 0; o && f < IMA_FAMILY_COUNT; f++) {
                const struct ima_model_table *t = &m->tables[f];
                json_t *sets;

                if (!t->present)
                        continue;
                sets = json_object();
                for (int i = 0; sets && i < IMA_SET_COUNT; i++)
                        if (json_object_set_new(sets, ima_set_name((enum ima_set_id)i), ipset_array(t->sets[i])) < 0)
                                sets = (json_decref(sets), NULL);
                if (json_object_set_new(o, ima_family_nft_name((enum ima_family)f), sets) < 0)
                        o = (json_decref(o), NULL);
        }
        return o;
}

static bool cidr_lists_equal(const struct ima_cidr *a, size_t n_a, const struct ima_cidr *b, size_t n_b)
{
        if (n_a != n_b)
                return false;
        for (size_t i = 0; i < n_a; i++)
                if (a[i].family != b[i].family || a[i].addr != b[i].addr || a[i].prefix_len != b[i].prefix_len)
                        return false;
        return true;
}

bool ima_config_equal(const struct ima_config *a, const struct ima_config *b)
{
        return cidr_lists_equal(a->nomasq_dst, a->n_nomasq_dst, b->nomasq_dst, b->n_nomasq_dst) &&
               cidr_lists_equal(a->nomasq_src, a->n_nomasq_src, b->nomasq_src, b->n_nomasq_src) &&
               a->masq_link_local == b->masq_link_local && a->masq_link_local_ipv6 == b->masq_link_local_ipv6 &&
               a->resync_interval_nsec == b->resync_interval_nsec && a->cidr_limit == b->cidr_limit;
}

char *ima_config_to_json(const struct ima_config *c, const struct ima_model *m)
{
        char interval[IMA_DURATION_STRLEN];
        json_t *o, *dst, *src, *sets = NULL;
        char *text, *out;
        int r;

        ima_duration_format(c->resync_interval_nsec, interval);
        dst = cidr_array(c->nomasq_dst, c->n_nomasq_dst);
        src = cidr_array(c->nomasq_src, c->n_nomasq_src);
        if (m)
                sets = sets_object(m);
        if (!dst || !src || (m && !sets)) {
                json_decref(dst);
                json_decref(src);
                json_decref(sets);
                return NULL;
        }
        /* json_object_set_new() takes its value even when it fails (also with no object), so
         * every one is set or freed, never both */
        o = json_object();
        r = json_object_set_new(o, "nonMasqueradeCIDRs", dst);
        r |= json_object_set_new(o, "nonMasqueradeSrcCIDRs", src);
        r |= json_object_set_new(o, "cidrLimit", json_integer((json_int_t)c->cidr_limit));
        r |= json_object_set_new(o, "masqLinkLocal", json_boolean(c->masq_link_local));
        r |= json_object_set_new(o, "masqLinkLocalIPv6", json_boolean(c->masq_link_local_ipv6));
        r |= json_object_set_new(o, "resyncInterval", json_string(interval));
        if (sets)
                r |= json_object_set_new(o, "sets", sets);
        text = r == 0 ? ima_json_text(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        if (!text)
                return NULL;
        if (asprintf(&out, "%s\n", text) < 0)
                out = NULL;
        free(text);
        return out;
}
