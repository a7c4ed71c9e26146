/* A reader for the parts of the wasm binary format tether-wasm needs. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasmbin.h"

struct rd {
    const uint8_t *p, *end;
    char *err;
    size_t errlen;
    int failed;
};

static int fail(struct rd *r, const char *fmt, ...)
{
    va_list ap;

    if (!r->failed && r->errlen) {
        va_start(ap, fmt);
        vsnprintf(r->err, r->errlen, fmt, ap);
        va_end(ap);
    }
    r->failed = 1;
    r->p = r->end;
    return -1;
}

static uint8_t byte(struct rd *r)
{
    if (r->p >= r->end) {
        fail(r, "unexpected end of module");
        return 0;
    }
    return *r->p++;
}

/* An unsigned LEB128 of at most `bits` bits. */
static uint64_t uleb(struct rd *r, int bits)
{
    uint64_t v = 0;
    int shift = 0;
    uint8_t b;

    do {
        b = byte(r);
        if (shift >= bits)
            return fail(r, "integer too long"), 0;
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while ((b & 0x80) && !r->failed);
    return v;
}

static uint32_t u32(struct rd *r)
{
    return (uint32_t)uleb(r, 35);
}

/* A signed LEB128: only skipped here. */
static void sleb_skip(struct rd *r, int bits)
{
    int shift = 0;
    uint8_t b;

    do {
        b = byte(r);
        if (shift >= bits)
            fail(r, "integer too long");
        shift += 7;
    } while ((b & 0x80) && !r->failed);
}

static void skip(struct rd *r, size_t n)
{
    if ((size_t)(r->end - r->p) < n)
        fail(r, "unexpected end of module");
    else
        r->p += n;
}

/* A length-prefixed name, copied and NUL-terminated. */
static char *name(struct rd *r, size_t *len)
{
    uint32_t n = u32(r);
    char *s;

    if (r->failed || (size_t)(r->end - r->p) < n) {
        fail(r, "name runs past the end");
        return NULL;
    }
    if (!(s = malloc((size_t)n + 1))) {
        fail(r, "out of memory");
        return NULL;
    }
    memcpy(s, r->p, n);
    s[n] = 0;
    r->p += n;
    if (len)
        *len = n;
    return s;
}

static char letter(uint8_t t)
{
    switch (t) {
    case 0x7f: return 'i';
    case 0x7e: return 'j';
    case 0x7d: return 'f';
    case 0x7c: return 'd';
    default: return '?';
    }
}

static int valtype(struct rd *r, char *out)
{
    uint8_t t = byte(r);

    if (t != 0x7f && t != 0x7e && t != 0x7d && t != 0x7c && t != 0x7b &&
        t != 0x70 && t != 0x6f)
        return fail(r, "unknown value type 0x%02x", t);
    *out = letter(t);
    return 0;
}

static char *valtypes(struct rd *r)
{
    uint32_t n = u32(r);
    char *s;

    if (r->failed || n > (size_t)(r->end - r->p))
        return fail(r, "bad type vector"), NULL;
    if (!(s = calloc((size_t)n + 1, 1)))
        return fail(r, "out of memory"), NULL;
    for (uint32_t i = 0; i < n && !r->failed; i++)
        valtype(r, &s[i]);
    return s;
}

static void limits(struct rd *r)
{
    uint8_t flags = byte(r);
    int wide = flags & 0x04;

    if (flags > 0x07)
        fail(r, "bad limits");
    uleb(r, wide ? 64 : 32);
    if (flags & 0x01)
        uleb(r, wide ? 64 : 32);
}

static int reftype(struct rd *r)
{
    uint8_t t = byte(r);

    if (t != 0x70 && t != 0x6f)
        fail(r, "bad reference type");
    return t;
}

static int push(void **arr, size_t *n, size_t size)
{
    void *a = realloc(*arr, (*n + 1) * size);

    if (!a)
        return -1;
    memset((char *)a + *n * size, 0, size);
    *arr = a;
    (*n)++;
    return 0;
}

static void section_types(struct rd *r, struct wb_module *m)
{
    uint32_t n = u32(r);

    for (uint32_t i = 0; i < n && !r->failed; i++) {
        struct wb_type *t;
        if (byte(r) != 0x60)
            return (void)fail(r, "unsupported type form");
        if (push((void **)&m->types, &m->ntypes, sizeof *m->types))
            return (void)fail(r, "out of memory");
        t = &m->types[m->ntypes - 1];
        t->params = valtypes(r);
        t->results = valtypes(r);
    }
}

static int add_func(struct rd *r, struct wb_module *m, uint32_t type)
{
    if (type >= m->ntypes)
        return fail(r, "function type %u out of range", type);
    if (push((void **)&m->func_types, &m->nfuncs, sizeof *m->func_types))
        return fail(r, "out of memory");
    m->func_types[m->nfuncs - 1] = type;
    return 0;
}

static void add_global(struct rd *r, struct wb_module *m, char type)
{
    if (push((void **)&m->global_types, &m->nglobals, 1))
        fail(r, "out of memory");
    else
        m->global_types[m->nglobals - 1] = type;
}

static void add_table(struct rd *r, struct wb_module *m, int type)
{
    if (push((void **)&m->table_types, &m->ntables, sizeof *m->table_types))
        fail(r, "out of memory");
    else
        m->table_types[m->ntables - 1] = type;
}

static void section_imports(struct rd *r, struct wb_module *m)
{
    uint32_t n = u32(r);

    for (uint32_t i = 0; i < n && !r->failed; i++) {
        struct wb_extern *e;
        uint32_t t;
        char g;

        if (push((void **)&m->imports, &m->nimports, sizeof *m->imports))
            return (void)fail(r, "out of memory");
        e = &m->imports[m->nimports - 1];
        e->module = name(r, &e->module_len);
        e->name = name(r, &e->name_len);
        e->kind = byte(r);
        switch (e->kind) {
        case WB_FUNC:
            t = u32(r);
            e->index = t; /* its type, until resolve() */
            add_func(r, m, t);
            break;
        case WB_TABLE:
            e->ref_type = reftype(r);
            limits(r);
            add_table(r, m, e->ref_type);
            break;
        case WB_MEMORY:
            limits(r);
            break;
        case WB_GLOBAL:
            valtype(r, &g);
            e->global_type = g;
            byte(r); /* mutability */
            add_global(r, m, g);
            break;
        case WB_TAG:
            byte(r);
            u32(r);
            break;
        default:
            fail(r, "unknown import kind %d", e->kind);
        }
    }
}

static void section_functions(struct rd *r, struct wb_module *m)
{
    uint32_t n = u32(r);

    for (uint32_t i = 0; i < n && !r->failed; i++)
        add_func(r, m, u32(r));
}

static void section_tables(struct rd *r, struct wb_module *m)
{
    uint32_t n = u32(r);

    for (uint32_t i = 0; i < n && !r->failed; i++) {
        int t = reftype(r);
        limits(r);
        add_table(r, m, t);
    }
}

/* Skips a constant expression, up to and including its `end`. */
static void const_expr(struct rd *r)
{
    for (;;) {
        uint8_t op = byte(r);
        if (r->failed)
            return;
        switch (op) {
        case 0x0b: return;                          /* end */
        case 0x41: sleb_skip(r, 32); break;         /* i32.const */
        case 0x42: sleb_skip(r, 64); break;         /* i64.const */
        case 0x43: skip(r, 4); break;               /* f32.const */
        case 0x44: skip(r, 8); break;               /* f64.const */
        case 0x23: u32(r); break;                   /* global.get */
        case 0xd0: byte(r); break;                  /* ref.null */
        case 0xd2: u32(r); break;                   /* ref.func */
        case 0x6a: case 0x6b: case 0x6c:            /* i32 add/sub/mul */
        case 0x7c: case 0x7d: case 0x7e: break;     /* i64 add/sub/mul */
        case 0xfd:                                  /* v128.const */
            if (u32(r) != 12)
                return (void)fail(r, "unsupported constant expression");
            skip(r, 16);
            break;
        default:
            return (void)fail(r, "unsupported constant expression (0x%02x)", op);
        }
    }
}

static void section_globals(struct rd *r, struct wb_module *m)
{
    uint32_t n = u32(r);

    for (uint32_t i = 0; i < n && !r->failed; i++) {
        char g;
        valtype(r, &g);
        byte(r);
        const_expr(r);
        add_global(r, m, g);
    }
}

static void section_exports(struct rd *r, struct wb_module *m)
{
    uint32_t n = u32(r);

    for (uint32_t i = 0; i < n && !r->failed; i++) {
        struct wb_extern *e;

        if (push((void **)&m->exports, &m->nexports, sizeof *m->exports))
            return (void)fail(r, "out of memory");
        e = &m->exports[m->nexports - 1];
        e->name = name(r, &e->name_len);
        e->kind = byte(r);
        e->index = u32(r);
    }
}

/* Types of imports and exports, known once every section is read. */
static void resolve(struct rd *r, struct wb_module *m)
{
    for (size_t i = 0; i < m->nimports; i++)
        if (m->imports[i].kind == WB_FUNC)
            m->imports[i].type = &m->types[m->imports[i].index];
    for (size_t i = 0; i < m->nexports && !r->failed; i++) {
        struct wb_extern *e = &m->exports[i];
        switch (e->kind) {
        case WB_FUNC:
            if (!(e->type = wb_func_type(m, e->index)))
                fail(r, "export of an unknown function");
            break;
        case WB_GLOBAL:
            if (e->index >= m->nglobals)
                fail(r, "export of an unknown global");
            else
                e->global_type = m->global_types[e->index];
            break;
        case WB_TABLE:
            if (e->index >= m->ntables)
                fail(r, "export of an unknown table");
            else
                e->ref_type = m->table_types[e->index];
            break;
        case WB_MEMORY:
        case WB_TAG:
            break;
        default:
            fail(r, "unknown export kind %d", e->kind);
        }
    }
}

int wb_read(struct wb_module *m, const uint8_t *bytes, size_t len, char *err,
            size_t errlen)
{
    struct rd r = {bytes, bytes + len, err, errlen, 0};

    memset(m, 0, sizeof *m);
    if (len < 8 || memcmp(bytes, "\0asm", 4) != 0)
        return fail(&r, "not a WebAssembly binary (no \\0asm header)");
    if (memcmp(bytes + 4, "\1\0\0\0", 4) != 0)
        return fail(&r, "unsupported WebAssembly binary version");
    r.p += 8;
    while (r.p < r.end && !r.failed) {
        uint8_t id = byte(&r);
        uint32_t size = u32(&r);
        struct rd s = {r.p, r.p + size, err, errlen, 0};

        if (r.failed || size > (size_t)(r.end - r.p))
            return fail(&r, "section %u runs past the end", id);
        switch (id) {
        case 1: section_types(&s, m); break;
        case 2: section_imports(&s, m); break;
        case 3: section_functions(&s, m); break;
        case 4: section_tables(&s, m); break;
        case 6: section_globals(&s, m); break;
        case 7: section_exports(&s, m); break;
        default: break;
        }
        if (s.failed)
            return r.failed = 1, -1;
        r.p += size;
    }
    if (!r.failed)
        resolve(&r, m);
    return r.failed ? -1 : 0;
}

const struct wb_type *wb_func_type(const struct wb_module *m, uint32_t index)
{
    if (index >= m->nfuncs)
        return NULL;
    return &m->types[m->func_types[index]];
}

static void free_externs(struct wb_extern *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(e[i].module);
        free(e[i].name);
    }
    free(e);
}

void wb_free(struct wb_module *m)
{
    for (size_t i = 0; i < m->ntypes; i++) {
        free(m->types[i].params);
        free(m->types[i].results);
    }
    free(m->types);
    free_externs(m->imports, m->nimports);
    free_externs(m->exports, m->nexports);
    free(m->func_types);
    free(m->global_types);
    free(m->table_types);
    memset(m, 0, sizeof *m);
}
