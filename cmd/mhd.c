#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>

#include "cmd/mhd.h"

/* ABI 12 is libmicrohttpd's soname since 0.9.x (Debian: package libmicrohttpd12). */
#define MHD_SONAME "libmicrohttpd.so.12"

static struct mhd_api api;
static const struct mhd_api *loaded;
/* dlerror()'s text is only valid until the next dl call: the reason keeps a copy */
static char load_error[512];

static const struct {
        const char *name;
        size_t offset;
} symbols[] = {
        { "MHD_start_daemon", offsetof(struct mhd_api, start_daemon) },
        { "MHD_stop_daemon", offsetof(struct mhd_api, stop_daemon) },
        { "MHD_get_daemon_info", offsetof(struct mhd_api, get_daemon_info) },
        { "MHD_is_feature_supported", offsetof(struct mhd_api, is_feature_supported) },
        { "MHD_get_timeout", offsetof(struct mhd_api, get_timeout) },
        { "MHD_run_wait", offsetof(struct mhd_api, run_wait) },
        { "MHD_create_response_from_buffer", offsetof(struct mhd_api, create_response_from_buffer) },
        { "MHD_add_response_header", offsetof(struct mhd_api, add_response_header) },
        { "MHD_destroy_response", offsetof(struct mhd_api, destroy_response) },
        { "MHD_queue_response", offsetof(struct mhd_api, queue_response) },
        { "MHD_get_connection_info", offsetof(struct mhd_api, get_connection_info) },
};

const struct mhd_api *mhd_load(const char **ret_reason)
{
        void *lib;

        if (loaded)
                return loaded;
        lib = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (!lib) {
                /* installed but unloadable (a dependency missing) is a different fix: say which */
                snprintf(load_error, sizeof(load_error), "cannot load %s (install package libmicrohttpd12): %s",
                         MHD_SONAME, dlerror());
                *ret_reason = load_error;
                return NULL;
        }
        for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
                void *fn = dlsym(lib, symbols[i].name);

                if (!fn) {
                        snprintf(load_error, sizeof(load_error),
                                 "%s lacks %s, which the agent needs (version older than 0.9.73?)", MHD_SONAME,
                                 symbols[i].name);
                        *ret_reason = load_error;
                        dlclose(lib);
                        return NULL;
                }
                /* POSIX guarantees object and function pointers convert both ways */
                *(void **)((char *)&api + symbols[i].offset) = fn;
        }
        loaded = &api;
        return loaded;
}
