/*
 * The compute-heavy program of `make bench`: an LZ77 compressor (hash
 * chains over a 64 KiB window, the kind of loop deflate spends its time
 * in) and its decompressor, over 8 MiB of generated text, three times,
 * each result checked. Built twice: natively with gcc -O2, and for
 * wasm32-wasi with clang -O2, then run by tether-wasm. It times itself
 * (CLOCK_MONOTONIC, through WASI in the wasm build), so process start
 * and module loading are not counted.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIZE (8u << 20)
#define WINDOW 65536u
#define HASH_BITS 16
#define CHAIN 32
#define MIN_MATCH 4
#define MAX_MATCH 258

static uint32_t seed = 12345;

static uint32_t next(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    return seed;
}

/* Text-like input: words from a small vocabulary, with some noise. */
static void generate(uint8_t *p, size_t n)
{
    static const char *words[] = {
        "fiber", "stack", "guard", "trap", "instance", "memory", "the", "a",
        "host", "guest", "yield", "resume", "unwind", "signal", "of", "and",
        "WebAssembly", "runtime", "page", "table", "call", "return", "fault"};
    size_t i = 0;

    while (i < n) {
        const char *w = words[next() % (sizeof words / sizeof words[0])];
        size_t l = strlen(w);
        if (next() % 16 == 0)
            p[i++] = (uint8_t)('0' + next() % 10);
        for (size_t k = 0; k < l && i < n; k++)
            p[i++] = (uint8_t)w[k];
        if (i < n)
            p[i++] = next() % 12 == 0 ? '\n' : ' ';
    }
}

static uint32_t hash4(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return (v * 2654435761u) >> (32 - HASH_BITS);
}

/*
 * Output: groups of 8 items behind a flag byte (bit set: a match of
 * 3 bytes, offset-1 as 16 bits and length-MIN_MATCH as 8; clear: a
 * literal byte). Returns the compressed size.
 */
static size_t compress(const uint8_t *in, size_t n, uint8_t *out, int32_t *head, int32_t *prev)
{
    size_t i = 0, o = 0, flag_at = 0;
    int items = 8;

    for (size_t k = 0; k < (1u << HASH_BITS); k++)
        head[k] = -1;
    while (i < n) {
        size_t best_len = 0, best_off = 0;
        if (items == 8) {
            flag_at = o++;
            out[flag_at] = 0;
            items = 0;
        }
        if (i + MIN_MATCH <= n) {
            uint32_t h = hash4(in + i);
            int32_t cand = head[h];
            for (int c = 0; c < CHAIN && cand >= 0 && i - (size_t)cand <= WINDOW; c++) {
                size_t len = 0, max = n - i < MAX_MATCH ? n - i : MAX_MATCH;
                while (len < max && in[cand + len] == in[i + len])
                    len++;
                if (len > best_len) {
                    best_len = len;
                    best_off = i - (size_t)cand;
                }
                cand = prev[cand % WINDOW];
            }
            prev[i % WINDOW] = head[h];
            head[h] = (int32_t)i;
        }
        if (best_len >= MIN_MATCH) {
            out[flag_at] |= (uint8_t)(1u << items);
            out[o++] = (uint8_t)(best_off - 1);
            out[o++] = (uint8_t)((best_off - 1) >> 8);
            out[o++] = (uint8_t)(best_len - MIN_MATCH);
            /* Index the positions the match covers. */
            for (size_t k = 1; k < best_len && i + k + MIN_MATCH <= n; k++) {
                uint32_t h = hash4(in + i + k);
                prev[(i + k) % WINDOW] = head[h];
                head[h] = (int32_t)(i + k);
            }
            i += best_len;
        } else {
            out[o++] = in[i++];
        }
        items++;
    }
    return o;
}

static size_t decompress(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t i = 0, o = 0;

    while (i < n) {
        uint8_t flags = in[i++];
        for (int b = 0; b < 8 && i < n; b++) {
            if (flags & (1u << b)) {
                size_t off = (size_t)in[i] + ((size_t)in[i + 1] << 8) + 1;
                size_t len = (size_t)in[i + 2] + MIN_MATCH;
                for (size_t k = 0; k < len; k++, o++)
                    out[o] = out[o - off];
                i += 3;
            } else {
                out[o++] = in[i++];
            }
        }
    }
    return o;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(void)
{
    uint8_t *in = malloc(SIZE), *packed = malloc(SIZE + SIZE / 8 + 16), *back = malloc(SIZE);
    int32_t *head = malloc(sizeof(int32_t) << HASH_BITS), *prev = malloc(sizeof(int32_t) * WINDOW);
    size_t packed_n = 0;
    double t0, best = 1e30;

    if (!in || !packed || !back || !head || !prev)
        return 1;
    generate(in, SIZE);
    for (int round = 0; round < 3; round++) {
        t0 = now();
        packed_n = compress(in, SIZE, packed, head, prev);
        if (decompress(packed, packed_n, back) != SIZE || memcmp(in, back, SIZE) != 0) {
            fprintf(stderr, "round trip failed\n");
            return 1;
        }
        if (now() - t0 < best)
            best = now() - t0;
    }
    printf("compress+decompress %u KiB to %zu KiB: %.1f ms\n", SIZE >> 10, packed_n >> 10,
           best * 1e3);
    return 0;
}
