/* go-duration: nanoseconds of durations as Go writes them, read by the agent's own parser, for
 * tests that compare the durations the agent logs.
 *
 *   go-duration DURATION...
 *
 * Prints one line per argument; exits 1 on the first that is not a Go duration. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/duration.h"

int main(int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                const char *reason = NULL;
                int64_t nsec;

                if (ima_duration_parse(argv[i], strlen(argv[i]), &nsec, &reason) < 0) {
                        fprintf(stderr, "go-duration: \"%s\": %s\n", argv[i], reason ? reason : "out of range");
                        return 1;
                }
                printf("%" PRId64 "\n", nsec);
        }
        return 0;
}
