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
