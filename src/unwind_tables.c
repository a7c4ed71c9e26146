/*
 * What a function's unwind tables say: whether it has any, and which
 * personality routine it has (the 'P' entry of the CIE its FDE points
 * to, in .eh_frame). libgcc finds the FDE (the same lookup it makes for
 * every frame it unwinds); this file reads the few fields of the CIE
 * that lead to the personality pointer.
 *
 * FDE:  length (4), CIE pointer (4, back from this field), ...
 * CIE:  length (4), id (4), version (1), augmentation string ("zPLR"),
 *       code alignment (uleb), data alignment (sleb), return register
 *       (1 byte in version 1, else uleb), augmentation length (uleb),
 *       then one entry per letter after 'z': P = encoding byte and an
 *       encoded pointer; L and R = an encoding byte; S and B = nothing.
 */
#include <stdint.h>
#include <string.h>

#include "leb128.h"
#include "unwind_tables.h"

/* libgcc's FDE lookup (exported by libgcc_s, declared in no header). */
struct dwarf_eh_bases {
    void *tbase;
    void *dbase;
    void *func;
};
extern const void *_Unwind_Find_FDE(void *pc, struct dwarf_eh_bases *bases);

#define DW_EH_PE_omit 0xff
#define DW_EH_PE_indirect 0x80

/* A pointer in one of the encodings CIEs use (no text or function base). */
static int read_pointer(const uint8_t **p, uint8_t enc,
                        const struct dwarf_eh_bases *bases, uintptr_t *out)
{
    const uint8_t *at = *p;
    uintptr_t v;
    int32_t s32;
    uint32_t u32;

    switch (enc & 0x0f) {
    case 0x00: case 0x04: case 0x0c: /* absptr, udata8, sdata8 */
        memcpy(&v, at, 8);
        *p += 8;
        break;
    case 0x03:
        memcpy(&u32, at, 4);
        v = u32;
        *p += 4;
        break;
    case 0x0b:
        memcpy(&s32, at, 4);
        v = (uintptr_t)(intptr_t)s32;
        *p += 4;
        break;
    default:
        return -1; /* not an encoding compilers use for 'P' */
    }
    switch (enc & 0x70) {
    case 0x00: break;
    case 0x10: v += (uintptr_t)at; break;               /* pcrel */
    case 0x30: v += (uintptr_t)bases->dbase; break;      /* datarel */
    default: return -1;
    }
    if (enc & DW_EH_PE_indirect)
        v = *(const uintptr_t *)v;
    *out = v;
    return 0;
}

int tether__has_unwind_tables(uintptr_t pc)
{
    struct dwarf_eh_bases bases;
    return _Unwind_Find_FDE((void *)pc, &bases) != NULL;
}

void *tether__personality_of(uintptr_t pc)
{
    struct dwarf_eh_bases bases;
    const uint8_t *fde = _Unwind_Find_FDE((void *)pc, &bases), *cie, *p;
    const char *aug;
    uint32_t len;
    int32_t back;
    uintptr_t routine;

    if (!fde)
        return NULL;
    memcpy(&len, fde, 4);
    if (len == 0xffffffffu)
        return NULL; /* 64-bit DWARF: never emitted for .eh_frame */
    memcpy(&back, fde + 4, 4);
    cie = fde + 4 - back;
    p = cie + 8; /* past length and id */
    if (*p++ > 4)
        return NULL; /* a version we do not know */
    aug = (const char *)p;
    p += strlen(aug) + 1;
    if (aug[0] != 'z')
        return NULL; /* no augmentation data: no personality */
    (void)tether__uleb(&p);                        /* code alignment */
    (void)tether__uleb(&p);                        /* data alignment (sleb: same bytes) */
    if (cie[8] == 1)
        p++;                               /* return register, one byte */
    else
        (void)tether__uleb(&p);
    (void)tether__uleb(&p);                        /* augmentation data length */
    for (const char *a = aug + 1; *a; a++) {
        switch (*a) {
        case 'P': {
            uint8_t enc = *p++;
            if (enc == DW_EH_PE_omit || read_pointer(&p, enc, &bases, &routine) != 0)
                return NULL;
            return (void *)routine;
        }
        case 'L': case 'R':
            p++;
            break;
        case 'S': case 'B':
            break;
        default:
            return NULL; /* an augmentation we cannot step over */
        }
    }
    return NULL;
}
