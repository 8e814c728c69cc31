/*
 * cfi.h - unwinding rules read from a module's call frame information.
 *
 * unwind.c walks ordinary frames itself with one cached rule per return
 * address; this module computes a rule from the .eh_frame of the loaded
 * module that holds the address, classified the way libunwind 1.6
 * classifies frames for its fast trace, so that the walk and
 * unw_backtrace agree frame for frame. Frames it does not understand get
 * RULE_SLOW (libunwind walks them).
 */
#ifndef HP_PRELOAD_CFI_H
#define HP_PRELOAD_CFI_H

#include <stdint.h>

/*
 * A rule: how to step from the frame whose return address is pc to its
 * caller, one uint64_t:
 *   bits 0-1   kind: RULE_NONE (empty), RULE_STEP, RULE_LAST, RULE_SLOW
 *   bit 2      the CFA is rsp + cfa_off (else rbp + cfa_off)
 *   bit 3      rbp is saved at CFA + rbp_off (else unchanged)
 *   bits 16-31 rbp_off (int16)
 *   bits 32-63 cfa_off (int32)
 * The limits are libunwind's for a standard frame: |cfa_off| < 2^28,
 * |rbp_off| < 2^14. */
#define RULE_NONE 0u
#define RULE_STEP 1u
#define RULE_LAST 2u /* outermost frame: nothing is recorded past it */
#define RULE_SLOW 3u /* only libunwind walks through this frame */
#define RULE_CFA_RSP 4u
#define RULE_RBP_SAVED 8u

static inline unsigned rule_kind(uint64_t r)
{
    return (unsigned)(r & 3u);
}
static inline int64_t rule_cfa_off(uint64_t r)
{
    return (int64_t)(int32_t)(uint32_t)(r >> 32);
}
static inline int64_t rule_rbp_off(uint64_t r)
{
    return (int64_t)(int16_t)(uint16_t)(r >> 16);
}

/*
 * The rule for the frame whose return address is pc (the CFI row of
 * pc - 1, inside the call): RULE_STEP with its offsets, RULE_LAST,
 * RULE_SLOW, or RULE_NONE when no loaded module holds pc (not to be
 * cached: ask again later). Lock-free, never allocates; reads only the
 * module's mapped .eh_frame_hdr and .eh_frame, bounded by their lengths.
 */
uint64_t hp_cfi_rule(uintptr_t pc);

#endif
