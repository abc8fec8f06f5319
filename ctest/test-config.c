/* Config rows of issue 3, each in YAML and JSON and (where a key is templated) in every key
 * spelling: @DST@ @SRC@ @LL@ @LL6@ @RESYNC@ @LIMIT@ become TKE's PascalCase, upstream's
 * camelCase and an all-caps form in turn, in the input and in the expected messages. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/duration.h"
#include "lib/model.h"
#include "tests.h"

enum { OPT_IPV6 = 1, OPT_RESERVED = 2 };

static const char *const spellings[][6] = {
        { "NonMasqueradeCIDRs", "NonMasqueradeSrcCIDRs", "MasqLinkLocal", "MasqLinkLocalIPv6", "ResyncInterval", "CidrLimit" },
        { "nonMasqueradeCIDRs", "nonMasqueradeSrcCIDRs", "masqLinkLocal", "masqLinkLocalIPv6", "resyncInterval", "cidrLimit" },
        { "NONMASQUERADECIDRS", "NONMASQUERADESRCCIDRS", "MASQLINKLOCAL", "MASQLINKLOCALIPV6", "RESYNCINTERVAL", "CIDRLIMIT" },
};
static const char *const placeholders[] = { "@DST@", "@SRC@", "@LL@", "@LL6@", "@RESYNC@", "@LIMIT@" };

struct row {
        const char *text;  /* the file */
        unsigned opts;
        const char *want;  /* "ok <summary>" or "err <substring of the first error>" */
        int n_errors;      /* for "err": how many errors, 0 = at least one */
        const char *warn;  /* substring of some warning; NULL: no warning at all */
};

#define DEFAULT_DST "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"
/* 190 digits, for keys and values around the 200 bytes a message shows */
#define TEN_DIGITS_X19                                                                                      \
        "1234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890" \
        "123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890"
#define DEFAULTS "dst=" DEFAULT_DST " src= ll=0 ll6=0 resync=1m0s limit=64"

static const struct row rows[] = {
        /* empty file, only comments, {}, null document: defaults */
        { "", 0, "ok " DEFAULTS, 0, NULL },
        { "# nothing\n\n   # here\n", 0, "ok " DEFAULTS, 0, NULL },
        { "{}", 0, "ok " DEFAULTS, 0, NULL },
        { " \n{ }\n", 0, "ok " DEFAULTS, 0, NULL },
        { "null\n", 0, "ok " DEFAULTS, 0, NULL },
        { "---\n~\n", 0, "ok " DEFAULTS, 0, NULL },
        { "", OPT_RESERVED, "ok dst=" DEFAULT_DST ",100.64.0.0/10,192.0.0.0/24,192.0.2.0/24,192.88.99.0/24,"
          "198.18.0.0/15,198.51.100.0/24,203.0.113.0/24,240.0.0.0/4 src= ll=0 ll6=0 resync=1m0s limit=64", 0, NULL },
        /* every key, both syntaxes */
        { "@DST@: [192.168.0.0/16]\n@SRC@: [10.0.0.0/12]\n@LL@: true\n@LL6@: false\n@RESYNC@: 1m0s\n@LIMIT@: 10\n", 0,
          "ok dst=192.168.0.0/16 src=10.0.0.0/12 ll=1 ll6=0 resync=1m0s limit=10", 0, NULL },
        { "{\"@DST@\":[\"172.16.0.0/16\",\"10.67.0.0/16\"],\"@SRC@\":[\"172.16.0.2/32\"],\"@LL@\":true,"
          "\"@RESYNC@\":\"1m0s\",\"@LL6@\":false,\"@LIMIT@\":10}", 0,
          "ok dst=172.16.0.0/16,10.67.0.0/16 src=172.16.0.2/32 ll=1 ll6=0 resync=1m0s limit=10", 0, NULL },
        /* key present replaces the default; absent keys keep defaults */
        { "@LL@: on\n", 0, "ok dst=" DEFAULT_DST " src= ll=1 ll6=0 resync=1m0s limit=64", 0, NULL },
        { "{\"@RESYNC@\": \"1h30m\"}", 0, "ok dst=" DEFAULT_DST " src= ll=0 ll6=0 resync=1h30m0s limit=64", 0, NULL },
        /* Go folds four non-ASCII letters into ASCII (U+017F, U+212A, U+0131, U+0130), nothing else */
        { "ma\xc5\xbfqLinkLocal: true\n", 0, "ok dst=" DEFAULT_DST " src= ll=1 ll6=0 resync=1m0s limit=64", 0, NULL },
        { "{\"masqLin\xe2\x84\xaaLocal\": true, \"c\xc4\xb1" "drL\xc4\xb0m\xc4\xb1t\": 5}", 0,
          "ok dst=" DEFAULT_DST " src= ll=1 ll6=0 resync=1m0s limit=5", 0, NULL },
        { "{\"masqLinkLocal\": false, \"ma\\u017fqLinkLocal\": true}", 0,
          "ok dst=" DEFAULT_DST " src= ll=1 ll6=0 resync=1m0s limit=64", 0, "the last one in the file wins" },
        { "m\xc3\xa0sqLinkLocal: true\n", 0, "ok " DEFAULTS, 0, "unknown key ignored" },
        { "ma\xc5\xbfq_link_local: true\n", 0, "ok " DEFAULTS, 0, "unknown key ignored; did you mean masqLinkLocal?" },
        /* unknown keys: ignored with a warning and a suggestion */
        { "non_masquerade_cidrs: [1.0.0.0/8]\n", 0, "ok " DEFAULTS, 0,
          "-:1:1: warning: non_masquerade_cidrs: unknown key ignored; did you mean nonMasqueradeCIDRs?" },
        { "{\"NonMasqueradeCIDR\": [\"1.0.0.0/8\"]}", 0, "ok " DEFAULTS, 0,
          "NonMasqueradeCIDR: unknown key ignored; did you mean nonMasqueradeCIDRs?" },
        { "resync-interval: 1m\n", 0, "ok " DEFAULTS, 0, "did you mean resyncInterval?" },
        /* a key that does not read as itself unquoted is quoted: a stray space would make the
         * suggestion look like the key */
        { "{\"nonMasqueradeCIDRs \": []}", 0, "ok " DEFAULTS, 0,
          "-:1:2: warning: \"nonMasqueradeCIDRs \": unknown key ignored; did you mean nonMasqueradeCIDRs?" },
        { "\" masqLinkLocal\": true\n", 0, "ok " DEFAULTS, 0,
          "warning: \" masqLinkLocal\": unknown key ignored; did you mean masqLinkLocal?" },
        { "\"\": 1\n", 0, "ok " DEFAULTS, 0, "-:1:1: warning: \"\": unknown key ignored" },
        /* as far from masqLinkLocal as from masqLinkLocalIPv6: the ending decides */
        { "masqLinkLocalV6: true\n", 0, "ok " DEFAULTS, 0, "did you mean masqLinkLocalIPv6?" },
        { "enableIPv6: true\n", 0, "ok " DEFAULTS, 0, "this is a command-line flag (--enable-ipv6)" },
        { "{\"somethingElse\": {\"deep\": [1, 2]}}", 0, "ok " DEFAULTS, 0, "somethingElse: unknown key ignored" },
        /* YAML 1.1 booleans */
        { "@LL@: yes\n@LL6@: Y\n", 0, "ok dst=" DEFAULT_DST " src= ll=1 ll6=1 resync=1m0s limit=64", 0, NULL },
        { "@LL@: ON\n@LL6@: True\n", 0, "ok dst=" DEFAULT_DST " src= ll=1 ll6=1 resync=1m0s limit=64", 0, NULL },
        { "@LL@: Off\n@LL6@: n\n", 0, "ok " DEFAULTS, 0, NULL },
        { "@LL@: yEs\n", 0, "err -:1:@COL_LL@: @LL@: expected true or false, got a string (value \"yEs\")", 1, NULL },
        { "{\"@LL@\": yes}", 0, "err JSON syntax error: expected a value", 1, NULL },
        /* null leaves bools and ints alone, empties a list, is an error for the interval */
        { "@LL@: null\n@LIMIT@: ~\n", 0, "ok " DEFAULTS, 0, NULL },
        { "{\"@LL@\": null, \"@LIMIT@\": null}", 0, "ok " DEFAULTS, 0, NULL },
        { "{\"@LIMIT@\": 5, \"@LIMIT@\": null}", 0, "ok dst=" DEFAULT_DST " src= ll=0 ll6=0 resync=1m0s limit=5", 0,
          "ignored: null leaves the setting unchanged" },
        { "@RESYNC@:\n", 0, "err @RESYNC@: null is not a duration", 1, NULL },
        { "{\"@RESYNC@\": null}", 0, "err @RESYNC@: null is not a duration", 1, NULL },
        /* the empty-list footgun: valid, warned */
        { "@DST@: []\n", 0, "ok dst= src= ll=0 ll6=0 resync=1m0s limit=64", 0, "@DST@: empty list: all pod traffic" },
        { "@DST@:\n", 0, "ok dst= src= ll=0 ll6=0 resync=1m0s limit=64", 0, "empty list" },
        { "{\"@DST@\": null}", 0, "ok dst= src= ll=0 ll6=0 resync=1m0s limit=64", 0, "empty list" },
        { "{\"@DST@\": []}", 0, "ok dst= src= ll=0 ll6=0 resync=1m0s limit=64", 0, "empty list" },
        /* the warning says what stays exempt: link-local destinations unless masqueraded too, and
         * traffic from the source exemptions */
        { "@DST@: []\n", 0, "ok dst= src= ll=0 ll6=0 resync=1m0s limit=64", 0,
          "empty list: all pod traffic to non-local destinations (but link-local ones) will be masqueraded;" },
        { "@DST@: []\n@LL@: true\n@SRC@: [10.0.0.0/8]\n", 0, "ok dst= src=10.0.0.0/8 ll=1 ll6=0 resync=1m0s limit=64", 0,
          "empty list: all pod traffic (but from nonMasqueradeSrcCIDRs) to non-local destinations will be masqueraded;" },
        /* a null or empty list item is an error (upstream would keep the default's item there) */
        { "@DST@:\n- 10.0.0.0/8\n-\n", 0, "err -:3:2: @DST@[1]: empty list item", 1, NULL },
        { "@DST@: [null]\n", 0, "err @DST@[0]: empty list item", 1, NULL },
        { "{\"@DST@\": [\"10.0.0.0/8\", null]}", 0, "err -:1:@COL_DST2@: @DST@[1]: empty list item", 1, NULL },
        { "{\"@SRC@\": [\"\"]}", 0, "err @SRC@[0]: empty list item", 1, NULL },
        /* wrong types */
        { "@LL@: \"true\"\n", 0, "err @LL@: expected true or false, got a string; write true without quotes", 1, NULL },
        { "{\"@LL@\": \"true\"}", 0, "err @LL@: expected true or false, got a string; write true without quotes", 1, NULL },
        { "{\"@LL@\": 1}", 0, "err @LL@: expected true or false, got a number (value \"1\")", 1, NULL },
        /* a plain tRUE in YAML is a string with no quotes to remove; quoted True was quoted */
        { "@LL@: tRUE\n", 0, "err @LL@: expected true or false, got a string; YAML spells it only as true, True "
          "or TRUE: write true (value \"tRUE\")", 1, NULL },
        { "@LL@: fAlse\n", 0, "err @LL@: expected true or false, got a string; YAML spells it only as false, "
          "False or FALSE: write false (value \"fAlse\")", 1, NULL },
        { "@LL@: 'True'\n", 0, "err @LL@: expected true or false, got a string; write true without quotes", 1, NULL },
        { "@LIMIT@: \"64\"\n", 0, "err @LIMIT@: expected an integer, got a string; write 64 without quotes", 1, NULL },
        { "{\"@LIMIT@\": \"64\"}", 0, "err @LIMIT@: expected an integer, got a string; write 64 without quotes", 1, NULL },
        /* the hints give text both syntaxes read back as meant; messages quote values as written */
        { "{\"@LL@\": \"TRUE\"}", 0, "err @LL@: expected true or false, got a string; write true without quotes "
          "(value \"TRUE\")", 1, NULL },
        { "{\"@LIMIT@\": \"+064\"}", 0, "err @LIMIT@: expected an integer, got a string; write 64 without quotes", 1,
          NULL },
        { "@LL@: 0x1\n", 0, "err @LL@: expected true or false, got a number (value \"0x1\")", 1, NULL },
        { "@LIMIT@: 6.45e1\n", 0, "err @LIMIT@: expected an integer, got a number with a fraction or exponent "
          "(value \"6.45e1\")", 1, NULL },
        /* values YAML cannot hand to JSON: each reported under its key, all in one run */
        { "@LL@: .inf\n@LIMIT@: !!int 1m\n@DST@: [10.0.0.0/8, !!binary x, -.Inf]\n@RESYNC@: 0s\n", 0,
          "err -:1:@COL_LL@: @LL@: infinity and NaN have no JSON form, so the upstream agent rejects them "
          "(value \".inf\")", 5, NULL },
        /* ...but only those that reach the conversion: a repeated key keeps its last value alone */
        { "@LL@: .inf\n@LIMIT@: {~: 1, x: [.nan]}\n@LL@: true\n@LIMIT@: 5\n", 0,
          "ok dst=" DEFAULT_DST " src= ll=1 ll6=0 resync=1m0s limit=5", 0, "the later one wins" },
        /* a quoted value shows what is invisible or would break the quoting, Go-style */
        { "@DST@: [\"10.0.0.1\\\"\\\\\\n\\t\\x01\\x7f/8\"]\n", 0,
          "err @DST@[0]: invalid CIDR", 1, NULL },
        { "@DST@: [\"10.0.0.1\\\"\\\\\\n\\t\\x01\\x7f/8\"]\n", 0,
          "err (value \"10.0.0.1\\\"\\\\\\n\\t\\x01\\x7f/8\")", 1, NULL },
        { "{\"@DST@\": [\"10.0.0.1\\\"\\\\\\n\\t\\u0001\\u007f/8\"]}", 0,
          "err (value \"10.0.0.1\\\"\\\\\\n\\t\\x01\\x7f/8\")", 1, NULL },
        { "@DST@: [10.0.0.0/8, !!binary x]\n", 0, "err @DST@[1]: !!binary value is not valid base64 (value \"x\")", 1,
          NULL },
        { "@LIMIT@: !!int 1m\n", 0, "err @LIMIT@: cannot decode !!str as !!int (value \"1m\")", 1, NULL },
        { "@DST@: *nowhere\n@LL@: 2\n", 0, "err @DST@: unknown anchor referenced by alias (value \"nowhere\")", 2,
          NULL },
        { "? [a]\n: 1\n@LL@: 2\n", 0, "err -:1:3: a list cannot be a mapping key here", 2, NULL },
        { "<<: 5\n@LIMIT@: x\n", 0, "err a merge key (<<) takes a mapping or a list of mappings (value \"5\")", 2,
          NULL },
        /* what messages cannot show as it is: a NUL in a value is shown escaped (and what follows
         * it), in a key it ends the text shown, so the message says it is there; control bytes in
         * a key are escaped, as in values */
        { "{\"@DST@\": [\"10.0.0.0/8\\u0000x\"]}", 0,
          "err @DST@[0]: invalid CIDR: remove the NUL character (\\u0000) (value \"10.0.0.0/8\\x00x\")", 1, NULL },
        { "{\"@RESYNC@\": \"1s\\u0000\"}", 0, "err such as \"90s\", \"1m30s\" or \"1.5h\" (value \"1s\\x00\")", 1, NULL },
        { "{\"@LL@\": \"tr\\u0000ue\"}", 0, "err @LL@: expected true or false, got a string (value \"tr\\x00ue\")", 1, NULL },
        /* characters that print as nothing are escaped: the value would look right otherwise */
        { "{\"@RESYNC@\": \"1s\\u200b\"}", 0, "err @RESYNC@: invalid duration (unknown unit); write decimal numbers", 1, NULL },
        { "{\"@RESYNC@\": \"1s\\u200b\"}", 0, "err \"1m30s\" or \"1.5h\" (value \"1s\\u200b\")", 1, NULL },
        { "@RESYNC@: \"1s\\u0085\\u00a0\"\n", 0, "err \"1m30s\" or \"1.5h\" (value \"1s\\u0085\\u00a0\")", 1, NULL },
        { "{\"@LL@\\u0000x\": true}", 0, "ok dst=" DEFAULT_DST " src= ll=0 ll6=0 resync=1m0s limit=64", 0,
          "unknown key ignored: a NUL character (\\u0000) follows the text shown" },
        { "{\"a\\u001b[31m\\n\": 1}", 0, "ok dst=" DEFAULT_DST " src= ll=0 ll6=0 resync=1m0s limit=64", 0,
          "a\\x1b[31m\\n: unknown key ignored" },
        /* a value too long to show whole is cut, and says how long it was */
        { "@DST@: [\"" TEN_DIGITS_X19 "123456789012345678901234567890\"]\n", 0, "err 34567890\"... (220 bytes in all))", 1,
          NULL },
        /* ...also when it is one byte too long */
        { "@DST@: [\"" TEN_DIGITS_X19 "12345678901\"]\n", 0, "err 8901234567890\"... (201 bytes in all))", 1, NULL },
        /* ... at a character's boundary: not with the escaped first byte of a "\u00e9" */
        { "@DST@: [\"" TEN_DIGITS_X19 "123456789\u00e9xxxxxxxxxxxxxxxxxxxx\"]\n", 0,
          "err 3456789\"... (221 bytes in all))", 1, NULL },
        { "{\"" TEN_DIGITS_X19 "123456789\u00e9xxxxxxxxxxxxxxxxxxxx\": 1}", 0,
          "ok dst=" DEFAULT_DST " src= ll=0 ll6=0 resync=1m0s limit=64", 0,
          "3456789... (221 bytes in all): unknown key ignored" },
        /* a byte-order mark only at the very start: libyaml and go-yaml disagree on others */
        { "\xef\xbb\xbf@LIMIT@: 5\n", 0, "ok dst=" DEFAULT_DST " src= ll=0 ll6=0 resync=1m0s limit=5", 0, NULL },
        { "---\n\xef\xbb\xbf@LL@: true\n@LIMIT@: 5\n", 0, "err -:2:1: a byte-order mark (U+FEFF) starts this line",
          1, NULL },
        /* an alias after "<<" must name a mapping: go-yaml v2 refuses a list of them there */
        { "a: &s [{@LIMIT@: 5}]\n<<: *s\n", 0, "err -:2:5: a merge key (<<) takes a mapping or a list of mappings, "
          "and an alias there must name a mapping", 1, "a: unknown key" },
        { "a: &s {@LIMIT@: 5}\n<<: [*s]\n", 0, "ok dst=" DEFAULT_DST " src= ll=0 ll6=0 resync=1m0s limit=5", 0,
          "a: unknown key" },
        { "@DST@: 10.0.0.0/8\n", 0, "err @DST@: expected a list of CIDR strings, got a single string; write it as a list: [10.0.0.0/8]", 1, NULL },
        { "{\"@DST@\": \"10.0.0.0/8\"}", 0, "err @DST@: expected a list of CIDR strings, got a single string; write it "
          "as a list: [\"10.0.0.0/8\"]", 1, NULL },
        { "{\"@DST@\": \"10.0.0.0/8\"}", 0, "err expected a list of CIDR strings, got a single string", 1, NULL },
        { "@DST@: \"fd00::/8\"\n", OPT_IPV6, "err @DST@: expected a list of CIDR strings, got a single string; write "
          "it as a list: [\"fd00::/8\"]", 1, NULL },
        { "@SRC@: {a: b}\n", 0, "err @SRC@: expected a list of CIDR strings, got a mapping", 1, NULL },
        { "@DST@: [10.0.0.0/8, 5, true]\n", 0, "err @DST@[1]: expected a CIDR string, got a number", 2, NULL },
        { "- 10.0.0.0/8\n", 0, "err the configuration must be a mapping of keys such as nonMasqueradeCIDRs, got a list", 1, NULL },
        { "just text\n", 0, "err got a string (value \"just text\")", 1, NULL },
        { "42\n", 0, "err got a number", 1, NULL },
        /* CidrLimit as YAML writes numbers; JSON 64.0 is not an integer */
        { "@LIMIT@: 0x40\n", 0, "ok " DEFAULTS, 0, NULL },
        { "@LIMIT@: 1_0\n", 0, "ok dst=" DEFAULT_DST " src= ll=0 ll6=0 resync=1m0s limit=10", 0, NULL },
        { "@LIMIT@: 64.0\n", 0, "ok " DEFAULTS, 0, NULL },
        { "@LIMIT@: 6.4e1\n", 0, "ok " DEFAULTS, 0, NULL },
        { "@LIMIT@: 010\n", 0, "ok dst=" DEFAULT_DST " src= ll=0 ll6=0 resync=1m0s limit=8", 0, NULL },
        { "@LIMIT@: 64.5\n", 0, "err @LIMIT@: expected an integer, got a number with a fraction or exponent (value \"64.5\")", 1, NULL },
        { "{\"@LIMIT@\": 64.0}", 0, "err @LIMIT@: expected an integer, got a number with a fraction or exponent (JSON", 1, NULL },
        { "{\"@LIMIT@\": 6.4e1}", 0, "err expected an integer, got a number with a fraction or exponent", 1, NULL },
        { "{\"@LIMIT@\": -0}", 0, "err the default NonMasqueradeCIDRs has 3 CIDRs, but CidrLimit allows 0", 1, NULL },
        { "{\"@LIMIT@\": 9223372036854775808}", 0, "err @LIMIT@: integer out of range", 1, NULL },
        /* CidrLimit: entries as written, both families and duplicates; src on its own */
        { "@LIMIT@: 2\n@DST@: [1.0.0.0/8, 1.0.0.0/8, fd00::/8]\n", OPT_IPV6,
          "err -:2:1: @DST@: 3 CIDRs given, but CidrLimit allows 2 (the automatic link-local exemption is not counted); raise CidrLimit to at least 3", 1, NULL },
        { "{\"@LIMIT@\": 2, \"@DST@\": [\"1.0.0.0/8\", \"2.0.0.0/8\"], \"@SRC@\": [\"3.0.0.0/8\", \"4.0.0.0/8\"]}", 0,
          "ok dst=1.0.0.0/8,2.0.0.0/8 src=3.0.0.0/8,4.0.0.0/8 ll=0 ll6=0 resync=1m0s limit=2", 0, NULL },
        { "{\"@LIMIT@\": 1, \"@DST@\": [\"1.0.0.0/8\"], \"@SRC@\": [\"3.0.0.0/8\", \"4.0.0.0/8\"]}", 0,
          "err @SRC@: 2 CIDRs given, but CidrLimit allows 1", 1, NULL },
        /* link-local joins the destinations only: the source list's message does not mention it */
        { "{\"@LIMIT@\": 1, \"@DST@\": [\"1.0.0.0/8\"], \"@SRC@\": [\"3.0.0.0/8\", \"4.0.0.0/8\"]}", 0,
          "err @SRC@: 2 CIDRs given, but CidrLimit allows 1; raise CidrLimit to at least 2", 1, NULL },
        { "@LIMIT@: 2\n", 0, "err @LIMIT@: the default NonMasqueradeCIDRs has 3 CIDRs, but CidrLimit allows 2", 1, NULL },
        { "@LIMIT@: 0\n@DST@: []\n", 0, "ok dst= src= ll=0 ll6=0 resync=1m0s limit=0", 0, "empty list" },
        { "@LIMIT@: -1\n@DST@: []\n", 0, "err @LIMIT@: must not be negative", 1, NULL },
        { "{\"@LIMIT@\": 3, \"@DST@\": [\"169.254.0.0/16\", \"10.0.0.0/8\", \"10.0.0.0/8\"]}", 0,
          "ok dst=169.254.0.0/16,10.0.0.0/8,10.0.0.0/8 src= ll=0 ll6=0 resync=1m0s limit=3", 0, NULL },
        /* CIDR syntax as strict as Go's net.ParseCIDR */
        { "@DST@: [10.0.0.0]\n", 0, "err @DST@[0]: invalid CIDR: missing '/' and prefix length (value \"10.0.0.0\")", 1, NULL },
        { "@DST@: [010.0.0.0/8]\n", 0, "err @DST@[0]: invalid CIDR: IPv4 field has octet with leading zero", 1, NULL },
        { "@DST@: [fe80::1%eth0/64]\n", OPT_IPV6, "err invalid CIDR: IPv6 zones are not allowed", 1, NULL },
        { "{\"@DST@\": [\" 10.0.0.0/8\"]}", 0, "err @DST@[0]: invalid CIDR: remove the spaces around it (value \" 10.0.0.0/8\")", 1, NULL },
        { "@DST@: [\"10.0.0.0/8\\t\"]\n", 0, "err invalid CIDR: remove the spaces around it (value \"10.0.0.0/8\\t\")", 1, NULL },
        { "@DST@: [10.0.0.0/08]\n", 0, "ok dst=10.0.0.0/8 src= ll=0 ll6=0 resync=1m0s limit=64", 0, NULL },
        /* host bits */
        { "@DST@: [10.0.0.1/8]\n", 0, "err -:1:@COL_DST1@: @DST@[0]: host bits are set: write 10.0.0.0/8 for the network, or 10.0.0.1/32 for the single address (value \"10.0.0.1/8\")", 1, NULL },
        { "{\"@SRC@\": [\"fd00::1/8\"]}", OPT_IPV6, "err @SRC@[0]: host bits are set: write fd00::/8 for the network, or fd00::1/128", 1, NULL },
        /* IPv6 without --enable-ipv6, IPv4-mapped IPv6 */
        { "@DST@: [fd00::/8]\n", 0, "err @DST@[0]: IPv6 CIDR given but IPv6 is not enabled; pass --enable-ipv6", 1, NULL },
        { "{\"@SRC@\": [\"fd00::/8\"]}", 0, "err @SRC@[0]: IPv6 CIDR given but IPv6 is not enabled; pass --enable-ipv6", 1, NULL },
        { "@DST@: [fd00::/8, 10.0.0.0/8]\n", OPT_IPV6, "ok dst=fd00::/8,10.0.0.0/8 src= ll=0 ll6=0 resync=1m0s limit=64", 0, NULL },
        { "@DST@: [\"::ffff:10.0.0.0/104\"]\n", OPT_IPV6, "err IPv4-mapped IPv6 prefixes are not supported; write the IPv4 CIDR 10.0.0.0/8 instead", 1, NULL },
        { "{\"@DST@\": [\"::ffff:10.0.0.0/104\"]}", 0, "err IPv4-mapped IPv6 prefixes are not supported", 1, NULL },
        /* with host bits set too: the suggestion is still an IPv4 CIDR, and aligned */
        { "@DST@: [\"::ffff:10.0.0.1/104\"]\n", OPT_IPV6, "err not supported; write the IPv4 CIDR 10.0.0.0/8 instead", 1, NULL },
        /* shorter than /96 at a mapped address: host bits (the ffff) set, as upstream says; the
         * aligned ::fffe:0:0/95 covers the same addresses and is accepted */
        { "@DST@: [\"::ffff:0:0/95\"]\n", OPT_IPV6, "err @DST@[0]: host bits are set: write ::fffe:0:0/95 for the "
          "network, or 0.0.0.0/32 for the single address (value \"::ffff:0:0/95\")", 1, NULL },
        { "@DST@: [\"::fffe:0:0/95\"]\n", OPT_IPV6, "ok dst=::fffe:0:0/95 src= ll=0 ll6=0 resync=1m0s limit=64", 0,
          NULL },
        /* ResyncInterval: Go's ParseDuration in full; zero, negative, bare numbers refused */
        { "@RESYNC@: 1h30m\n", 0, "ok dst=" DEFAULT_DST " src= ll=0 ll6=0 resync=1h30m0s limit=64", 0, NULL },
        { "@RESYNC@: 300ms\n", 0, "ok dst=" DEFAULT_DST " src= ll=0 ll6=0 resync=300ms limit=64", 0, NULL },
        { "@RESYNC@: +1.5m\n", 0, "ok dst=" DEFAULT_DST " src= ll=0 ll6=0 resync=1m30s limit=64", 0, NULL },
        { "{\"@RESYNC@\": \"1\\u00b5s\"}", 0, "ok dst=" DEFAULT_DST " src= ll=0 ll6=0 resync=1\xc2\xb5s limit=64", 0, NULL },
        { "{\"@RESYNC@\": \"\\u0031m\"}", 0, "ok " DEFAULTS, 0, NULL },
        { "{\"@RESYNC@\": \"2\xce\xbcs\"}", 0, "ok dst=" DEFAULT_DST " src= ll=0 ll6=0 resync=2\xc2\xb5s limit=64", 0, NULL },
        { "@RESYNC@: 60\n", 0, "err @RESYNC@: expected a duration string such as \"60s\" or \"1m0s\", got a number; add a unit", 1, NULL },
        { "{\"@RESYNC@\": \"60\"}", 0, "err @RESYNC@: invalid duration (missing unit", 1, NULL },
        { "@RESYNC@: 1d\n", 0, "err invalid duration (unknown unit", 1, NULL },
        { "@RESYNC@: 0\n", 0, "err got a number", 1, NULL },
        { "@RESYNC@: \"0\"\n", 0, "err @RESYNC@: must be positive, got 0s", 1, NULL },
        { "{\"@RESYNC@\": \"-1m\"}", 0, "err @RESYNC@: must be positive, got -1m0s", 1, NULL },
        { "@RESYNC@: 2001-12-14\n", 0, "err invalid duration", 1, NULL },
        /* first document only; anchors, aliases and merge keys */
        { "@LIMIT@: 5\n---\n@LIMIT@: 6\n", 0, "ok dst=" DEFAULT_DST " src= ll=0 ll6=0 resync=1m0s limit=5", 0, NULL },
        { "@LIMIT@: 5\n--- [\n", 0, "ok dst=" DEFAULT_DST " src= ll=0 ll6=0 resync=1m0s limit=5", 0, NULL },
        { "x-nets: &nets [1.0.0.0/8, 2.0.0.0/8]\n@DST@: *nets\n@SRC@: *nets\n", 0,
          "ok dst=1.0.0.0/8,2.0.0.0/8 src=1.0.0.0/8,2.0.0.0/8 ll=0 ll6=0 resync=1m0s limit=64", 0, "x-nets: unknown key" },
        { "base: &b {@LIMIT@: 5, @LL@: true}\n<<: *b\n@LIMIT@: 7\n", 0,
          "ok dst=" DEFAULT_DST " src= ll=1 ll6=0 resync=1m0s limit=7", 0, "base: unknown key" },
        /* all errors of a file, not just the first */
        { "@DST@: [10.0.0.1/8, bad, fd00::/8]\n@LL@: \"no\"\n@RESYNC@: 0s\n@LIMIT@: x\n", 0, "err -:1:", 6, NULL },
        { "{\"@DST@\": [\"10.0.0.1/8\", \"bad\"], \"@SRC@\": [\"x\"], \"@LIMIT@\": 1.5}", 0, "err -:1:", 4, NULL },
        /* syntax errors with a position */
        { "@DST@: [10.0.0.0/8\n", 0, "err -:2:1: YAML syntax error", 1, NULL },
        { "{\"@DST@\": [\"10.0.0.0/8\",]}", 0, "err -:1:@COL_JSONTRAIL@: JSON syntax error: expected a value, found ']'", 1, NULL },
        { "{\"@DST@\": [\"10.0.0.0/8\"]} x", 0, "err JSON syntax error: unexpected data after the top-level value", 1, NULL },
};

/* The row with placeholders replaced (also the @COL_*@ columns that depend on key length). */
static char *expand(const char *t, int sp)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        const char *const *names = spellings[sp];
        size_t dst = strlen(names[0]);

        while (*t) {
                size_t k;
                int done = 0;

                for (k = 0; k < ARRAY_SIZE(placeholders) && !done; k++)
                        if (strncmp(t, placeholders[k], strlen(placeholders[k])) == 0) {
                                fputs(names[k], f);
                                t += strlen(placeholders[k]);
                                done = 1;
                        }
                if (done)
                        continue;
                if (strncmp(t, "@COL_LL@", 8) == 0) { /* "KEY: " then the value */
                        fprintf(f, "%zu", strlen(names[2]) + 3);
                        t += 8;
                } else if (strncmp(t, "@COL_DST1@", 10) == 0) { /* "KEY: [" then the item */
                        fprintf(f, "%zu", dst + 4);
                        t += 10;
                } else if (strncmp(t, "@COL_DST2@", 10) == 0) { /* {"KEY": ["10.0.0.0/8", null */
                        fprintf(f, "%zu", dst + 21);
                        t += 10;
                } else if (strncmp(t, "@COL_JSONTRAIL@", 15) == 0) { /* {"KEY": ["10.0.0.0/8",] */
                        fprintf(f, "%zu", dst + 20);
                        t += 15;
                } else {
                        fputc(*t++, f);
                }
        }
        fclose(f);
        return out;
}

static void append_cidrs(FILE *f, const struct ima_cidr *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                char buf[IMA_ADDR_STRLEN + 4];

                ima_cidr_format(&v[i], buf);
                fprintf(f, "%s%s", i ? "," : "", buf);
        }
}

static char *summary(const struct ima_config *c)
{
        char *out = NULL, d[IMA_DURATION_STRLEN];
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        fputs("ok dst=", f);
        append_cidrs(f, c->nomasq_dst, c->n_nomasq_dst);
        fputs(" src=", f);
        append_cidrs(f, c->nomasq_src, c->n_nomasq_src);
        ima_duration_format(c->resync_interval_nsec, d);
        fprintf(f, " ll=%d ll6=%d resync=%s limit=%" PRId64, c->masq_link_local, c->masq_link_local_ipv6, d,
                c->cidr_limit);
        fclose(f);
        return out;
}

static void run_row(const struct row *row, int sp)
{
        _cleanup_free_ char *text = expand(row->text, sp), *want = expand(row->want, sp);
        _cleanup_free_ char *warn = row->warn ? expand(row->warn, sp) : NULL, *got = NULL, *first = NULL;
        _cleanup_(ima_diag_freep) struct ima_diag *d = NULL;
        _cleanup_(ima_config_freep) struct ima_config *c = NULL;
        struct ima_config_options o = { .enable_ipv6 = row->opts & OPT_IPV6,
                                        .nomasq_all_reserved_ranges = row->opts & OPT_RESERVED };
        size_t n_warn = 0;
        bool warn_found = false;
        int r;

        CHECK_INT(ima_diag_new("-", &d), 0);
        r = ima_config_parse(text, strlen(text), &o, d, &c);
        ima_diag_sort(d);
        for (size_t i = 0; i < d->n_entries; i++) {
                _cleanup_free_ char *line = ima_diag_entry_format(d, &d->entries[i]);

                if (d->entries[i].level == IMA_DIAG_WARNING) {
                        n_warn++;
                        warn_found = warn_found || (warn && strstr(line, warn));
                } else if (!first) {
                        first = TAKE_PTR(line);
                }
        }
        if (r == 0) {
                got = summary(c);
                CHECK_INT(d->n_errors, 0);
        } else if (r == -EINVAL && asprintf(&got, "err %s", first ? first : "(no error recorded)") < 0) {
                got = NULL;
        }
        if (strncmp(want, "err ", 4) == 0 ? !(got && strstr(got, want + 4) && strncmp(got, "err ", 4) == 0)
                                          : !(got && strcmp(got, want) == 0)) {
                tests_failed++;
                fprintf(stderr, "input: \"%s\"\n  got:  %s\n  want: %s\n", text, got ? got : "(null)", want);
        }
        tests_checked++;
        if (strncmp(want, "err ", 4) == 0 && row->n_errors) {
                if ((int)d->n_errors != row->n_errors)
                        fprintf(stderr, "input: \"%s\"\n", text);
                CHECK_INT(d->n_errors, row->n_errors);
        }
        if (warn) {
                if (!warn_found)
                        fprintf(stderr, "input: \"%s\": no warning containing \"%s\"\n", text, warn);
                CHECK(warn_found);
        } else {
                if (n_warn)
                        fprintf(stderr, "input: \"%s\": unexpected warning %s\n", text, d->entries[0].message);
                CHECK_INT(n_warn, 0);
        }
}

static void test_rows_every_spelling(void)
{
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
                for (int sp = 0; sp < (int)ARRAY_SIZE(spellings); sp++) {
                        run_row(&rows[i], sp);
                        if (!strchr(rows[i].text, '@'))
                                break; /* nothing to vary */
                }
}

static char *parse_summary(const char *text, size_t *ret_warn)
{
        _cleanup_(ima_diag_freep) struct ima_diag *d = NULL;
        _cleanup_(ima_config_freep) struct ima_config *c = NULL;
        struct ima_config_options o = { 0 };
        char *out = NULL;

        if (ima_diag_new("-", &d) < 0 || ima_config_parse(text, strlen(text), &o, d, &c) < 0)
                return NULL;
        *ret_warn = d->n_entries;
        if (d->n_entries > 0) {
                char *w = ima_diag_entry_format(d, &d->entries[0]);
                char *s = summary(c);

                if (asprintf(&out, "%s | %s", s, w) < 0)
                        out = NULL;
                free(w);
                free(s);
                return out;
        }
        return summary(c);
}

/* Two spellings of one key: YAML applies keys in bytewise sorted order (lowercase sorts after
 * uppercase), JSON in file order; the warning names the winner. */
static void test_same_key_different_case(void)
{
        static const struct {
                const char *text, *want;
        } cases[] = {
                { "nonMasqueradeCIDRs: [2.0.0.0/8]\nNonMasqueradeCIDRs: [1.0.0.0/8]\n",
                  "ok dst=2.0.0.0/8 src= ll=0 ll6=0 resync=1m0s limit=64 | -:2:1: warning: NonMasqueradeCIDRs: ignored: "
                  "nonMasqueradeCIDRs at line 1 sets the same field and wins (YAML keys are applied in sorted order, as "
                  "upstream does)" },
                { "NonMasqueradeCIDRs: [1.0.0.0/8]\nnonMasqueradeCIDRs: [2.0.0.0/8]\n",
                  "ok dst=2.0.0.0/8 src= ll=0 ll6=0 resync=1m0s limit=64 | -:1:1: warning: NonMasqueradeCIDRs: ignored: "
                  "nonMasqueradeCIDRs at line 2 sets the same field and wins (YAML keys are applied in sorted order, as "
                  "upstream does)" },
                { "{\"nonMasqueradeCIDRs\": [\"2.0.0.0/8\"],\n \"NonMasqueradeCIDRs\": [\"1.0.0.0/8\"]}",
                  "ok dst=1.0.0.0/8 src= ll=0 ll6=0 resync=1m0s limit=64 | -:1:2: warning: nonMasqueradeCIDRs: ignored: "
                  "NonMasqueradeCIDRs at line 2 sets the same field and wins (the last one in the file wins)" },
                { "cidrLimit: 5\ncidrLimit: 6\n",
                  "ok dst=10.0.0.0/8,172.16.0.0/12,192.168.0.0/16 src= ll=0 ll6=0 resync=1m0s limit=6 | -:1:1: warning: "
                  "cidrLimit: ignored: the same key is given again at line 2, and the later one wins" },
                /* a bad list that a later key replaces is no error (as upstream); a type error is */
                { "{\"nonMasqueradeCIDRs\": [\"bad\"], \"NONMASQUERADECIDRS\": [\"10.0.0.0/8\"]}",
                  "ok dst=10.0.0.0/8 src= ll=0 ll6=0 resync=1m0s limit=64 | -:1:2: warning: nonMasqueradeCIDRs: "
                  "ignored: NONMASQUERADECIDRS at line 1 sets the same field and wins (the last one in the file wins)" },
                { "{\"cidrLimit\": \"x\", \"cidrLimit\": 5}", NULL },
                /* null leaves a bool or an int as it was (Go): the earlier value wins, not the null */
                { "{\"masqLinkLocal\": true,\n \"MasqLinkLocal\": null}",
                  "ok dst=10.0.0.0/8,172.16.0.0/12,192.168.0.0/16 src= ll=1 ll6=0 resync=1m0s limit=64 | -:2:2: "
                  "warning: MasqLinkLocal: ignored: null leaves the setting unchanged" },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                size_t n_warn = 0;
                _cleanup_free_ char *got = parse_summary(cases[i].text, &n_warn);

                if (!cases[i].want) {
                        CHECK(got == NULL);
                        continue;
                }
                CHECK_STR(got, cases[i].want);
                CHECK_INT(n_warn, 1);
        }
}

/* Each file is read from scratch: keys absent from the second file take defaults, never the
 * first file's values. */
static void test_stateless(void)
{
        size_t n;
        _cleanup_free_ char *a = parse_summary("cidrLimit: 5\nmasqLinkLocal: true\nnonMasqueradeCIDRs: [1.0.0.0/8]\n", &n);
        _cleanup_free_ char *b = parse_summary("resyncInterval: 2m\n", &n);

        CHECK_STR(a, "ok dst=1.0.0.0/8 src= ll=1 ll6=0 resync=1m0s limit=5");
        CHECK_STR(b, "ok dst=" DEFAULT_DST " src= ll=0 ll6=0 resync=2m0s limit=64");
}

static struct ima_config *parse_ok(const char *text)
{
        _cleanup_(ima_diag_freep) struct ima_diag *d = NULL;
        struct ima_config_options o = { .enable_ipv6 = true };
        struct ima_config *c = NULL;

        if (ima_diag_new("-", &d) < 0 || ima_config_parse(text, strlen(text), &o, d, &c) < 0)
                return NULL;
        return c;
}

/* What the daemon uses to tell a real change from a rewrite of the same content. */
static void test_equal(void)
{
        static const struct {
                const char *a, *b;
                bool equal;
        } cases[] = {
                { "NonMasqueradeCIDRs: [10.0.0.0/8]\n", "{\"nonMasqueradeCIDRs\": [\"10.0.0.0/8\"]} ", true },
                { "", "NonMasqueradeCIDRs: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]\nCidrLimit: 64\n", true },
                { "ResyncInterval: 60s\n", "ResyncInterval: 1m\n", true },
                { "NonMasqueradeCIDRs: [10.0.0.0/8, 11.0.0.0/8]\n", "NonMasqueradeCIDRs: [11.0.0.0/8, 10.0.0.0/8]\n", false },
                { "NonMasqueradeCIDRs: [10.0.0.0/8]\n", "NonMasqueradeCIDRs: [10.0.0.0/9]\n", false },
                { "NonMasqueradeCIDRs: [\"::/0\"]\n", "NonMasqueradeCIDRs: [0.0.0.0/0]\n", false },
                { "NonMasqueradeCIDRs: []\n", "NonMasqueradeSrcCIDRs: []\nNonMasqueradeCIDRs: []\n", true },
                { "NonMasqueradeSrcCIDRs: [10.0.0.0/8]\n", "NonMasqueradeSrcCIDRs: [10.0.0.0/8, 10.0.0.0/8]\n", false },
                { "MasqLinkLocal: true\n", "", false },
                { "MasqLinkLocalIPv6: true\n", "", false },
                { "CidrLimit: 65\n", "", false },
                { "ResyncInterval: 61s\n", "", false },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_(ima_config_freep) struct ima_config *a = parse_ok(cases[i].a), *b = parse_ok(cases[i].b);

                CHECK(a && b);
                if (!a || !b)
                        continue;
                CHECK_INT(ima_config_equal(a, b), cases[i].equal);
                CHECK_INT(ima_config_equal(b, a), cases[i].equal);
        }
}

static void test_json_output(void)
{
        _cleanup_(ima_diag_freep) struct ima_diag *d = NULL;
        _cleanup_(ima_config_freep) struct ima_config *c = NULL;
        _cleanup_(ima_model_freep) struct ima_model *m = NULL;
        _cleanup_free_ char *json = NULL;
        struct ima_config_options o = { .enable_ipv6 = true };
        struct ima_model_options mo;
        /* ::102:304 as Go's IPNet.String() prints it, not glibc's ::1.2.3.4; the sets as nft does */
        const char *text = "NonMasqueradeCIDRs: [10.0.0.0/8, 10.0.0.0/12, 11.0.0.0/8, 12.0.0.0/8, fd00::/8, "
                           "\"::102:304/128\"]\n"
                           "NonMasqueradeSrcCIDRs: [192.168.0.0/16]\nMasqLinkLocalIPv6: true\nResyncInterval: 90s\n";

        CHECK_INT(ima_diag_new("-", &d), 0);
        CHECK_INT(ima_config_parse(text, strlen(text), &o, d, &c), 0);
        ima_model_options_init(&mo);
        mo.enable_ipv6 = true;
        CHECK_INT(ima_model_build(c, &mo, &m), 0);
        json = ima_config_to_json(c, m);
        CHECK_STR(json, "{\n"
                        "  \"nonMasqueradeCIDRs\": [\n    \"10.0.0.0/8\",\n    \"10.0.0.0/12\",\n    \"11.0.0.0/8\",\n    \"12.0.0.0/8\",\n    \"fd00::/8\",\n"
                        "    \"::102:304/128\"\n  ],\n"
                        "  \"nonMasqueradeSrcCIDRs\": [\n    \"192.168.0.0/16\"\n  ],\n"
                        "  \"cidrLimit\": 64,\n  \"masqLinkLocal\": false,\n  \"masqLinkLocalIPv6\": true,\n"
                        "  \"resyncInterval\": \"1m30s\",\n"
                        "  \"sets\": {\n"
                        "    \"ip\": {\n      \"nomasq-dst\": [\n        \"10.0.0.0-12.255.255.255\",\n        \"169.254.0.0/16\"\n      ],\n"
                        "      \"nomasq-src\": [\n        \"192.168.0.0/16\"\n      ]\n    },\n"
                        "    \"ip6\": {\n      \"nomasq-dst\": [\n        \"::1.2.3.4\",\n        \"fd00::/8\"\n      ],\n      \"nomasq-src\": []\n    }\n"
                        "  }\n}\n");
}

static int write_file(const char *path, const char *text, size_t len)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        bool ok = fd >= 0 && write(fd, text, len) == (ssize_t)len;

        if (fd >= 0)
                close(fd);
        return ok ? 0 : -1;
}

static int load(const char *path, const struct ima_config_options *o, char **ret_msg, struct ima_config **ret)
{
        _cleanup_(ima_diag_freep) struct ima_diag *d = NULL;
        int r;

        if (ima_diag_new(path, &d) < 0)
                return -ENOMEM;
        r = ima_config_load(path, o, d, ret);
        *ret_msg = d->n_entries ? ima_diag_entry_format(d, &d->entries[0]) : NULL;
        return r;
}

static void test_files(void)
{
        char dir[] = "/tmp/ima-test-config-XXXXXX", path[256], link[300];
        struct ima_config_options o = { 0 };
        struct ima_config *c = NULL;
        char *msg = NULL, *big;

        CHECK(mkdtemp(dir) != NULL);
        snprintf(path, sizeof(path), "%s/ip-masq-agent", dir);
        /* missing: defaults */
        CHECK_INT(load(path, &o, &msg, &c), 0);
        CHECK(c && c->source == IMA_CONFIG_SOURCE_DEFAULTS && c->n_nomasq_dst == 3);
        CHECK(msg == NULL);
        c = ima_config_free(c);
        /* a ConfigMap key that was deleted: a dangling symlink */
        snprintf(link, sizeof(link), "%s/..data", dir);
        CHECK_INT(symlink("..2026_11_24_gone/ip-masq-agent", path), 0);
        CHECK_INT(load(path, &o, &msg, &c), 0);
        CHECK(c && c->source == IMA_CONFIG_SOURCE_DEFAULTS);
        c = ima_config_free(c);
        CHECK_INT(unlink(path), 0);
        /* a directory, a FIFO: errors, and no hang on the FIFO */
        CHECK_INT(mkdir(path, 0755), 0);
        CHECK_INT(load(path, &o, &msg, &c), -EINVAL);
        CHECK(msg && strstr(msg, "ip-masq-agent: not a regular file (a directory)"));
        msg = (free(msg), NULL);
        CHECK_INT(rmdir(path), 0);
        CHECK_INT(mkfifo(path, 0644), 0);
        CHECK_INT(load(path, &o, &msg, &c), -EINVAL);
        CHECK(msg && strstr(msg, "not a regular file (a device, socket or FIFO)"));
        msg = (free(msg), NULL);
        CHECK_INT(unlink(path), 0);
        /* unreadable: root may open anything, but reading /proc/self/mem at offset 0 fails (EIO) */
        CHECK_INT(load("/proc/self/mem", &o, &msg, &c), -EINVAL);
        CHECK(msg && strstr(msg, "/proc/self/mem: cannot read the file: Input/output error"));
        msg = (free(msg), NULL);
        /* too large */
        big = calloc(1, IMA_CONFIG_MAX_BYTES + 1);
        memset(big, '#', IMA_CONFIG_MAX_BYTES);
        CHECK_INT(write_file(path, big, IMA_CONFIG_MAX_BYTES + 1), 0);
        CHECK_INT(load(path, &o, &msg, &c), -EINVAL);
        CHECK(msg && strstr(msg, "file too large: 16777217 bytes, the limit is 16777216 (16 MiB)"));
        msg = (free(msg), NULL);
        /* exactly at the limit is read (all comment: defaults) */
        CHECK_INT(write_file(path, big, IMA_CONFIG_MAX_BYTES), 0);
        CHECK_INT(load(path, &o, &msg, &c), 0);
        CHECK(c && c->source == IMA_CONFIG_SOURCE_FILE && c->n_nomasq_dst == 3);
        c = ima_config_free(c);
        free(big);
        /* a good file, then the file deleted: back to defaults */
        CHECK_INT(write_file(path, "cidrLimit: 7\n", 13), 0);
        CHECK_INT(load(path, &o, &msg, &c), 0);
        CHECK(c && c->cidr_limit == 7);
        c = ima_config_free(c);
        CHECK_INT(unlink(path), 0);
        CHECK_INT(load(path, &o, &msg, &c), 0);
        CHECK(c && c->cidr_limit == 64 && c->source == IMA_CONFIG_SOURCE_DEFAULTS);
        c = ima_config_free(c);
        CHECK_INT(rmdir(dir), 0);
}

/* 100,000 CIDRs (plus as many source CIDRs) in block YAML, in flow YAML and in JSON, loaded from
 * a file: the size bound and the value bound must both admit it. */
static void test_100k_cidrs(void)
{
        static const char *const formats[] = { "yaml", "json", "flow" };
        const size_t n = 100000;

        for (size_t k = 0; k < ARRAY_SIZE(formats); k++) {
                char path[] = "/tmp/ima-test-100k-XXXXXX";
                struct ima_config_options o = { .enable_ipv6 = true };
                struct ima_config *c = NULL;
                char *buf = NULL, *msg = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&buf, &len);
                struct timespec t0, t1;
                int fd = mkstemp(path);

                for (int key = 0; key < 2; key++) {
                        const char *name = key ? "NonMasqueradeSrcCIDRs" : "NonMasqueradeCIDRs";

                        if (k == 0)
                                fprintf(f, "%s:\n", name);
                        else if (k == 1)
                                fprintf(f, "%s\"%s\": [", key ? ", " : "{\"CidrLimit\": 100000, ", name);
                        else
                                fprintf(f, "%s: [", name);
                        for (size_t i = 0; i < n; i++) {
                                /* mixed families, 2001:db8:XXXX:YYYY::/64 and 10.X.Y.Z/32 */
                                if (i % 2)
                                        fprintf(f, k == 0 ? "- 2001:db8:%zx:%zx::/64\n" : k == 1 ? "\"2001:db8:%zx:%zx::/64\"" : "2001:db8:%zx:%zx::/64",
                                                i >> 16, i & 0xffff);
                                else
                                        fprintf(f, k == 0 ? "- 10.%zu.%zu.%zu/32\n" : k == 1 ? "\"10.%zu.%zu.%zu/32\"" : "10.%zu.%zu.%zu/32",
                                                (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
                                if (k != 0 && i + 1 < n)
                                        fputs(", ", f);
                        }
                        if (k == 1)
                                fputs("]", f);
                        else if (k == 2)
                                fputs("]\n", f);
                }
                fputs(k == 1 ? "}\n" : "CidrLimit: 100000\n", f);
                fclose(f);
                CHECK(fd >= 0 && len < IMA_CONFIG_MAX_BYTES);
                CHECK(write(fd, buf, len) == (ssize_t)len);
                close(fd);
                clock_gettime(CLOCK_MONOTONIC, &t0);
                CHECK_INT(load(path, &o, &msg, &c), 0);
                clock_gettime(CLOCK_MONOTONIC, &t1);
                if (msg)
                        fprintf(stderr, "%s\n", msg);
                CHECK(c && c->n_nomasq_dst == n && c->n_nomasq_src == n);
                /* reported, never asserted: timing depends on the machine */
                fprintf(stderr, "  %s, %zu bytes, 2 x %zu CIDRs: loaded in %.0f ms\n", formats[k], len, n,
                        (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
                ima_config_free(c);
                free(msg);
                free(buf);
                unlink(path);
        }
}

/* validate lists every problem in the order of the file: by line, then column, and problems at
 * one place in the order they were found (checks run key by key, not in file order) */
static void test_diag_sorted_by_position(void)
{
        static const struct {
                unsigned line, col;
                const char *key;
        } recorded[] = { { 2, 9, "c" }, { 2, 3, "b1" }, { 1, 5, "a" }, { 2, 3, "b2" }, { 2, 3, "b3" } };
        static const char *const sorted[] = { "a", "b1", "b2", "b3", "c" };
        _cleanup_(ima_diag_freep) struct ima_diag *d = NULL;

        CHECK_INT(ima_diag_new("f", &d), 0);
        for (size_t i = 0; i < ARRAY_SIZE(recorded); i++)
                CHECK_INT(ima_diag_error(d, (struct ima_pos){ .line = recorded[i].line, .col = recorded[i].col },
                                         recorded[i].key, NULL, "bad"), -EINVAL);
        ima_diag_sort(d);
        CHECK_INT(d->n_entries, ARRAY_SIZE(sorted));
        for (size_t i = 0; i < ARRAY_SIZE(sorted) && i < d->n_entries; i++)
                CHECK_STR(d->entries[i].key, sorted[i]);
}

int main(void)
{
        TEST_RUN(test_rows_every_spelling);
        TEST_RUN(test_same_key_different_case);
        TEST_RUN(test_stateless);
        TEST_RUN(test_equal);
        TEST_RUN(test_json_output);
        TEST_RUN(test_files);
        TEST_RUN(test_diag_sorted_by_position);
        TEST_RUN(test_100k_cidrs);
        TEST_EXIT();
}
