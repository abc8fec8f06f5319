/* args.h: the parsed command line, shared by the verbs. These are the only mutable globals of
 * the program (house rule: arg_* in cmd/ only). */
#pragma once

#include <stdbool.h>

#include "lib/config.h"
#include "lib/model.h"

extern const char *arg_config_path;
extern struct ima_config_options arg_config_opts;
extern struct ima_model_options arg_model_opts;
extern const char *arg_masq_chain;

enum table_ownership {
        TABLE_OWNERSHIP_AUTO, /* owner+persist where the kernel supports persist (6.9+) */
        TABLE_OWNERSHIP_OFF,  /* plain tables, repaired from the event stream */
};
extern enum table_ownership arg_table_ownership;
extern bool arg_cleanup_on_exit;
extern const char *arg_health_bind_address;  /* NULL: no /healthz, /readyz */
extern const char *arg_metrics_bind_address; /* NULL: no /metrics */
