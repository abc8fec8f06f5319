/* json-text.h: the JSON text of a jansson value, whole or not at all. */
#pragma once

#include <jansson.h>

/* Like json_dumps(v, flags), but NULL on out of memory however it happens: json_dumps() does
 * not notice when appending an object's key fails (jansson 2.14 then leaves out the key's
 * text and returns the rest as if whole), and this text is what validate prints and the log
 * records. malloc'd. */
char *ima_json_text(const json_t *v, size_t flags);
