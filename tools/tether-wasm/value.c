/* Parsing and printing wasm values, exactly: every float keeps its bits. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

const char *value_type_name(char type)
{
    switch (type) {
    case 'i': return "i32";
    case 'j': return "i64";
    case 'f': return "f32";
    case 'd': return "f64";
    default: return "?";
    }
}

/* An integer of `bits` bits, signed or unsigned, decimal or 0x hex. */
static int parse_int(const char *s, int bits, uint64_t *out)
{
    uint64_t max = bits == 64 ? UINT64_MAX : UINT32_MAX;
    int neg = *s == '-';
    char *end;
    uint64_t u;

    if (*s == '-' || *s == '+')
        s++;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    /* Decimal, or hexadecimal after 0x: never octal (i32:010 is ten). */
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        if (!isxdigit((unsigned char)*s) || (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')))
            return -1;
        u = strtoull(s, &end, 16);
    } else {
        u = strtoull(s, &end, 10);
    }
    if (errno || *end || u > max)
        return -1;
    if (neg) {
        if (u > (max >> 1) + 1) /* below the signed minimum */
            return -1;
        u = (0 - u) & max;
    }
    *out = u;
    return 0;
}

/* nan, nan:0xPAYLOAD, inf: bits of a float with `mbits` mantissa bits. */
static int parse_special(const char *s, int mbits, uint64_t *bits)
{
    uint64_t sign = 0, exp = mbits == 23 ? 0xffu : 0x7ffu;
    uint64_t quiet = 1ull << (mbits - 1), payload;
    char *end;

    if (*s == '-' || *s == '+')
        sign = *s++ == '-';
    sign <<= mbits == 23 ? 31 : 63;
    exp <<= mbits;
    if (strcmp(s, "inf") == 0) {
        *bits = sign | exp;
        return 0;
    }
    if (strcmp(s, "nan") == 0) {
        *bits = sign | exp | quiet;
        return 0;
    }
    if (strncmp(s, "nan:0x", 6) != 0)
        return 1; /* not special: a number */
    errno = 0;
    payload = strtoull(s + 6, &end, 16);
    if (errno || *end || s[6] == 0 || payload == 0 || payload >> mbits)
        return -1;
    *bits = sign | exp | payload;
    return 0;
}

static int parse_float(const char *s, char type, tether_wasm_val *v)
{
    int mbits = type == 'f' ? 23 : 52;
    uint64_t bits;
    char *end;
    int r = parse_special(s, mbits, &bits);

    if (r < 0)
        return -1;
    if (r == 0) {
        if (type == 'f')
            v->i32 = (uint32_t)bits;
        else
            v->i64 = bits;
        return 0;
    }
    if (!*s || strpbrk(s, " \t\n"))
        return -1;
    errno = 0;
    if (type == 'f')
        v->f32 = strtof(s, &end);
    else
        v->f64 = strtod(s, &end);
    /* ERANGE on underflow still gives the right denormal or zero. */
    if (*end || (errno == ERANGE && (type == 'f' ? isinf(v->f32) : isinf(v->f64))))
        return -1;
    return 0;
}

int value_parse(const char *text, char type, tether_wasm_val *v, char *err,
                size_t errlen)
{
    const char *want = value_type_name(type);
    size_t n = strlen(want);
    const char *s = text;
    uint64_t u;
    int bad;

    if (strncmp(s, want, n) != 0 || s[n] != ':') {
        snprintf(err, errlen, "'%s' is not of type %s (write %s:VALUE)", text, want, want);
        return -1;
    }
    s += n + 1;
    memset(v, 0, sizeof *v);
    switch (type) {
    case 'i':
        bad = parse_int(s, 32, &u);
        v->i32 = (uint32_t)u;
        break;
    case 'j':
        bad = parse_int(s, 64, &u);
        v->i64 = u;
        break;
    default:
        bad = parse_float(s, type, v);
    }
    if (bad) {
        snprintf(err, errlen, "'%s' is not a valid %s value", text, want);
        return -1;
    }
    return 0;
}

/* The shortest %g text of a float that reads back to the same bits. */
static void shortest(char *buf, size_t len, char type, tether_wasm_val v)
{
    for (int prec = 1; prec <= 17; prec++) {
        if (type == 'f') {
            float back;
            snprintf(buf, len, "%.*g", prec, (double)v.f32);
            back = strtof(buf, NULL);
            if (memcmp(&back, &v.f32, sizeof back) == 0)
                return;
        } else {
            double back;
            snprintf(buf, len, "%.*g", prec, v.f64);
            back = strtod(buf, NULL);
            if (memcmp(&back, &v.f64, sizeof back) == 0)
                return;
        }
    }
}

static int format_float(char *buf, size_t len, char type, tether_wasm_val v)
{
    int mbits = type == 'f' ? 23 : 52;
    uint64_t bits = type == 'f' ? v.i32 : v.i64;
    int neg = (int)(bits >> (type == 'f' ? 31 : 63)) & 1;
    uint64_t mant = bits & ((1ull << mbits) - 1);
    int isnan_ = type == 'f' ? isnan(v.f32) : isnan(v.f64);
    int isinf_ = type == 'f' ? isinf(v.f32) : isinf(v.f64);
    char num[64];

    if (isnan_ && mant == 1ull << (mbits - 1))
        return snprintf(buf, len, "%s:%snan", value_type_name(type), neg ? "-" : "");
    if (isnan_)
        return snprintf(buf, len, "%s:%snan:0x%" PRIx64, value_type_name(type),
                        neg ? "-" : "", mant);
    if (isinf_)
        return snprintf(buf, len, "%s:%sinf", value_type_name(type), neg ? "-" : "");
    shortest(num, sizeof num, type, v);
    return snprintf(buf, len, "%s:%s", value_type_name(type), num);
}

int value_format(char *buf, size_t len, char type, tether_wasm_val v)
{
    switch (type) {
    case 'i':
        return snprintf(buf, len, "i32:%" PRId32, (int32_t)v.i32);
    case 'j':
        return snprintf(buf, len, "i64:%" PRId64, (int64_t)v.i64);
    case 'f':
    case 'd':
        return format_float(buf, len, type, v);
    default:
        return snprintf(buf, len, "?");
    }
}
