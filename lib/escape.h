/* escape.h: text from outside (a config file's keys and values, names and comments read from
 * the kernel) shown to a person on one line, with backslash escapes for what would end the line,
 * break the quoting around it, or not be seen at all. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Writes len bytes of s, escaping quotes, backslashes, control bytes (NUL included; \n, \t and \r
 * by name), invisible characters (as Go's %q: \u200b) and bytes that are not UTF-8. */
void ima_fput_escaped(FILE *f, const char *s, size_t len);

/* Whether ima_fput_escaped() would write s otherwise than as it is. */
bool ima_escape_needed(const char *s, size_t len);
