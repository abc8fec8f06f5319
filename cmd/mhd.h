/* mhd.h: libmicrohttpd, loaded with dlopen() when the first HTTP endpoint starts. Debian's build
 * of it pulls in GnuTLS, nettle, gmp, p11-kit and more (about 2.5 MB resident in an otherwise
 * 2.5 MB agent), which an agent run without --health-bind-address / --metrics-bind-address
 * should not pay for. The function types come from libmicrohttpd's own header. */
#pragma once

#include <microhttpd.h>

struct mhd_api {
        __typeof__(MHD_start_daemon) *start_daemon;
        __typeof__(MHD_stop_daemon) *stop_daemon;
        __typeof__(MHD_get_daemon_info) *get_daemon_info;
        __typeof__(MHD_is_feature_supported) *is_feature_supported;
        __typeof__(MHD_get_timeout) *get_timeout;
        __typeof__(MHD_run_wait) *run_wait;
        __typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
        __typeof__(MHD_add_response_header) *add_response_header;
        __typeof__(MHD_destroy_response) *destroy_response;
        __typeof__(MHD_queue_response) *queue_response;
        __typeof__(MHD_get_connection_info) *get_connection_info;
};

/* The library's functions, loaded on first call (and kept: it is never unloaded). Returns NULL
 * with *ret_reason set when the library or one of the functions is missing. */
const struct mhd_api *mhd_load(const char **ret_reason);
