/* gen-prefixes: deterministic random prefixes for tests and benchmarks.
 *
 *   gen-prefixes COUNT SEED [ipv4|ipv6]
 *
 * Prints COUNT distinct prefixes, one per line, in random order, that neither overlap nor touch
 * (so no normalization can merge them: the set the kernel ends up with lists exactly these).
 * IPv4: one prefix of length 22..28 at the start of a random /22 slot, no two slots adjacent.
 * IPv6: one prefix of length 48..64 at the start of a random /48 slot inside fd00::/8. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

static uint64_t rng(void)
{
        /* xorshift64*: reproducible across machines for the same seed */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * UINT64_C(2685821657736338717);
}

/* Open-addressing set of taken slots. */
static uint64_t *slots;
static size_t n_slots_cap;

static int taken(uint64_t k)
{
        for (size_t i = (size_t)(k * UINT64_C(0x9e3779b97f4a7c15) % n_slots_cap);; i = (i + 1) % n_slots_cap) {
                if (slots[i] == 0)
                        return 0;
                if (slots[i] == k + 1)
                        return 1;
        }
}

static void take(uint64_t k)
{
        size_t i = (size_t)(k * UINT64_C(0x9e3779b97f4a7c15) % n_slots_cap);

        while (slots[i] != 0)
                i = (i + 1) % n_slots_cap;
        slots[i] = k + 1;
}

int main(int argc, char **argv)
{
        unsigned long count;
        int v6;

        if (argc < 3 || argc > 4) {
                fprintf(stderr, "usage: gen-prefixes COUNT SEED [ipv4|ipv6]\n");
                return 2;
        }
        count = strtoul(argv[1], NULL, 10);
        rng_state = strtoull(argv[2], NULL, 10) * 2 + 1;
        v6 = argc == 4 && strcmp(argv[3], "ipv6") == 0;
        if (count > 1000000) {
                fprintf(stderr, "gen-prefixes: at most 1000000\n");
                return 2;
        }
        n_slots_cap = count * 4 + 16;
        slots = calloc(n_slots_cap, sizeof(*slots));
        if (!slots)
                return 1;
        for (unsigned long n = 0; n < count;) {
                uint64_t k = v6 ? rng() % (UINT64_C(1) << 40) : rng() % (UINT64_C(1) << 22);
                char text[INET6_ADDRSTRLEN];

                if (taken(k) || (k > 0 && taken(k - 1)) || taken(k + 1))
                        continue;
                take(k);
                n++;
                if (v6) {
                        uint8_t a[16] = { 0xfd };

                        for (int i = 0; i < 5; i++) /* 40 slot bits after fd00::/8 */
                                a[1 + i] = (uint8_t)(k >> (32 - 8 * i));
                        inet_ntop(AF_INET6, a, text, sizeof(text));
                        printf("%s/%u\n", text, 48 + (unsigned)(rng() % 17));
                } else {
                        uint32_t addr = (uint32_t)(k << 10);

                        printf("%u.%u.%u.%u/%u\n", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255,
                               22 + (unsigned)(rng() % 7));
                }
        }
        free(slots);
        return 0;
}
