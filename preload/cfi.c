/*
 * cfi.c - unwinding rules from .eh_frame, as libunwind would derive them.
 *
 * Finds the module of a return address with _dl_find_object (glibc 2.35:
 * lock-free, made for unwinders), its FDE by binary search in
 * .eh_frame_hdr, runs the CIE's and FDE's CFA instructions up to the
 * address and classifies the resulting row: CFA = rsp or rbp + offset,
 * return address at CFA - 8, rbp unchanged or saved at CFA + offset is a
 * RULE_STEP; an undefined return address or rbp ends the stack
 * (RULE_LAST); anything else (expressions, other registers, signal
 * frames, unknown instructions) is RULE_SLOW. It does not cache rules or
 * walk stacks (unwind.c).
 */
#include "cfi.h"

#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

static uint64_t rule_step(int cfa_rsp, int64_t cfa_off, int rbp_saved, int64_t rbp_off)
{
    uint64_t r = RULE_STEP | (cfa_rsp ? RULE_CFA_RSP : 0) | (rbp_saved ? RULE_RBP_SAVED : 0);
    r |= (uint64_t)(uint16_t)(int16_t)rbp_off << 16;
    r |= (uint64_t)(uint32_t)(int32_t)cfa_off << 32;
    return r;
}

/*
 * Only what x86-64 toolchains emit for ordinary code is understood; the
 * rest makes the frame RULE_SLOW. Reads are bounded by the entry lengths;
 * the sections are those of a loaded module whose code is on the stack. */

#define DW_EH_PE_omit 0xff
#define DW_EH_PE_pcrel 0x10
#define DW_EH_PE_datarel 0x30
#define DW_EH_PE_sdata4 0x0b
#define DW_EH_PE_indirect 0x80

/* DWARF register numbers (x86-64 psABI) and libunwind's count of them. */
#define DWREG_RBP 6
#define DWREG_RSP 7
#define DWREG_RA 16
#define NUM_REGS 17

typedef struct rd_s {
    const uint8_t *p, *end;
    int bad;
} rd_t;

static uint64_t rd_uleb(rd_t *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; r->p < r->end; shift += 7) {
        uint8_t b = *r->p++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->bad = 1;
    return 0;
}

static int64_t rd_sleb(rd_t *r)
{
    uint64_t v = 0;
    unsigned shift = 0;
    while (r->p < r->end) {
        uint8_t b = *r->p++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40))
                v |= ~(uint64_t)0 << shift;
            return (int64_t)v;
        }
    }
    r->bad = 1;
    return 0;
}

static uint64_t rd_fixed(rd_t *r, size_t n)
{
    if ((size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    memcpy(&v, r->p, n); /* little-endian */
    r->p += n;
    return v;
}

/* A pointer in encoding enc; only absolute and pc-relative ones (what an
 * .eh_frame uses); *ok = 0 for anything else. */
static uint64_t rd_encoded(rd_t *r, uint8_t enc, int *ok)
{
    const uint8_t *at = r->p;
    uint64_t v;
    switch (enc & 0x0f) {
    case 0x00:
        v = rd_fixed(r, 8);
        break;
    case 0x01:
        v = rd_uleb(r);
        break;
    case 0x02:
        v = rd_fixed(r, 2);
        break;
    case 0x03:
        v = rd_fixed(r, 4);
        break;
    case 0x04:
        v = rd_fixed(r, 8);
        break;
    case 0x09:
        v = (uint64_t)rd_sleb(r);
        break;
    case 0x0a:
        v = (uint64_t)(int64_t)(int16_t)rd_fixed(r, 2);
        break;
    case 0x0b:
        v = (uint64_t)(int64_t)(int32_t)rd_fixed(r, 4);
        break;
    case 0x0c:
        v = rd_fixed(r, 8);
        break;
    default:
        *ok = 0;
        return 0;
    }
    switch (enc & 0x70) {
    case 0x00:
        break;
    case DW_EH_PE_pcrel:
        v += (uint64_t)(uintptr_t)at;
        break;
    default:
        *ok = 0;
        return 0;
    }
    return v;
}

/* Rule of one register column, as libunwind tracks it. */
enum { W_SAME, W_UNDEF, W_CFAREL };

typedef struct regrule_s {
    uint8_t where;
    int64_t off;
} regrule_t;

/* The state of the CFI rows for the three columns that matter. */
typedef struct cfa_state_s {
    int cfa_reg; /* -1: a DWARF expression */
    int64_t cfa_off;
    regrule_t rbp, rsp, ra;
} cfa_state_t;

typedef struct cie_s {
    uint64_t code_align;
    int64_t data_align;
    uint8_t fde_enc;
    int aug_z;
    const uint8_t *insn, *end;
} cie_t;

#define STATE_STACK 8

/* The column of reg in st, or NULL for a column we do not track. */
static regrule_t *column(cfa_state_t *st, uint64_t reg)
{
    switch (reg) {
    case DWREG_RBP:
        return &st->rbp;
    case DWREG_RSP:
        return &st->rsp;
    case DWREG_RA:
        return &st->ra;
    default:
        return NULL;
    }
}

/*
 * Runs CFA instructions [r) up to the row of address target, starting at
 * location loc; init is the state after the CIE's instructions (for
 * DW_CFA_restore; NULL while running them). Returns 0, or -1 when the
 * program uses something this file does not model.
 */
static int run_cfi(rd_t *r, const cie_t *cie, uint64_t loc, uint64_t target, cfa_state_t *st,
                   const cfa_state_t *init)
{
    cfa_state_t stack[STATE_STACK];
    int depth = 0;
    while (r->p < r->end && !r->bad) {
        uint8_t op = *r->p++;
        uint64_t reg, delta;
        int64_t off;
        regrule_t *c;
        switch (op >> 6) {
        case 1: /* DW_CFA_advance_loc */
            delta = (uint64_t)(op & 0x3f);
            goto advance;
        case 2: /* DW_CFA_offset */
            reg = op & 0x3f;
            off = (int64_t)rd_uleb(r) * cie->data_align;
            goto set_offset;
        case 3: /* DW_CFA_restore */
            reg = op & 0x3f;
            goto restore;
        default:
            break;
        }
        switch (op) {
        case 0x00: /* DW_CFA_nop */
            break;
        case 0x02:
            delta = rd_fixed(r, 1);
            goto advance;
        case 0x03:
            delta = rd_fixed(r, 2);
            goto advance;
        case 0x04:
            delta = rd_fixed(r, 4);
            goto advance;
        case 0x05: /* DW_CFA_offset_extended */
            reg = rd_uleb(r);
            off = (int64_t)rd_uleb(r) * cie->data_align;
            goto set_offset;
        case 0x11: /* DW_CFA_offset_extended_sf */
            reg = rd_uleb(r);
            off = rd_sleb(r) * cie->data_align;
            goto set_offset;
        case 0x06: /* DW_CFA_restore_extended */
            reg = rd_uleb(r);
            goto restore;
        case 0x07: /* DW_CFA_undefined */
        case 0x08: /* DW_CFA_same_value */
            reg = rd_uleb(r);
            if (reg >= NUM_REGS)
                return -1;
            if ((c = column(st, reg)) != NULL) {
                c->where = op == 0x07 ? W_UNDEF : W_SAME;
                c->off = 0;
            }
            break;
        case 0x0a: /* DW_CFA_remember_state: libunwind saves the CFA too */
            if (depth == STATE_STACK)
                return -1;
            stack[depth++] = *st;
            break;
        case 0x0b: /* DW_CFA_restore_state */
            if (depth == 0)
                return -1;
            *st = stack[--depth];
            break;
        case 0x0c: /* DW_CFA_def_cfa */
            st->cfa_reg = (int)rd_uleb(r);
            st->cfa_off = (int64_t)rd_uleb(r);
            break;
        case 0x12: /* DW_CFA_def_cfa_sf */
            st->cfa_reg = (int)rd_uleb(r);
            st->cfa_off = rd_sleb(r) * cie->data_align;
            break;
        case 0x0d: /* DW_CFA_def_cfa_register */
            if (st->cfa_reg < 0)
                return -1;
            st->cfa_reg = (int)rd_uleb(r);
            break;
        case 0x0e: /* DW_CFA_def_cfa_offset */
            if (st->cfa_reg < 0)
                return -1;
            st->cfa_off = (int64_t)rd_uleb(r);
            break;
        case 0x13: /* DW_CFA_def_cfa_offset_sf */
            if (st->cfa_reg < 0)
                return -1;
            st->cfa_off = rd_sleb(r) * cie->data_align;
            break;
        case 0x2e: /* DW_CFA_GNU_args_size: no effect on the walk */
            (void)rd_uleb(r);
            break;
        default:
            /* set_loc, register, expressions, val_*, vendor ops: libunwind's
             * own business */
            return -1;
        }
        continue;
    advance:
        loc += delta * cie->code_align;
        if (loc > target)
            return r->bad ? -1 : 0;
        continue;
    set_offset:
        if (reg >= NUM_REGS)
            return -1;
        if ((c = column(st, reg)) != NULL) {
            c->where = W_CFAREL;
            c->off = off;
        }
        continue;
    restore:
        if (reg >= NUM_REGS || !init)
            return -1;
        if ((c = column(st, reg)) != NULL)
            *c = *column((cfa_state_t *)init, reg);
        continue;
    }
    return r->bad ? -1 : 0;
}

/* Parses the CIE at p. Returns 0, or -1 when it is not one we model. */
static int parse_cie(const uint8_t *p, cie_t *cie)
{
    rd_t r = {p, p + 8, 0};
    uint64_t len = rd_fixed(&r, 4);
    if (len == 0 || len >= 0xfffffff0u)
        return -1;
    r.end = p + 4 + len;
    if (rd_fixed(&r, 4) != 0) /* CIE id */
        return -1;
    uint64_t version = rd_fixed(&r, 1);
    if (version != 1 && version != 3)
        return -1;
    const char *aug = (const char *)r.p;
    size_t alen = strnlen(aug, (size_t)(r.end - r.p));
    if (r.p + alen >= r.end)
        return -1;
    r.p += alen + 1;
    cie->code_align = rd_uleb(&r);
    cie->data_align = rd_sleb(&r);
    uint64_t ra = version == 1 ? rd_fixed(&r, 1) : rd_uleb(&r);
    if (ra != DWREG_RA)
        return -1;
    cie->fde_enc = 0;
    cie->aug_z = 0;
    if (alen) {
        if (aug[0] != 'z')
            return -1;
        cie->aug_z = 1;
        uint64_t dlen = rd_uleb(&r);
        if (r.bad || dlen > (uint64_t)(r.end - r.p))
            return -1;
        rd_t d = {r.p, r.p + dlen, 0};
        int ok = 1;
        for (size_t i = 1; i < alen; i++) {
            switch (aug[i]) {
            case 'L':
                (void)rd_fixed(&d, 1);
                break;
            case 'R':
                cie->fde_enc = (uint8_t)rd_fixed(&d, 1);
                break;
            case 'P': {
                uint8_t enc = (uint8_t)rd_fixed(&d, 1);
                /* the personality routine: skipped, never followed */
                (void)rd_encoded(&d, (uint8_t)(enc & ~DW_EH_PE_indirect), &ok);
                break;
            }
            default:
                return -1; /* 'S' (signal frame) and anything else */
            }
        }
        if (!ok || d.bad)
            return -1;
        r.p += dlen;
    }
    if (r.bad)
        return -1;
    cie->insn = r.p;
    cie->end = r.end;
    return 0;
}

/* The FDE covering addr in the module whose .eh_frame_hdr is hdr, or NULL. */
static const uint8_t *find_fde(const uint8_t *hdr, uintptr_t addr)
{
    if (hdr[0] != 1 || hdr[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
        return NULL;
    rd_t r = {hdr + 4, hdr + 4 + 32, 0};
    int ok = 1;
    if (hdr[1] == DW_EH_PE_omit || hdr[2] == DW_EH_PE_omit)
        return NULL;
    (void)rd_encoded(&r, hdr[1], &ok); /* eh_frame_ptr: unused */
    uint64_t count = rd_encoded(&r, hdr[2], &ok);
    if (!ok || r.bad || count == 0 || count > (1u << 28))
        return NULL;
    const int32_t *tab = (const int32_t *)(const void *)r.p;
    /* the last entry whose start is <= addr */
    uint64_t lo = 0, hi = count;
    intptr_t rel = (intptr_t)(addr - (uintptr_t)hdr);
    if ((intptr_t)tab[0] > rel)
        return NULL;
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if ((intptr_t)tab[2 * mid] <= rel)
            lo = mid;
        else
            hi = mid;
    }
    return hdr + tab[2 * lo + 1];
}

/*
 * The rule for the frame whose return address is pc: the CFI row of pc - 1
 * (inside the call), classified as libunwind's tdep_stash_frame and
 * unw_step classify it.
 */
uint64_t hp_cfi_rule(uintptr_t pc)
{
    uintptr_t addr = pc - 1;
#ifdef DLFO_STRUCT_HAS_EH_DBASE /* glibc >= 2.35: lock-free, made for unwinders */
    struct dl_find_object dlfo;
    if (_dl_find_object((void *)addr, &dlfo) != 0)
        return RULE_NONE; /* not in a module (yet?): not cached, asked again */
    if (!dlfo.dlfo_eh_frame)
        return RULE_SLOW;
    const uint8_t *fde = find_fde(dlfo.dlfo_eh_frame, addr);
#else
    const uint8_t *fde = NULL; /* no way to find the CFI: libunwind walks */
#endif
    if (!fde)
        return RULE_SLOW;
    rd_t r = {fde, fde + 8, 0};
    uint64_t len = rd_fixed(&r, 4);
    if (len == 0 || len >= 0xfffffff0u)
        return RULE_SLOW;
    r.end = fde + 4 + len;
    const uint8_t *idp = r.p;
    uint64_t cie_off = rd_fixed(&r, 4);
    if (cie_off == 0) /* a CIE, not an FDE */
        return RULE_SLOW;
    cie_t cie;
    if (parse_cie(idp - cie_off, &cie) != 0)
        return RULE_SLOW;
    int ok = 1;
    uint64_t start = rd_encoded(&r, cie.fde_enc, &ok);
    uint64_t range = rd_encoded(&r, (uint8_t)(cie.fde_enc & 0x0f), &ok);
    if (!ok || r.bad || addr < start || addr - start >= range)
        return RULE_SLOW;
    if (cie.aug_z) {
        uint64_t dlen = rd_uleb(&r);
        if (r.bad || dlen > (uint64_t)(r.end - r.p))
            return RULE_SLOW;
        r.p += dlen;
    }
    cfa_state_t init = {.cfa_reg = DWREG_RSP, .cfa_off = 0};
    rd_t ci = {cie.insn, cie.end, 0};
    if (run_cfi(&ci, &cie, 0, UINT64_MAX, &init, NULL) != 0)
        return RULE_SLOW;
    cfa_state_t st = init;
    if (run_cfi(&r, &cie, start, addr, &st, &init) != 0)
        return RULE_SLOW;

    /* libunwind: CFA = rbp or rsp + offset, |offset| < 2^28 */
    if ((st.cfa_reg != DWREG_RSP && st.cfa_reg != DWREG_RBP) || st.cfa_off <= -(1 << 28) ||
        st.cfa_off >= (1 << 28))
        return RULE_SLOW;
    /* an undefined return address or rbp ends the stack (unw_step returns 0) */
    if (st.ra.where == W_UNDEF || st.rbp.where == W_UNDEF)
        return RULE_LAST;
    if (st.ra.where != W_CFAREL || st.ra.off != -8)
        return RULE_SLOW;
    const regrule_t *keep[2] = {&st.rbp, &st.rsp};
    for (int i = 0; i < 2; i++) {
        const regrule_t *c = keep[i];
        if (c->where == W_CFAREL && (c->off <= -(1 << 14) || c->off >= (1 << 14) || c->off == -1))
            return RULE_SLOW;
    }
    if (st.cfa_reg == DWREG_RSP && st.cfa_off <= 0)
        return RULE_SLOW; /* the walk must move up the stack */
    return rule_step(st.cfa_reg == DWREG_RSP, st.cfa_off, st.rbp.where == W_CFAREL, st.rbp.off);
}
