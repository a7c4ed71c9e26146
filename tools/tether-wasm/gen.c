/* Patches wasm2c 1.0.32's output and writes the glue libtether-wasm reads. */
#define _GNU_SOURCE /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

/*
 * Replaces wasm2c's trap macros so that each trap carries the reason the
 * spec's tests name: table and memory bounds apart, and the three ways
 * call_indirect fails apart. Inserted right after wasm2c's RANGE_CHECK,
 * before the first function that expands any of them.
 */
static const char trap_macros[] =
    "\n/* tether-wasm: traps with the WebAssembly spec's reasons. */\n"
    "#include <tether/wasm.h>\n"
    "#define TW_TRAP_OOB TETHER_WASM_TRAP_OOB_TABLE\n"
    "#define TW_TRAP_OOB_MEMORY TETHER_WASM_TRAP_OOB_MEMORY\n"
    "#define TW_TRAP_INT_OVERFLOW TETHER_WASM_TRAP_INT_OVERFLOW\n"
    "#define TW_TRAP_DIV_BY_ZERO TETHER_WASM_TRAP_DIV_BY_ZERO\n"
    "#define TW_TRAP_INVALID_CONVERSION TETHER_WASM_TRAP_INVALID_CONVERSION\n"
    "#define TW_TRAP_UNREACHABLE TETHER_WASM_TRAP_UNREACHABLE\n"
    "#define TW_TRAP_CALL_INDIRECT TETHER_WASM_TRAP_CALL_INDIRECT\n"
    "#define TW_TRAP_UNDEFINED_ELEMENT TETHER_WASM_TRAP_UNDEFINED_ELEMENT\n"
    "#define TW_TRAP_UNINITIALIZED_ELEMENT TETHER_WASM_TRAP_UNINITIALIZED_ELEMENT\n"
    "#define TW_TRAP_INDIRECT_CALL_TYPE TETHER_WASM_TRAP_INDIRECT_CALL_TYPE\n"
    "#define TW_TRAP_UNCAUGHT_EXCEPTION TETHER_WASM_TRAP_UNCAUGHT_EXCEPTION\n"
    "#define TW_TRAP_EXHAUSTION TETHER_WASM_TRAP_EXHAUSTION\n"
    "#undef TRAP\n"
    "#define TRAP(x) (tether_wasm_trap(TW_TRAP_##x), 0)\n"
    "#undef RANGE_CHECK\n"
    "#define RANGE_CHECK(mem, offset, len) \\\n"
    "  if (UNLIKELY((offset) + (uint64_t)(len) > (mem)->size)) \\\n"
    "    TRAP(OOB_MEMORY);\n"
    "#undef CALL_INDIRECT\n"
    "#define CALL_INDIRECT(table, t, ft, x, ...) \\\n"
    "  ((void)(LIKELY((x) < (table).size) || TRAP(UNDEFINED_ELEMENT)), \\\n"
    "   (void)(LIKELY((table).data[x].func != NULL) || TRAP(UNINITIALIZED_ELEMENT)), \\\n"
    "   (void)(LIKELY((table).data[x].func_type == func_types[ft]) || \\\n"
    "          TRAP(INDIRECT_CALL_TYPE)), \\\n"
    "   ((t)(table).data[x].func)(__VA_ARGS__))\n\n";

static const char *find(const char *hay, size_t len, const char *from, const char *needle)
{
    size_t n = strlen(needle);

    for (const char *p = from; p + n <= hay + len; p++)
        if (memcmp(p, needle, n) == 0)
            return p;
    return NULL;
}

/*
 * Where the macros go, and memory_init's bounds trap (a memory trap,
 * though it checks a data segment), both in wasm2c 1.0.32's words.
 * Returns 0 if both were found.
 */
static int anchors(const char *c, size_t len, const char **insert,
                   const char **meminit_trap)
{
    const char *p = find(c, len, c, "#define RANGE_CHECK(mem, offset, len)");
    const char *q;

    if (!p || !(p = find(c, len, p, "TRAP(OOB);\n")))
        return -1;
    *insert = p + strlen("TRAP(OOB);\n");
    q = find(c, len, *insert, "static inline void memory_init(");
    if (!q || !(q = find(c, len, q, "TRAP(OOB);")))
        return -1;
    *meminit_trap = q;
    return 0;
}

/* wasm2c's name mangling: [A-Za-z0-9_] but Z kept, the rest as Z + hex. */
static void mangle(FILE *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Y') ||
            (c >= '0' && c <= '9') || c == '_')
            fputc(c, o);
        else
            fprintf(o, "Z%02X", c);
    }
}

/* A C string literal of any bytes. */
static void literal(FILE *o, const char *s, size_t n)
{
    fputc('"', o);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\' || c == '?' || c < 0x20 || c >= 0x7f)
            fprintf(o, "\\%03o", c);
        else
            fputc(c, o);
    }
    fputc('"', o);
}

static const char *ctype(char t)
{
    switch (t) {
    case 'i': return "u32";
    case 'j': return "u64";
    case 'f': return "f32";
    default: return "f64";
    }
}

static const char *field(char t)
{
    switch (t) {
    case 'i': return "i32";
    case 'j': return "i64";
    case 'f': return "f32";
    default: return "f64";
    }
}

static int passable(const char *types)
{
    return strchr(types, '?') == NULL;
}

/* The C return type wasm2c gives a function with these results. */
static void return_type(FILE *o, const char *results)
{
    if (!*results)
        fputs("void", o);
    else if (!results[1])
        fputs(ctype(results[0]), o);
    else
        fprintf(o, "struct wasm_multi_%s", results);
}

/* Stores a call's results (in `expr`) into v[]. */
static void store_results(FILE *o, const char *results, const char *call)
{
    size_t n = strlen(results);

    if (n == 0) {
        fprintf(o, "  %s;\n", call);
    } else if (n == 1) {
        fprintf(o, "  v[0].%s = %s;\n", field(results[0]), call);
    } else {
        fprintf(o, "  struct wasm_multi_%s r = %s;\n", results, call);
        for (size_t i = 0; i < n; i++)
            fprintf(o, "  v[%zu].%s = r.%c%zu;\n", i, field(results[i]), results[i], i);
    }
}

static void export_thunk(FILE *o, const char *name, size_t k, const struct wb_extern *e)
{
    const struct wb_type *t = e->type;
    char call[64];
    char *buf = NULL;
    size_t len = 0;
    FILE *c = open_memstream(&buf, &len);

    fprintf(c, "Z_%sZ_", name);
    mangle(c, e->name, e->name_len);
    fprintf(c, "((Z_%s_instance_t *)mi", name);
    for (size_t i = 0; t->params[i]; i++)
        fprintf(c, ", v[%zu].%s", i, field(t->params[i]));
    fputc(')', c);
    fclose(c);
    snprintf(call, sizeof call, "tw_call_%zu", k);
    fprintf(o, "static void %s(void *mi, tether_wasm_val *v)\n{\n", call);
    if (!*t->params && !*t->results)
        fputs("  (void)v;\n", o);
    store_results(o, t->results, buf);
    fputs("}\n\n", o);
    free(buf);
}

static void export_getter(FILE *o, const char *name, size_t k, const struct wb_extern *e)
{
    fprintf(o, "static void *tw_get_%zu(void *mi)\n{\n  return Z_%sZ_", k, name);
    mangle(o, e->name, e->name_len);
    fprintf(o, "((Z_%s_instance_t *)mi);\n}\n\n", name);
}

/* The first import with the same module and name as imports[k]. */
static size_t first_of(const struct wb_module *m, size_t k)
{
    const struct wb_extern *e = &m->imports[k];

    for (size_t i = 0; i < k; i++) {
        const struct wb_extern *f = &m->imports[i];
        if (f->module_len == e->module_len && f->name_len == e->name_len &&
            memcmp(f->module, e->module, e->module_len) == 0 &&
            memcmp(f->name, e->name, e->name_len) == 0)
            return i;
    }
    return k;
}

static void import_head(FILE *o, const struct wb_extern *e)
{
    fputs("Z_", o);
    mangle(o, e->module, e->module_len);
    fputs("Z_", o);
    mangle(o, e->name, e->name_len);
    fputs("(struct Z_", o);
    mangle(o, e->module, e->module_len);
    fputs("_instance_t *h", o);
}

static void import_func(FILE *o, size_t k, const struct wb_extern *e)
{
    const struct wb_type *t = e->type;
    size_t np = strlen(t->params), nr = strlen(t->results);
    size_t nv = np > nr ? np : nr;

    return_type(o, t->results);
    fputc(' ', o);
    import_head(o, e);
    for (size_t i = 0; i < np; i++)
        fprintf(o, ", %s a%zu", ctype(t->params[i]), i);
    fprintf(o, ")\n{\n  tether_wasm_val v[%zu];\n", nv ? nv : 1);
    for (size_t i = 0; i < np; i++)
        fprintf(o, "  v[%zu].%s = a%zu;\n", i, field(t->params[i]), i);
    fprintf(o, "  tether_wasm_host_call(h, %zu, v);\n", k);
    if (nr == 1) {
        fprintf(o, "  return v[0].%s;\n", field(t->results[0]));
    } else if (nr > 1) {
        fprintf(o, "  struct wasm_multi_%s r;\n", t->results);
        for (size_t i = 0; i < nr; i++)
            fprintf(o, "  r.%c%zu = v[%zu].%s;\n", t->results[i], i, i, field(t->results[i]));
        fputs("  return r;\n", o);
    }
    fputs("}\n\n", o);
}

static void import_extern(FILE *o, size_t k, const struct wb_extern *e)
{
    switch (e->kind) {
    case WB_GLOBAL:
        fprintf(o, "%s *", ctype(e->global_type));
        break;
    case WB_MEMORY:
        fputs("wasm_rt_memory_t *", o);
        break;
    default:
        fputs(e->ref_type == 0x6f ? "wasm_rt_externref_table_t *"
                                  : "wasm_rt_funcref_table_t *", o);
    }
    import_head(o, e);
    fprintf(o, ")\n{\n  return tether_wasm_host_extern(h, %zu);\n}\n\n", k);
}

/* Checks that every import can be stubbed; writes the stubs. */
static int imports(FILE *o, const struct wb_module *m, char *err, size_t errlen)
{
    for (size_t k = 0; k < m->nimports; k++) {
        const struct wb_extern *e = &m->imports[k];
        int ok = e->kind == WB_FUNC ? passable(e->type->params) && passable(e->type->results)
               : e->kind == WB_GLOBAL ? e->global_type != '?'
               : e->kind != WB_TAG;
        if (!ok) {
            snprintf(err, errlen, "import %s.%s has a type tether-wasm cannot pass "
                     "(v128, a reference, or a tag)", e->module, e->name);
            return -1;
        }
        if (first_of(m, k) != k)
            continue; /* one stub serves both */
        if (e->kind == WB_FUNC)
            import_func(o, k, e);
        else
            import_extern(o, k, e);
    }
    return 0;
}

static const char *kind_constant(int kind)
{
    switch (kind) {
    case WB_FUNC: return "TETHER_WASM_EXTERN_FUNC";
    case WB_TABLE: return "TETHER_WASM_EXTERN_TABLE";
    case WB_MEMORY: return "TETHER_WASM_EXTERN_MEMORY";
    default: return "TETHER_WASM_EXTERN_GLOBAL";
    }
}

/* The params and results strings of an extern, as the tables list them. */
static void types_of(const struct wb_extern *e, const char **params, const char **results,
                     char global[2])
{
    *params = *results = "";
    if (e->kind == WB_FUNC) {
        *params = e->type->params;
        *results = e->type->results;
    } else if (e->kind == WB_GLOBAL) {
        global[0] = e->global_type;
        global[1] = 0;
        *results = global;
    }
}

static void tables(FILE *o, const struct wb_module *m, const char *name, int so)
{
    char g[2];
    const char *p, *r;
    size_t nexp = 0;

    for (size_t k = 0; k < m->nexports; k++)
        nexp += m->exports[k].kind != WB_TAG;
    if (nexp) {
        fputs("static const tether_wasm_export tw_exports[] = {\n", o);
        for (size_t k = 0; k < m->nexports; k++) {
            const struct wb_extern *e = &m->exports[k];
            if (e->kind == WB_TAG)
                continue;
            types_of(e, &p, &r, g);
            fputs("  {", o);
            literal(o, e->name, e->name_len);
            fprintf(o, ", %s, \"%s\", \"%s\", ", kind_constant(e->kind), p, r);
            if (e->kind == WB_FUNC && !(passable(p) && passable(r)))
                fputs("NULL, NULL},\n", o);
            else if (e->kind == WB_FUNC)
                fprintf(o, "tw_call_%zu, NULL},\n", k);
            else
                fprintf(o, "NULL, tw_get_%zu},\n", k);
        }
        fputs("};\n\n", o);
    }
    if (m->nimports) {
        fputs("static const tether_wasm_import tw_imports[] = {\n", o);
        for (size_t k = 0; k < m->nimports; k++) {
            const struct wb_extern *e = &m->imports[k];
            types_of(e, &p, &r, g);
            fputs("  {", o);
            literal(o, e->module, e->module_len);
            fputs(", ", o);
            literal(o, e->name, e->name_len);
            fprintf(o, ", %s, \"%s\", \"%s\"},\n", kind_constant(e->kind), p, r);
        }
        fputs("};\n\n", o);
    }
    fprintf(o, "const tether_wasm_module Z_%s_tether_module = {\n"
               "  TETHER_WASM_MODULE_ABI, \"%s\", sizeof(Z_%s_instance_t),\n"
               "  Z_%s_init_module, tw_instantiate, tw_free,\n"
               "  %s, %zu, %s, %zu,\n};\n",
            name, name, name, name, nexp ? "tw_exports" : "NULL", nexp,
            m->nimports ? "tw_imports" : "NULL", m->nimports);
    if (so)
        fprintf(o, "\n__attribute__((visibility(\"default\")))\n"
                   "const tether_wasm_module *const tether_wasm_module_info = "
                   "&Z_%s_tether_module;\n", name);
}

/* How many distinct modules the imports name: wasm2c's instantiate takes one pointer each. */
static size_t import_modules(const struct wb_module *m)
{
    size_t n = 0;

    for (size_t k = 0; k < m->nimports; k++) {
        size_t i;
        for (i = 0; i < k; i++)
            if (m->imports[i].module_len == m->imports[k].module_len &&
                memcmp(m->imports[i].module, m->imports[k].module,
                       m->imports[k].module_len) == 0)
                break;
        n += i == k;
    }
    return n;
}

static int glue(FILE *o, const struct wb_module *m, const char *name, int so,
                char *err, size_t errlen)
{
    size_t nmod = import_modules(m);

    fputs("\n/* ---- tether-wasm: the module's description for libtether-wasm ---- */\n\n", o);
    fprintf(o, "static void tw_instantiate(void *mi, tether_wasm_instance *h)\n{\n"
               "  (void)h;\n  Z_%s_instantiate((Z_%s_instance_t *)mi", name, name);
    for (size_t i = 0; i < nmod; i++)
        fputs(", (void *)h", o);
    fprintf(o, ");\n}\n\nstatic void tw_free(void *mi)\n{\n"
               "  Z_%s_free((Z_%s_instance_t *)mi);\n}\n\n", name, name);
    for (size_t k = 0; k < m->nexports; k++) {
        const struct wb_extern *e = &m->exports[k];
        if (e->kind == WB_FUNC) {
            if (passable(e->type->params) && passable(e->type->results))
                export_thunk(o, name, k, e);
        } else if (e->kind != WB_TAG) {
            export_getter(o, name, k, e);
        }
    }
    if (imports(o, m, err, errlen) != 0)
        return -1;
    tables(o, m, name, so);
    return 0;
}

/*
 * The import stubs are defined in this file; two modules importing the
 * same name would define the same symbol. Renamed before wasm2c's text
 * (its header included), each module's stubs have names of their own.
 */
static void unique_imports(FILE *o, const struct wb_module *m, const char *name)
{
    fputs("/* tether-wasm: this module's names for its imports. */\n", o);
    for (size_t k = 0; k < m->nimports; k++) {
        const struct wb_extern *e = &m->imports[k];
        if (first_of(m, k) != k || e->kind == WB_TAG)
            continue;
        for (int twice = 0; twice < 2; twice++) {
            fputs(twice ? " tw_" : "#define Z_", o);
            if (twice)
                fprintf(o, "%s_import_Z_", name);
            mangle(o, e->module, e->module_len);
            fputs("Z_", o);
            mangle(o, e->name, e->name_len);
        }
        fputc('\n', o);
    }
}

int gen_source(FILE *out, const char *c, size_t len, const struct wb_module *m,
               const char *name, int so, int *patched, char *err, size_t errlen)
{
    const char *insert, *meminit;

    unique_imports(out, m, name);

    *patched = anchors(c, len, &insert, &meminit) == 0;
    if (*patched) {
        fwrite(c, 1, (size_t)(insert - c), out);
        fputs(trap_macros, out);
        fwrite(insert, 1, (size_t)(meminit - insert), out);
        fputs("TRAP(OOB_MEMORY);", out);
        fwrite(meminit + strlen("TRAP(OOB);"), 1,
               len - (size_t)(meminit + strlen("TRAP(OOB);") - c), out);
    } else {
        fputs("#include <tether/wasm.h>\n", out);
        fwrite(c, 1, len, out);
    }
    return glue(out, m, name, so, err, errlen);
}

int gen_header(FILE *out, const char *h, size_t len, const char *name)
{
    const char *last = NULL;

    for (const char *p = h; (p = find(h, len, p, "#endif")) != NULL; p++)
        last = p;
    if (!last)
        last = h + len;
    fwrite(h, 1, (size_t)(last - h), out);
    fprintf(out, "/* tether-wasm: the module's description for libtether-wasm. */\n"
                 "#include <tether/wasm.h>\n"
                 "TETHER_BEGIN_DECLS\n"
                 "extern const tether_wasm_module Z_%s_tether_module;\n"
                 "TETHER_END_DECLS\n\n", name);
    fwrite(last, 1, len - (size_t)(last - h), out);
    return ferror(out) ? -1 : 0;
}

void gen_module_name(char *out, size_t outlen, const char *from)
{
    size_t n = 0;

    if (outlen == 0)
        return;
    if (!(*from >= 'a' && *from <= 'z') && !(*from >= 'A' && *from <= 'Y') && n + 1 < outlen)
        out[n++] = 'm';
    for (; *from && n + 1 < outlen; from++) {
        char c = *from;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Y') ||
                 (c >= '0' && c <= '9') || c == '_';
        out[n++] = ok ? c : '_';
    }
    out[n] = 0;
}
